package migrate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"github.com/uptrace/bun/driver/sqliteshim"

	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/migrations"
)

// namespaceVersions lists the embedded namespace migrations of d.
func namespaceVersions(t *testing.T, d migrations.Dialect) []string {
	t.Helper()
	fsys, err := migrations.Namespace(d)
	require.NoError(t, err)
	names, err := fs.Glob(fsys, "*.sql") // sorted
	require.NoError(t, err)
	for i, n := range names {
		names[i] = strings.TrimSuffix(n, ".sql")
	}
	return names
}

// newSQLiteDB opens a private in-memory SQLite database for one test.
func newSQLiteDB(t *testing.T) (*bun.DB, migrations.Dialect) {
	t.Helper()
	dsn := fmt.Sprintf("file:/%s?vfs=memdb&_pragma=busy_timeout(5000)", uuid.NewString())
	sqldb, err := sql.Open(sqliteshim.ShimName, dsn)
	require.NoError(t, err)
	// A memdb database lives while a connection to it is open.
	sqldb.SetMaxIdleConns(4)
	sqldb.SetConnMaxIdleTime(0)
	db := bun.NewDB(sqldb, sqlitedialect.New())
	t.Cleanup(func() { _ = db.Close() })
	return db, migrations.SQLite
}

func TestMigrator_SQLite(t *testing.T) {
	runMigratorScenarios(t, newSQLiteDB)
}

// namespaceSchema is the schema namespace migrations go to in a scenario.
func namespaceSchema(d migrations.Dialect) string {
	if d == migrations.SQLite {
		return "main"
	}
	return "ns_" + uuid.NewString()[:8]
}

// tableExists reports whether schema.table exists.
func tableExists(t *testing.T, db *bun.DB, d migrations.Dialect, schema, table string) bool {
	t.Helper()
	var n int
	var err error
	if d == migrations.SQLite {
		err = db.DB.QueryRow("SELECT count(*) FROM "+schema+".sqlite_master WHERE type = 'table' AND name = ?", table).Scan(&n)
	} else {
		err = db.DB.QueryRow("SELECT count(*) FROM information_schema.tables WHERE table_schema = $1 AND table_name = $2", schema, table).Scan(&n)
	}
	require.NoError(t, err)
	return n == 1
}

// runMigratorScenarios runs the migrator scenarios MDB001_1A_T1..T5 and the
// failure, checksum and concurrency cases on databases made by newDB.
func runMigratorScenarios(t *testing.T, newDB func(t *testing.T) (*bun.DB, migrations.Dialect)) {
	ctx := context.Background()

	t.Run("MDB001_1A_T1_AutoMigrateCreatesSchemaMigrations", func(t *testing.T) {
		db, d := newDB(t)
		m, err := New(db, d, nil)
		require.NoError(t, err)
		require.NoError(t, m.AutoMigrate(ctx))
		schema := m.metadataSchema()
		require.True(t, tableExists(t, db, d, schema, "schema_migrations"), "schema_migrations missing")
	})

	t.Run("MDB001_1A_T2_AutoMigrateAppliesPendingMigrations", func(t *testing.T) {
		db, d := newDB(t)
		m, err := New(db, d, nil)
		require.NoError(t, err)
		require.NoError(t, m.AutoMigrate(ctx))
		require.True(t, tableExists(t, db, d, m.metadataSchema(), "namespaces"), "registry table missing")
		applied, err := m.Applied(ctx, "")
		require.NoError(t, err)
		require.Len(t, applied, 1)
		require.Equal(t, "001_namespace_registry", applied[0].Version)
	})

	t.Run("MDB001_1A_T3_AutoMigrateSkipsApplied", func(t *testing.T) {
		db, d := newDB(t)
		files := fstest.MapFS{
			"001_a.sql": {Data: []byte("CREATE TABLE {{SCHEMA_NAME}}.a (x integer)")},
		}
		m, err := New(db, d, &Options{Metadata: files, MetadataSchema: "md_" + uuid.NewString()[:8]})
		require.NoError(t, err)
		require.NoError(t, m.AutoMigrate(ctx))
		// Applying again would fail (the table exists) if it were not skipped.
		require.NoError(t, m.AutoMigrate(ctx))
		files["002_b.sql"] = &fstest.MapFile{Data: []byte("CREATE TABLE {{SCHEMA_NAME}}.b (x integer)")}
		require.NoError(t, m.AutoMigrate(ctx))
		applied, err := m.Applied(ctx, "")
		require.NoError(t, err)
		require.Equal(t, []string{"001_a", "002_b"}, versions(applied))
		require.True(t, tableExists(t, db, d, m.metadataSchema(), "b"))
	})

	t.Run("MDB001_1A_T4_ApplyNamespaceMigrationSubstitutesSchemaName", func(t *testing.T) {
		db, d := newDB(t)
		m, err := New(db, d, nil)
		require.NoError(t, err)
		schema := namespaceSchema(d)
		require.NoError(t, m.ApplyNamespaceMigration(ctx, schema))
		require.True(t, tableExists(t, db, d, schema, "messages"), "messages not created in %s", schema)
		applied, err := m.Applied(ctx, schema)
		require.NoError(t, err)
		require.Equal(t, namespaceVersions(t, d), versions(applied))
		// Idempotent.
		require.NoError(t, m.ApplyNamespaceMigration(ctx, schema))
		// Schema names are substituted into SQL: anything but a plain
		// identifier is refused.
		for _, bad := range []string{"", "x; DROP TABLE y", "Upper", `a"b`, "1abc"} {
			require.Error(t, m.ApplyNamespaceMigration(ctx, bad), "schema %q", bad)
		}
	})

	t.Run("MDB001_1A_T5_TrackingRecordsVersionAndTimestamp", func(t *testing.T) {
		db, d := newDB(t)
		m, err := New(db, d, nil)
		require.NoError(t, err)
		before := time.Now().Add(-time.Minute)
		require.NoError(t, m.AutoMigrate(ctx))
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
		db, d := newDB(t)
		files := fstest.MapFS{
			"001_ok.sql":  {Data: []byte("CREATE TABLE {{SCHEMA_NAME}}.ok (x integer)")},
			"002_bad.sql": {Data: []byte("CREATE TABLE {{SCHEMA_NAME}}.half (x integer); THIS IS NOT SQL")},
		}
		m, err := New(db, d, &Options{Namespace: files})
		require.NoError(t, err)
		schema := namespaceSchema(d)
		err = m.ApplyNamespaceMigration(ctx, schema)
		var me *domain.MigrationError
		require.ErrorIs(t, err, domain.ErrMigrationFailed)
		require.ErrorAs(t, err, &me)
		require.Equal(t, "002_bad.sql", me.File)
		require.Nil(t, errors.Unwrap(me.Err), "the driver's error must not be reachable through the migration error")
		applied, err := m.Applied(ctx, schema)
		require.NoError(t, err)
		require.Equal(t, []string{"001_ok"}, versions(applied), "the failed migration was recorded")
		require.True(t, tableExists(t, db, d, schema, "ok"))
		require.False(t, tableExists(t, db, d, schema, "half"), "the failed migration left a table")
	})

	t.Run("ChangedMigrationIsReported", func(t *testing.T) {
		db, d := newDB(t)
		files := fstest.MapFS{"001_a.sql": {Data: []byte("CREATE TABLE {{SCHEMA_NAME}}.a (x integer)")}}
		m, err := New(db, d, &Options{Namespace: files})
		require.NoError(t, err)
		schema := namespaceSchema(d)
		require.NoError(t, m.ApplyNamespaceMigration(ctx, schema))
		recorded, err := m.Applied(ctx, schema)
		require.NoError(t, err)
		files["001_a.sql"] = &fstest.MapFile{Data: []byte("CREATE TABLE {{SCHEMA_NAME}}.a (x integer, y integer)")}
		err = m.ApplyNamespaceMigration(ctx, schema)
		var me *domain.MigrationError
		require.ErrorIs(t, err, domain.ErrMigrationFailed)
		require.ErrorAs(t, err, &me)
		require.Equal(t, "001_a.sql", me.File)
		applied, err := m.Applied(ctx, schema)
		require.NoError(t, err)
		require.Equal(t, recorded, applied, "the record of the applied file must stay as it was")
	})

	t.Run("ConcurrentMigratorsApplyOnce", func(t *testing.T) {
		db, d := newDB(t)
		// Not idempotent: a second application would fail on the table
		// (CREATE TABLE) and double the row count.
		files := fstest.MapFS{
			"001_a.sql": {Data: []byte("CREATE TABLE {{SCHEMA_NAME}}.once (x integer); INSERT INTO {{SCHEMA_NAME}}.once VALUES (1)")},
			"002_b.sql": {Data: []byte("INSERT INTO {{SCHEMA_NAME}}.once VALUES (2)")},
		}
		schema := namespaceSchema(d)
		const n = 8
		start := make(chan struct{})
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				m, err := New(db, d, &Options{Namespace: files})
				if err != nil {
					errs[i] = err
					return
				}
				<-start
				errs[i] = m.ApplyNamespaceMigration(ctx, schema)
			}()
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			require.NoError(t, err, "migrator %d", i)
		}
		var rows int
		require.NoError(t, db.DB.QueryRow("SELECT count(*) FROM "+schema+".once").Scan(&rows))
		require.Equal(t, 2, rows, "each migration must run exactly once")
	})
}

func versions(ms []Migration) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Version
	}
	return out
}

func TestNewRefusesUnknownDialect(t *testing.T) {
	db, _ := newSQLiteDB(t)
	_, err := New(db, "oracle", nil)
	require.Error(t, err)
	_, err = New(db, migrations.Postgres, &Options{MetadataSchema: "Bad-Name"})
	require.Error(t, err)
}
