package faults_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messagedb-go/messagedb/adapters/postgres"
	"github.com/messagedb-go/messagedb/app"
	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/internal/pgtest"
)

// Bounds of the failover tests. None is a timing assertion.
const (
	failoverWriters     = 4
	failoverAckedBefore = 200 // acknowledged writes before the kill
	failoverAckedAfter  = 20  // per writer, after the promotion
)

// TestFailover_SynchronousReplicationLosesNothing kills the primary with
// SIGKILL while writers and a consumer run, promotes its synchronous
// standby, and checks on the new primary that no acknowledged write was
// lost.
func TestFailover_SynchronousReplicationLosesNothing(t *testing.T) {
	t.Parallel()
	testFailover(t, true)
}

// TestFailover_AsynchronousReplicationReportsLosses is the same with an
// asynchronous standby: the last acknowledged writes may be lost, which it
// reports rather than fails for.
func TestFailover_AsynchronousReplicationReportsLosses(t *testing.T) {
	t.Parallel()
	testFailover(t, false)
}

// failoverLedger is what the writers of a failover test did.
type failoverLedger struct {
	mu     sync.Mutex
	acked  []pgWrite
	failed []pgWrite
	// per writer: failures after the kill, acknowledged writes after the
	// promotion
	failedDown, ackedAfter [failoverWriters]int
	// errors of the writes that failed after the kill, by kind
	unavailable, deadline, other int
	firstOther                   error
	// conflicts of expected versions after the failover (async: the
	// writer's version was lost)
	conflicts int
	// the first write acknowledged that started after the kill
	firstAckAfterKill time.Time
}

func (l *failoverLedger) count(f func() int) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return f()
}

func (l *failoverLedger) allAtLeast(counts *[failoverWriters]int, n int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range counts {
		if c < n {
			return false
		}
	}
	return true
}

func testFailover(t *testing.T, synchronous bool) {
	began := time.Now()
	ctx := t.Context()
	primary := pgtest.NewCluster(t)
	standby := primary.NewStandby(t)
	setup, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if synchronous {
		// Set after the standby's copy, which must not inherit it: once
		// promoted, it would wait for a standby of its own.
		require.NoError(t, primary.Set(setup, "synchronous_standby_names", "*"))
	}
	require.NoError(t, primary.WaitStreaming(setup, 1, synchronous))
	t.Logf("primary and standby ready after %s", time.Since(began).Round(time.Millisecond))

	// One multi-host URL: connections go to whichever server accepts
	// writes. Category reads go to the standby while it is one.
	storeURL := "postgres://postgres@/postgres?" + url.Values{
		"host":                 {primary.Dir() + "," + standby.Dir()},
		"sslmode":              {"disable"},
		"target_session_attrs": {"read-write"},
		"standby_hosts":        {standby.Dir()},
	}.Encode()
	s, err := app.Open(ctx, storeURL, &app.Options{Postgres: &postgres.Options{MaxConns: 8}})
	require.NoError(t, err)
	defer s.Close()
	ns, err := s.EnsureNamespace(ctx, "failover", domain.NamespaceOptions{})
	require.NoError(t, err)

	// The consumer: it rides out the failover by itself.
	cons := startFailoverConsumer(t, ns)
	defer cons.stop(t)

	var phase atomic.Int32
	var killedAt time.Time
	var ledger failoverLedger
	start, stop := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	for w := range failoverWriters {
		wg.Go(func() {
			<-start
			known := map[string]int64{}
			for seq := 0; ; seq++ {
				select {
				case <-stop:
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
				now := phase.Load()
				ledger.mu.Lock()
				switch {
				case write.err == nil:
					ledger.acked = append(ledger.acked, write)
					if write.phase != phaseUp && ledger.firstAckAfterKill.IsZero() {
						ledger.firstAckAfterKill = time.Now()
					}
					if write.phase == phaseRestarted {
						ledger.ackedAfter[w]++
					}
				case errors.Is(write.err, domain.ErrVersionConflict) && !synchronous && write.phase != phaseUp:
					// Its version was acknowledged, then lost: nothing
					// was written, nothing is in doubt.
					ledger.conflicts++
				default:
					ledger.failed = append(ledger.failed, write)
					if write.phase != phaseUp || now != phaseUp {
						switch {
						case errors.Is(write.err, domain.ErrUnavailable):
							ledger.unavailable++
						case errors.Is(write.err, context.DeadlineExceeded):
							ledger.deadline++
						default:
							if ledger.other == 0 {
								ledger.firstOther = write.err
							}
							ledger.other++
						}
					}
					if now == phaseDown {
						ledger.failedDown[w]++
					}
				}
				ledger.mu.Unlock()
				if write.err != nil {
					if errors.Is(write.err, domain.ErrDuplicateMessageID) ||
						(errors.Is(write.err, domain.ErrVersionConflict) && (synchronous || write.phase == phaseUp)) {
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
	stopWriters := func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		wg.Wait()
	}
	defer stopWriters()
	close(start)

	waitFor(t, fmt.Sprintf("%d acknowledged writes before the kill", failoverAckedBefore), func() bool {
		return ledger.count(func() int { return len(ledger.acked) }) >= failoverAckedBefore
	})
	storedBefore, err := cons.c.Position(ctx)
	require.NoError(t, err)

	killedAt = time.Now()
	require.NoError(t, primary.Kill())
	phase.Store(phaseDown)
	t.Logf("primary killed (SIGKILL) at %s, %d writes acknowledged", time.Since(began).Round(time.Millisecond),
		ledger.count(func() int { return len(ledger.acked) }))
	waitFor(t, "failed writes of every writer while no server accepts writes", func() bool {
		return ledger.allAtLeast(&ledger.failedDown, 2)
	})
	require.NoError(t, standby.Promote(ctx))
	phase.Store(phaseRestarted)
	t.Logf("standby promoted %s after the kill", time.Since(killedAt).Round(time.Millisecond))

	waitFor(t, fmt.Sprintf("%d acknowledged writes of every writer after the promotion", failoverAckedAfter), func() bool {
		return ledger.allAtLeast(&ledger.ackedAfter, failoverAckedAfter)
	})
	stopWriters()
	if t.Failed() {
		return
	}

	// What the new primary holds.
	all := readCategory(t, ns)
	byID := checkCategory(t, all)
	lost, lostWrites := 0, 0
	for _, w := range ledger.acked {
		missing := 0
		for i, m := range w.msgs {
			got, ok := byID[m.ID]
			if !ok {
				missing++
				continue
			}
			assert.Equal(t, w.stream, got.StreamName, "message %s", m.ID)
			assert.Equal(t, w.results[i].Position, got.Position, "message %s", m.ID)
			assert.Equal(t, w.results[i].GlobalPosition, got.GlobalPosition, "message %s", m.ID)
		}
		if missing > 0 {
			assert.Equal(t, len(w.msgs), missing, "acknowledged write to %s: a batch is lost whole or not at all", w.stream)
			lost += missing
			lostWrites++
		}
	}
	// A write in flight at the kill failed without an answer: it is in
	// doubt, stored whole or not at all.
	inDoubt, inDoubtStored, stored := 0, 0, 0
	for _, w := range ledger.failed {
		n := 0
		for _, m := range w.msgs {
			if _, ok := byID[m.ID]; ok {
				n++
			}
		}
		if n != 0 && n != len(w.msgs) {
			t.Errorf("failed write to %s: %d of its %d messages stored: a batch is all or nothing", w.stream, n, len(w.msgs))
		}
		if n > 0 {
			stored++
		}
		if w.phase == phaseUp {
			inDoubt++
			if n > 0 {
				inDoubtStored++
			}
		}
	}
	firstAck := ledger.firstAckAfterKill.Sub(killedAt)
	mode := "asynchronous"
	if synchronous {
		mode = "synchronous"
	}
	t.Logf("%s replication: %d writes acknowledged (%d messages), %d lost (%d messages); "+
		"%d writes failed (%d stored all the same; %d in flight at the kill, %d of them stored): %d unavailable, %d out of time, %d other; "+
		"%d expected-version conflicts after the failover; first write acknowledged %s after the kill",
		mode, len(ledger.acked), countMessages(ledger.acked), lostWrites, lost,
		len(ledger.failed), stored, inDoubt, inDoubtStored, ledger.unavailable, ledger.deadline, ledger.other,
		ledger.conflicts, firstAck.Round(time.Millisecond))
	if synchronous {
		assert.Zero(t, lost, "acknowledged messages lost under synchronous replication")
	}
	assert.Zero(t, ledger.other, "writes failed during the failover with an error that is neither domain.ErrUnavailable nor a deadline: first %v", ledger.firstOther)
	assert.Positive(t, ledger.unavailable, "writes failed with domain.ErrUnavailable during the failover")
	require.NotEmpty(t, ledger.failed, "no write failed: the failover was not exercised")

	// An application retries each failed write with the same ids: once
	// each, whether it had been stored or not.
	for _, w := range ledger.failed {
		results, err := ns.WriteBatch(ctx, w.stream, w.msgs, domain.AnyVersion)
		require.NoError(t, err, "retry of a failed write to %s", w.stream)
		for i, m := range w.msgs {
			if got, ok := byID[m.ID]; ok {
				assert.Equal(t, got.Position, results[i].Position, "retry of stored message %s", m.ID)
				assert.Equal(t, got.GlobalPosition, results[i].GlobalPosition, "retry of stored message %s", m.ID)
			}
		}
	}
	all = readCategory(t, ns)
	byID = checkCategory(t, all)
	for _, w := range ledger.failed {
		for _, m := range w.msgs {
			assert.Contains(t, byID, m.ID, "retried message %s", m.ID)
		}
	}
	assert.Len(t, all, countMessages(ledger.acked)-lost+countMessages(ledger.failed), "messages stored after the retries")

	// Wake-ups across Stores work again: the listener and the notifier of
	// the first Store reconnected to the new primary.
	checkWakeUps(t, storeURL, standby, s, ns)

	if !synchronous {
		// Positions the consumer handled may have been lost with the
		// messages: only the synchronous test checks the consumer.
		return
	}
	// The consumer rode out the failover, from its position: it handled
	// every message, each once in order while it ran.
	cons.caughtUp(t, all[len(all)-1].GlobalPosition)
	storedAfter, err := cons.c.Position(ctx)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, storedAfter, storedBefore, "the consumer's stored position survived the failover")
	cons.stop(t)
	cons.check(t, all)

	// Run again, it resumes from its stored position: it handles only
	// what was written since.
	stored2, err := cons.c.Position(ctx)
	require.NoError(t, err)
	var fresh []uuid.UUID
	for i := range 5 {
		m := domain.NewMessage{ID: uuid.New(), Type: "Written", Data: fmt.Appendf(nil, `{"after":%d}`, i)}
		_, err := ns.Write(ctx, pgCategory+"-resumed", m, domain.AnyVersion)
		require.NoError(t, err)
		fresh = append(fresh, m.ID)
	}
	cons2 := startFailoverConsumer(t, ns) // the same id
	cons2.caughtUp(t, readCategory(t, ns)[len(all)+4].GlobalPosition)
	cons2.stop(t)
	cons2.mu.Lock()
	defer cons2.mu.Unlock()
	assert.Equal(t, fresh, cons2.order, "resumed from stored position %d: only the messages written since", stored2)
}

// checkWakeUps checks that a write through s wakes a watcher of another
// Store, and the reverse, once both listeners are on the new primary.
func checkWakeUps(t *testing.T, storeURL string, newPrimary *pgtest.Cluster, s *app.Store, ns *app.Namespace) {
	t.Helper()
	ctx := t.Context()
	other, err := app.Open(ctx, storeURL, nil)
	require.NoError(t, err)
	defer other.Close()
	otherNS, err := other.Namespace(ctx, ns.ID())
	require.NoError(t, err)
	watch := func(ns *app.Namespace, category string) <-chan struct{} {
		ch, err := ns.MessageStore().(interface {
			WatchCategory(context.Context, string) (<-chan struct{}, error)
		}).WatchCategory(ctx, category)
		require.NoError(t, err)
		return ch
	}
	catA, catB := "wakeone", "waketwo"
	wakeA, wakeB := watch(ns, catA), watch(otherNS, catB)
	waitFor(t, "both Stores' listeners on the new primary", func() bool {
		return countListeners(t, newPrimary) >= 2
	})
	for _, c := range []struct {
		name   string
		writer *app.Namespace
		cat    string
		wake   <-chan struct{}
	}{
		{"the first Store's listener", otherNS, catA, wakeA},
		{"the first Store's notifier", ns, catB, wakeB},
	} {
		drain(c.wake)
		_, err := c.writer.Write(ctx, c.cat+"-1", domain.NewMessage{Type: "Woke", Data: []byte(`{}`)}, domain.AnyVersion)
		require.NoError(t, err)
		select {
		case <-c.wake:
		case <-time.After(pgPhaseTimeout):
			t.Errorf("%s: no wake-up within %s of a write after the failover", c.name, pgPhaseTimeout)
		}
	}
}

// countListeners returns how many listener connections of Stores the
// cluster has.
func countListeners(t *testing.T, c *pgtest.Cluster) int {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), c.URL())
	require.NoError(t, err)
	defer conn.Close(context.Background())
	var n int
	err = conn.QueryRow(t.Context(), "SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE application_name = 'messagedb-listener'").Scan(&n)
	require.NoError(t, err)
	return n
}

func drain(ch <-chan struct{}) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}

// failoverConsumer is a consumer of the test's category run in the
// background, recording what it handled.
type failoverConsumer struct {
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

func startFailoverConsumer(t *testing.T, ns *app.Namespace) *failoverConsumer {
	t.Helper()
	fc := &failoverConsumer{caught: make(chan int64, 1000), handled: map[uuid.UUID]int{}}
	c, err := ns.NewConsumer(pgCategory, fc.handle, app.ConsumerOptions{
		ID: "failover", BatchSize: 50, PositionUpdateInterval: 10, PollInterval: 20 * time.Millisecond,
		StoreRetry: app.StoreRetry{MinBackoff: 10 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, MaxAttempts: 1000},
		OnCaughtUp: fc.onCaughtUp,
	})
	require.NoError(t, err)
	fc.c = c
	fc.run()
	return fc
}

func (fc *failoverConsumer) run() {
	ctx, cancel := context.WithCancel(context.Background())
	fc.cancel, fc.done = cancel, make(chan error, 1)
	go func() { fc.done <- fc.c.Run(ctx) }()
}

func (fc *failoverConsumer) handle(_ context.Context, m domain.Message) error {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	fc.order = append(fc.order, m.ID)
	fc.gps = append(fc.gps, m.GlobalPosition)
	fc.handled[m.ID]++
	return nil
}

func (fc *failoverConsumer) onCaughtUp(gp int64) {
	select {
	case fc.caught <- gp:
	default:
	}
}

// caughtUp waits until the consumer has caught up with global position gp.
func (fc *failoverConsumer) caughtUp(t *testing.T, gp int64) {
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
func (fc *failoverConsumer) stop(t *testing.T) {
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
func (fc *failoverConsumer) check(t *testing.T, all []domain.Message) {
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
