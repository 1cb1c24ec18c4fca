// Package migratetest is the conformance suite of migrate.Dialect: the
// migrator's scenarios, which every adapter runs on its own database with
// its own dialect.
package migratetest

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/internal/migrate"
	"github.com/messagedb-go/messagedb/migrations"
)

// Database is a fresh database for one scenario.
type Database struct {
	DB      *sql.DB
	Dialect migrate.Dialect
	// NamespaceSchema returns the scope of a namespace's migrations: a new
	// schema on each call where the database has schemas, else the one
	// database ("main").
	NamespaceSchema func() string
}

// HasTable reports whether schema holds table, as the dialect sees it.
func (d Database) HasTable(t *testing.T, schema, table string) bool {
	t.Helper()
	ok, err := d.Dialect.HasTable(context.Background(), d.DB, schema, table)
	require.NoError(t, err)
	return ok
}

// Embedded returns the embedded files of a folder of package migrations
// (migrations.Metadata or migrations.Namespace) for a backend: the folder,
// its file names in the order they are applied, and their versions. A
// folder without files fails t, so that what is compared with it is never
// compared with nothing.
func Embedded(t *testing.T, folder func(backend string) (fs.FS, error), backend string) (fsys fs.FS, names, versions []string) {
	t.Helper()
	fsys, err := folder(backend)
	require.NoError(t, err)
	names, err = fs.Glob(fsys, "*.sql") // sorted
	require.NoError(t, err)
	require.NotEmpty(t, names, "no embedded migrations for %s", backend)
	for _, n := range names {
		versions = append(versions, strings.TrimSuffix(n, ".sql"))
	}
	return fsys, names, versions
}

// NamespaceVersions lists the embedded namespace migrations of a backend.
func NamespaceVersions(t *testing.T, backend string) []string {
	t.Helper()
	_, _, versions := Embedded(t, migrations.Namespace, backend)
	return versions
}

// Versions returns the versions of ms.
func Versions(ms []migrate.Migration) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Version
	}
	return out
}

// Run runs the migrator scenarios MDB001_1A_T1..T5 and the failure,
// checksum and concurrency cases, each on a database made by newDB.
func Run(t *testing.T, newDB func(t *testing.T) Database) {
	ctx := context.Background()

	t.Run("MDB001_1A_T1_AutoMigrateCreatesSchemaMigrations", func(t *testing.T) {
		d := newDB(t)
		m, err := migrate.New(d.DB, d.Dialect, nil)
		require.NoError(t, err)
		before, err := m.AutoMigrate(ctx)
		require.NoError(t, err)
		require.Empty(t, before, "a new database records nothing")
		require.True(t, d.HasTable(t, d.Dialect.RegistrySchema(), migrate.Table), "schema_migrations missing")
	})

	t.Run("MDB001_1A_T2_AutoMigrateAppliesPendingMigrations", func(t *testing.T) {
		d := newDB(t)
		m, err := migrate.New(d.DB, d.Dialect, nil)
		require.NoError(t, err)
		_, err = m.AutoMigrate(ctx)
		require.NoError(t, err)
		require.True(t, d.HasTable(t, d.Dialect.RegistrySchema(), "namespaces"), "registry table missing")
		applied, err := m.Applied(ctx, "")
		require.NoError(t, err)
		require.Equal(t, []string{"001_namespace_registry"}, Versions(applied))
		before, err := m.AutoMigrate(ctx)
		require.NoError(t, err)
		require.Equal(t, applied, before, "what was recorded before the second run")
	})

	t.Run("MDB001_1A_T3_AutoMigrateSkipsApplied", func(t *testing.T) {
		d := newDB(t)
		files := fstest.MapFS{
			"001_a.sql": {Data: []byte("CREATE TABLE {{SCHEMA_NAME}}.a (x integer)")},
		}
		m, err := migrate.New(d.DB, d.Dialect, &migrate.Options{Metadata: files})
		require.NoError(t, err)
		_, err = m.AutoMigrate(ctx)
		require.NoError(t, err)
		// Applying again would fail (the table exists) if it were not skipped.
		_, err = m.AutoMigrate(ctx)
		require.NoError(t, err)
		files["002_b.sql"] = &fstest.MapFile{Data: []byte("CREATE TABLE {{SCHEMA_NAME}}.b (x integer)")}
		before, err := m.AutoMigrate(ctx)
		require.NoError(t, err)
		require.Equal(t, []string{"001_a"}, Versions(before))
		applied, err := m.Applied(ctx, "")
		require.NoError(t, err)
		require.Equal(t, []string{"001_a", "002_b"}, Versions(applied))
		require.True(t, d.HasTable(t, d.Dialect.RegistrySchema(), "b"))
	})

	t.Run("MDB001_1A_T4_ApplyNamespaceMigrationSubstitutesSchemaName", func(t *testing.T) {
		d := newDB(t)
		m, err := migrate.New(d.DB, d.Dialect, nil)
		require.NoError(t, err)
		schema := d.NamespaceSchema()
		applied, err := m.Applied(ctx, schema)
		require.NoError(t, err)
		require.Empty(t, applied, "nothing recorded yet, and no record table")
		_, err = m.ApplyNamespaceMigration(ctx, schema)
		require.NoError(t, err)
		require.True(t, d.HasTable(t, schema, "messages"), "messages not created in %s", schema)
		applied, err = m.Applied(ctx, schema)
		require.NoError(t, err)
		require.Equal(t, NamespaceVersions(t, d.Dialect.Name()), Versions(applied))
		// Idempotent.
		before, err := m.ApplyNamespaceMigration(ctx, schema)
		require.NoError(t, err)
		require.Equal(t, applied, before)
		// Schema names are substituted into SQL: anything but a plain
		// identifier is refused.
		for _, bad := range []string{"", "x; DROP TABLE y", "Upper", `a"b`, "1abc"} {
			_, err := m.ApplyNamespaceMigration(ctx, bad)
			require.Error(t, err, "schema %q", bad)
		}
	})

	t.Run("MDB001_1A_T5_TrackingRecordsVersionAndTimestamp", func(t *testing.T) {
		d := newDB(t)
		m, err := migrate.New(d.DB, d.Dialect, nil)
		require.NoError(t, err)
		before := time.Now().Add(-time.Minute)
		_, err = m.AutoMigrate(ctx)
		require.NoError(t, err)
		applied, err := m.Applied(ctx, "")
		require.NoError(t, err)
		require.Len(t, applied, 1)
		require.Equal(t, "001_namespace_registry", applied[0].Version)
		require.Len(t, applied[0].Checksum, 64)
		require.True(t, applied[0].AppliedAt.After(before) && applied[0].AppliedAt.Before(time.Now().Add(time.Minute)),
			"applied at %v", applied[0].AppliedAt)
		require.Equal(t, time.UTC, applied[0].AppliedAt.Location())
	})

	t.Run("FailingMigrationRecordsNothing", func(t *testing.T) {
		d := newDB(t)
		files := fstest.MapFS{
			"001_ok.sql":  {Data: []byte("CREATE TABLE {{SCHEMA_NAME}}.ok (x integer)")},
			"002_bad.sql": {Data: []byte("CREATE TABLE {{SCHEMA_NAME}}.half (x integer); THIS IS NOT SQL")},
		}
		m, err := migrate.New(d.DB, d.Dialect, &migrate.Options{Namespace: files})
		require.NoError(t, err)
		schema := d.NamespaceSchema()
		_, err = m.ApplyNamespaceMigration(ctx, schema)
		var me *migrations.Error
		require.ErrorIs(t, err, domain.ErrMigrationFailed)
		require.ErrorAs(t, err, &me)
		require.Equal(t, "002_bad.sql", me.File)
		require.Nil(t, errors.Unwrap(me.Err), "the driver's error must not be reachable through the migration error")
		applied, err := m.Applied(ctx, schema)
		require.NoError(t, err)
		require.Equal(t, []string{"001_ok"}, Versions(applied), "the failed migration was recorded")
		require.True(t, d.HasTable(t, schema, "ok"))
		require.False(t, d.HasTable(t, schema, "half"), "the failed migration left a table")
	})

	t.Run("ChangedMigrationIsReported", func(t *testing.T) {
		d := newDB(t)
		files := fstest.MapFS{"001_a.sql": {Data: []byte("CREATE TABLE {{SCHEMA_NAME}}.a (x integer)")}}
		m, err := migrate.New(d.DB, d.Dialect, &migrate.Options{Namespace: files})
		require.NoError(t, err)
		schema := d.NamespaceSchema()
		_, err = m.ApplyNamespaceMigration(ctx, schema)
		require.NoError(t, err)
		recorded, err := m.Applied(ctx, schema)
		require.NoError(t, err)
		files["001_a.sql"] = &fstest.MapFile{Data: []byte("CREATE TABLE {{SCHEMA_NAME}}.a (x integer, y integer)")}
		_, err = m.ApplyNamespaceMigration(ctx, schema)
		var me *migrations.Error
		require.ErrorIs(t, err, domain.ErrMigrationFailed)
		require.ErrorAs(t, err, &me)
		require.Equal(t, "001_a.sql", me.File)
		applied, err := m.Applied(ctx, schema)
		require.NoError(t, err)
		require.Equal(t, recorded, applied, "the record of the applied file must stay as it was")
	})

	t.Run("ConcurrentMigratorsApplyOnce", func(t *testing.T) {
		d := newDB(t)
		// Not idempotent: a second application would fail on the table
		// (CREATE TABLE) and double the row count.
		files := fstest.MapFS{
			"001_a.sql": {Data: []byte("CREATE TABLE {{SCHEMA_NAME}}.once (x integer); INSERT INTO {{SCHEMA_NAME}}.once VALUES (1)")},
			"002_b.sql": {Data: []byte("INSERT INTO {{SCHEMA_NAME}}.once VALUES (2)")},
		}
		schema := d.NamespaceSchema()
		require.Equal(t, 2, applyAtOnce(t, d, files, schema), "each migration must run exactly once")
	})

	t.Run("FileThatRunsInSeveralTransactions", func(t *testing.T) {
		// Whether its steps commit one by one or together, the file is
		// applied once, all of it, and recorded.
		d := newDB(t)
		files := fstest.MapFS{"001_steps.sql": {Data: []byte(`-- messagedb:no-transaction
CREATE TABLE {{SCHEMA_NAME}}.once (x integer);
-- messagedb:commit
INSERT INTO {{SCHEMA_NAME}}.once VALUES (1);
-- messagedb:commit
INSERT INTO {{SCHEMA_NAME}}.once VALUES (2);
`)}}
		schema := d.NamespaceSchema()
		require.Equal(t, 2, applyAtOnce(t, d, files, schema), "each step ran exactly once")
		m, err := migrate.New(d.DB, d.Dialect, &migrate.Options{Namespace: files})
		require.NoError(t, err)
		applied, err := m.Applied(ctx, schema)
		require.NoError(t, err)
		require.Equal(t, []string{"001_steps"}, Versions(applied))
	})
}

// applyAtOnce applies files to schema with 8 Migrators at once and returns
// how many rows the table schema.once then holds.
func applyAtOnce(t *testing.T, d Database, files fs.FS, schema string) int {
	t.Helper()
	ApplyAtOnce(t, 8, func() error {
		m, err := migrate.New(d.DB, d.Dialect, &migrate.Options{Namespace: files})
		if err != nil {
			return err
		}
		_, err = m.ApplyNamespaceMigration(context.Background(), schema)
		return err
	})
	var rows int
	require.NoError(t, d.DB.QueryRow("SELECT count(*) FROM "+schema+".once").Scan(&rows))
	return rows
}

// ApplyAtOnce runs apply in n goroutines released at once and requires
// that none fails.
func ApplyAtOnce(t *testing.T, n int, apply func() error) {
	t.Helper()
	start := make(chan struct{})
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = apply()
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "migrator %d", i)
	}
}
