package faults_test

import (
	"context"
	"fmt"
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

// startWriters starts n writers on ns, released at once, that write until
// the returned function is called (which waits for them). Each owns its
// streams, so that its expected versions hold while it knows them; after a
// failed write it no longer knows the stream's version (the write may have
// committed) until a write with AnyVersion is acknowledged. Every write is
// passed to record with the phase it ended in; a failed write for which
// wrong reports true fails the test.
func startWriters(ctx context.Context, t *testing.T, ns *app.Namespace, n int, phase *atomic.Int32,
	record func(w pgWrite, now int32), wrong func(w pgWrite) bool) (stop func()) {
	start, done := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	for w := range n {
		wg.Go(func() {
			<-start
			known := map[string]int64{}
			for seq := 0; ; seq++ {
				select {
				case <-done:
					return
				default:
				}
				write := pgWrite{writer: w, stream: fmt.Sprintf("%s-w%ds%d", pgCategory, w, seq%3), phase: phase.Load()}
				n := 1
				if seq%4 == 3 {
					n = 3
				}
				for i := range n {
					write.msgs = append(write.msgs, domain.NewMessage{ID: uuid.New(), Type: "Written", Data: fmt.Appendf(nil, `{"w":%d,"seq":%d,"i":%d}`, w, seq, i)})
				}
				expected := domain.AnyVersion
				if v, ok := known[write.stream]; ok && seq%2 == 1 {
					expected = domain.ExpectVersion(v)
				}
				wctx, cancel := context.WithTimeout(ctx, pgWriteTimeout)
				write.results, write.err = ns.WriteBatch(wctx, write.stream, write.msgs, expected)
				cancel()
				record(write, phase.Load())
				if write.err != nil {
					if wrong(write) {
						t.Errorf("writer %d: %v", w, write.err)
					}
					delete(known, write.stream)
					time.Sleep(10 * time.Millisecond) // as an application backs off
					continue
				}
				known[write.stream] = write.results[len(write.results)-1].Position
			}
		})
	}
	close(start)
	return func() {
		select {
		case <-done:
		default:
			close(done)
		}
		wg.Wait()
	}
}

// retryFailed retries each failed write with the same ids, as an
// application does: a write that had committed is an idempotent retry that
// returns where it is stored (byID, what the category held before), one
// that had not is written now; either way once. It returns the category
// after the retries, checked, and by id.
func retryFailed(t *testing.T, ns *app.Namespace, failed []pgWrite, byID map[uuid.UUID]domain.Message) ([]domain.Message, map[uuid.UUID]domain.Message) {
	t.Helper()
	for _, w := range failed {
		results, err := ns.WriteBatch(t.Context(), w.stream, w.msgs, domain.AnyVersion)
		require.NoError(t, err, "retry of a failed write to %s", w.stream)
		for i, m := range w.msgs {
			if got, ok := byID[m.ID]; ok {
				assert.Equal(t, got.Position, results[i].Position, "retry of stored message %s", m.ID)
				assert.Equal(t, got.GlobalPosition, results[i].GlobalPosition, "retry of stored message %s", m.ID)
			}
		}
	}
	all := readCategory(t, ns)
	byID = checkCategory(t, all)
	for _, w := range failed {
		for _, m := range w.msgs {
			assert.Contains(t, byID, m.ID, "retried message %s", m.ID)
		}
	}
	return all, byID
}

// recordingConsumer is a consumer of the test's category run in the
// background, recording what it handled. It rides out outages by itself,
// retrying the store for as long as a test waits.
type recordingConsumer struct {
	c      *app.Consumer
	cancel context.CancelFunc
	done   chan error
	caught chan int64

	mu      sync.Mutex
	order   []uuid.UUID
	gps     []int64
	handled map[uuid.UUID]int
	stopped bool
}

func startConsumer(t *testing.T, ns *app.Namespace, id string) *recordingConsumer {
	t.Helper()
	fc := &recordingConsumer{caught: make(chan int64, 1000), handled: map[uuid.UUID]int{}}
	c, err := ns.NewConsumer(pgCategory, fc.handle, app.ConsumerOptions{
		ID: id, BatchSize: 50, PositionUpdateInterval: 10, PollInterval: 20 * time.Millisecond,
		StoreRetry: app.StoreRetry{MinBackoff: 10 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, MaxAttempts: 1000},
		OnCaughtUp: fc.onCaughtUp,
	})
	require.NoError(t, err)
	fc.c = c
	fc.run()
	return fc
}

func (fc *recordingConsumer) run() {
	ctx, cancel := context.WithCancel(context.Background())
	fc.cancel, fc.done = cancel, make(chan error, 1)
	go func() { fc.done <- fc.c.Run(ctx) }()
}

func (fc *recordingConsumer) handle(_ context.Context, m domain.Message) error {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	fc.order = append(fc.order, m.ID)
	fc.gps = append(fc.gps, m.GlobalPosition)
	fc.handled[m.ID]++
	return nil
}

func (fc *recordingConsumer) onCaughtUp(gp int64) {
	select {
	case fc.caught <- gp:
	default:
	}
}

// caughtUp waits until the consumer has caught up with global position gp.
func (fc *recordingConsumer) caughtUp(t *testing.T, gp int64) {
	t.Helper()
	deadline := time.After(pgPhaseTimeout)
	for {
		select {
		case got := <-fc.caught:
			if got >= gp {
				return
			}
		case err := <-fc.done:
			fc.done <- err
			t.Fatalf("the consumer stopped: %v", err)
		case <-deadline:
			fc.mu.Lock()
			last := int64(0)
			if len(fc.gps) > 0 {
				last = fc.gps[len(fc.gps)-1]
			}
			n := len(fc.gps)
			fc.mu.Unlock()
			t.Fatalf("the consumer did not catch up with global position %d within %s (it handled %d messages, the last at %d)", gp, pgPhaseTimeout, n, last)
		}
	}
}

// stop stops the consumer and checks that Run returned nil, as a clean
// stop does.
func (fc *recordingConsumer) stop(t *testing.T) {
	fc.mu.Lock()
	if fc.stopped {
		fc.mu.Unlock()
		return
	}
	fc.stopped = true
	fc.mu.Unlock()
	fc.cancel()
	assert.NoError(t, <-fc.done, "consumer Run")
}

// check checks that the consumer handled every message of all, each once,
// in increasing global position order: it never skipped nor went back.
func (fc *recordingConsumer) check(t *testing.T, all []domain.Message) {
	t.Helper()
	fc.mu.Lock()
	defer fc.mu.Unlock()
	for i := 1; i < len(fc.gps); i++ {
		if fc.gps[i] <= fc.gps[i-1] {
			t.Errorf("the consumer went back: global position %d handled after %d", fc.gps[i], fc.gps[i-1])
			break
		}
	}
	for _, m := range all {
		assert.Equal(t, 1, fc.handled[m.ID], "message %s at global position %d handled once", m.ID, m.GlobalPosition)
	}
}
