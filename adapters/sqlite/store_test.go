package sqlite_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messagedb-go/messagedb/adapters/sqlite"
	"github.com/messagedb-go/messagedb/domain"
)

// modes are the two ways to open a store; most tests run in both.
var modes = []struct {
	name string
	opts func(t *testing.T) sqlite.Options
}{
	{"Memory", func(*testing.T) sqlite.Options { return sqlite.Options{InMemory: true} }},
	{"File", func(t *testing.T) sqlite.Options { return sqlite.Options{Dir: t.TempDir()} }},
}

// eachMode runs f as a parallel subtest per mode, with a fresh store.
func eachMode(t *testing.T, f func(t *testing.T, s *sqlite.Store)) {
	t.Helper()
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			f(t, openStore(t, m.opts(t)))
		})
	}
}

// newNamespace creates a namespace in s and returns its message store.
func newNamespace(t *testing.T, s *sqlite.Store, id string) *sqlite.Namespace {
	t.Helper()
	_, err := s.CreateNamespace(t.Context(), id, domain.NamespaceOptions{})
	require.NoError(t, err, "create namespace %s", id)
	ns, err := s.Namespace(t.Context(), id)
	require.NoError(t, err, "namespace %s", id)
	return ns
}

// queryStrings runs a query returning one text column on db.
func queryStrings(t *testing.T, db *sql.DB, query string, args ...any) []string {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), query, args...)
	require.NoError(t, err, query)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		require.NoError(t, rows.Scan(&s))
		out = append(out, s)
	}
	require.NoError(t, rows.Err())
	return out
}

// openFile opens a database file directly, bypassing the store.
func openFile(t *testing.T, path string) *sql.DB {
	t.Helper()
	require.FileExists(t, path)
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func TestStore_MDB001_4A_T1_Open(t *testing.T) {
	ctx := t.Context()
	t.Run("Valid", func(t *testing.T) {
		s := openStore(t, sqlite.Options{InMemory: true})
		list, err := s.ListNamespaces(ctx)
		require.NoError(t, err)
		assert.Empty(t, list, "a new store has no namespace")
		// The registry is migrated.
		assert.Equal(t, []string{"001_namespace_registry"},
			queryStrings(t, s.RegistryDB(), "SELECT version FROM schema_migrations"))
	})
	t.Run("InvalidOptions", func(t *testing.T) {
		for name, opts := range map[string]sqlite.Options{
			"Neither":             {},
			"Both":                {Dir: t.TempDir(), InMemory: true},
			"UnknownSynchronous":  {InMemory: true, Synchronous: "OFF"},
			"NegativeBusyTimeout": {InMemory: true, BusyTimeout: -time.Second},
		} {
			s, err := sqlite.Open(ctx, opts)
			assert.ErrorIs(t, err, domain.ErrInvalidOptions, name)
			assert.Nil(t, s, name)
		}
	})
	t.Run("DirectoryNotCreatable", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "file")
		require.NoError(t, os.WriteFile(file, nil, 0o600))
		_, err := sqlite.Open(ctx, sqlite.Options{Dir: filepath.Join(file, "data")})
		assert.Error(t, err, "a data directory under a regular file")
	})
}

func TestStore_MDB001_4A_T2_InMemory(t *testing.T) {
	ctx := t.Context()
	cwd, err := os.Getwd()
	require.NoError(t, err)
	before, err := os.ReadDir(cwd)
	require.NoError(t, err)

	a := openStore(t, sqlite.Options{InMemory: true})
	b := openStore(t, sqlite.Options{InMemory: true})
	nsA := newNamespace(t, a, "shop")
	nsB := newNamespace(t, b, "shop") // same id in another store: no conflict
	_, err = nsA.WriteMessage(ctx, "order-1", domain.NewMessage{Type: "Placed"}, domain.AnyVersion)
	require.NoError(t, err)

	v, err := nsB.GetStreamVersion(ctx, "order-1")
	require.NoError(t, err)
	assert.Equal(t, domain.NoStream, v, "in-memory stores share nothing")

	// The database lives while the store holds it, even while the
	// connection that works on it is replaced.
	for range 3 {
		require.NoError(t, nsA.ReplaceWriter(ctx))
		v, err = nsA.GetStreamVersion(ctx, "order-1")
		require.NoError(t, err)
		assert.Equal(t, int64(0), v, "the in-memory database outlives its working connection")
	}

	after, err := os.ReadDir(cwd)
	require.NoError(t, err)
	assert.Equal(t, len(before), len(after), "in-memory mode writes no file")
}

func TestStore_MDB001_4A_T3_File(t *testing.T) {
	ctx := t.Context()
	dir := filepath.Join(t.TempDir(), "data", "messagedb") // created by Open
	s := openStore(t, sqlite.Options{Dir: dir})
	ns := newNamespace(t, s, "shop")
	_, err := ns.WriteMessage(ctx, "order-1", domain.NewMessage{Type: "Placed"}, domain.AnyVersion)
	require.NoError(t, err)

	assert.FileExists(t, filepath.Join(dir, "registry.db"))
	assert.FileExists(t, filepath.Join(dir, "namespaces", "shop.db"))

	// WAL, really.
	require.NoError(t, ns.WithConn(ctx, func(c *sql.Conn) error {
		var mode string
		require.NoError(t, c.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode))
		assert.Equal(t, "wal", mode)
		return nil
	}))
	assert.Equal(t, []string{"wal"}, queryStrings(t, s.RegistryDB(), "PRAGMA journal_mode"))

	// Everything is there after reopening.
	require.NoError(t, s.Close())
	s2 := openStore(t, sqlite.Options{Dir: dir})
	got, err := s2.GetNamespace(ctx, "shop")
	require.NoError(t, err)
	assert.Equal(t, "shop", got.ID)
	ms, err := s2.MessageStore(ctx, "shop")
	require.NoError(t, err)
	v, err := ms.GetStreamVersion(ctx, "order-1")
	require.NoError(t, err)
	assert.Equal(t, int64(0), v, "messages survive reopening")
}

func TestStore_MDB001_4A_T4_Close(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			ctx := t.Context()
			opts := m.opts(t)
			s, err := sqlite.Open(ctx, opts)
			require.NoError(t, err)
			ns := newNamespace(t, s, "shop")
			_, err = ns.WriteMessage(ctx, "order-1", domain.NewMessage{Type: "Placed"}, domain.AnyVersion)
			require.NoError(t, err)
			wake, err := ns.WatchCategory(context.Background(), "order")
			require.NoError(t, err)

			require.NoError(t, s.Close())
			require.NoError(t, s.Close(), "closing twice is harmless")

			_, open := <-wake
			assert.False(t, open, "watch channels are closed with the store")
			_, err = ns.GetStreamVersion(ctx, "order-1")
			assert.ErrorIs(t, err, sqlite.ErrClosed, "message stores handed out fail")
			assertReadsFail(t, ns, sqlite.ErrClosed)
			_, err = ns.WriteMessage(ctx, "order-1", domain.NewMessage{Type: "Placed"}, domain.AnyVersion)
			assert.ErrorIs(t, err, sqlite.ErrClosed)
			_, err = s.MessageStore(ctx, "shop")
			assert.ErrorIs(t, err, sqlite.ErrClosed)
			_, err = s.CreateNamespace(ctx, "other", domain.NamespaceOptions{})
			assert.ErrorIs(t, err, sqlite.ErrClosed)
			_, err = s.ListNamespaces(ctx)
			assert.ErrorIs(t, err, sqlite.ErrClosed)
			assert.ErrorIs(t, s.DeleteNamespace(ctx, "shop"), sqlite.ErrClosed)

			if opts.Dir != "" {
				// SQLite removes the write-ahead log when the last
				// connection to a database closes.
				assert.NoFileExists(t, filepath.Join(opts.Dir, "namespaces", "shop.db-wal"), "every connection is closed")
				assert.NoFileExists(t, filepath.Join(opts.Dir, "registry.db-wal"), "every connection is closed")
			}
		})
	}
}

func TestStore_MDB001_4A_T5_CreateNamespaceInMemory(t *testing.T) {
	testCreateNamespace(t, openStore(t, sqlite.Options{InMemory: true}))
}

func TestStore_MDB001_4A_T6_CreateNamespaceInFile(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	s := openStore(t, sqlite.Options{Dir: dir})
	testCreateNamespace(t, s)

	t.Run("FileMigrated", func(t *testing.T) {
		_, err := s.CreateNamespace(ctx, "files", domain.NamespaceOptions{})
		require.NoError(t, err)
		db := openFile(t, filepath.Join(dir, "namespaces", "files.db"))
		assert.Equal(t, []string{"001_message_db"}, queryStrings(t, db, "SELECT version FROM schema_migrations"))
		assert.Equal(t, []string{"messages"}, queryStrings(t, db, "SELECT name FROM sqlite_schema WHERE type = 'table' AND name = 'messages'"))
	})

	t.Run("StaleFilesRemoved", func(t *testing.T) {
		// A file left by a create or delete that did not finish is not a
		// namespace: creating the id starts empty.
		path := filepath.Join(dir, "namespaces", "stale.db")
		require.NoError(t, os.WriteFile(path+"-wal", []byte("not a write-ahead log"), 0o600))
		require.NoError(t, os.WriteFile(path, []byte("not a database"), 0o600))
		ns := newNamespace(t, s, "stale")
		v, err := ns.GetStreamVersion(ctx, "order-1")
		require.NoError(t, err)
		assert.Equal(t, domain.NoStream, v)
	})

	t.Run("AllOrNothing", func(t *testing.T) {
		// The namespace's file cannot be made: a directory is in the way.
		blocker := filepath.Join(dir, "namespaces", "blocked.db")
		require.NoError(t, os.MkdirAll(filepath.Join(blocker, "keep"), 0o755))
		_, err := s.CreateNamespace(ctx, "blocked", domain.NamespaceOptions{})
		require.Error(t, err)
		_, err = s.GetNamespace(ctx, "blocked")
		assert.ErrorIs(t, err, domain.ErrNamespaceNotFound, "no registry row stays behind")
		require.NoError(t, os.RemoveAll(blocker))
		_, err = s.CreateNamespace(ctx, "blocked", domain.NamespaceOptions{})
		assert.NoError(t, err, "the id is free")
	})

	t.Run("TwoStoresOneDirectory", func(t *testing.T) {
		other := openStore(t, sqlite.Options{Dir: dir})
		_, err := s.CreateNamespace(ctx, "taken", domain.NamespaceOptions{})
		require.NoError(t, err)
		_, err = other.CreateNamespace(ctx, "taken", domain.NamespaceOptions{})
		assert.ErrorIs(t, err, domain.ErrNamespaceExists, "the registry is shared")
	})
}

// CreateNamespace builds the file on a connection of its own settings and
// then keeps it in the namespace's pool: it must end with the pool's.
func TestStore_CreatedNamespaceConnectionSettings(t *testing.T) {
	for _, c := range []struct {
		sync sqlite.Synchronous
		want int64 // PRAGMA synchronous
	}{{sqlite.SynchronousFull, 2}, {sqlite.SynchronousNormal, 1}} {
		t.Run(string(c.sync), func(t *testing.T) {
			ctx := t.Context()
			s := openStore(t, sqlite.Options{Dir: t.TempDir(), Synchronous: c.sync, BusyTimeout: 1234 * time.Millisecond})
			ns := newNamespace(t, s, "settings")
			// Right after the create the pool holds one connection, the one
			// that built the file.
			require.NoError(t, ns.WithConn(ctx, func(conn *sql.Conn) error {
				var mode string
				var sync, fk, busy int64
				require.NoError(t, conn.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode))
				require.NoError(t, conn.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync))
				require.NoError(t, conn.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk))
				require.NoError(t, conn.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&busy))
				assert.Equal(t, "wal", mode)
				assert.Equal(t, c.want, sync)
				assert.Equal(t, int64(1), fk)
				assert.Equal(t, int64(1234), busy)
				return nil
			}))
		})
	}
}

func testCreateNamespace(t *testing.T, s *sqlite.Store) {
	ctx := t.Context()
	before := time.Now()
	got, err := s.CreateNamespace(ctx, "tenant_1", domain.NamespaceOptions{Description: "Tenant one"})
	require.NoError(t, err)
	assert.Equal(t, "tenant_1", got.ID)
	assert.Equal(t, "Tenant one", got.Description)
	assert.Equal(t, time.UTC, got.CreatedAt.Location())
	assert.WithinRange(t, got.CreatedAt, before.Add(-time.Millisecond), time.Now())

	_, err = s.CreateNamespace(ctx, "tenant_1", domain.NamespaceOptions{})
	assert.ErrorIs(t, err, domain.ErrNamespaceExists)

	for _, id := range []string{"", "Tenant", "1tenant", "ten-ant", "ten ant", "_t", "t.db", "../t", strings.Repeat("t", domain.MaxNamespaceIDLength+1)} {
		_, err := s.CreateNamespace(ctx, id, domain.NamespaceOptions{})
		assert.ErrorIs(t, err, domain.ErrInvalidNamespace, "id %q", id)
	}
	list, err := s.ListNamespaces(ctx)
	require.NoError(t, err)
	assert.Len(t, list, 1, "refused ids left nothing")

	ns, err := s.MessageStore(ctx, "tenant_1")
	require.NoError(t, err)
	msgs, err := ns.GetAllMessages(ctx, domain.AllOpts{})
	require.NoError(t, err)
	assert.Empty(t, msgs, "a new namespace is empty")
	r, err := ns.WriteMessage(ctx, "order-1", domain.NewMessage{Type: "Placed"}, domain.ExpectVersion(domain.NoStream))
	require.NoError(t, err)
	assert.Equal(t, domain.WriteResult{Position: 0, GlobalPosition: 1}, r)
}

// assertReadsFail checks that every read of ns fails with want, a read of
// no message (a batch size of 0) included.
func assertReadsFail(t *testing.T, ns *sqlite.Namespace, want error) {
	t.Helper()
	ctx := t.Context()
	for how, batch := range map[string]*int64{"default batch size": nil, "batch size 0": new(int64(0))} {
		_, err := ns.GetStreamMessages(ctx, "order-1", domain.GetOpts{BatchSize: batch})
		assert.ErrorIs(t, err, want, "GetStreamMessages, %s", how)
		_, err = ns.GetCategoryMessages(ctx, "order", domain.CategoryOpts{BatchSize: batch})
		assert.ErrorIs(t, err, want, "GetCategoryMessages, %s", how)
		_, err = ns.GetAllMessages(ctx, domain.AllOpts{BatchSize: batch})
		assert.ErrorIs(t, err, want, "GetAllMessages, %s", how)
	}
	_, err := ns.GetLastStreamMessage(ctx, "order-1", "")
	assert.ErrorIs(t, err, want, "GetLastStreamMessage")
}

func TestStore_MDB001_4A_T7_DeleteNamespace(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			opts := m.opts(t)
			s := openStore(t, opts)
			ns := newNamespace(t, s, "shop")
			for range 3 {
				_, err := ns.WriteMessage(ctx, "order-1", domain.NewMessage{Type: "Placed"}, domain.AnyVersion)
				require.NoError(t, err)
			}
			wake, err := ns.WatchCategory(context.Background(), "order")
			require.NoError(t, err)
			require.True(t, s.IsOpen("shop"))

			require.NoError(t, s.DeleteNamespace(ctx, "shop"))

			assert.False(t, s.IsOpen("shop"), "its database is closed")
			if opts.Dir != "" {
				for _, suffix := range []string{"", "-wal", "-shm"} {
					assert.NoFileExists(t, filepath.Join(opts.Dir, "namespaces", "shop.db"+suffix))
				}
			}
			_, open := <-wake
			assert.False(t, open, "watch channels are closed")
			_, err = ns.GetStreamVersion(ctx, "order-1")
			assert.ErrorIs(t, err, domain.ErrNamespaceNotFound, "the message store handed out fails")
			assertReadsFail(t, ns, domain.ErrNamespaceNotFound)
			_, err = ns.WriteMessage(ctx, "order-1", domain.NewMessage{Type: "Placed"}, domain.AnyVersion)
			assert.ErrorIs(t, err, domain.ErrNamespaceNotFound)
			_, err = ns.WatchCategory(ctx, "order")
			assert.ErrorIs(t, err, domain.ErrNamespaceNotFound)
			_, err = s.GetNamespace(ctx, "shop")
			assert.ErrorIs(t, err, domain.ErrNamespaceNotFound)
			_, err = s.MessageStore(ctx, "shop")
			assert.ErrorIs(t, err, domain.ErrNamespaceNotFound)
			assert.ErrorIs(t, s.DeleteNamespace(ctx, "shop"), domain.ErrNamespaceNotFound)
			assert.ErrorIs(t, s.DeleteNamespace(ctx, "Shop"), domain.ErrInvalidNamespace)

			// Created again, it starts empty; the old handle still fails.
			again := newNamespace(t, s, "shop")
			r, err := again.WriteMessage(ctx, "order-1", domain.NewMessage{Type: "Placed"}, domain.ExpectVersion(domain.NoStream))
			require.NoError(t, err)
			assert.Equal(t, domain.WriteResult{Position: 0, GlobalPosition: 1}, r)
			_, err = ns.GetStreamVersion(ctx, "order-1")
			assert.ErrorIs(t, err, domain.ErrNamespaceNotFound, "a handle on the deleted namespace stays dead")
		})
	}
}

func TestStore_MDB001_4A_T8_LazyOpen(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	s := openStore(t, sqlite.Options{Dir: dir})
	ns := newNamespace(t, s, "shop")
	_, err := ns.WriteMessage(ctx, "order-1", domain.NewMessage{Type: "Placed"}, domain.AnyVersion)
	require.NoError(t, err)
	require.NoError(t, s.Close())

	s = openStore(t, sqlite.Options{Dir: dir})
	assert.False(t, s.IsOpen("shop"), "opening the store opens no namespace")
	ms, err := s.MessageStore(ctx, "shop")
	require.NoError(t, err)
	assert.False(t, s.IsOpen("shop"), "handing out the message store opens nothing")
	assert.Zero(t, s.OpenedCount())

	// Many first uses at once open the database once.
	const n = 50
	start := make(chan struct{})
	var wg sync.WaitGroup
	versions := make([]int64, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			<-start
			versions[i], errs[i] = ms.GetStreamVersion(ctx, "order-1")
		})
	}
	close(start)
	wg.Wait()
	for i := range n {
		require.NoError(t, errs[i])
		assert.Equal(t, int64(0), versions[i])
	}
	assert.True(t, s.IsOpen("shop"), "first use opens it")
	assert.Equal(t, int64(1), s.OpenedCount(), "one open for %d concurrent first uses", n)

	_, err = s.MessageStore(ctx, "missing")
	assert.ErrorIs(t, err, domain.ErrNamespaceNotFound)
	_, err = s.MessageStore(ctx, "Missing")
	assert.ErrorIs(t, err, domain.ErrInvalidNamespace)
}

// A namespace whose file has gone (removed behind the registry's back) is
// not found: it does not come back as an empty namespace.
func TestStore_MissingNamespaceFileIsNotRecreated(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	s := openStore(t, sqlite.Options{Dir: dir})
	ns := newNamespace(t, s, "shop")
	_, err := ns.WriteMessage(ctx, "order-1", domain.NewMessage{Type: "Placed"}, domain.AnyVersion)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	file := filepath.Join(dir, "namespaces", "shop.db")
	for _, suffix := range []string{"", "-wal", "-shm"} {
		require.NoError(t, os.RemoveAll(file+suffix))
	}

	s = openStore(t, sqlite.Options{Dir: dir})
	ms, err := s.MessageStore(ctx, "shop")
	require.NoError(t, err, "the registry still lists it")
	_, err = ms.GetStreamVersion(ctx, "order-1")
	assert.ErrorIs(t, err, domain.ErrNamespaceNotFound)
	_, err = ms.WriteMessage(ctx, "order-1", domain.NewMessage{Type: "Placed"}, domain.AnyVersion)
	assert.ErrorIs(t, err, domain.ErrNamespaceNotFound)
	assert.NoFileExists(t, file, "no empty database is made in its place")
}

func TestStore_MDB001_4A_T9_GetNamespace(t *testing.T) {
	eachMode(t, func(t *testing.T, s *sqlite.Store) {
		ctx := t.Context()
		created, err := s.CreateNamespace(ctx, "shop", domain.NamespaceOptions{Description: "Shop — ünïcode"})
		require.NoError(t, err)
		got, err := s.GetNamespace(ctx, "shop")
		require.NoError(t, err)
		assert.Equal(t, created, got)
		assert.Equal(t, "Shop — ünïcode", got.Description)
		assert.Equal(t, time.UTC, got.CreatedAt.Location())
		assert.Zero(t, got.CreatedAt.Nanosecond()%1000, "microseconds, as on PostgreSQL")

		_, err = s.GetNamespace(ctx, "nope")
		assert.ErrorIs(t, err, domain.ErrNamespaceNotFound)
		_, err = s.GetNamespace(ctx, "No")
		assert.ErrorIs(t, err, domain.ErrInvalidNamespace)
	})
}

func TestStore_MDB001_4A_T10_ListNamespaces(t *testing.T) {
	eachMode(t, func(t *testing.T, s *sqlite.Store) {
		ctx := t.Context()
		want := map[string]domain.Namespace{}
		for _, id := range []string{"zeta", "alpha", "mid_1", "mid"} {
			n, err := s.CreateNamespace(ctx, id, domain.NamespaceOptions{Description: "about " + id})
			require.NoError(t, err)
			want[id] = n
		}
		list, err := s.ListNamespaces(ctx)
		require.NoError(t, err)
		var ids []string
		for _, n := range list {
			ids = append(ids, n.ID)
			assert.Equal(t, want[n.ID], n)
		}
		assert.Equal(t, []string{"alpha", "mid", "mid_1", "zeta"}, ids, "ordered by id")

		require.NoError(t, s.DeleteNamespace(ctx, "mid"))
		list, err = s.ListNamespaces(ctx)
		require.NoError(t, err)
		assert.Len(t, list, 3)
		for _, n := range list {
			assert.NotEqual(t, "mid", n.ID)
		}
	})
}

func TestStore_ContextCanceled(t *testing.T) {
	eachMode(t, func(t *testing.T, s *sqlite.Store) {
		ns := newNamespace(t, s, "shop")
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := ns.WriteMessage(ctx, "order-1", domain.NewMessage{Type: "Placed"}, domain.AnyVersion)
		assert.ErrorIs(t, err, context.Canceled)
		_, err = ns.GetStreamMessages(ctx, "order-1", domain.GetOpts{})
		assert.ErrorIs(t, err, context.Canceled)
		_, err = s.CreateNamespace(ctx, "other", domain.NamespaceOptions{})
		assert.ErrorIs(t, err, context.Canceled)
		v, err := ns.GetStreamVersion(t.Context(), "order-1")
		require.NoError(t, err)
		assert.Equal(t, domain.NoStream, v, "a canceled write wrote nothing")
	})
}

// SQLite has no roles: roles to grant that are valid names (whether or not
// such a role exists anywhere) are accepted and change nothing.
func TestStore_GrantHasNoEffect(t *testing.T) {
	eachMode(t, func(t *testing.T, s *sqlite.Store) {
		ctx := context.Background()
		ns, err := s.CreateNamespace(ctx, "granted", domain.NamespaceOptions{Description: "d", Grant: []string{"app", "no_such_role"}})
		require.NoError(t, err)
		got, err := s.GetNamespace(ctx, "granted")
		require.NoError(t, err)
		assert.Equal(t, ns, got)
		ms, err := s.MessageStore(ctx, "granted")
		require.NoError(t, err)
		_, err = ms.WriteMessage(ctx, "acct-1", domain.NewMessage{Type: "A", Data: []byte(`{}`)}, domain.AnyVersion)
		require.NoError(t, err)
	})
}
