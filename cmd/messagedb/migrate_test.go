package main

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun/driver/sqliteshim"

	"github.com/messagedb-go/messagedb/internal/migrate/migratetest"
	"github.com/messagedb-go/messagedb/internal/pgtest"
	"github.com/messagedb-go/messagedb/migrations"
)

// migrateLine is a line of migrate --json.
type migrateLine struct {
	Database, Namespace string
	Before, Migrations  []string
}

var stepSeparator = regexp.MustCompile(`(?m)^-- messagedb:commit[ \t]*\r?$`)

// rewind makes a namespace's database as an earlier messagedb left it: the
// namespace migrations but the last applied, in statements run by exec
// (a file that runs in several transactions, step by step), and recorded
// in a schema_migrations table made by createTable, with the checksums the
// migrator records.
func rewind(t *testing.T, backend, schema, createTable string, exec func(string) error) []string {
	t.Helper()
	fsys, names, versions := migratetest.Embedded(t, migrations.Namespace, backend)
	require.NoError(t, exec(createTable))
	for i, n := range names[:len(names)-1] {
		b, err := fs.ReadFile(fsys, n)
		require.NoError(t, err)
		for _, step := range stepSeparator.Split(strings.ReplaceAll(string(b), migrations.SchemaPlaceholder, schema), -1) {
			require.NoError(t, exec(step), "%s", n)
		}
		sum := sha256.Sum256(b)
		require.NoError(t, exec("INSERT INTO "+schema+".schema_migrations (version, checksum, applied_at) VALUES ('"+
			versions[i]+"', '"+hex.EncodeToString(sum[:])+"', '2024-01-02T03:04:05Z')"))
	}
	return versions
}

// checkMigrate runs migrate on a store whose namespace "old" lacks its
// latest migration and "new" is up to date, and checks what it prints
// against the embedded files; recorded returns what a namespace's
// schema_migrations table holds.
func checkMigrate(t *testing.T, e *exe, backend string, all []string, recorded func(id string) []string) {
	t.Helper()
	_, _, registry := migratetest.Embedded(t, migrations.Metadata, backend)
	lines := jsonLines[migrateLine](t, e.run("migrate", "--json"))
	assert.Equal(t, []migrateLine{
		{Database: "registry", Before: registry, Migrations: registry},
		{Database: "namespace", Namespace: "new", Before: all, Migrations: all},
		{Database: "namespace", Namespace: "old", Before: all[:len(all)-1], Migrations: all},
	}, lines)
	assert.Equal(t, all, recorded("old"), "what the table holds after")
	assert.Equal(t, all, recorded("new"))

	// The namespace works; nothing is left to do.
	e.run("--namespace", "old", "write", "account-1", "Opened", `{"n":1}`)
	assert.Equal(t, "0\n", e.run("--namespace", "old", "version", "account-1"))
	out := e.run("migrate")
	assert.Contains(t, out, "up to date: the registry and 2 namespace(s); 0 migrations applied")
	assert.Regexp(t, `(?m)^namespace old +`+strings.Join(all, ", ")+` +`+strings.Join(all, ", ")+`$`, out)
}

// A SQLite namespace whose database lacks the latest migration is brought
// up to date by migrate, which opens every namespace; on a new store the
// command itself makes the registry.
func TestE2E_Migrate_SQLite(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	e := &exe{t: t, db: "sqlite:" + dir}
	_, _, registry := migratetest.Embedded(t, migrations.Metadata, "sqlite")
	assert.Equal(t, []migrateLine{{Database: "registry", Before: []string{}, Migrations: registry}},
		jsonLines[migrateLine](t, e.run("migrate", "--json")), "a new store")
	assert.Contains(t, e.run("migrate"), "registry  "+strings.Join(registry, ", "))

	e.run("namespace", "create", "old")
	e.run("namespace", "create", "new")
	path := filepath.Join(dir, "namespaces", "old.db")
	for _, f := range []string{path, path + "-wal", path + "-shm"} {
		require.NoError(t, os.RemoveAll(f))
	}
	open := func(path string) *sql.DB {
		db, err := sql.Open(sqliteshim.ShimName, "file:"+path+"?_pragma=journal_mode(WAL)")
		require.NoError(t, err)
		t.Cleanup(func() { _ = db.Close() })
		return db
	}
	db := open(path)
	all := rewind(t, "sqlite", "main",
		"CREATE TABLE schema_migrations (version TEXT PRIMARY KEY NOT NULL, checksum TEXT NOT NULL, applied_at TEXT NOT NULL)",
		func(q string) error { _, err := db.Exec(q); return err })
	require.NoError(t, db.Close())
	checkMigrate(t, e, "sqlite", all, func(id string) []string {
		db := open(filepath.Join(dir, "namespaces", id+".db"))
		defer db.Close()
		rows, err := db.Query("SELECT version FROM schema_migrations ORDER BY version")
		require.NoError(t, err)
		defer rows.Close()
		var out []string
		for rows.Next() {
			var v string
			require.NoError(t, rows.Scan(&v))
			out = append(out, v)
		}
		require.NoError(t, rows.Err())
		return out
	})
}

// The same on PostgreSQL, with the URL's scheme in capitals: the namespace
// "old" lacks the latest migration of its schema.
func TestE2E_Migrate_Postgres(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	scheme, rest, _ := strings.Cut(url, ":")
	e := &exe{t: t, db: strings.ToUpper(scheme) + ":" + rest}
	_, _, registry := migratetest.Embedded(t, migrations.Metadata, "postgres")
	assert.Equal(t, []migrateLine{{Database: "registry", Before: []string{}, Migrations: registry}},
		jsonLines[migrateLine](t, e.run("migrate", "--json")), "a new database")

	e.run("namespace", "create", "old")
	e.run("namespace", "create", "new")
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close(ctx) })
	exec := func(q string) error {
		_, err := conn.Exec(ctx, q, pgx.QueryExecModeSimpleProtocol)
		return err
	}
	require.NoError(t, exec("DROP SCHEMA messagedb_old CASCADE; CREATE SCHEMA messagedb_old"))
	all := rewind(t, "postgres", "messagedb_old",
		"CREATE TABLE messagedb_old.schema_migrations (version text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL)",
		exec)
	checkMigrate(t, e, "postgres", all, func(id string) []string {
		rows, err := conn.Query(ctx, "SELECT version FROM messagedb_"+id+".schema_migrations ORDER BY version")
		require.NoError(t, err)
		out, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		return out
	})
}
