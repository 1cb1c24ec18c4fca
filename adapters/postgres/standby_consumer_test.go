package postgres_test

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

	"github.com/messagedb-go/messagedb/adapters/postgres"
	"github.com/messagedb-go/messagedb/app"
	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/internal/pgtest"
)

// consumerRun records what one Run of a consumer handled.
type consumerRun struct {
	mu  sync.Mutex
	gps []int64
	ids []uuid.UUID
}

func (r *consumerRun) handle(_ context.Context, m domain.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.gps = append(r.gps, m.GlobalPosition)
	r.ids = append(r.ids, m.ID)
	return nil
}

func (r *consumerRun) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.gps)
}

// A consumer reads its category from two standbys while writers write
// through another Store, and the standbys lag (replay paused), one stops
// and starts again, and the consumer stops and resumes from its stored
// position: it handles every message once, in increasing global position,
// never skipping one and never going back.
func testConsumerAcrossStandbys(t *testing.T, primary, s1, s2 *pgtest.Cluster) {
	ctx := t.Context()
	const maxLag = 200 * time.Millisecond
	writer := openStore(t, primary.URL(), nil)
	reader := openStore(t, primary.URL(), &postgres.Options{MaxConns: 4, Standbys: []string{s1.URL(), s2.URL()}, MaxStandbyLag: maxLag})
	w := newNamespace(t, writer)
	ns, err := app.NewStore(reader).Namespace(ctx, w.ID())
	require.NoError(t, err)
	cat := "acct" + randomHex(4)

	var runs []*consumerRun
	var stopRun context.CancelFunc
	var runErr chan error
	running := false
	start := func() {
		run := &consumerRun{}
		c, err := ns.NewConsumer(cat, run.handle, app.ConsumerOptions{
			ID: "standbys", BatchSize: 10, PositionUpdateInterval: 5, PollInterval: 10 * time.Millisecond,
			StoreRetry: app.StoreRetry{MinBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond, MaxAttempts: 1000},
		})
		require.NoError(t, err)
		runs = append(runs, run)
		var runCtx context.Context
		runCtx, stopRun = context.WithCancel(context.Background())
		runErr = make(chan error, 1)
		go func() { runErr <- c.Run(runCtx) }()
		running = true
	}
	stop := func() {
		if running {
			running = false
			stopRun()
			assert.NoError(t, <-runErr, "a clean stop")
		}
	}
	handled := func() int {
		n := 0
		for _, r := range runs {
			n += r.count()
		}
		return n
	}
	start()
	defer stop()

	var written atomic.Int64
	done := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 2 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				stream := fmt.Sprintf("%s-%d", cat, g*10+i%5)
				if _, err := w.WriteMessage(ctx, stream, domain.NewMessage{Type: "Tested", Data: []byte(`{}`)}, domain.AnyVersion); err != nil {
					t.Errorf("write: %v", err)
					return
				}
				written.Add(1)
				time.Sleep(2 * time.Millisecond)
			}
		})
	}
	stopWriters := func() {
		select {
		case <-done:
		default:
			close(done)
		}
		wg.Wait()
	}
	defer stopWriters()

	replay := func(c *pgtest.Cluster, on bool) {
		stmt := "SELECT pg_catalog.pg_wal_replay_resume()"
		if !on {
			stmt = "SELECT pg_catalog.pg_wal_replay_pause()"
		}
		require.NoError(t, c.Exec(ctx, stmt))
	}
	// progress waits until the consumer has handled 30 more messages.
	progress := func(step string) {
		t.Helper()
		want := handled() + 30
		deadline := time.Now().Add(standbyWait)
		for handled() < want {
			require.True(t, time.Now().Before(deadline), "%s: the consumer handled %d messages, not %d, within %s", step, handled(), want, standbyWait)
			time.Sleep(5 * time.Millisecond)
		}
	}
	progress("both standbys replaying")
	replay(s1, false)
	progress("the first standby paused")
	replay(s2, false)
	progress("both standbys paused")
	replay(s1, true)
	require.NoError(t, s2.Stop(pgtest.Fast))
	progress("the second standby down")
	stop()
	start()
	progress("the consumer resumed")
	require.NoError(t, s2.Start())
	replay(s1, false)
	progress("the second standby back, the first paused")
	replay(s1, true)
	progress("both standbys replaying again")
	stopWriters()

	last, err := w.GetLastGlobalPosition(ctx, cat)
	require.NoError(t, err)
	deadline := time.Now().Add(standbyWait)
	for handled() < int(written.Load()) {
		require.True(t, time.Now().Before(deadline), "the consumer handled %d of %d messages within %s", handled(), written.Load(), standbyWait)
		time.Sleep(10 * time.Millisecond)
	}
	stop()

	all, err := w.GetCategoryMessages(ctx, cat, domain.CategoryOpts{BatchSize: new(domain.Unlimited)})
	require.NoError(t, err)
	require.Len(t, all, int(written.Load()))
	require.Equal(t, last, all[len(all)-1].GlobalPosition)
	var gps []int64
	var ids []uuid.UUID
	for i, r := range runs {
		for j := 1; j < len(r.gps); j++ {
			if r.gps[j] <= r.gps[j-1] {
				t.Errorf("run %d went back: global position %d handled after %d", i, r.gps[j], r.gps[j-1])
				break
			}
		}
		gps = append(gps, r.gps...)
		ids = append(ids, r.ids...)
	}
	want := make([]uuid.UUID, len(all))
	for i, m := range all {
		want[i] = m.ID
	}
	assert.Equal(t, want, ids, "every message handled once, in global position order, across the runs")

	byStandby := reader.ReadsServedBy()
	_, onPrimary := reader.ReadsServed()
	t.Logf("%d messages handled in %d runs; category reads served: %v by the standbys, %d by the primary", len(ids), len(runs), byStandby, onPrimary)
	assert.Positive(t, byStandby[0], "the first standby served reads")
	assert.Positive(t, byStandby[1], "the second standby served reads")
	assert.Positive(t, onPrimary, "reads went to the primary while both standbys lagged")
}
