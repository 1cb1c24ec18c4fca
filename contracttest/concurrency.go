package contracttest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messagedb-go/messagedb/domain"
)

func concurrencyCases() []testCase {
	return []testCase{
		{"MDB001_6A_T7_SameStreamOneWinnerPerVersion", testConcurrentSameStream},
		{"MDB001_6A_T6_DifferentNamespaces", testConcurrentNamespaces},
		{"BatchesStayConsecutive", testConcurrentBatches},
		{"CategoryReaderSeesEveryMessageOnce", testConcurrentCategoryReader},
		{"RetriesOfOneMessage", testConcurrentRetries},
		{"CreateSameNamespace", testConcurrentCreateNamespace},
	}
}

const (
	goroutines = 16
	versions   = 20
)

// attempt is one write of a concurrency case, as seen by its goroutine.
type attempt struct {
	expected int64
	result   domain.WriteResult
	err      error
}

func testConcurrentSameStream(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	stream := category(t, "acct") + "-1"
	ctx := t.Context()

	// Every goroutine tries each expected version from NoStream up, once.
	// A goroutine never gets ahead of the stream (it only moves on from v
	// when the stream is past v), so each version is won by exactly one.
	start := make(chan struct{})
	results := make([][]attempt, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			<-start
			for v := domain.NoStream; v < versions-1; v++ {
				r, err := ms.WriteMessage(ctx, stream, newMsg("Tested", g), domain.ExpectVersion(v))
				results[g] = append(results[g], attempt{expected: v, result: r, err: err})
			}
		})
	}
	close(start)
	wg.Wait()

	wins := map[int64]int{}
	for g, as := range results {
		for _, a := range as {
			if a.err == nil {
				wins[a.expected]++
				assert.Equal(t, a.expected+1, a.result.Position, "goroutine %d: a write expecting version %d lands at %d", g, a.expected, a.expected+1)
				continue
			}
			var vc *domain.VersionConflictError
			if !assert.ErrorAs(t, a.err, &vc, "goroutine %d, expected version %d: every failure is a version conflict", g, a.expected) {
				continue
			}
			assert.ErrorIs(t, a.err, domain.ErrVersionConflict)
			assert.Equal(t, stream, vc.StreamName)
			assert.Equal(t, a.expected, vc.Expected)
			assert.Greater(t, vc.Actual, vc.Expected, "goroutine %d: the stream was already past version %d", g, a.expected)
		}
	}
	for v := domain.NoStream; v < versions-1; v++ {
		assert.Equal(t, 1, wins[v], "exactly one write succeeds expecting version %d", v)
	}

	msgs := streamMessages(t, ms, stream)
	assert.Equal(t, seq(0, versions-1), positions(msgs), "positions 0..N-1, no gap, no duplicate")
	assertStrictlyIncreasing(t, globalPositions(msgs), "stream read")
	assert.Equal(t, int64(versions-1), version(t, ms, stream))
	assert.Len(t, allMessages(t, ms), versions, "failed writes wrote nothing")
}

func testConcurrentNamespaces(t *testing.T, newStore Factory) {
	store := newStore(t)
	ctx := t.Context()
	const namespaces, perNamespace, messages = 4, 4, 10
	nsIDs := make([]string, namespaces)
	for i := range nsIDs {
		nsIDs[i] = createNamespace(t, store)
	}
	stream := category(t, "acct") + "-1" // the same stream name everywhere

	type written struct {
		id     uuid.UUID
		result domain.WriteResult
	}
	start := make(chan struct{})
	results := make([][]written, namespaces*perNamespace)
	errs := make([]error, namespaces*perNamespace)
	var wg sync.WaitGroup
	for g := range namespaces * perNamespace {
		wg.Go(func() {
			<-start
			// Each goroutine opens its own handle, concurrently with the
			// others: opening a namespace must be safe for concurrent callers.
			ms, err := store.MessageStore(ctx, nsIDs[g%namespaces])
			if err != nil {
				errs[g] = err
				return
			}
			for i := range messages {
				id := uuid.New()
				r, err := ms.WriteMessage(ctx, stream, domain.NewMessage{ID: id, Type: "Tested", Data: []byte(fmt.Sprintf(`{"g":%d,"i":%d}`, g, i))}, domain.AnyVersion)
				if err != nil {
					errs[g] = fmt.Errorf("write %d: %w", i, err)
					return
				}
				results[g] = append(results[g], written{id, r})
			}
		})
	}
	close(start)
	wg.Wait()
	for g, err := range errs {
		require.NoError(t, err, "goroutine %d (namespace %s)", g, nsIDs[g%namespaces])
	}

	for n, nsID := range nsIDs {
		ms, err := store.MessageStore(ctx, nsID)
		require.NoError(t, err)
		want := map[uuid.UUID]domain.WriteResult{}
		for g := n; g < len(results); g += namespaces {
			for _, w := range results[g] {
				want[w.id] = w.result
			}
		}
		msgs := streamMessages(t, ms, stream)
		assert.Equal(t, seq(0, perNamespace*messages-1), positions(msgs), "namespace %d: positions of its own writes only", n)
		assertStrictlyIncreasing(t, globalPositions(msgs), fmt.Sprintf("namespace %d", n))
		for _, m := range msgs {
			r, ok := want[m.ID]
			if assert.True(t, ok, "namespace %d holds message %s written to another namespace", n, m.ID) {
				assert.Equal(t, r, domain.WriteResult{Position: m.Position, GlobalPosition: m.GlobalPosition}, "namespace %d: stored where the write said", n)
			}
		}
		assert.Len(t, allMessages(t, ms), perNamespace*messages, "namespace %d", n)
	}
}

func testConcurrentBatches(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	stream := category(t, "acct") + "-1"
	ctx := t.Context()
	const writers, batches, size = 8, 3, 5

	type batch struct {
		ids     []uuid.UUID
		results []domain.WriteResult
	}
	start := make(chan struct{})
	done := make([][]batch, writers)
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			<-start
			for b := range batches {
				var bt batch
				msgs := make([]domain.NewMessage, size)
				for i := range msgs {
					msgs[i] = newMsg(fmt.Sprintf("W%dB%d", w, b), i)
					msgs[i].ID = uuid.New()
					bt.ids = append(bt.ids, msgs[i].ID)
				}
				rs, err := ms.WriteMessages(ctx, stream, msgs, domain.AnyVersion)
				if err != nil {
					errs[w] = err
					return
				}
				bt.results = rs
				done[w] = append(done[w], bt)
			}
		})
	}
	close(start)
	wg.Wait()
	for w, err := range errs {
		require.NoError(t, err, "writer %d: a write with any version must not fail", w)
	}

	msgs := streamMessages(t, ms, stream)
	require.Equal(t, seq(0, writers*batches*size-1), positions(msgs))
	for w, bs := range done {
		for b, bt := range bs {
			require.Len(t, bt.results, size)
			first := bt.results[0].Position
			for i, r := range bt.results {
				assert.Equal(t, first+int64(i), r.Position, "writer %d batch %d: consecutive positions", w, b)
				assert.Equal(t, bt.ids[i], msgs[r.Position].ID, "writer %d batch %d: message %d stored at its position", w, b, i)
				assert.Equal(t, r.GlobalPosition, msgs[r.Position].GlobalPosition)
			}
		}
	}
}

func testConcurrentCategoryReader(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	cat := category(t, "acct")
	other := category(t, "other")
	ctx := t.Context()
	const writers, perWriter = 8, 25

	start := make(chan struct{})
	writersDone := make(chan struct{})
	written := make([][]uuid.UUID, writers)
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			<-start
			for i := range perWriter {
				stream := fmt.Sprintf("%s-%d", cat, (w*perWriter+i)%13)
				id := uuid.New()
				if _, err := ms.WriteMessage(ctx, stream, domain.NewMessage{ID: id, Type: "Tested"}, domain.AnyVersion); err != nil {
					errs[w] = err
					return
				}
				written[w] = append(written[w], id)
				if i%3 == 0 { // interleave another category's global positions
					if _, err := ms.WriteMessage(ctx, fmt.Sprintf("%s-%d", other, w), domain.NewMessage{Type: "Tested"}, domain.AnyVersion); err != nil {
						errs[w] = err
						return
					}
				}
			}
		})
	}
	go func() {
		wg.Wait()
		close(writersDone)
	}()
	defer func() { <-writersDone }() // no writer outlives the test
	close(start)

	// Poll from the last global position read + 1, as a consumer does.
	seen := map[uuid.UUID]int64{}
	last := int64(0)
	deadline := time.After(2 * time.Minute) // liveness bound only
	for {
		finished := false
		select {
		case <-writersDone:
			finished = true
		case <-deadline:
			require.FailNow(t, "category reader did not finish", "read %d messages", len(seen))
		default:
		}
		msgs, err := ms.GetCategoryMessages(ctx, cat, domain.CategoryOpts{Position: last + 1, BatchSize: ptr(7)})
		require.NoError(t, err)
		for _, m := range msgs {
			require.Greater(t, m.GlobalPosition, last, "global positions increase across reads")
			prev, dup := seen[m.ID]
			require.False(t, dup, "message %s read twice (global positions %d and %d)", m.ID, prev, m.GlobalPosition)
			seen[m.ID] = m.GlobalPosition
			last = m.GlobalPosition
		}
		if len(msgs) == 0 {
			if finished {
				break
			}
			time.Sleep(time.Millisecond)
		}
	}
	for w, err := range errs {
		require.NoError(t, err, "writer %d", w)
	}

	missing := 0
	for _, ids := range written {
		for _, id := range ids {
			if _, ok := seen[id]; !ok {
				missing++
			}
		}
	}
	assert.Zero(t, missing, "a reader paging by global position missed messages that committed late")
	assert.Equal(t, writers*perWriter, len(seen), "every message of the category read exactly once")
	assert.Len(t, categoryMessages(t, ms, cat, domain.CategoryOpts{BatchSize: unlimited()}), writers*perWriter)
}

func testConcurrentRetries(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	stream := category(t, "acct") + "-1"
	ctx := t.Context()
	write(t, ms, stream, newMsg("Before", 0))
	m := newMsgWithID(t, "Deposited", 1)

	const n = 8
	start := make(chan struct{})
	results := make([]domain.WriteResult, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for g := range n {
		wg.Go(func() {
			<-start
			results[g], errs[g] = ms.WriteMessage(ctx, stream, m, domain.AnyVersion)
		})
	}
	close(start)
	wg.Wait()

	for g := range n {
		require.NoError(t, errs[g], "goroutine %d: a concurrent retry is not an error", g)
		assert.Equal(t, results[0], results[g], "goroutine %d: every retry returns the one stored result", g)
	}
	assert.Equal(t, int64(1), results[0].Position)
	msgs := streamMessages(t, ms, stream)
	require.Len(t, msgs, 2, "the message is stored once")
	assert.Equal(t, m.ID, msgs[1].ID)
}

func testConcurrentCreateNamespace(t *testing.T, newStore Factory) {
	store := newStore(t)
	ctx := t.Context()
	id := uniqueNamespaceID(t)
	t.Cleanup(func() { deleteNamespaceAtCleanup(t, store, id) })

	const n = 8
	start := make(chan struct{})
	errs := make([]error, n)
	var wg sync.WaitGroup
	for g := range n {
		wg.Go(func() {
			<-start
			_, errs[g] = store.CreateNamespace(ctx, id, domain.NamespaceOptions{Description: fmt.Sprint(g)})
		})
	}
	close(start)
	wg.Wait()

	created := 0
	for g, err := range errs {
		if err == nil {
			created++
			continue
		}
		assert.True(t, errors.Is(err, domain.ErrNamespaceExists), "goroutine %d: want ErrNamespaceExists, got %v", g, err)
	}
	assert.Equal(t, 1, created, "exactly one concurrent create succeeds")

	ms, err := store.MessageStore(ctx, id)
	require.NoError(t, err)
	r := write(t, ms, category(t, "acct")+"-1", newMsg("Tested", 0))
	assert.Equal(t, domain.WriteResult{Position: 0, GlobalPosition: 1}, r, "the namespace works after racing creates")
}
