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

// record records write, which started in write.phase and ended in now.
func (l *failoverLedger) record(write pgWrite, now int32, synchronous bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case write.err == nil:
		l.acked = append(l.acked, write)
		if write.phase != phaseUp && l.firstAckAfterKill.IsZero() {
			l.firstAckAfterKill = time.Now()
		}
		if write.phase == phaseRestarted {
			l.ackedAfter[write.writer]++
		}
	case errors.Is(write.err, domain.ErrVersionConflict) && !synchronous && write.phase != phaseUp:
		// Its version was acknowledged, then lost: nothing was written,
		// nothing is in doubt.
		l.conflicts++
	default:
		l.failed = append(l.failed, write)
		if write.phase != phaseUp || now != phaseUp {
			switch {
			case errors.Is(write.err, domain.ErrUnavailable):
				l.unavailable++
			case errors.Is(write.err, context.DeadlineExceeded):
				l.deadline++
			default:
				if l.other == 0 {
					l.firstOther = write.err
				}
				l.other++
			}
		}
		if now == phaseDown {
			l.failedDown[write.writer]++
		}
	}
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
	cons := startConsumer(t, ns, "failover")
	defer cons.stop(t)

	var phase atomic.Int32
	var killedAt time.Time
	var ledger failoverLedger
	// A duplicate message id is wrong, and so is a conflict on an expected
	// version, but after the failover when replication was asynchronous:
	// the version the writer knew may have been lost.
	stopWriters := startWriters(ctx, t, ns, failoverWriters, &phase, func(w pgWrite, now int32) {
		ledger.record(w, now, synchronous)
	}, func(w pgWrite) bool {
		return errors.Is(w.err, domain.ErrDuplicateMessageID) ||
			(errors.Is(w.err, domain.ErrVersionConflict) && (synchronous || w.phase == phaseUp))
	})
	defer stopWriters()

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

	// An application retries each failed write with the same ids.
	all, byID = retryFailed(t, ns, ledger.failed, byID)
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
	cons2 := startConsumer(t, ns, "failover") // the same id
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
