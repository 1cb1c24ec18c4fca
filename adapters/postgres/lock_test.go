package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messagedb-go/messagedb/adapters/postgres"
	"github.com/messagedb-go/messagedb/domain"
)

// waitForLockWaiter waits until a session waits for the advisory lock key.
func waitForLockWaiter(t *testing.T, conn *pgx.Conn, key int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var n int
		require.NoError(t, conn.QueryRow(context.Background(), `SELECT count(*) FROM pg_locks
			WHERE locktype = 'advisory' AND NOT granted AND ((classid::bigint << 32) | objid::bigint) = $1`, key).Scan(&n))
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no writer waits for the category lock")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestLocks_CategoryReaderNeverSkipsALateCommit holds a write to a category
// open (its global position drawn, not committed) and checks that a second
// write to the category waits for it, so a reader can never see the second
// without the first.
func TestLocks_CategoryReaderNeverSkipsALateCommit(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, sharedURL(t), &postgres.Options{MaxConns: 4})
	ns := newNamespace(t, s)
	sch := ns.Schema()
	first := sqlConn(t, sharedURL(t))
	observer := sqlConn(t, sharedURL(t))

	tx, err := first.Begin(ctx)
	require.NoError(t, err)
	defer tx.Rollback(ctx)
	var pos int64
	require.NoError(t, tx.QueryRow(ctx, "SELECT "+sch+".write_message($1, 'acct-1', 'First', '{}')", uuid.NewString()).Scan(&pos))

	type result struct {
		r   domain.WriteResult
		err error
	}
	second := make(chan result, 1)
	go func() {
		r, err := ns.WriteMessage(ctx, "acct-2", domain.NewMessage{Type: "Second"}, domain.AnyVersion)
		second <- result{r, err}
	}()
	waitForLockWaiter(t, observer, domain.Hash64(sch+":acct"))

	// The second write waits: a reader sees neither message yet.
	msgs, err := ns.GetCategoryMessages(ctx, "acct", domain.CategoryOpts{})
	require.NoError(t, err)
	assert.Empty(t, msgs, "nothing committed yet")
	select {
	case r := <-second:
		t.Fatalf("the second write finished while the first holds the category lock: %+v", r)
	default:
	}

	require.NoError(t, tx.Commit(ctx))
	r := <-second
	require.NoError(t, r.err)
	assert.Equal(t, int64(2), r.r.GlobalPosition, "the second write drew its global position after the first committed")

	msgs, err = ns.GetCategoryMessages(ctx, "acct", domain.CategoryOpts{})
	require.NoError(t, err)
	require.Len(t, msgs, 2)
	assert.Equal(t, []string{"First", "Second"}, []string{msgs[0].Type, msgs[1].Type})
}

// TestLocks_NamespacesDoNotWaitOnEachOther writes to a category of one
// namespace while a transaction holds the same category's lock in another.
func TestLocks_NamespacesDoNotWaitOnEachOther(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, sharedURL(t), &postgres.Options{MaxConns: 4})
	ns1, ns2 := newNamespace(t, s), newNamespace(t, s)
	conn := sqlConn(t, sharedURL(t))

	tx, err := conn.Begin(ctx)
	require.NoError(t, err)
	defer tx.Rollback(ctx)
	_, err = tx.Exec(ctx, "SELECT "+ns1.Schema()+".write_message($1, 'acct-1', 'Held', '{}')", uuid.NewString())
	require.NoError(t, err)

	// Would wait for the transaction if the lock key ignored the namespace;
	// the deadline only keeps a regression from hanging the test.
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	r, err := ns2.WriteMessage(wctx, "acct-1", domain.NewMessage{Type: "Free"}, domain.AnyVersion)
	require.NoError(t, err, "a write in another namespace waited for the category lock")
	assert.Equal(t, wr(0, 1), r)

	// Within the namespace, other categories do not wait either.
	r, err = ns1.WriteMessage(wctx, "other-1", domain.NewMessage{Type: "Free"}, domain.AnyVersion)
	require.NoError(t, err)
	assert.Equal(t, int64(0), r.Position)
}

// TestLocks_ConcurrentWritersOneWinnerPerVersion releases writers at once
// on one stream, each expecting the same version: exactly one wins, the
// others get a VersionConflictError with the winner's version.
func TestLocks_ConcurrentWritersOneWinnerPerVersion(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, sharedURL(t), &postgres.Options{MaxConns: 8})
	ns := newNamespace(t, s)
	for version := int64(-1); version < 3; version++ {
		const writers = 8
		start := make(chan struct{})
		errs := make(chan error, writers)
		for range writers {
			go func() {
				<-start
				_, err := ns.WriteMessage(ctx, "acct-1", domain.NewMessage{Type: "Race"}, domain.ExpectVersion(version))
				errs <- err
			}()
		}
		close(start)
		wins := 0
		for range writers {
			err := <-errs
			if err == nil {
				wins++
				continue
			}
			var vc *domain.VersionConflictError
			require.ErrorAs(t, err, &vc)
			assert.Equal(t, version+1, vc.Actual)
		}
		assert.Equal(t, 1, wins, "expected version %d", version)
	}
	msgs, err := ns.GetStreamMessages(ctx, "acct-1", domain.GetOpts{})
	require.NoError(t, err)
	assert.Len(t, msgs, 4)
}
