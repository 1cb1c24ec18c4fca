package migrate

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/internal/pgtest"
	"github.com/messagedb-go/messagedb/migrations"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// newPostgresDB opens a fresh PostgreSQL database for one test, in the
// query mode the PostgreSQL adapter uses.
func newPostgresDB(t *testing.T) (*bun.DB, migrations.Dialect) {
	t.Helper()
	cfg, err := pgx.ParseConfig(pgtest.NewDatabase(t))
	require.NoError(t, err)
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	db := bun.NewDB(stdlib.OpenDB(*cfg), pgdialect.New())
	t.Cleanup(func() { _ = db.Close() })
	return db, migrations.Postgres
}

func TestMigrator_Postgres(t *testing.T) {
	runMigratorScenarios(t, newPostgresDB)
}

// TestMigrator_PostgresNamespaceInTransaction checks that namespace
// migrations applied with ApplyNamespaceMigrationTx vanish with a rollback
// and stay with a commit.
func TestMigrator_PostgresNamespaceInTransaction(t *testing.T) {
	ctx := context.Background()
	db, d := newPostgresDB(t)
	m, err := New(db, d, nil)
	require.NoError(t, err)

	tx, err := db.BeginTx(ctx, nil)
	require.NoError(t, err)
	require.NoError(t, m.ApplyNamespaceMigrationTx(ctx, tx, "ns_rolled_back"))
	require.NoError(t, tx.Rollback())
	require.False(t, tableExists(t, db, d, "ns_rolled_back", "messages"))

	tx, err = db.BeginTx(ctx, nil)
	require.NoError(t, err)
	require.NoError(t, m.ApplyNamespaceMigrationTx(ctx, tx, "ns_committed"))
	require.NoError(t, tx.Commit())
	require.True(t, tableExists(t, db, d, "ns_committed", "messages"))
	applied, err := m.Applied(ctx, "ns_committed")
	require.NoError(t, err)
	require.Equal(t, namespaceVersions(t, d), versions(applied))
	require.WithinDuration(t, time.Now(), applied[0].AppliedAt, time.Hour)
}

// A file that runs in several transactions: each step commits on its own
// (CREATE INDEX CONCURRENTLY, which no transaction allows, works), a failing
// step keeps the earlier ones and records nothing, and the file runs again
// from its first step.
func TestMigrator_PostgresStepByStep(t *testing.T) {
	ctx := context.Background()
	db, d := newPostgresDB(t)
	steps := func(last string) fstest.MapFS {
		return fstest.MapFS{
			"001_a.sql": {Data: []byte("CREATE TABLE {{SCHEMA_NAME}}.a (x integer PRIMARY KEY)")},
			"002_steps.sql": {Data: []byte(`-- messagedb:no-transaction
-- A comment.
INSERT INTO {{SCHEMA_NAME}}.a VALUES (1) ON CONFLICT DO NOTHING;
-- messagedb:commit
CREATE INDEX CONCURRENTLY IF NOT EXISTS a_x ON {{SCHEMA_NAME}}.a (x);
-- messagedb:commit
` + last)},
		}
	}
	schema := namespaceSchema(d)
	m, err := New(db, d, &Options{Namespace: steps("THIS IS NOT SQL")})
	require.NoError(t, err)
	pending, err := m.PendingNamespace(ctx, schema)
	require.NoError(t, err)
	require.Equal(t, []string{"001_a", "002_steps"}, pending)

	err = m.ApplyNamespaceMigration(ctx, schema)
	var me *domain.MigrationError
	require.ErrorAs(t, err, &me)
	require.Equal(t, "002_steps.sql", me.File)
	require.ErrorContains(t, err, "step 3 of 3")
	var rows int
	require.NoError(t, db.DB.QueryRow("SELECT count(*) FROM "+schema+".a").Scan(&rows))
	require.Equal(t, 1, rows, "the first step committed")
	require.True(t, tableExists(t, db, d, schema, "a"))
	applied, err := m.Applied(ctx, schema)
	require.NoError(t, err)
	require.Equal(t, []string{"001_a"}, versions(applied), "a file that failed is not recorded")

	m, err = New(db, d, &Options{Namespace: steps("INSERT INTO {{SCHEMA_NAME}}.a VALUES (2)")})
	require.NoError(t, err)
	require.NoError(t, m.ApplyNamespaceMigration(ctx, schema))
	require.NoError(t, db.DB.QueryRow("SELECT count(*) FROM "+schema+".a").Scan(&rows))
	require.Equal(t, 2, rows, "the file ran again from its first step")
	applied, err = m.Applied(ctx, schema)
	require.NoError(t, err)
	require.Equal(t, []string{"001_a", "002_steps"}, versions(applied))
	pending, err = m.PendingNamespace(ctx, schema)
	require.NoError(t, err)
	require.Empty(t, pending)

	// Migrators racing: each step runs once.
	files := fstest.MapFS{"001_steps.sql": {Data: []byte(`-- messagedb:no-transaction
CREATE TABLE {{SCHEMA_NAME}}.once (x integer);
-- messagedb:commit
INSERT INTO {{SCHEMA_NAME}}.once VALUES (1);
-- messagedb:commit
INSERT INTO {{SCHEMA_NAME}}.once VALUES (2);
`)}}
	schema = namespaceSchema(d)
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
	require.NoError(t, db.DB.QueryRow("SELECT count(*) FROM "+schema+".once").Scan(&rows))
	require.Equal(t, 2, rows, "each step ran exactly once")
}

// In a caller's transaction, a file that runs in several transactions runs
// in that one: a rollback leaves nothing of it.
func TestMigrator_PostgresStepByStepInTransaction(t *testing.T) {
	ctx := context.Background()
	db, d := newPostgresDB(t)
	files := fstest.MapFS{"001_steps.sql": {Data: []byte(`-- messagedb:no-transaction
CREATE TABLE {{SCHEMA_NAME}}.a (x integer);
-- messagedb:commit
INSERT INTO {{SCHEMA_NAME}}.a VALUES (1);
`)}}
	m, err := New(db, d, &Options{Namespace: files})
	require.NoError(t, err)
	tx, err := db.BeginTx(ctx, nil)
	require.NoError(t, err)
	require.NoError(t, m.ApplyNamespaceMigrationTx(ctx, tx, "ns_steps"))
	var rows int
	require.NoError(t, tx.QueryRow("SELECT count(*) FROM ns_steps.a").Scan(&rows))
	require.Equal(t, 1, rows)
	require.NoError(t, tx.Rollback())
	require.False(t, tableExists(t, db, d, "ns_steps", "a"))
}

// A guard runs before each migration; its error stops them, before a file
// that runs in several transactions takes its first step.
func TestMigrator_PostgresGuard(t *testing.T) {
	ctx := context.Background()
	db, d := newPostgresDB(t)
	files := fstest.MapFS{
		"001_a.sql": {Data: []byte("CREATE TABLE {{SCHEMA_NAME}}.a (x integer)")},
		"002_steps.sql": {Data: []byte(`-- messagedb:no-transaction
INSERT INTO {{SCHEMA_NAME}}.a VALUES (1);
`)},
	}
	m, err := New(db, d, &Options{Namespace: files})
	require.NoError(t, err)
	stop := errors.New("stop")
	calls := 0
	guard := func(ctx context.Context, ex Execer) error {
		calls++
		if calls == 2 {
			return stop
		}
		return nil
	}
	schema := namespaceSchema(d)
	require.ErrorIs(t, m.ApplyNamespaceMigrationGuarded(ctx, schema, guard), stop)
	require.Equal(t, 2, calls)
	var rows int
	require.NoError(t, db.DB.QueryRow("SELECT count(*) FROM "+schema+".a").Scan(&rows))
	require.Zero(t, rows, "the step after the guard's error did not run")
	applied, err := m.Applied(ctx, schema)
	require.NoError(t, err)
	require.Equal(t, []string{"001_a"}, versions(applied))
}

// A role that may not apply what is pending gets an error naming the role
// that may; once nothing is pending, it needs nothing but SELECT.
func TestMigrator_PostgresRoleThatMayNotMigrate(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	role, roleURL := pgtest.NewRole(t, url)
	open := func(url string) *bun.DB {
		cfg, err := pgx.ParseConfig(url)
		require.NoError(t, err)
		cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
		db := bun.NewDB(stdlib.OpenDB(*cfg), pgdialect.New())
		t.Cleanup(func() { _ = db.Close() })
		return db
	}
	var owner string
	admin := open(url)
	require.NoError(t, admin.DB.QueryRow("SELECT current_user::text").Scan(&owner))

	restricted, err := New(open(roleURL), migrations.Postgres, nil)
	require.NoError(t, err)
	var pe *domain.MigrationPendingError
	require.ErrorAs(t, restricted.AutoMigrate(ctx), &pe, "a registry yet to be made")
	require.ErrorIs(t, pe, domain.ErrMigrationPending)
	require.Equal(t, domain.MigrationPendingError{Schema: DefaultMetadataSchema, Versions: []string{"001_namespace_registry"},
		Role: role, Owner: owner}, *pe, "the database's owner may create the schema")
	require.False(t, tableExists(t, admin, migrations.Postgres, DefaultMetadataSchema, "schema_migrations"), "nothing was made")

	m, err := New(admin, migrations.Postgres, nil)
	require.NoError(t, err)
	require.NoError(t, m.AutoMigrate(ctx))
	require.NoError(t, m.ApplyNamespaceMigration(ctx, "ns_granted"))
	_, err = admin.DB.Exec(`GRANT USAGE ON SCHEMA messagedb, ns_granted TO ` + role + `;
GRANT SELECT ON messagedb.schema_migrations, ns_granted.schema_migrations TO ` + role)
	require.NoError(t, err)
	require.NoError(t, restricted.AutoMigrate(ctx), "nothing pending: nothing but SELECT")
	require.NoError(t, restricted.ApplyNamespaceMigration(ctx, "ns_granted"))

	more := fstest.MapFS{}
	fsys, err := migrations.Namespace(migrations.Postgres)
	require.NoError(t, err)
	names, err := fs.Glob(fsys, "*.sql")
	require.NoError(t, err)
	for _, n := range names {
		b, err := fs.ReadFile(fsys, n)
		require.NoError(t, err)
		more[n] = &fstest.MapFile{Data: b}
	}
	more["999_more.sql"] = &fstest.MapFile{Data: []byte("CREATE TABLE {{SCHEMA_NAME}}.more (x integer)")}
	restricted, err = New(open(roleURL), migrations.Postgres, &Options{Namespace: more})
	require.NoError(t, err)
	err = restricted.ApplyNamespaceMigration(ctx, "ns_granted")
	require.ErrorAs(t, err, &pe)
	require.Equal(t, domain.MigrationPendingError{Schema: "ns_granted", Versions: []string{"999_more"}, Role: role, Owner: owner}, *pe,
		"the schema's owner may")
	require.Contains(t, err.Error(), `run "messagedb migrate" as role `+owner)
	require.False(t, tableExists(t, admin, migrations.Postgres, "ns_granted", "more"))
}
