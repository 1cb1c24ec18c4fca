package app_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messagedb-go/messagedb/adapters/sqlite"
	"github.com/messagedb-go/messagedb/app"
	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/ports"
)

// errConnection stands for a driver error: a connection that broke.
var errConnection = errors.New("connection reset by peer")

// faultyStore is a backend whose message stores fail the calls its plan
// says, counting every call, as a store whose server went away would.
type faultyStore struct {
	ports.Store
	ms *faultyMessages
}

// Capabilities declares a wrapped backend, whose message stores are neither
// Importers nor Watchers.
func (s *faultyStore) Capabilities() ports.Capabilities {
	return ports.Capabilities{System: ports.SystemOther}
}

func (s *faultyStore) MessageStore(ctx context.Context, id string) (ports.MessageStore, error) {
	inner, err := s.Store.MessageStore(ctx, id)
	if err != nil {
		return nil, err
	}
	s.ms.MessageStore = inner
	return s.ms, nil
}

// call kinds of faultyMessages.
const (
	callRead  = "read"  // GetCategoryMessages
	callLast  = "last"  // GetLastStreamMessage: the stored position
	callWrite = "write" // WriteMessage: a position update
)

// faultyMessages fails the nth call of a kind (1-based) when fail says so.
// It does not implement ports.Watcher: consumers poll.
type faultyMessages struct {
	ports.MessageStore
	fail func(kind string, n int) error

	mu    sync.Mutex
	calls map[string]int
}

func (m *faultyMessages) count(kind string) error {
	m.mu.Lock()
	if m.calls == nil {
		m.calls = map[string]int{}
	}
	m.calls[kind]++
	n := m.calls[kind]
	m.mu.Unlock()
	return m.fail(kind, n)
}

func (m *faultyMessages) callsOf(kind string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.calls[kind]
}

func (m *faultyMessages) GetCategoryMessages(ctx context.Context, category string, opts domain.CategoryOpts) ([]domain.Message, error) {
	if err := m.count(callRead); err != nil {
		return nil, err
	}
	return m.MessageStore.GetCategoryMessages(ctx, category, opts)
}

func (m *faultyMessages) GetLastStreamMessage(ctx context.Context, stream, msgType string) (domain.Message, error) {
	if err := m.count(callLast); err != nil {
		return domain.Message{}, err
	}
	return m.MessageStore.GetLastStreamMessage(ctx, stream, msgType)
}

func (m *faultyMessages) WriteMessage(ctx context.Context, stream string, msg domain.NewMessage, expected domain.ExpectedVersion) (domain.WriteResult, error) {
	if err := m.count(callWrite); err != nil {
		return domain.WriteResult{}, err
	}
	return m.MessageStore.WriteMessage(ctx, stream, msg, expected)
}

// faultyNamespace returns a namespace in an in-memory store whose calls
// fail as fail says, and a handle on the same namespace that never fails,
// to write and check with.
func faultyNamespace(t *testing.T, fail func(kind string, n int) error) (faulty, plain *app.Namespace, ms *faultyMessages) {
	t.Helper()
	ctx := context.Background()
	backend, err := sqlite.Open(ctx, sqlite.Options{InMemory: true})
	require.NoError(t, err)
	t.Cleanup(func() { _ = backend.Close() })
	plainStore := app.NewStore(backend)
	plain, err = plainStore.EnsureNamespace(ctx, "test", domain.NamespaceOptions{})
	require.NoError(t, err)
	ms = &faultyMessages{fail: fail}
	faulty, err = app.NewStore(&faultyStore{Store: backend, ms: ms}).Namespace(ctx, "test")
	require.NoError(t, err)
	return faulty, plain, ms
}

// failing returns a plan that fails the listed calls of each kind with
// errConnection.
func failing(plan map[string][]int) func(kind string, n int) error {
	return func(kind string, n int) error {
		for _, f := range plan[kind] {
			if f == n {
				return fmt.Errorf("messagedb: test store: %s: %w", kind, errConnection)
			}
		}
		return nil
	}
}

// Reads and position writes that fail now and then, also several times in
// a row, neither stop the consumer nor lose or repeat a message.
func TestConsumer_StoreRetry_RidesOutFailures(t *testing.T) {
	ns, plain, ms := faultyNamespace(t, failing(map[string][]int{
		callLast:  {1, 2},       // the stored position, at start
		callRead:  {1, 4, 5, 6}, // the first read, and three in a row later
		callWrite: {2, 3},       // the second position update, twice
	}))
	want := writeN(t, plain, "account", 3, 40)
	var rec recorder
	onCaughtUp, caught := caughtUpAt()
	c, err := ns.NewConsumer("account", rec.handle, app.ConsumerOptions{
		ID: "steady", BatchSize: 6, PositionUpdateInterval: 5, PollInterval: time.Millisecond,
		StoreRetry: app.StoreRetry{MinBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond, MaxAttempts: 4},
		OnCaughtUp: onCaughtUp,
	})
	require.NoError(t, err)
	stop := runConsumer(t, c)
	waitCaughtUp(t, caught, want[len(want)-1])
	require.NoError(t, stop(), "Run after the store recovered and the context was cancelled")

	assert.Equal(t, want, rec.positions(), "every message once, in order, through the failures")
	assert.Equal(t, 3, ms.callsOf(callLast), "position reads: two failures, then one that worked")
	assert.Greater(t, ms.callsOf(callRead), 4+len(want)/6, "reads include the retries")
	assert.GreaterOrEqual(t, ms.callsOf(callWrite), 2+len(want)/5, "position writes include the retries")
	pos, err := plain.Last(context.Background(), c.PositionStream(), app.PositionMessageType)
	require.NoError(t, err)
	assert.JSONEq(t, fmt.Sprintf(`{"position":%d}`, want[len(want)-1]), string(pos.Data), "stored position")
}

// A store that stays down: Run gives up after MaxAttempts calls in a row
// and returns the store's error.
func TestConsumer_StoreRetry_GivesUpAfterMaxAttempts(t *testing.T) {
	for _, kind := range []string{callLast, callRead} {
		t.Run(kind, func(t *testing.T) {
			ns, plain, ms := faultyNamespace(t, func(k string, n int) error {
				if k == kind {
					return errConnection
				}
				return nil
			})
			writeN(t, plain, "account", 1, 3)
			c, err := ns.NewConsumer("account", func(context.Context, domain.Message) error { return nil },
				app.ConsumerOptions{ID: "down", StoreRetry: app.StoreRetry{MinBackoff: time.Millisecond, MaxAttempts: 4}})
			require.NoError(t, err)
			err = runToEnd(t, c)
			require.ErrorIs(t, err, errConnection)
			assert.Equal(t, 4, ms.callsOf(kind), "%s calls", kind)
		})
	}
}

// A periodic position write that keeps failing ends Run with its error;
// the messages handled until then are handed again on restart, not lost.
func TestConsumer_StoreRetry_PositionWriteGivesUp(t *testing.T) {
	ns, plain, ms := faultyNamespace(t, func(kind string, n int) error {
		if kind == callWrite {
			return errConnection
		}
		return nil
	})
	want := writeN(t, plain, "account", 2, 10)
	var rec recorder
	c, err := ns.NewConsumer("account", rec.handle, app.ConsumerOptions{
		ID: "unrecorded", PositionUpdateInterval: 4,
		StoreRetry: app.StoreRetry{MinBackoff: time.Millisecond, MaxAttempts: 3},
	})
	require.NoError(t, err)
	require.ErrorIs(t, runToEnd(t, c), errConnection)
	assert.Equal(t, want[:4], rec.positions(), "handled up to the first position update")
	assert.Equal(t, 3+1, ms.callsOf(callWrite), "three attempts, then the final store on the way out")

	pos, err := c.Position(context.Background())
	require.NoError(t, err)
	assert.Zero(t, pos, "no position stored")
}

// Errors that retrying cannot cure end Run at the first failure, however
// many attempts the policy allows.
func TestConsumer_StoreRetry_PermanentErrorsEndRun(t *testing.T) {
	slow := app.StoreRetry{MinBackoff: time.Hour, MaxAttempts: 1000}
	for name, cause := range map[string]error{
		"NamespaceNotFound": domain.ErrNamespaceNotFound,
		"InvalidOptions":    domain.ErrInvalidBatchSize,
		"Closed":            sqlite.ErrClosed,
	} {
		t.Run(name, func(t *testing.T) {
			ns, plain, ms := faultyNamespace(t, func(kind string, n int) error {
				if kind == callRead {
					return fmt.Errorf("messagedb: test store: %w", cause)
				}
				return nil
			})
			writeN(t, plain, "account", 1, 1)
			c, err := ns.NewConsumer("account", func(context.Context, domain.Message) error { return nil },
				app.ConsumerOptions{ID: "doomed", StoreRetry: slow})
			require.NoError(t, err)
			require.ErrorIs(t, runToEnd(t, c), cause)
			assert.Equal(t, 1, ms.callsOf(callRead), "no retry")
		})
	}

	// A real closed store, with the default policy.
	s := openStore(t, "memory:")
	ns, err := s.EnsureNamespace(context.Background(), "test", domain.NamespaceOptions{})
	require.NoError(t, err)
	c, err := ns.NewConsumer("account", func(context.Context, domain.Message) error { return nil }, app.ConsumerOptions{ID: "late"})
	require.NoError(t, err)
	require.NoError(t, s.Backend().Close())
	assert.ErrorIs(t, runToEnd(t, c), sqlite.ErrClosed)
}

// Cancelling the context while the consumer waits to retry is a clean
// stop.
func TestConsumer_StoreRetry_CancelDuringBackoff(t *testing.T) {
	failed := make(chan struct{})
	var once sync.Once
	ns, _, _ := faultyNamespace(t, func(kind string, n int) error {
		if kind == callRead {
			once.Do(func() { close(failed) })
			return errConnection
		}
		return nil
	})
	c, err := ns.NewConsumer("account", func(context.Context, domain.Message) error { return nil },
		app.ConsumerOptions{ID: "patient", StoreRetry: app.StoreRetry{MinBackoff: time.Hour}})
	require.NoError(t, err)
	stop := runConsumer(t, c)
	select {
	case <-failed:
	case <-time.After(liveness):
		t.Fatal("the consumer did not read")
	}
	assert.NoError(t, stop(), "Run after a cancel during the backoff")
}

func TestNewConsumer_InvalidStoreRetry(t *testing.T) {
	s := openStore(t, "memory:")
	ns, err := s.EnsureNamespace(context.Background(), "test", domain.NamespaceOptions{})
	require.NoError(t, err)
	h := func(context.Context, domain.Message) error { return nil }
	for name, sr := range map[string]app.StoreRetry{
		"NegativeMinBackoff":  {MinBackoff: -1},
		"NegativeMaxBackoff":  {MaxBackoff: -1},
		"NegativeMaxAttempts": {MaxAttempts: -1},
		"BackoffOrder":        {MinBackoff: time.Second, MaxBackoff: time.Millisecond},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ns.NewConsumer("account", h, app.ConsumerOptions{ID: "c", StoreRetry: sr})
			assert.ErrorIs(t, err, app.ErrInvalidConsumer)
		})
	}
}

// runToEnd runs c until it returns by itself, within liveness.
func runToEnd(t *testing.T, c *app.Consumer) error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	select {
	case err := <-done:
		return err
	case <-time.After(liveness):
		cancel()
		<-done
		t.Fatalf("Run did not return by itself within %s", liveness)
		return nil
	}
}

// A position stream whose last message holds no position is not a store
// failure: Run returns at once.
func TestConsumer_StoreRetry_BadPositionEndsRun(t *testing.T) {
	ns, plain, ms := faultyNamespace(t, func(string, int) error { return nil })
	c, err := ns.NewConsumer("account", func(context.Context, domain.Message) error { return nil },
		app.ConsumerOptions{ID: "confused", StoreRetry: app.StoreRetry{MinBackoff: time.Hour}})
	require.NoError(t, err)
	_, err = plain.Write(context.Background(), c.PositionStream(),
		domain.NewMessage{Type: app.PositionMessageType, Data: []byte(`{"somewhere":1}`)}, domain.AnyVersion)
	require.NoError(t, err)
	require.Error(t, runToEnd(t, c))
	assert.Equal(t, 1, ms.callsOf(callLast), "no retry")
}
