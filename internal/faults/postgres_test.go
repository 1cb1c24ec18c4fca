package faults_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messagedb-go/messagedb/adapters/postgres"
	"github.com/messagedb-go/messagedb/app"
	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/internal/pgtest"
)

// Bounds of the PostgreSQL crash test. None is a timing assertion: each only
// keeps a broken store from hanging the test run.
const (
	pgWriters      = 4
	pgWriteTimeout = 2 * time.Second  // one write, as an application would bound it
	pgPhaseTimeout = 20 * time.Second // waiting for the next phase of the test
	pgCategory     = "pgcrash"
)

// Phases of the PostgreSQL crash test.
const (
	phaseUp int32 = iota
	phaseDown
	phaseRestarted
)

// pgWrite is one write of the PostgreSQL crash test and its outcome.
type pgWrite struct {
	writer  int
	stream  string
	msgs    []domain.NewMessage
	results []domain.WriteResult // when acknowledged
	err     error                // when not
	phase   int32                // when it started
}

// pgLedger is what the writers did.
type pgLedger struct {
	mu     sync.Mutex
	acked  []pgWrite
	failed []pgWrite
	// per writer, acknowledged writes after the restart and failures while
	// the server was down
	ackedAfter, failedDown [pgWriters]int
	// writes started after the restart that failed, and the first error
	failedAfter int
	firstAfter  error
}

func (l *pgLedger) record(w pgWrite, phase int32) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if w.err == nil {
		l.acked = append(l.acked, w)
		if w.phase == phaseRestarted {
			l.ackedAfter[w.writer]++
		}
		return
	}
	l.failed = append(l.failed, w)
	if w.phase == phaseDown && phase == phaseDown {
		l.failedDown[w.writer]++
	}
	if w.phase == phaseRestarted {
		if l.failedAfter == 0 {
			l.firstAfter = w.err
		}
		l.failedAfter++
	}
}

// all reports whether every writer's count in counts, one of l's per-writer
// counts, is at least n.
func (l *pgLedger) all(counts *[pgWriters]int, n int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range counts {
		if c < n {
			return false
		}
	}
	return true
}

// TestPostgres_ImmediateShutdownWhileWritingAndConsuming stops the server
// with an immediate shutdown (a crash: no checkpoint, WAL replay at start)
// while writers and a consumer run on one Store, then starts it again.
func TestPostgres_ImmediateShutdownWhileWritingAndConsuming(t *testing.T) {
	t.Parallel()
	began := time.Now()
	cluster := pgtest.NewCluster(t)
	t.Logf("server ready after %s", time.Since(began).Round(time.Millisecond))
	ctx := t.Context()
	s, err := app.Open(ctx, cluster.URL(), &app.Options{Postgres: &postgres.Options{MaxConns: 8}})
	require.NoError(t, err)
	defer s.Close()
	ns, err := s.EnsureNamespace(ctx, "faults", domain.NamespaceOptions{})
	require.NoError(t, err)

	// The consumer: it rides out the outage by itself.
	cons := startConsumer(t, ns, "survivor")
	defer cons.stop(t)

	// The writers: a write that conflicts on its expected version, or on
	// a message id, is wrong whatever happened to the server.
	var phase atomic.Int32
	var ledger pgLedger
	stopWriters := startWriters(ctx, t, ns, pgWriters, &phase, ledger.record, func(w pgWrite) bool {
		return errors.Is(w.err, domain.ErrVersionConflict) || errors.Is(w.err, domain.ErrDuplicateMessageID)
	})
	defer stopWriters()

	waitFor(t, "100 acknowledged writes before the crash", func() bool {
		ledger.mu.Lock()
		defer ledger.mu.Unlock()
		return len(ledger.acked) >= 100
	})

	t.Logf("crash at %s", time.Since(began).Round(time.Millisecond))
	require.NoError(t, cluster.Stop(pgtest.Immediate))
	phase.Store(phaseDown)
	waitFor(t, "a failed write of every writer while the server is down", func() bool {
		return ledger.all(&ledger.failedDown, 2)
	})
	t.Logf("restart at %s", time.Since(began).Round(time.Millisecond))
	require.NoError(t, cluster.Start())
	phase.Store(phaseRestarted)
	t.Logf("server ready again at %s", time.Since(began).Round(time.Millisecond))

	// The first calls after the restart, through the same Store.
	var first error
	probes := 0
	waitFor(t, "a read through the same Store after the restart", func() bool {
		probes++
		pctx, cancel := context.WithTimeout(ctx, pgWriteTimeout)
		defer cancel()
		_, err := ns.Version(pctx, pgCategory+"-probe")
		if probes == 1 {
			first = err
		}
		return err == nil
	})
	t.Logf("first read after the restart: %v; it worked after %d attempt(s)", first, probes)

	waitFor(t, "20 acknowledged writes of every writer after the restart", func() bool {
		return ledger.all(&ledger.ackedAfter, 20)
	})
	stopWriters()
	t.Logf("writers stopped at %s; %d writes started after the restart failed (first: %v)",
		time.Since(began).Round(time.Millisecond), ledger.failedAfter, ledger.firstAfter)
	if t.Failed() {
		t.Logf("server log:\n%s", cluster.Log())
		return
	}

	// Every acknowledged write is stored where it was acknowledged; what
	// failed is stored once or not at all.
	all := readCategory(t, ns)
	byID := checkCategory(t, all)
	for _, w := range ledger.acked {
		for i, m := range w.msgs {
			got, ok := byID[m.ID]
			if !assert.True(t, ok, "acknowledged message %s of %s is missing", m.ID, w.stream) {
				continue
			}
			assert.Equal(t, w.stream, got.StreamName, "message %s", m.ID)
			assert.Equal(t, w.results[i].Position, got.Position, "message %s", m.ID)
			assert.Equal(t, w.results[i].GlobalPosition, got.GlobalPosition, "message %s", m.ID)
		}
	}
	var ambiguous, absent, deadlines int
	for _, w := range ledger.failed {
		if errors.Is(w.err, context.DeadlineExceeded) {
			deadlines++
		}
		stored := 0
		for _, m := range w.msgs {
			if _, ok := byID[m.ID]; ok {
				stored++
			}
		}
		switch stored {
		case 0:
			absent++
		case len(w.msgs):
			ambiguous++ // committed, but the acknowledgement was lost
		default:
			t.Errorf("failed write to %s: %d of its %d messages stored: a batch is all or nothing", w.stream, stored, len(w.msgs))
		}
	}
	t.Logf("%d writes acknowledged, %d failed (%d stored all the same, %d ran out of time)",
		len(ledger.acked), len(ledger.failed), ambiguous, deadlines)
	require.NotEmpty(t, ledger.failed, "no write failed: the outage was not exercised")

	// An application retries each failed write with the same ids.
	all, byID = retryFailed(t, ns, ledger.failed, byID)
	assert.Len(t, all, countMessages(ledger.acked)+countMessages(ledger.failed), "messages stored after the retries")

	// The consumer has ridden out the outage and handled every message.
	cons.caughtUp(t, all[len(all)-1].GlobalPosition)
	cons.stop(t)
	cons.mu.Lock()
	defer cons.mu.Unlock()
	again := 0
	for _, m := range all {
		if !assert.Positive(t, cons.handled[m.ID], "message %s at global position %d was not handled", m.ID, m.GlobalPosition) {
			continue
		}
		again += cons.handled[m.ID] - 1
	}
	t.Logf("the consumer handled %d messages, %d of them more than once", len(all), again)
}

// waitFor polls cond until it holds, failing the test after pgPhaseTimeout.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(pgPhaseTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %s", what, pgPhaseTimeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// readCategory returns every message of the test's category.
func readCategory(t *testing.T, ns *app.Namespace) []domain.Message {
	t.Helper()
	all, err := ns.ReadCategory(t.Context(), pgCategory, domain.CategoryOpts{BatchSize: new(domain.Unlimited)})
	require.NoError(t, err)
	require.NotEmpty(t, all)
	return all
}

// checkCategory checks that the messages, in global position order, have
// unique ids and increasing global positions, and gapless positions in
// each stream, and returns them by id.
func checkCategory(t *testing.T, all []domain.Message) map[uuid.UUID]domain.Message {
	t.Helper()
	byID := map[uuid.UUID]domain.Message{}
	versions := map[string]int64{}
	var lastGP int64
	for _, m := range all {
		assert.Greater(t, m.GlobalPosition, lastGP, "global positions increase")
		lastGP = m.GlobalPosition
		_, dup := byID[m.ID]
		assert.False(t, dup, "message id %s stored twice", m.ID)
		byID[m.ID] = m
		v, ok := versions[m.StreamName]
		if !ok {
			v = -1
		}
		assert.Equal(t, v+1, m.Position, "stream %s: gapless positions", m.StreamName)
		versions[m.StreamName] = m.Position
	}
	return byID
}

func countMessages(writes []pgWrite) int {
	n := 0
	for _, w := range writes {
		n += len(w.msgs)
	}
	return n
}
