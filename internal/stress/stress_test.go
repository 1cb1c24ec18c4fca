package stress

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messagedb-go/messagedb/app"
	"github.com/messagedb-go/messagedb/domain"
)

// The scenario's size: a fixed amount of work, so that the checks do not
// depend on the machine's speed.
const (
	writers            = 16
	messagesPerWriter  = 125 // 2000 messages in all
	maxBatch           = 5
	streamsPerCategory = 32
	readersPerCategory = 2
	groupSize          = 3
	// scenarioTimeout bounds the whole scenario on one backend: a liveness
	// bound, far above what it takes.
	scenarioTimeout = 3 * time.Minute
)

// categories are the scenario's categories; the last has a category type.
var categories = []string{"account", "order", "shipment", "user:command"}

// streamNames returns the scenario's streams: per category, ids 0 to 27
// and four compound ids that share a cardinal id with one of those (so that
// consumer groups must hash the cardinal id).
func streamNames() []string {
	var out []string
	for _, c := range categories {
		for i := range streamsPerCategory - 4 {
			out = append(out, fmt.Sprintf("%s-%d", c, i))
		}
		for i := range 4 {
			out = append(out, fmt.Sprintf("%s-%d+part", c, i))
		}
	}
	return out
}

// ack is an acknowledged write of one message: where the store said it is.
type ack struct {
	id     uuid.UUID
	stream string
	result domain.WriteResult
}

// seen is what a reader or consumer recorded of a message.
type seen struct {
	id             uuid.UUID
	stream         string
	globalPosition int64
}

func record(m domain.Message) seen {
	return seen{id: m.ID, stream: m.StreamName, globalPosition: m.GlobalPosition}
}

// TestStress_ConcurrentWritersReadersAndGroups runs the concurrency
// scenario described in the package documentation on every backend.
func TestStress_ConcurrentWritersReadersAndGroups(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			runScenario(t, b.open(t))
		})
	}
}

// scenario is the shared state of one run.
type scenario struct {
	ns      *app.Namespace
	streams []string

	acksMu sync.Mutex
	acks   []ack

	conflicts atomic.Int64
	errsMu    sync.Mutex
	errs      []error
}

func (s *scenario) fail(err error) {
	s.errsMu.Lock()
	defer s.errsMu.Unlock()
	s.errs = append(s.errs, err)
}

// failures returns the errors so far; readers may still be adding some.
func (s *scenario) failures() []error {
	s.errsMu.Lock()
	defer s.errsMu.Unlock()
	return slices.Clone(s.errs)
}

// reader pages through a category by global position, as Message DB's
// consumers do, and records every message it reads.
type reader struct {
	category  string
	batchSize int64
	mu        sync.Mutex
	got       []seen
}

// member is one consumer of a group and what it handled.
type member struct {
	category string
	index    int64
	consumer *app.Consumer
	mu       sync.Mutex
	handled  []seen
	runErr   error
}

func runScenario(t *testing.T, store *app.Store) {
	ctx, cancel := context.WithTimeout(t.Context(), scenarioTimeout)
	defer cancel()
	ns, err := store.CreateNamespace(ctx, "stress", domain.NamespaceOptions{Description: "concurrency scenario"})
	require.NoError(t, err)
	handle, err := store.Namespace(ctx, ns.ID)
	require.NoError(t, err)
	s := &scenario{ns: handle, streams: streamNames()}

	// Readers and consumers start first, on an empty namespace, and follow
	// the writes as they commit. Consumers run until follow is cancelled.
	follow, stopFollowing := context.WithCancel(ctx)
	defer stopFollowing()
	heads := map[string]*atomic.Int64{} // a category's last global position, once writers are done
	var readers []*reader
	var members []*member
	for _, c := range categories {
		heads[c] = new(atomic.Int64)
		for i := range readersPerCategory {
			readers = append(readers, &reader{category: c, batchSize: []int64{37, 500}[i%2]})
		}
		for m := range int64(groupSize) {
			mem := &member{category: c, index: m}
			consumer, err := handle.NewConsumer(c, mem.handle, app.ConsumerOptions{
				ID:           fmt.Sprintf("member%d", m),
				Group:        &domain.ConsumerGroup{Member: m, Size: groupSize},
				BatchSize:    100,
				PollInterval: 20 * time.Millisecond,
			})
			require.NoError(t, err)
			mem.consumer = consumer
			members = append(members, mem)
		}
	}
	writersDone := make(chan struct{})
	var reading, consuming sync.WaitGroup
	for _, r := range readers {
		reading.Go(func() { r.run(ctx, s, writersDone, heads[r.category]) })
	}
	for _, m := range members {
		consuming.Go(func() { m.runErr = m.consumer.Run(follow) })
	}

	// Writers are released at once.
	start := make(chan struct{})
	var writing sync.WaitGroup
	for w := range writers {
		writing.Go(func() {
			<-start
			s.write(ctx, w)
		})
	}
	close(start)
	writing.Wait()
	require.Empty(t, s.failures(), "writes failed")
	require.Len(t, s.acks, writers*messagesPerWriter, "every message written is acknowledged")
	t.Logf("%d messages written, %d version conflicts retried", len(s.acks), s.conflicts.Load())

	// The final state, read once everything has committed.
	all, err := handle.ReadAll(ctx, domain.AllOpts{BatchSize: new(domain.Unlimited)})
	require.NoError(t, err)
	byCategory := map[string][]seen{}
	for _, m := range all {
		c := domain.Category(m.StreamName)
		if _, ok := heads[c]; ok {
			byCategory[c] = append(byCategory[c], record(m))
		}
	}
	for c, h := range heads {
		require.NotEmpty(t, byCategory[c], "category %s has messages", c)
		h.Store(byCategory[c][len(byCategory[c])-1].globalPosition)
	}
	close(writersDone)

	// Readers stop by themselves at the head (or when ctx ends); consumers
	// are stopped once each member has reached its own head.
	reading.Wait()
	waitForGroups(ctx, t, members, byCategory)
	stopFollowing()
	consuming.Wait()
	require.NoError(t, ctx.Err(), "the scenario did not finish within %s", scenarioTimeout)
	assert.Empty(t, s.failures(), "reads failed")

	checkStreams(t, s, all)
	checkReaders(t, readers, byCategory)
	checkGroups(t, members, byCategory)
}

// write writes writer w's share of messages: batches of 1 to maxBatch
// messages to streams drawn at random (seeded by w, so each run writes the
// same), every other one with an expected version.
func (s *scenario) write(ctx context.Context, w int) {
	rng := rand.New(rand.NewPCG(uint64(w), 42))
	for k := 0; k < messagesPerWriter; {
		stream := s.streams[rng.IntN(len(s.streams))]
		n := 1
		if rng.IntN(2) == 0 {
			n = min(2+rng.IntN(maxBatch-1), messagesPerWriter-k)
		}
		msgs := make([]domain.NewMessage, n)
		for i := range msgs {
			msgs[i] = domain.NewMessage{
				ID:   uuid.New(),
				Type: "Tested",
				Data: json.RawMessage(fmt.Sprintf(`{"writer":%d,"n":%d}`, w, k+i)),
			}
		}
		rs, err := s.writeOne(ctx, stream, msgs, rng.IntN(2) == 0)
		if err != nil {
			s.fail(fmt.Errorf("writer %d: %w", w, err))
			return
		}
		s.acksMu.Lock()
		for i, r := range rs {
			s.acks = append(s.acks, ack{id: msgs[i].ID, stream: stream, result: r})
		}
		s.acksMu.Unlock()
		k += n
	}
}

// writeOne writes msgs to stream, with AnyVersion or, when expect is set,
// with the stream's version as read just before, re-reading it and trying
// again after each conflict.
func (s *scenario) writeOne(ctx context.Context, stream string, msgs []domain.NewMessage, expect bool) ([]domain.WriteResult, error) {
	for {
		expected, v := domain.AnyVersion, int64(0)
		if expect {
			var err error
			if v, err = s.ns.Version(ctx, stream); err != nil {
				return nil, err
			}
			expected = domain.ExpectVersion(v)
		}
		var rs []domain.WriteResult
		var err error
		if len(msgs) == 1 {
			var r domain.WriteResult
			r, err = s.ns.Write(ctx, stream, msgs[0], expected)
			rs = []domain.WriteResult{r}
		} else {
			rs, err = s.ns.WriteBatch(ctx, stream, msgs, expected)
		}
		if expect && errors.Is(err, domain.ErrVersionConflict) {
			s.conflicts.Add(1)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("write %d message(s) to %s (expected version %s): %w", len(msgs), stream, expected, err)
		}
		if len(rs) != len(msgs) {
			return nil, fmt.Errorf("write %d message(s) to %s: %d results", len(msgs), stream, len(rs))
		}
		for i, r := range rs {
			if i > 0 && (r.Position != rs[0].Position+int64(i) || r.GlobalPosition <= rs[i-1].GlobalPosition) {
				return nil, fmt.Errorf("write to %s: batch results %v are not consecutive", stream, rs)
			}
		}
		if expect && rs[0].Position != v+1 {
			return nil, fmt.Errorf("write to %s at expected version %d: stored at position %d, want %d", stream, v, rs[0].Position, v+1)
		}
		return rs, nil
	}
}

// run reads the category from global position 1 until it has read up to
// its head, known once writers are done.
func (r *reader) run(ctx context.Context, s *scenario, writersDone <-chan struct{}, head *atomic.Int64) {
	next := domain.FirstGlobalPosition
	for {
		msgs, err := s.ns.ReadCategory(ctx, r.category, domain.CategoryOpts{Position: next, BatchSize: &r.batchSize})
		if err != nil {
			if ctx.Err() == nil {
				s.fail(fmt.Errorf("reader of %s from %d: %w", r.category, next, err))
			}
			return
		}
		r.mu.Lock()
		for _, m := range msgs {
			r.got = append(r.got, record(m))
			next = m.GlobalPosition + 1
		}
		r.mu.Unlock()
		if int64(len(msgs)) == r.batchSize {
			continue
		}
		select {
		case <-writersDone:
			if next > head.Load() {
				return
			}
		case <-ctx.Done():
			return
		default:
		}
		// Polling, as a consumer does when it has caught up.
		select {
		case <-ctx.Done():
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (m *member) handle(_ context.Context, msg domain.Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.handled = append(m.handled, record(msg))
	return nil
}

// waitForGroups waits until every member of each category's group has
// handled the last message of its own streams (or ctx ends). A member that
// skipped a message reaches that head all the same, so a missed message
// shows in checkGroups, not as a timeout.
func waitForGroups(ctx context.Context, t *testing.T, members []*member, byCategory map[string][]seen) {
	t.Helper()
	heads := map[*member]int64{}
	for _, m := range members {
		for _, msg := range byCategory[m.category] {
			if domain.IsMember(msg.stream, m.index, groupSize) {
				heads[m] = msg.globalPosition
			}
		}
	}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		var behind []string
		for _, m := range members {
			m.mu.Lock()
			last := int64(0)
			if len(m.handled) > 0 {
				last = m.handled[len(m.handled)-1].globalPosition
			}
			m.mu.Unlock()
			if last < heads[m] {
				behind = append(behind, fmt.Sprintf("%s member %d at %d of %d", m.category, m.index, last, heads[m]))
			}
		}
		if len(behind) == 0 {
			return
		}
		select {
		case <-ctx.Done():
			t.Errorf("consumer groups did not catch up: %v", behind)
			return
		case <-tick.C:
		}
	}
}

// checkStreams checks the namespace against the acknowledged writes: every
// stream's positions are 0..N-1, and the namespace holds exactly the
// acknowledged messages (besides the consumers' position streams), each
// where its write said.
func checkStreams(t *testing.T, s *scenario, all []domain.Message) {
	t.Helper()
	ctx := t.Context()
	byID := map[uuid.UUID]domain.Message{}
	var gps []int64
	for _, m := range all {
		gps = append(gps, m.GlobalPosition)
		if _, dup := byID[m.ID]; dup {
			t.Errorf("message id %s stored twice", m.ID)
		}
		byID[m.ID] = m
	}
	assertIncreasing(t, gps, "all messages")

	acked := map[uuid.UUID]bool{}
	for _, a := range s.acks {
		acked[a.id] = true
		m, ok := byID[a.id]
		if !assert.True(t, ok, "acknowledged message %s (%s at %d) is stored", a.id, a.stream, a.result.Position) {
			continue
		}
		assert.Equal(t, a.stream, m.StreamName, "stream of message %s", a.id)
		assert.Equal(t, a.result, domain.WriteResult{Position: m.Position, GlobalPosition: m.GlobalPosition},
			"message %s is where its write said", a.id)
	}
	positionStreams := map[string]bool{}
	for _, c := range categories {
		for m := range int64(groupSize) {
			positionStreams[app.PositionStreamName(c, fmt.Sprintf("member%d", m))] = true
		}
	}
	for _, m := range all {
		if !acked[m.ID] {
			assert.True(t, positionStreams[m.StreamName], "message %s in %s was never written by a writer", m.ID, m.StreamName)
		}
	}

	// Per stream: positions 0..N-1 through every read of a stream.
	perStream := map[string]int{}
	for _, a := range s.acks {
		perStream[a.stream]++
	}
	assert.Len(t, perStream, len(s.streams), "every stream was written")
	for stream, n := range perStream {
		msgs, err := s.ns.Read(ctx, stream, domain.GetOpts{BatchSize: new(domain.Unlimited)})
		require.NoError(t, err)
		positions := make([]int64, len(msgs))
		for i, m := range msgs {
			positions[i] = m.Position
		}
		assert.Equal(t, seq(int64(n)), positions, "positions of %s: 0..N-1, no gap or duplicate", stream)
		v, err := s.ns.Version(ctx, stream)
		require.NoError(t, err)
		assert.Equal(t, int64(n-1), v, "version of %s", stream)
		last, err := s.ns.Last(ctx, stream, "")
		require.NoError(t, err)
		assert.Equal(t, int64(n-1), last.Position, "last message of %s", stream)
	}
}

// checkReaders checks that each reader saw strictly increasing global
// positions and, in the end, the category's full list.
func checkReaders(t *testing.T, readers []*reader, byCategory map[string][]seen) {
	t.Helper()
	for i, r := range readers {
		gps := make([]int64, len(r.got))
		for j, m := range r.got {
			gps[j] = m.globalPosition
		}
		what := fmt.Sprintf("reader %d of %s (batch size %d)", i, r.category, r.batchSize)
		assertIncreasing(t, gps, what)
		missed, invented := diff(byCategory[r.category], r.got)
		assert.Empty(t, missed, "%s: missed messages (global position: stream)", what)
		assert.Empty(t, invented, "%s: read messages that are not in the category (global position: stream)", what)
	}
}

// checkGroups checks that every message of a category was handled by
// exactly one member of its group, the one its stream belongs to, once.
func checkGroups(t *testing.T, members []*member, byCategory map[string][]seen) {
	t.Helper()
	for _, m := range members {
		assert.NoError(t, m.runErr, "consumer %s member %d", m.category, m.index)
	}
	for c, msgs := range byCategory {
		handledBy := map[uuid.UUID][]int64{}
		for _, m := range members {
			if m.category != c {
				continue
			}
			gps := make([]int64, len(m.handled))
			for i, h := range m.handled {
				gps[i] = h.globalPosition
				handledBy[h.id] = append(handledBy[h.id], m.index)
				want, ok := domain.GroupMember(h.stream, groupSize)
				assert.True(t, ok && want == m.index, "%s: member %d handled %s, which belongs to member %d", c, m.index, h.stream, want)
			}
			assertIncreasing(t, gps, fmt.Sprintf("member %d of %s", m.index, c))
		}
		// Streams that share a cardinal id ("account-1" and
		// "account-1+part") go to the same member, whatever the hash.
		byCardinal := map[string]map[int64]bool{}
		for _, msg := range msgs {
			assert.Len(t, handledBy[msg.id], 1, "%s: message %s of %s handled once by one member, got members %v",
				c, msg.id, msg.stream, handledBy[msg.id])
			cardinal := domain.Category(msg.stream) + "-" + domain.CardinalID(msg.stream)
			if byCardinal[cardinal] == nil {
				byCardinal[cardinal] = map[int64]bool{}
			}
			for _, member := range handledBy[msg.id] {
				byCardinal[cardinal][member] = true
			}
		}
		for cardinal, handlers := range byCardinal {
			assert.Len(t, handlers, 1, "%s: the streams of cardinal id %s were handled by members %v, want one", c, cardinal, handlers)
		}
		assert.Len(t, handledBy, len(msgs), "%s: the group handled exactly the category's messages", c)
	}
}

// diff returns the messages of want that got lacks and those of got that
// want lacks, as "global position: stream".
func diff(want, got []seen) (missing, extra []string) {
	in := func(list []seen) map[seen]bool {
		m := make(map[seen]bool, len(list))
		for _, s := range list {
			m[s] = true
		}
		return m
	}
	w, g := in(want), in(got)
	for _, s := range want {
		if !g[s] {
			missing = append(missing, fmt.Sprintf("%d: %s", s.globalPosition, s.stream))
		}
	}
	for _, s := range got {
		if !w[s] {
			extra = append(extra, fmt.Sprintf("%d: %s", s.globalPosition, s.stream))
		}
	}
	return missing, extra
}

func assertIncreasing(t *testing.T, gps []int64, what string) {
	t.Helper()
	for i := 1; i < len(gps); i++ {
		if gps[i] <= gps[i-1] {
			t.Errorf("%s: global position %d at index %d follows %d", what, gps[i], i, gps[i-1])
			return
		}
	}
}

// seq returns 0, 1, ..., n-1.
func seq(n int64) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = int64(i)
	}
	return out
}
