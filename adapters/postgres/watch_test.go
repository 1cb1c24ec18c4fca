package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messagedb-go/messagedb/adapters/postgres"
	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/internal/pgtest"
)

const wakeTimeout = 10 * time.Second

func receive(t *testing.T, ch <-chan struct{}, why string) {
	t.Helper()
	select {
	case _, ok := <-ch:
		require.True(t, ok, "%s: the channel closed", why)
	case <-time.After(wakeTimeout):
		t.Fatalf("%s: no wake-up within %s", why, wakeTimeout)
	}
}

func pending(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func TestWatch_WakesOnWritesMadeInSQL(t *testing.T) {
	ctx := t.Context()
	s := openStore(t, sharedURL(t), &postgres.Options{MaxConns: 2})
	ns := newNamespace(t, s)
	conn := sqlConn(t, sharedURL(t))
	acct, err := ns.WatchCategory(ctx, "acct")
	require.NoError(t, err)
	other, err := ns.WatchCategory(ctx, "other")
	require.NoError(t, err)

	_, err = conn.Exec(ctx, "SELECT "+ns.Schema()+".write_message($1, 'acct-1', 'A', '{}')", uuid.NewString())
	require.NoError(t, err)
	receive(t, acct, "a write_message call in SQL")
	assert.False(t, pending(other), "a watcher of another category is not woken")

	// A rolled back write does not notify; the next commit does.
	tx, err := conn.Begin(ctx)
	require.NoError(t, err)
	_, err = tx.Exec(ctx, "SELECT "+ns.Schema()+".write_message($1, 'other-1', 'A', '{}')", uuid.NewString())
	require.NoError(t, err)
	require.NoError(t, tx.Rollback(ctx))
	_, err = conn.Exec(ctx, "SELECT "+ns.Schema()+".write_message($1, 'acct-2', 'A', '{}')", uuid.NewString())
	require.NoError(t, err)
	receive(t, acct, "a second write")
	assert.False(t, pending(other), "a rolled back write does not wake")

	// Imports notify too.
	require.NoError(t, ns.ImportMessages(ctx, []domain.Message{{ID: uuid.New(), StreamName: "other-3", Type: "I", GlobalPosition: 10, Data: []byte(`{}`)}}))
	receive(t, other, "an import")
}

func TestWatch_ReconnectsWhenTheConnectionDrops(t *testing.T) {
	ctx := t.Context()
	url := pgtest.NewDatabase(t)
	s := openStore(t, url, &postgres.Options{MaxConns: 2})
	ns := newNamespace(t, s)
	conn := sqlConn(t, url)
	ch, err := ns.WatchCategory(ctx, "acct")
	require.NoError(t, err)
	pid := s.ListenerPID()
	require.NotZero(t, pid, "the listener is connected once WatchCategory returns")

	var n int
	require.NoError(t, conn.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE pid = $1 AND application_name = 'messagedb-listener'", pid).Scan(&n))
	require.Equal(t, 1, n)
	var killed bool
	require.NoError(t, conn.QueryRow(ctx, "SELECT pg_terminate_backend($1)", pid).Scan(&killed))
	require.True(t, killed)

	// Back, the listener wakes every watcher: what was sent meanwhile is lost.
	receive(t, ch, "the reconnection")
	newPID := s.ListenerPID()
	assert.NotZero(t, newPID)
	assert.NotEqual(t, pid, newPID, "a new connection")

	_, err = ns.WriteMessage(ctx, "acct-1", domain.NewMessage{Type: "A"}, domain.AnyVersion)
	require.NoError(t, err)
	receive(t, ch, "a write after the reconnection")
	_, err = conn.Exec(ctx, "SELECT "+ns.Schema()+".write_message($1, 'acct-1', 'A', '{}')", uuid.NewString())
	require.NoError(t, err)
	receive(t, ch, "a write in SQL after the reconnection")

	// A watcher added after the reconnection is listened to as well.
	ch2, err := ns.WatchCategory(ctx, "other")
	require.NoError(t, err)
	_, err = ns.WriteMessage(ctx, "other-1", domain.NewMessage{Type: "A"}, domain.AnyVersion)
	require.NoError(t, err)
	receive(t, ch2, "a new category after the reconnection")
}

func TestWatch_ChannelClosesWithContext(t *testing.T) {
	s := openStore(t, sharedURL(t), &postgres.Options{MaxConns: 2})
	ns := newNamespace(t, s)
	ctx, cancel := context.WithCancel(t.Context())
	ch, err := ns.WatchCategory(ctx, "acct")
	require.NoError(t, err)
	keep, err := ns.WatchCategory(t.Context(), "acct")
	require.NoError(t, err)
	cancel()
	select {
	case _, ok := <-ch:
		assert.False(t, ok, "no write: the only thing to receive is the close")
	case <-time.After(wakeTimeout):
		t.Fatal("the channel is not closed after ctx is done")
	}
	_, err = ns.WriteMessage(t.Context(), "acct-1", domain.NewMessage{Type: "A"}, domain.AnyVersion)
	require.NoError(t, err)
	receive(t, keep, "the other watcher of the category still works")

	_, err = ns.WatchCategory(t.Context(), "acct-1")
	assert.ErrorIs(t, err, domain.ErrInvalidStreamName)
}
