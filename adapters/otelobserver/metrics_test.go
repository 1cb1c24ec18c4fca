package otelobserver_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"

	"github.com/messagedb-go/messagedb/adapters/otelobserver"
	"github.com/messagedb-go/messagedb/adapters/sqlite"
	"github.com/messagedb-go/messagedb/app"
	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/ports"
)

// TestConsumerLag pauses a consumer in its handler while messages are
// written: its lag, per consumer id and group member, rises with each
// write, and is 0 once the consumer has caught up; a stopped consumer has
// none.
func TestConsumerLag(t *testing.T) {
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			tel := newTelemetry(t, otelobserver.Options{})
			ns := namespace(t, open(t, be.url(t), &app.Options{Observer: tel.obs}), "lag")
			entered, release := make(chan struct{}, 1), make(chan struct{})
			caughtUp := make(chan int64, 16)
			c, err := ns.NewConsumer("job", func(ctx context.Context, msg domain.Message) error {
				select {
				case entered <- struct{}{}:
				default:
				}
				<-release
				return nil
			}, app.ConsumerOptions{ID: "worker", Group: &domain.ConsumerGroup{Member: 0, Size: 1}, PollInterval: 10 * time.Millisecond,
				OnCaughtUp: func(gp int64) { caughtUp <- gp }})
			require.NoError(t, err)
			write := func(n int) {
				for i := range n {
					_, err := ns.Write(ctx, fmt.Sprintf("job-%d", i), event("Queued"), domain.AnyVersion)
					require.NoError(t, err)
				}
			}
			lag := func() (int64, attribute.Set, bool) {
				ps := gauge(tel.collect(t), otelobserver.MetricConsumerLag, attribute.String("messagedb.consumer.id", "worker"))
				if len(ps) == 0 {
					return 0, attribute.Set{}, false
				}
				require.Len(t, ps, 1)
				return ps[0].Value, ps[0].Attributes, true
			}

			stop := runConsumer(t, c)
			select {
			case <-caughtUp: // nothing to handle yet
			case <-time.After(waitTimeout):
				t.Fatal("the consumer did not catch up with an empty category")
			}
			got, set, ok := lag()
			require.True(t, ok, "a running consumer has a lag")
			assert.Equal(t, int64(0), got)
			member, _ := set.Value("messagedb.consumer.group.member")
			size, _ := set.Value("messagedb.consumer.group.size")
			category, _ := set.Value("db.collection.name")
			assert.Equal(t, int64(0), member.AsInt64())
			assert.Equal(t, int64(1), size.AsInt64())
			assert.Equal(t, "job", category.AsString())

			write(3)
			select {
			case <-entered: // paused on the first message
			case <-time.After(waitTimeout):
				t.Fatal("the consumer did not get the first message")
			}
			first, _, _ := lag()
			assert.Equal(t, int64(3), first, "3 written, none handled")
			write(5)
			second, _, _ := lag()
			assert.Equal(t, int64(8), second, "8 written, none handled")
			assert.Greater(t, second, first, "lag rises while writes outpace the consumer")

			close(release)
			deadline := time.After(waitTimeout)
			for done := false; !done; {
				select {
				case gp := <-caughtUp:
					done = gp == 8
				case <-deadline:
					t.Fatal("the consumer did not catch up")
				}
			}
			got, _, _ = lag()
			assert.Equal(t, int64(0), got, "caught up")

			stop()
			_, _, ok = lag()
			assert.False(t, ok, "a stopped consumer has no lag")
		})
	}
}

// errConnection stands for a driver's error: a connection that broke.
var errConnection = errors.New("connection reset by peer")

// flakyStore is a backend whose message stores fail their first two
// category reads, as a store whose server restarts would.
type flakyStore struct {
	ports.Store
	mu    sync.Mutex
	reads int
}

// Capabilities declares a wrapped backend, whose message stores are neither
// Importers nor Watchers.
func (s *flakyStore) Capabilities() ports.Capabilities {
	return ports.Capabilities{System: ports.SystemOther}
}

func (s *flakyStore) MessageStore(ctx context.Context, id string) (ports.MessageStore, error) {
	ms, err := s.Store.MessageStore(ctx, id)
	if err != nil {
		return nil, err
	}
	return flakyMessages{ms, s}, nil
}

type flakyMessages struct {
	ports.MessageStore
	s *flakyStore
}

func (m flakyMessages) GetCategoryMessages(ctx context.Context, category string, opts domain.CategoryOpts) ([]domain.Message, error) {
	m.s.mu.Lock()
	m.s.reads++
	n := m.s.reads
	m.s.mu.Unlock()
	if n <= 2 {
		return nil, errConnection
	}
	return m.MessageStore.GetCategoryMessages(ctx, category, opts)
}

// TestConsumerRetries counts a handler's errors and retries, and a
// consumer's store calls retried, with the error's kind; each failed
// handler call has a span marked failed.
func TestConsumerRetries(t *testing.T) {
	ctx := context.Background()
	tel := newTelemetry(t, otelobserver.Options{})
	backend, err := sqlite.Open(ctx, sqlite.Options{InMemory: true})
	require.NoError(t, err)
	s := app.NewStoreWith(&flakyStore{Store: backend}, &app.Options{Observer: tel.obs})
	t.Cleanup(func() { _ = s.Close() })
	ns := namespace(t, s, "retries")
	_, err = ns.Write(ctx, "task-1", event("Due"), domain.AnyVersion)
	require.NoError(t, err)

	attempts := 0
	handledOnce := make(chan struct{})
	c, err := ns.NewConsumer("task", func(ctx context.Context, msg domain.Message) error {
		attempts++
		if attempts < 3 {
			return errors.New("downstream unavailable")
		}
		close(handledOnce)
		return nil
	}, app.ConsumerOptions{ID: "runner", PollInterval: 10 * time.Millisecond,
		OnError:    app.RetryOnError{MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond},
		StoreRetry: app.StoreRetry{MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond}})
	require.NoError(t, err)
	stop := runConsumer(t, c)
	select {
	case <-handledOnce:
	case <-time.After(waitTimeout):
		t.Fatal("the handler never succeeded")
	}
	stop()

	rm := tel.collect(t)
	id := attribute.String("messagedb.consumer.id", "runner")
	assert.Equal(t, int64(2), sum(rm, otelobserver.MetricHandlerErrors, id, attribute.String("error.type", "_OTHER")))
	assert.Equal(t, int64(2), sum(rm, otelobserver.MetricHandlerRetries, id))
	assert.Equal(t, int64(2), sum(rm, otelobserver.MetricStoreRetries, id, attribute.String("error.type", "_OTHER")))
	assert.Equal(t, uint64(3), count(rm, otelobserver.MetricHandlerDuration, id))
	hs := handlerSpans(tel, "task")
	require.Len(t, hs, 3)
	for i, h := range hs {
		a := attrs(h)
		assert.Equal(t, int64(i+1), a["messagedb.consumer.attempt"].AsInt64())
		assert.Equal(t, "other_sql", a["db.system.name"].AsString(), "a wrapped backend is no known system")
		if i < 2 {
			assert.Equal(t, codes.Error, h.Status.Code)
			assert.Equal(t, "_OTHER", a["error.type"].AsString())
		} else {
			assert.Equal(t, codes.Unset, h.Status.Code)
		}
	}
}

// TestListenerReconnect breaks the PostgreSQL listener's connection: the
// store connects again and the reconnection is counted.
func TestListenerReconnect(t *testing.T) {
	ctx := context.Background()
	be := backends()[2]
	url := be.url(t)
	tel := newTelemetry(t, otelobserver.Options{})
	ns := namespace(t, open(t, url, &app.Options{Observer: tel.obs}), "listen")
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wake, err := ns.MessageStore().(ports.Watcher).WatchCategory(wctx, "account")
	require.NoError(t, err)

	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(ctx)
	var killed int
	require.NoError(t, conn.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name = 'messagedb-listener' AND datname = current_database()`).Scan(&killed))
	require.Equal(t, 1, killed, "one listener connection")

	// Back, the listener wakes every watcher: notifications may have been
	// lost meanwhile.
	select {
	case <-wake:
	case <-time.After(waitTimeout):
		t.Fatal("the listener did not come back")
	}
	assert.Equal(t, int64(1), sum(tel.collect(t), otelobserver.MetricReconnects, attribute.String("messagedb.connection.name", "listener")))
}
