package app_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messagedb-go/messagedb/adapters/sqlite"
	"github.com/messagedb-go/messagedb/app"
	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/internal/pgtest"
	"github.com/messagedb-go/messagedb/ports"
)

// logged is a record as a test checks it: level, message and attributes
// (those given to Logger.With included), values as strings.
type logged struct {
	level slog.Level
	msg   string
	attrs map[string]string
}

// logBook is a slog.Handler that keeps every record, at every level.
type logBook struct {
	mu      *sync.Mutex
	records *[]logged
	with    []slog.Attr
}

func newLogBook() logBook { return logBook{mu: &sync.Mutex{}, records: new([]logged)} }

func (b logBook) Enabled(context.Context, slog.Level) bool { return true }

func (b logBook) Handle(_ context.Context, r slog.Record) error {
	l := logged{level: r.Level, msg: r.Message, attrs: map[string]string{}}
	for _, a := range b.with {
		l.attrs[a.Key] = a.Value.String()
	}
	r.Attrs(func(a slog.Attr) bool {
		l.attrs[a.Key] = a.Value.String()
		return true
	})
	b.mu.Lock()
	defer b.mu.Unlock()
	*b.records = append(*b.records, l)
	return nil
}

func (b logBook) WithAttrs(as []slog.Attr) slog.Handler {
	b.with = append(append([]slog.Attr(nil), b.with...), as...)
	return b
}

func (b logBook) WithGroup(string) slog.Handler { return b }

// find returns the records whose message is msg.
func (b logBook) find(msg string) []logged {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []logged
	for _, l := range *b.records {
		if l.msg == msg {
			out = append(out, l)
		}
	}
	return out
}

func (b logBook) all() []logged {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]logged(nil), *b.records...)
}

// one checks that there is one record msg, at level, with the attributes
// want, and returns it.
func (b logBook) one(t *testing.T, level slog.Level, msg string, want map[string]string) logged {
	t.Helper()
	got := b.find(msg)
	require.Len(t, got, 1, "records %q", msg)
	assert.Equal(t, level, got[0].level, msg)
	for k, v := range want {
		assert.Equal(t, v, got[0].attrs[k], "%s: attribute %s", msg, k)
	}
	return got[0]
}

// A store and its consumers log their life with stable attributes: the
// store opened and closed; the consumer started, caught up, its store
// calls and handler failures retried (attempt and backoff), stopped.
func TestLogger_StoreAndConsumer(t *testing.T) {
	ctx := context.Background()
	book := newLogBook()
	s, err := app.Open(ctx, "memory:", &app.Options{Logger: slog.New(book)})
	require.NoError(t, err)
	book.one(t, slog.LevelInfo, "store opened", map[string]string{app.LogBackend: "sqlite", app.LogURL: "memory:"})
	require.NoError(t, s.Close())
	book.one(t, slog.LevelInfo, "store closed", map[string]string{app.LogBackend: "sqlite"})

	book = newLogBook()
	backend, err := sqlite.Open(ctx, sqlite.Options{InMemory: true})
	require.NoError(t, err)
	plain := app.NewStore(backend)
	defer plain.Close()
	ns, err := plain.EnsureNamespace(ctx, "test", domain.NamespaceOptions{})
	require.NoError(t, err)
	writeN(t, ns, "job", 1, 2)
	ms := &faultyMessages{fail: failing(map[string][]int{callRead: {1}})}
	logged := app.NewStoreWith(&faultyStore{Store: backend, ms: ms}, &app.Options{Logger: slog.New(book)})
	faulty, err := logged.Namespace(ctx, "test")
	require.NoError(t, err)

	failed := false
	onCaughtUp, caught := caughtUpAt()
	c, err := faulty.NewConsumer("job", func(_ context.Context, msg domain.Message) error {
		if msg.GlobalPosition == 2 && !failed {
			failed = true
			return errors.New("flaky")
		}
		return nil
	}, app.ConsumerOptions{ID: "w", Group: &domain.ConsumerGroup{Member: 0, Size: 1}, PollInterval: time.Millisecond, OnCaughtUp: onCaughtUp,
		OnError:    app.RetryOnError{MinBackoff: 3 * time.Millisecond},
		StoreRetry: app.StoreRetry{MinBackoff: 2 * time.Millisecond}})
	require.NoError(t, err)
	stop := runConsumer(t, c)
	waitCaughtUp(t, caught, 2)
	require.NoError(t, stop())

	ids := map[string]string{app.LogConsumer: "w", app.LogNamespace: "test", app.LogCategory: "job", app.LogGroupMember: "0", app.LogGroupSize: "1"}
	with := func(m map[string]string) map[string]string {
		for k, v := range ids {
			m[k] = v
		}
		return m
	}
	book.one(t, slog.LevelInfo, "consumer started", with(map[string]string{app.LogPosition: "0"}))
	r := book.one(t, slog.LevelWarn, "store call failed, retrying", with(map[string]string{app.LogAttempt: "1", app.LogBackoff: "2ms"}))
	assert.Contains(t, r.attrs[app.LogError], errConnection.Error())
	book.one(t, slog.LevelWarn, "handler failed, retrying", with(map[string]string{
		app.LogGlobalPosition: "2", app.LogStream: "job-0", app.LogType: "Happened", app.LogAttempt: "1", app.LogBackoff: "3ms", app.LogError: "flaky"}))
	book.one(t, slog.LevelInfo, "consumer caught up", with(map[string]string{app.LogPosition: "2"}))
	book.one(t, slog.LevelInfo, "consumer stopped", with(map[string]string{app.LogPosition: "2"}))
	var order []string
	for _, l := range book.all() {
		order = append(order, l.msg)
	}
	assert.Equal(t, []string{"consumer started", "store call failed, retrying", "handler failed, retrying", "consumer caught up", "consumer stopped"}, order)
}

// A handler failure that the policy gives up on is an error, and so is the
// consumer's stop; a consumer's own logger wins over the store's.
func TestLogger_HandlerGivesUp(t *testing.T) {
	ctx := context.Background()
	storeBook, book := newLogBook(), newLogBook()
	s, err := app.Open(ctx, "memory:", &app.Options{Logger: slog.New(storeBook)})
	require.NoError(t, err)
	defer s.Close()
	ns, err := s.EnsureNamespace(ctx, "test", domain.NamespaceOptions{})
	require.NoError(t, err)
	writeN(t, ns, "job", 1, 1)
	c, err := ns.NewConsumer("job", func(context.Context, domain.Message) error { return errors.New("broken") },
		app.ConsumerOptions{ID: "w", Logger: slog.New(book)})
	require.NoError(t, err)
	err = c.Run(ctx)
	require.Error(t, err)
	book.one(t, slog.LevelError, "handler failed", map[string]string{app.LogAttempt: "1", app.LogGlobalPosition: "1", app.LogError: "broken"})
	r := book.one(t, slog.LevelError, "consumer stopped", map[string]string{app.LogPosition: "0"})
	assert.Contains(t, r.attrs[app.LogError], "broken")
	assert.Empty(t, storeBook.find("consumer started"), "the consumer's own logger")
}

// Without a logger, a store and its consumers are silent, the default
// logger included.
func TestLogger_SilentByDefault(t *testing.T) {
	ctx := context.Background()
	book := newLogBook()
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(slog.New(book))
	ns, _, _ := faultyNamespace(t, failing(map[string][]int{callRead: {1}}))
	writeN(t, ns, "job", 1, 1)
	c, err := ns.NewConsumer("job", func(context.Context, domain.Message) error { return errors.New("broken") },
		app.ConsumerOptions{ID: "w", StoreRetry: app.StoreRetry{MinBackoff: time.Millisecond}})
	require.NoError(t, err)
	require.Error(t, c.Run(ctx))
	s, err := app.Open(ctx, "memory:", nil)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	assert.Empty(t, book.all())
}

// On PostgreSQL, the listener's lost and restored connection is logged.
func TestLogger_ListenerReconnect(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	book := newLogBook()
	s, err := app.Open(ctx, url, &app.Options{Logger: slog.New(book)})
	require.NoError(t, err)
	defer s.Close()
	ns, err := s.EnsureNamespace(ctx, "test", domain.NamespaceOptions{})
	require.NoError(t, err)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wake, err := ns.MessageStore().(ports.Watcher).WatchCategory(wctx, "job")
	require.NoError(t, err)
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE application_name = 'messagedb-listener' AND datname = current_database()`)
	require.NoError(t, err)
	select {
	case <-wake: // back: every watcher is woken
	case <-time.After(liveness):
		t.Fatal("the listener did not come back")
	}
	r := book.one(t, slog.LevelWarn, "connection lost", map[string]string{app.LogConnection: "listener", app.LogAttempt: "0"})
	assert.NotEmpty(t, r.attrs[app.LogError])
	book.one(t, slog.LevelInfo, "connection restored", map[string]string{app.LogConnection: "listener", app.LogAttempt: "0"})
}
