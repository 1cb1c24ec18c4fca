package postgres_test

import (
	"context"
	"fmt"
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

func TestWatch_WakesOnWritesOfAnotherStore(t *testing.T) {
	ctx := t.Context()
	s := openStore(t, sharedURL(t), &postgres.Options{MaxConns: 2})
	ns := newNamespace(t, s)
	other := openStore(t, sharedURL(t), &postgres.Options{MaxConns: 2})
	writer, err := other.Namespace(ctx, ns.ID())
	require.NoError(t, err)
	acct, err := ns.WatchCategory(ctx, "acct")
	require.NoError(t, err)
	others, err := ns.WatchCategory(ctx, "other")
	require.NoError(t, err)

	_, err = writer.WriteMessage(ctx, "acct-1", domain.NewMessage{Type: "A"}, domain.AnyVersion)
	require.NoError(t, err)
	receive(t, acct, "a write through another Store")
	assert.NotZero(t, other.NotifierPID(), "the writing Store's notifier is connected")
	assert.Zero(t, s.NotifierPID(), "a Store that has not written has no notifier connection")

	// A batch write and an import, through the other Store.
	_, err = writer.WriteMessages(ctx, "acct-2", []domain.NewMessage{{Type: "A"}, {Type: "B"}}, domain.ExpectVersion(domain.NoStream))
	require.NoError(t, err)
	receive(t, acct, "a batch write through another Store")
	require.NoError(t, writer.ImportMessages(ctx, []domain.Message{{ID: uuid.New(), StreamName: "other-3", Type: "I", GlobalPosition: 100, Data: []byte(`{}`)}}))
	receive(t, others, "an import through another Store")
}

// A Store that writes and closes at once (a command line tool) has sent its
// notifications when Close returns.
func TestWatch_CloseSendsPendingNotifications(t *testing.T) {
	ctx := t.Context()
	s := openStore(t, sharedURL(t), &postgres.Options{MaxConns: 2})
	ns := newNamespace(t, s)
	ch, err := ns.WatchCategory(ctx, "acct")
	require.NoError(t, err)
	for i := range 20 {
		w, err := postgres.Open(ctx, sharedURL(t), &postgres.Options{MaxConns: 1})
		require.NoError(t, err)
		wns, err := w.Namespace(ctx, ns.ID())
		require.NoError(t, err)
		_, err = wns.WriteMessage(ctx, "acct-1", domain.NewMessage{Type: "A"}, domain.AnyVersion)
		require.NoError(t, err)
		require.NoError(t, w.Close())
		receive(t, ch, fmt.Sprintf("round %d: a write by a Store closed right after it", i))
	}
}

// Message DB clients writing through SQL notify nobody (the write
// functions never call NOTIFY); they wake watchers by notifying the
// category's channel after their commit.
func TestWatch_SQLClientsWakeWatchersByNotifyingAfterCommit(t *testing.T) {
	ctx := t.Context()
	s := openStore(t, sharedURL(t), &postgres.Options{MaxConns: 2})
	ns := newNamespace(t, s)
	conn := sqlConn(t, sharedURL(t))
	acct, err := ns.WatchCategory(ctx, "acct")
	require.NoError(t, err)
	_, err = conn.Exec(ctx, "SELECT "+ns.Schema()+".write_message($1, 'acct-1', 'A', '{}')", uuid.NewString())
	require.NoError(t, err)
	_, err = conn.Exec(ctx, "SELECT pg_notify("+ns.Schema()+".notify_channel('acct'), '')")
	require.NoError(t, err)
	receive(t, acct, "a notification sent after write_message")
	msgs, err := ns.GetCategoryMessages(ctx, "acct", domain.CategoryOpts{})
	require.NoError(t, err)
	assert.Len(t, msgs, 1, "the message written through SQL is there once woken")
}

// No write transaction calls NOTIFY: PostgreSQL makes the commits of
// notifying transactions wait for each other, across the whole cluster.
// Notifications are delivered in commit order, so a listener that receives
// a control notification sent after the writes, before anything else,
// proves that the writes sent none; and a write through a Store is
// announced by its notifier's connection, not the writer's.
func TestWrites_NeverNotifyInTheirTransaction(t *testing.T) {
	ctx := t.Context()
	s := openStore(t, sharedURL(t), &postgres.Options{MaxConns: 2})
	ns := newNamespace(t, s)
	sch := ns.Schema()
	listen := sqlConn(t, sharedURL(t))
	conn := sqlConn(t, sharedURL(t))
	channel := postgres.NotifyChannel(ns.ID(), "acct")
	_, err := listen.Exec(ctx, "LISTEN "+channel)
	require.NoError(t, err)

	_, err = conn.Exec(ctx, "SELECT "+sch+".write_message($1, 'acct-1', 'A', '{}')", uuid.NewString())
	require.NoError(t, err)
	_, err = conn.Exec(ctx, "SELECT * FROM "+sch+".write_messages('acct-2', ARRAY[$1::uuid], ARRAY['A']::varchar[], ARRAY['{}'::jsonb], ARRAY[NULL::jsonb])", uuid.New())
	require.NoError(t, err)
	_, err = conn.Exec(ctx, "SELECT pg_notify($1, 'control')", channel)
	require.NoError(t, err)
	wait, cancel := context.WithTimeout(ctx, wakeTimeout)
	defer cancel()
	note, err := listen.WaitForNotification(wait)
	require.NoError(t, err)
	assert.Equal(t, "control", note.Payload, "the first notification is the control one: the SQL writes sent none")

	_, err = ns.WriteMessage(ctx, "acct-3", domain.NewMessage{Type: "A"}, domain.AnyVersion)
	require.NoError(t, err)
	note, err = listen.WaitForNotification(wait)
	require.NoError(t, err)
	assert.Equal(t, s.NotifierPID(), note.PID, "a Store's write is announced by its notifier's connection")

	// No function of the schema notifies.
	var notifying []string
	rows, err := conn.Query(ctx, `SELECT p.proname FROM pg_catalog.pg_proc p
WHERE p.pronamespace = $1::regnamespace AND p.prosrc ~* '(pg_notify|\mnotify\M\s+[a-z"])'`, sch)
	require.NoError(t, err)
	for rows.Next() {
		var name string
		require.NoError(t, rows.Scan(&name))
		notifying = append(notifying, name)
	}
	require.NoError(t, rows.Err())
	assert.Empty(t, notifying, "functions of %s that notify", sch)
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
	_, err = conn.Exec(ctx, "SELECT pg_notify("+ns.Schema()+".notify_channel('acct'), '')")
	require.NoError(t, err)
	receive(t, ch, "a notification from another session after the reconnection")

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
