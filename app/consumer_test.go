package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messagedb-go/messagedb/app"
	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/internal/pgtest"
)

// liveness bounds how long a test waits for something that should happen
// at once; it only keeps a broken consumer from hanging the test run.
const liveness = 30 * time.Second

// recorder is a handler that records the global positions it is handed.
type recorder struct {
	mu   sync.Mutex
	seen []domain.Message
	// after, when set, runs after each message is recorded.
	after func(n int)
}

func (r *recorder) handle(ctx context.Context, msg domain.Message) error {
	r.mu.Lock()
	r.seen = append(r.seen, msg)
	n := len(r.seen)
	r.mu.Unlock()
	if r.after != nil {
		r.after(n)
	}
	return nil
}

func (r *recorder) positions() []int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]int64, len(r.seen))
	for i, m := range r.seen {
		out[i] = m.GlobalPosition
	}
	return out
}

// writeN writes n messages round-robin to streams category-0 ...
// category-(streams-1) and returns their global positions in order.
func writeN(t *testing.T, ns *app.Namespace, category string, streams, n int) []int64 {
	t.Helper()
	var gps []int64
	for i := range n {
		stream := fmt.Sprintf("%s-%d", category, i%streams)
		data := fmt.Appendf(nil, `{"n":%d}`, i)
		res, err := ns.Write(context.Background(), stream, domain.NewMessage{Type: "Happened", Data: data}, domain.AnyVersion)
		require.NoError(t, err)
		gps = append(gps, res.GlobalPosition)
	}
	return gps
}

// runConsumer runs c in a goroutine and returns a function that cancels it
// and returns Run's result.
func runConsumer(t *testing.T, c *app.Consumer) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	return func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(liveness):
			t.Fatalf("consumer did not stop within %s of its context being cancelled", liveness)
			return nil
		}
	}
}

// caughtUpAt returns an OnCaughtUp callback and a channel receiving the
// positions it is called with.
func caughtUpAt() (func(int64), chan int64) {
	ch := make(chan int64, 100)
	return func(gp int64) { ch <- gp }, ch
}

// waitCaughtUp waits until ch reports a position of at least want.
func waitCaughtUp(t *testing.T, ch chan int64, want int64) {
	t.Helper()
	timeout := time.After(liveness)
	for {
		select {
		case gp := <-ch:
			if gp >= want {
				return
			}
		case <-timeout:
			t.Fatalf("consumer did not catch up with global position %d within %s", want, liveness)
		}
	}
}

func TestPositionStreamName(t *testing.T) {
	assert.Equal(t, "account:position-worker", app.PositionStreamName("account", "worker"))
	assert.Equal(t, "account:command+position-worker", app.PositionStreamName("account:command", "worker"))
}

func TestNewConsumer_InvalidOptions(t *testing.T) {
	s := openStore(t, "memory:")
	ns, err := s.EnsureNamespace(context.Background(), "test", domain.NamespaceOptions{})
	require.NoError(t, err)
	h := func(context.Context, domain.Message) error { return nil }
	for name, tc := range map[string]struct {
		category string
		h        app.Handler
		opts     app.ConsumerOptions
	}{
		"EmptyID":          {"account", h, app.ConsumerOptions{}},
		"StreamNotCat":     {"account-1", h, app.ConsumerOptions{ID: "c"}},
		"EmptyCategory":    {"", h, app.ConsumerOptions{ID: "c"}},
		"NilHandler":       {"account", nil, app.ConsumerOptions{ID: "c"}},
		"BadGroup":         {"account", h, app.ConsumerOptions{ID: "c", Group: &domain.ConsumerGroup{Member: 3, Size: 3}}},
		"BadCorrelation":   {"account", h, app.ConsumerOptions{ID: "c", Correlation: "order-1"}},
		"NegativePosition": {"account", h, app.ConsumerOptions{ID: "c", Position: -1}},
		"NegativeBatch":    {"account", h, app.ConsumerOptions{ID: "c", BatchSize: -1}},
		"BackoffOrder":     {"account", h, app.ConsumerOptions{ID: "c", OnError: app.RetryOnError{MinBackoff: time.Second, MaxBackoff: time.Millisecond}}},
		"NegativePoll":     {"account", h, app.ConsumerOptions{ID: "c", PollInterval: -time.Second}},
		"NegativeUpdate":   {"account", h, app.ConsumerOptions{ID: "c", PositionUpdateInterval: -1}},
		"NegativeRetry":    {"account", h, app.ConsumerOptions{ID: "c", OnError: app.RetryOnError{MaxAttempts: -1}}},
		"NegativeStore":    {"account", h, app.ConsumerOptions{ID: "c", StoreRetry: app.StoreRetry{MinBackoff: -time.Second}}},
		"StoreOrder":       {"account", h, app.ConsumerOptions{ID: "c", StoreRetry: app.StoreRetry{MinBackoff: time.Second, MaxBackoff: time.Millisecond}}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ns.NewConsumer(tc.category, tc.h, tc.opts)
			assert.ErrorIs(t, err, app.ErrInvalidConsumer)
			assert.True(t, strings.HasPrefix(err.Error(), "messagedb: invalid consumer: "), "%q", err)
			assert.Equal(t, 1, strings.Count(err.Error(), "messagedb:"), "one prefix: %q", err)
		})
	}
	// A MinBackoff above DefaultMaxBackoff with no MaxBackoff is valid: the
	// default MaxBackoff rises to it.
	long := 2 * app.DefaultMaxBackoff
	_, err = ns.NewConsumer("account", h, app.ConsumerOptions{ID: "c", OnError: app.RetryOnError{MinBackoff: long}, StoreRetry: app.StoreRetry{MinBackoff: long}})
	assert.NoError(t, err, "MinBackoff above the default MaxBackoff")
}

func TestConsumer_HandlesCategoryInOrderAndStoresPosition(t *testing.T) {
	eachBackend(t, func(t *testing.T, ns *app.Namespace) {
		ctx := context.Background()
		want := writeN(t, ns, "account", 4, 25)
		writeN(t, ns, "other", 2, 5)           // another category: not handed
		writeN(t, ns, "account:command", 2, 5) // a category type: not handed either
		var rec recorder
		onCaughtUp, caught := caughtUpAt()
		c, err := ns.NewConsumer("account", rec.handle, app.ConsumerOptions{ID: "projector", BatchSize: 7, OnCaughtUp: onCaughtUp})
		require.NoError(t, err)
		stop := runConsumer(t, c)
		waitCaughtUp(t, caught, want[len(want)-1])
		require.NoError(t, stop())

		assert.Equal(t, want, rec.positions(), "every message of the category once, in global order")
		pos, err := c.Position(ctx)
		require.NoError(t, err)
		assert.Equal(t, want[len(want)-1], pos, "stored position after a clean stop")

		last, err := ns.Last(ctx, "account:position-projector", "")
		require.NoError(t, err)
		assert.Equal(t, app.PositionMessageType, last.Type)
		var data struct{ Position int64 }
		require.NoError(t, json.Unmarshal(last.Data, &data))
		assert.Equal(t, want[len(want)-1], data.Position)
	})
}

func TestConsumer_GroupOfThreeCoversCategoryExactlyOnce(t *testing.T) {
	eachBackend(t, func(t *testing.T, ns *app.Namespace) {
		want := writeN(t, ns, "account", 20, 90)
		// Compound ids go with their cardinal id.
		for i := range 10 {
			res, err := ns.Write(context.Background(), fmt.Sprintf("account-%d+sub", i), domain.NewMessage{Type: "Happened"}, domain.AnyVersion)
			require.NoError(t, err)
			want = append(want, res.GlobalPosition)
		}
		recs := make([]*recorder, 3)
		var stops []func() error
		for i := range 3 {
			recs[i] = &recorder{}
			onCaughtUp, caught := caughtUpAt()
			c, err := ns.NewConsumer("account", recs[i].handle, app.ConsumerOptions{
				ID: fmt.Sprintf("c%d", i), Group: &domain.ConsumerGroup{Member: int64(i), Size: 3},
				BatchSize: 10, OnCaughtUp: onCaughtUp,
			})
			require.NoError(t, err)
			stops = append(stops, runConsumer(t, c))
			// Everything was written before: a member that has caught up
			// has handled all of its messages.
			waitCaughtUp(t, caught, 0)
		}
		for _, stop := range stops {
			require.NoError(t, stop())
		}
		seen := map[int64]int{}
		for i, r := range recs {
			for _, m := range r.seen {
				seen[m.GlobalPosition]++
				assert.True(t, domain.IsMember(m.StreamName, int64(i), 3), "member %d was handed %s", i, m.StreamName)
			}
			assert.NotEmpty(t, r.seen, "member %d handled nothing: the test does not exercise the partition", i)
		}
		assert.Len(t, seen, len(want), "messages handled by the group")
		for _, gp := range want {
			assert.Equal(t, 1, seen[gp], "times global position %d was handled", gp)
		}
	})
}

func TestConsumer_StopAndRestartNeitherLosesNorRepeats(t *testing.T) {
	eachBackend(t, func(t *testing.T, ns *app.Namespace) {
		want := writeN(t, ns, "account", 3, 50)
		var rec recorder
		opts := app.ConsumerOptions{ID: "restart", BatchSize: 10, PositionUpdateInterval: 7}

		// First run: stop in the middle of a batch, between two position
		// updates.
		ctx, cancel := context.WithCancel(context.Background())
		rec.after = func(n int) {
			if n == 23 {
				cancel()
			}
		}
		c, err := ns.NewConsumer("account", rec.handle, opts)
		require.NoError(t, err)
		require.NoError(t, c.Run(ctx), "Run after cancellation")
		require.Len(t, rec.positions(), 23)
		pos, err := c.Position(context.Background())
		require.NoError(t, err)
		assert.Equal(t, want[22], pos, "position stored on stop")

		// Second run, with a new Consumer value: resumes after message 23,
		// then receives messages written while it runs.
		rec.after = nil
		onCaughtUp, caught := caughtUpAt()
		opts.OnCaughtUp = onCaughtUp
		c2, err := ns.NewConsumer("account", rec.handle, opts)
		require.NoError(t, err)
		stop := runConsumer(t, c2)
		waitCaughtUp(t, caught, want[len(want)-1])
		want = append(want, writeN(t, ns, "account", 3, 10)...)
		waitCaughtUp(t, caught, want[len(want)-1])
		require.NoError(t, stop())

		// Third run: nothing new, nothing handed.
		c3, err := ns.NewConsumer("account", rec.handle, opts)
		require.NoError(t, err)
		stop = runConsumer(t, c3)
		waitCaughtUp(t, caught, want[len(want)-1])
		require.NoError(t, stop())

		assert.Equal(t, want, rec.positions(), "each message exactly once across three runs")
	})
}

func TestConsumer_StopOnErrorReturnsHandlerError(t *testing.T) {
	eachBackend(t, func(t *testing.T, ns *app.Namespace) {
		ctx := context.Background()
		want := writeN(t, ns, "account", 2, 10)
		errBoom := errors.New("boom")
		failAt := want[5]
		var handled []int64
		c, err := ns.NewConsumer("account", func(ctx context.Context, m domain.Message) error {
			if m.GlobalPosition == failAt {
				return fmt.Errorf("apply: %w", errBoom)
			}
			handled = append(handled, m.GlobalPosition)
			return nil
		}, app.ConsumerOptions{ID: "failing"})
		require.NoError(t, err)

		err = c.Run(ctx)
		require.ErrorIs(t, err, errBoom)
		var herr *app.HandlerError
		require.ErrorAs(t, err, &herr)
		assert.Equal(t, failAt, herr.Message.GlobalPosition)
		assert.Equal(t, 1, herr.Attempts)
		assert.Equal(t, want[:5], handled)

		pos, err := c.Position(ctx)
		require.NoError(t, err)
		assert.Equal(t, want[4], pos, "stored position is the last message handled, before the failing one")

		// Restarted with a handler that works, it starts at the failing message.
		var rec recorder
		onCaughtUp, caught := caughtUpAt()
		c2, err := ns.NewConsumer("account", rec.handle, app.ConsumerOptions{ID: "failing", OnCaughtUp: onCaughtUp})
		require.NoError(t, err)
		stop := runConsumer(t, c2)
		waitCaughtUp(t, caught, want[len(want)-1])
		require.NoError(t, stop())
		assert.Equal(t, want[5:], rec.positions())
	})
}

func TestConsumer_RetryOnError(t *testing.T) {
	eachBackend(t, func(t *testing.T, ns *app.Namespace) {
		want := writeN(t, ns, "account", 2, 6)
		errFlaky := errors.New("flaky")
		attempts := map[int64]int{}
		var handled []int64
		onCaughtUp, caught := caughtUpAt()
		c, err := ns.NewConsumer("account", func(ctx context.Context, m domain.Message) error {
			attempts[m.GlobalPosition]++
			if m.GlobalPosition == want[2] && attempts[m.GlobalPosition] < 3 {
				return errFlaky
			}
			handled = append(handled, m.GlobalPosition)
			return nil
		}, app.ConsumerOptions{ID: "retrying", OnCaughtUp: onCaughtUp,
			OnError: app.RetryOnError{MinBackoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond}})
		require.NoError(t, err)
		stop := runConsumer(t, c)
		waitCaughtUp(t, caught, want[len(want)-1])
		require.NoError(t, stop())
		assert.Equal(t, want, handled, "every message handled once, in order, after the retries")
		assert.Equal(t, 3, attempts[want[2]], "attempts at the flaky message")
	})
}

func TestConsumer_RetryOnErrorGivesUpAfterMaxAttempts(t *testing.T) {
	eachBackend(t, func(t *testing.T, ns *app.Namespace) {
		ctx := context.Background()
		want := writeN(t, ns, "account", 1, 3)
		errDown := errors.New("down")
		c, err := ns.NewConsumer("account", func(ctx context.Context, m domain.Message) error {
			if m.GlobalPosition == want[1] {
				return errDown
			}
			return nil
		}, app.ConsumerOptions{ID: "giving-up", OnError: app.RetryOnError{MinBackoff: time.Millisecond, MaxAttempts: 3}})
		require.NoError(t, err)
		err = c.Run(ctx)
		require.ErrorIs(t, err, errDown)
		var herr *app.HandlerError
		require.ErrorAs(t, err, &herr)
		assert.Equal(t, 3, herr.Attempts)
		pos, err := c.Position(ctx)
		require.NoError(t, err)
		assert.Equal(t, want[0], pos)
	})
}

func TestConsumer_CorrelationFilter(t *testing.T) {
	eachBackend(t, func(t *testing.T, ns *app.Namespace) {
		ctx := context.Background()
		var want []int64
		for i := range 6 {
			meta := `{"correlationStreamName":"other-1"}`
			if i%2 == 0 {
				meta = `{"correlationStreamName":"order-7"}`
			}
			res, err := ns.Write(ctx, "account-1", domain.NewMessage{Type: "Happened", Metadata: json.RawMessage(meta)}, domain.AnyVersion)
			require.NoError(t, err)
			if i%2 == 0 {
				want = append(want, res.GlobalPosition)
			}
		}
		var rec recorder
		onCaughtUp, caught := caughtUpAt()
		c, err := ns.NewConsumer("account", rec.handle, app.ConsumerOptions{ID: "orders", Correlation: "order", OnCaughtUp: onCaughtUp})
		require.NoError(t, err)
		stop := runConsumer(t, c)
		waitCaughtUp(t, caught, want[len(want)-1])
		require.NoError(t, stop())
		assert.Equal(t, want, rec.positions())
	})
}

func TestConsumer_StartPosition(t *testing.T) {
	eachBackend(t, func(t *testing.T, ns *app.Namespace) {
		want := writeN(t, ns, "account", 2, 8)
		var rec recorder
		onCaughtUp, caught := caughtUpAt()
		c, err := ns.NewConsumer("account", rec.handle, app.ConsumerOptions{ID: "late", Position: want[5], OnCaughtUp: onCaughtUp})
		require.NoError(t, err)
		stop := runConsumer(t, c)
		waitCaughtUp(t, caught, want[len(want)-1])
		require.NoError(t, stop())
		assert.Equal(t, want[5:], rec.positions())
	})
}

func TestConsumer_OnCaughtUp(t *testing.T) {
	eachBackend(t, func(t *testing.T, ns *app.Namespace) {
		onCaughtUp, caught := caughtUpAt()
		c, err := ns.NewConsumer("account", func(context.Context, domain.Message) error { return nil },
			app.ConsumerOptions{ID: "idle", OnCaughtUp: onCaughtUp, PollInterval: time.Millisecond})
		require.NoError(t, err)
		stop := runConsumer(t, c)
		select {
		case gp := <-caught:
			assert.Equal(t, int64(0), gp, "caught up with an empty category before reading anything")
		case <-time.After(liveness):
			t.Fatal("OnCaughtUp not called on an empty category")
		}
		// One atomic write, so that no read sees part of it.
		rs, err := ns.WriteBatch(context.Background(), "account-1",
			[]domain.NewMessage{{Type: "A"}, {Type: "B"}, {Type: "C"}}, domain.AnyVersion)
		require.NoError(t, err)
		select {
		case gp := <-caught:
			assert.Equal(t, rs[2].GlobalPosition, gp, "caught up again after handling new messages")
		case <-time.After(liveness):
			t.Fatal("OnCaughtUp not called after new messages")
		}
		require.NoError(t, stop())
		assert.Empty(t, caught, "OnCaughtUp is not called again while idle with nothing new")
	})
}

// runSleepy runs a consumer of the "account" category that polls every hour
// and sends what it handles to got, and waits until it has caught up.
func runSleepy(t *testing.T, ns *app.Namespace) (got chan domain.Message, caught chan int64, stop func() error) {
	t.Helper()
	got = make(chan domain.Message, 10)
	onCaughtUp, caught := caughtUpAt()
	c, err := ns.NewConsumer("account", func(_ context.Context, m domain.Message) error {
		got <- m
		return nil
	}, app.ConsumerOptions{ID: "sleepy", PollInterval: time.Hour, OnCaughtUp: onCaughtUp})
	require.NoError(t, err)
	stop = runConsumer(t, c)
	waitCaughtUp(t, caught, 0)
	return got, caught, stop
}

// A consumer whose poll interval is an hour still receives a message
// written after it caught up, because the write wakes it.
func TestConsumer_WakeUpWithoutPolling(t *testing.T) {
	eachBackend(t, func(t *testing.T, ns *app.Namespace) {
		got, caught, stop := runSleepy(t, ns)
		for i := range 2 { // twice: the consumer goes back to sleep and is woken again
			want := writeN(t, ns, "account", 1, 1)[0]
			select {
			case m := <-got:
				assert.Equal(t, want, m.GlobalPosition)
			case <-time.After(liveness):
				t.Fatalf("write %d did not wake a consumer polling every hour", i)
			}
			waitCaughtUp(t, caught, want)
		}
		require.NoError(t, stop())
	})
}

func TestConsumer_RunTwiceAtOnce(t *testing.T) {
	eachBackend(t, func(t *testing.T, ns *app.Namespace) {
		onCaughtUp, caught := caughtUpAt()
		c, err := ns.NewConsumer("account", func(context.Context, domain.Message) error { return nil },
			app.ConsumerOptions{ID: "once", OnCaughtUp: onCaughtUp})
		require.NoError(t, err)
		stop := runConsumer(t, c)
		waitCaughtUp(t, caught, 0)
		assert.ErrorIs(t, c.Run(context.Background()), app.ErrConsumerRunning)
		require.NoError(t, stop())
	})
}

// On PostgreSQL the wake-up is a NOTIFY: a write through another store (as
// from another process) wakes a consumer polling every hour.
func TestConsumer_WakeUpFromAnotherStore_Postgres(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	consuming, writing := openStore(t, url), openStore(t, url)
	ns, err := consuming.EnsureNamespace(ctx, "test", domain.NamespaceOptions{})
	require.NoError(t, err)
	other, err := writing.Namespace(ctx, "test")
	require.NoError(t, err)

	got, _, stop := runSleepy(t, ns)
	want := writeN(t, other, "account", 1, 1)[0]
	select {
	case m := <-got:
		assert.Equal(t, want, m.GlobalPosition)
	case <-time.After(liveness):
		t.Fatal("a write through another store did not wake a consumer polling every hour")
	}
	require.NoError(t, stop())
}

// A consumer reports how far it is behind its category: before it runs,
// while its handler holds a message, once caught up, after it stopped and
// the category grew; a group member only counts its own streams.
func TestConsumer_Lag(t *testing.T) {
	eachBackend(t, func(t *testing.T, ns *app.Namespace) {
		ctx := context.Background()
		gps := writeN(t, ns, "account", 3, 10)
		writeN(t, ns, "other", 1, 2) // later global positions, another category
		last := gps[len(gps)-1]
		lastOf, err := ns.LastGlobalPosition(ctx, "account")
		require.NoError(t, err)
		require.Equal(t, last, lastOf)

		held, release := make(chan struct{}), make(chan struct{})
		var rec recorder
		rec.after = func(n int) {
			if n == 4 {
				close(held)
				<-release
			}
		}
		onCaughtUp, caught := caughtUpAt()
		c, err := ns.NewConsumer("account", rec.handle, app.ConsumerOptions{ID: "lag", OnCaughtUp: onCaughtUp})
		require.NoError(t, err)
		lag, err := c.Lag(ctx)
		require.NoError(t, err)
		assert.Equal(t, last, lag, "before running: the whole category")

		stop := runConsumer(t, c)
		select {
		case <-held:
		case <-time.After(liveness):
			t.Fatal("the handler was not handed a fourth message")
		}
		lag, err = c.Lag(ctx)
		require.NoError(t, err)
		assert.Equal(t, last-gps[2], lag, "the fourth message in the handler: behind from the third")
		close(release)
		waitCaughtUp(t, caught, last)
		lag, err = c.Lag(ctx)
		require.NoError(t, err)
		assert.Zero(t, lag, "caught up")
		require.NoError(t, stop())
		lag, err = c.Lag(ctx)
		require.NoError(t, err)
		assert.Zero(t, lag, "stopped, from the stored position")

		more := writeN(t, ns, "account", 3, 2)
		lag, err = c.Lag(ctx)
		require.NoError(t, err)
		assert.Equal(t, more[1]-last, lag, "the category grew while stopped")

		// Member 0 of 2 caught up: the category's last message may be
		// the other member's, yet it is not behind.
		var own recorder
		onCaughtUp, caught = caughtUpAt()
		m0, err := ns.NewConsumer("account", own.handle, app.ConsumerOptions{ID: "m0", Group: &domain.ConsumerGroup{Member: 0, Size: 2}, OnCaughtUp: onCaughtUp})
		require.NoError(t, err)
		stop = runConsumer(t, m0)
		var mine int64
		for _, gp := range append(gps, more...) {
			msgs, err := ns.ReadCategory(ctx, "account", domain.CategoryOpts{Position: gp, BatchSize: new(int64(1))})
			require.NoError(t, err)
			if domain.IsMember(msgs[0].StreamName, 0, 2) {
				mine = gp
			}
		}
		waitCaughtUp(t, caught, mine)
		lag, err = m0.Lag(ctx)
		require.NoError(t, err)
		assert.Zero(t, lag, "a member with none of its own messages left")
		require.NoError(t, stop())
	})
}
