package postgres_test

import (
	"context"
	"fmt"
	"io/fs"
	"runtime"
	"sort"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messagedb-go/messagedb/adapters/postgres"
	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/internal/pgtest"
	"github.com/messagedb-go/messagedb/migrations"
)

// schemaExists reports whether the schema exists in the database at url.
func schemaExists(t *testing.T, conn *pgx.Conn, schema string) bool {
	t.Helper()
	var n int
	require.NoError(t, conn.QueryRow(context.Background(),
		"SELECT count(*) FROM pg_namespace WHERE nspname = $1", schema).Scan(&n))
	return n == 1
}

func registryIDs(t *testing.T, conn *pgx.Conn, mdSchema string) []string {
	t.Helper()
	rows, err := conn.Query(context.Background(), "SELECT id FROM "+mdSchema+".namespaces ORDER BY id")
	require.NoError(t, err)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	return ids
}

func TestStore_MDB001_2A_T1_OpenConnectsAndMigratesRegistry(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	s := openStore(t, url, nil)
	conn := sqlConn(t, url)

	assert.True(t, schemaExists(t, conn, "messagedb"), "the default metadata schema is created")
	var version string
	require.NoError(t, conn.QueryRow(ctx, "SELECT version FROM messagedb.schema_migrations").Scan(&version))
	assert.Equal(t, "001_namespace_registry", version, "the registry migration is recorded")
	list, err := s.ListNamespaces(ctx)
	require.NoError(t, err)
	assert.Empty(t, list)

	// A second Store on the same database finds the registry migrated.
	s2 := openStore(t, url, nil)
	_, err = s2.ListNamespaces(ctx)
	require.NoError(t, err)

	// Another metadata schema is another registry.
	other := openStore(t, url, &postgres.Options{MetadataSchema: "tenants", MaxConns: 2})
	assert.True(t, schemaExists(t, conn, "tenants"))
	_, err = other.CreateNamespace(ctx, "only_in_tenants", domain.NamespaceOptions{})
	require.NoError(t, err)
	_, err = s.GetNamespace(ctx, "only_in_tenants")
	assert.ErrorIs(t, err, domain.ErrNamespaceNotFound, "registries in different metadata schemas are separate")
	assert.Equal(t, []string{"only_in_tenants"}, registryIDs(t, conn, "tenants"))

	// Bad inputs.
	_, err = postgres.Open(ctx, url, &postgres.Options{MetadataSchema: "Bad-Name"})
	assert.Error(t, err, "a metadata schema that is not a plain identifier")
	_, err = postgres.Open(ctx, "postgres://%zz", nil)
	assert.Error(t, err, "an unparsable URL")
	_, err = postgres.Open(ctx, url, &postgres.Options{MaxConns: -1})
	assert.Error(t, err, "a negative pool size")
}

func TestStore_MDB001_2A_T2_Close(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	goroutines := runtime.NumGoroutine()
	s, err := postgres.Open(ctx, url, nil)
	require.NoError(t, err)
	_, err = s.CreateNamespace(ctx, "closing", domain.NamespaceOptions{})
	require.NoError(t, err)
	ns, err := s.Namespace(ctx, "closing")
	require.NoError(t, err)
	_, err = ns.WriteMessage(ctx, "acct-1", domain.NewMessage{Type: "A"}, domain.AnyVersion)
	require.NoError(t, err)
	watch, err := ns.WatchCategory(ctx, "acct")
	require.NoError(t, err)

	require.NoError(t, s.Close())
	require.NoError(t, s.Close(), "Close is idempotent")

	// The watcher's channel is closed.
	select {
	case _, ok := <-watch:
		for ok {
			_, ok = <-watch
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the watcher's channel is not closed by Close")
	}
	// Every call fails with ErrClosed.
	_, err = ns.WriteMessage(ctx, "acct-1", domain.NewMessage{Type: "A"}, domain.AnyVersion)
	assert.ErrorIs(t, err, postgres.ErrClosed)
	_, err = ns.GetStreamMessages(ctx, "acct-1", domain.GetOpts{})
	assert.ErrorIs(t, err, postgres.ErrClosed)
	_, err = ns.WatchCategory(ctx, "acct")
	assert.ErrorIs(t, err, postgres.ErrClosed)
	_, err = s.ListNamespaces(ctx)
	assert.ErrorIs(t, err, postgres.ErrClosed)
	_, err = s.CreateNamespace(ctx, "other", domain.NamespaceOptions{})
	assert.ErrorIs(t, err, postgres.ErrClosed)
	_, err = s.MessageStore(ctx, "closing")
	assert.ErrorIs(t, err, postgres.ErrClosed)
	assert.ErrorIs(t, s.DeleteNamespace(ctx, "closing"), postgres.ErrClosed)

	// No goroutine of the Store (pool, listener, watchers) is left.
	for deadline := time.Now().Add(10 * time.Second); runtime.NumGoroutine() > goroutines; {
		if time.Now().After(deadline) {
			t.Fatalf("goroutines left after Close: %d, %d before Open", runtime.NumGoroutine(), goroutines)
		}
		time.Sleep(10 * time.Millisecond)
	}

	// No connection of the Store is left on the server. A server process
	// leaves pg_stat_activity shortly after its client hung up, not at once.
	conn := sqlConn(t, url)
	var n int
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		require.NoError(t, conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND application_name IN ('messagedb', 'messagedb-listener')`).Scan(&n))
		if n == 0 || time.Now().After(deadline) {
			break
		}
	}
	assert.Zero(t, n, "connections left open 10 s after Close")
}

func TestStore_MDB001_2A_T3_CreateNamespaceCreatesSchema(t *testing.T) {
	ctx := context.Background()
	url := sharedURL(t)
	s := openStore(t, url, nil)
	conn := sqlConn(t, url)
	id := newID("t3")
	ns, err := s.CreateNamespace(ctx, id, domain.NamespaceOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.DeleteNamespace(ctx, id) })
	assert.Equal(t, id, ns.ID)
	assert.Equal(t, "messagedb_"+id, postgres.SchemaName(id))
	assert.True(t, schemaExists(t, conn, "messagedb_"+id))

	for _, bad := range []string{"", "Upper", "1abc", "a-b", "pg_x!", "a23456789_123456789_123456789_123456789_123456789_1"} {
		_, err := s.CreateNamespace(ctx, bad, domain.NamespaceOptions{})
		assert.ErrorIs(t, err, domain.ErrInvalidNamespace, "id %q", bad)
	}
}

func TestStore_MDB001_2A_T4_CreateNamespaceAppliesMigrations(t *testing.T) {
	ctx := context.Background()
	url := sharedURL(t)
	s := openStore(t, url, nil)
	conn := sqlConn(t, url)
	ns := newNamespace(t, s)
	schema := ns.Schema()

	var version string
	require.NoError(t, conn.QueryRow(ctx, "SELECT version FROM "+schema+".schema_migrations").Scan(&version))
	assert.Equal(t, "001_message_db", version)

	rows, err := conn.Query(ctx, `SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
		WHERE n.nspname = $1 ORDER BY 1`, schema)
	require.NoError(t, err)
	funcs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	for _, f := range []string{"acquire_lock", "cardinal_id", "category", "get_category_messages", "get_last_stream_message",
		"get_stream_messages", "hash_64", "id", "is_category", "message_store_version", "stream_version", "write_message"} {
		assert.Contains(t, funcs, f, "Message DB function %s", f)
	}

	rows, err = conn.Query(ctx, `SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND tablename = 'messages' ORDER BY 1`, schema)
	require.NoError(t, err)
	indexes, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	assert.Subset(t, indexes, []string{"messages_category", "messages_id", "messages_stream", "messages_pkey"})

	// Message DB's columns, in its order, with its types (the rest is
	// TestCompat_MessagesTableIsMessageDBs).
	rows, err = conn.Query(ctx, `SELECT column_name || ' ' || data_type FROM information_schema.columns
		WHERE table_schema = $1 AND table_name = 'messages' ORDER BY ordinal_position`, schema)
	require.NoError(t, err)
	cols, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	assert.Equal(t, []string{"global_position bigint", "position bigint", "time timestamp without time zone",
		"stream_name text", "type text", "data jsonb", "metadata jsonb", "id uuid"}, cols)
}

func TestStore_MDB001_2A_T5_CreateNamespaceInsertsIntoRegistry(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	s := openStore(t, url, nil)
	conn := sqlConn(t, url)

	before := time.Now().Add(-time.Minute)
	got, err := s.CreateNamespace(ctx, "shop", domain.NamespaceOptions{Description: "the shop"})
	require.NoError(t, err)
	assert.Equal(t, "shop", got.ID)
	assert.Equal(t, "the shop", got.Description)
	assert.True(t, got.CreatedAt.After(before), "created at %v", got.CreatedAt)
	assert.Equal(t, time.UTC, got.CreatedAt.Location())

	var schema, desc, token string
	require.NoError(t, conn.QueryRow(ctx, "SELECT schema_name, description, token_hash FROM messagedb.namespaces WHERE id = 'shop'").
		Scan(&schema, &desc, &token))
	assert.Equal(t, []string{"messagedb_shop", "the shop", ""}, []string{schema, desc, token}, "token_hash, no longer used, keeps its default")

	_, err = s.CreateNamespace(ctx, "shop", domain.NamespaceOptions{})
	assert.ErrorIs(t, err, domain.ErrNamespaceExists)

	// A schema of that name made by someone else is not taken over.
	_, err = conn.Exec(ctx, "CREATE SCHEMA messagedb_squatted")
	require.NoError(t, err)
	_, err = s.CreateNamespace(ctx, "squatted", domain.NamespaceOptions{})
	assert.ErrorIs(t, err, domain.ErrNamespaceExists)
	assert.Equal(t, []string{"shop"}, registryIDs(t, conn, "messagedb"), "no row for a namespace that failed")
}

func TestStore_CreateNamespaceIsAllOrNothing(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	conn := sqlConn(t, url)
	embedded, err := migrations.Namespace("postgres")
	require.NoError(t, err)
	first, err := fs.ReadFile(embedded, "001_message_db.sql")
	require.NoError(t, err)
	var opts postgres.Options
	postgres.WithNamespaceMigrations(&opts, fstest.MapFS{
		"001_message_db.sql": {Data: first},
		"002_broken.sql":     {Data: []byte("CREATE TABLE {{SCHEMA_NAME}}.extra (x int);\nSELECT no_such_function();")},
	})
	s := openStore(t, url, &opts)

	_, err = s.CreateNamespace(ctx, "broken", domain.NamespaceOptions{})
	require.Error(t, err)
	assert.ErrorIs(t, err, domain.ErrMigrationFailed)
	var me *migrations.Error
	require.ErrorAs(t, err, &me)
	assert.Equal(t, "002_broken.sql", me.File)
	assertNoPgError(t, err)

	assert.False(t, schemaExists(t, conn, "messagedb_broken"), "the schema is rolled back")
	assert.Empty(t, registryIDs(t, conn, "messagedb"), "the registry row is rolled back")
	_, err = s.GetNamespace(ctx, "broken")
	assert.ErrorIs(t, err, domain.ErrNamespaceNotFound)

	// The same id works once the migrations do.
	s2 := openStore(t, url, nil)
	_, err = s2.CreateNamespace(ctx, "broken", domain.NamespaceOptions{})
	require.NoError(t, err)
}

func TestStore_MDB001_2A_T6_DeleteNamespaceDropsSchema(t *testing.T) {
	ctx := context.Background()
	url := sharedURL(t)
	s := openStore(t, url, nil)
	conn := sqlConn(t, url)
	id := newID("t6")
	_, err := s.CreateNamespace(ctx, id, domain.NamespaceOptions{})
	require.NoError(t, err)
	ns, err := s.Namespace(ctx, id)
	require.NoError(t, err)
	_, err = ns.WriteMessage(ctx, "acct-1", domain.NewMessage{Type: "A"}, domain.AnyVersion)
	require.NoError(t, err)

	require.NoError(t, s.DeleteNamespace(ctx, id))
	assert.False(t, schemaExists(t, conn, postgres.SchemaName(id)))

	// The message store handed out fails.
	_, err = ns.WriteMessage(ctx, "acct-1", domain.NewMessage{Type: "A"}, domain.AnyVersion)
	assert.ErrorIs(t, err, domain.ErrNamespaceNotFound)
	assertNoPgError(t, err)
	_, err = ns.GetCategoryMessages(ctx, "acct", domain.CategoryOpts{})
	assert.ErrorIs(t, err, domain.ErrNamespaceNotFound)
	_, err = ns.GetStreamVersion(ctx, "acct-1")
	assert.ErrorIs(t, err, domain.ErrNamespaceNotFound)

	assert.ErrorIs(t, s.DeleteNamespace(ctx, id), domain.ErrNamespaceNotFound)
	assert.ErrorIs(t, s.DeleteNamespace(ctx, "Bad"), domain.ErrInvalidNamespace)
}

func TestStore_MDB001_2A_T7_DeleteNamespaceRemovesFromRegistry(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	s := openStore(t, url, nil)
	conn := sqlConn(t, url)
	for _, id := range []string{"keep", "gone"} {
		_, err := s.CreateNamespace(ctx, id, domain.NamespaceOptions{})
		require.NoError(t, err)
	}
	ns, err := s.Namespace(ctx, "gone")
	require.NoError(t, err)
	_, err = ns.WriteMessage(ctx, "acct-1", domain.NewMessage{Type: "A"}, domain.AnyVersion)
	require.NoError(t, err)

	require.NoError(t, s.DeleteNamespace(ctx, "gone"))
	assert.Equal(t, []string{"keep"}, registryIDs(t, conn, "messagedb"))
	_, err = s.GetNamespace(ctx, "gone")
	assert.ErrorIs(t, err, domain.ErrNamespaceNotFound)
	_, err = s.MessageStore(ctx, "gone")
	assert.ErrorIs(t, err, domain.ErrNamespaceNotFound)

	// Created again, it starts empty, from the first positions.
	_, err = s.CreateNamespace(ctx, "gone", domain.NamespaceOptions{})
	require.NoError(t, err)
	ns, err = s.Namespace(ctx, "gone")
	require.NoError(t, err)
	r, err := ns.WriteMessage(ctx, "acct-1", domain.NewMessage{Type: "A"}, domain.ExpectVersion(domain.NoStream))
	require.NoError(t, err)
	assert.Equal(t, domain.WriteResult{Position: 0, GlobalPosition: 1}, r)
}

func TestStore_MDB001_2A_T8_GetNamespace(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, sharedURL(t), nil)
	id := newID("t8")
	created, err := s.CreateNamespace(ctx, id, domain.NamespaceOptions{Description: "eight"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.DeleteNamespace(ctx, id) })

	got, err := s.GetNamespace(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, created, got)
	assert.Equal(t, "eight", got.Description)

	_, err = s.GetNamespace(ctx, newID("missing"))
	assert.ErrorIs(t, err, domain.ErrNamespaceNotFound)
	_, err = s.GetNamespace(ctx, "No")
	assert.ErrorIs(t, err, domain.ErrInvalidNamespace)
}

func TestStore_MDB001_2A_T9_ListNamespaces(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, pgtest.NewDatabase(t), nil)
	ids := []string{"zeta", "alpha", "mid_1", "beta"}
	for _, id := range ids {
		_, err := s.CreateNamespace(ctx, id, domain.NamespaceOptions{Description: "d " + id})
		require.NoError(t, err)
	}
	list, err := s.ListNamespaces(ctx)
	require.NoError(t, err)
	var got []string
	for _, n := range list {
		got = append(got, n.ID)
		assert.Equal(t, "d "+n.ID, n.Description)
	}
	sort.Strings(ids)
	assert.Equal(t, ids, got, "every namespace, ordered by id")
}

// assertNoPgError checks that no pgconn error is reachable through err.
func assertNoPgError(t *testing.T, err error) {
	t.Helper()
	for e := err; e != nil; {
		assert.NotContains(t, fmt.Sprintf("%T", e), "pgconn", "a driver error reaches the caller: %v", err)
		switch u := e.(type) {
		case interface{ Unwrap() error }:
			e = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, x := range u.Unwrap() {
				assertNoPgError(t, x)
			}
			e = nil
		default:
			e = nil
		}
	}
}
