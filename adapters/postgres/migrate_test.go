package postgres

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/require"

	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/internal/migrate"
	"github.com/messagedb-go/messagedb/internal/migrate/migratetest"
	"github.com/messagedb-go/messagedb/internal/pgtest"
	"github.com/messagedb-go/messagedb/migrations"
)

// openMigrationDB opens url in the query mode the Store migrates in.
func openMigrationDB(t *testing.T, url string) *sql.DB {
	t.Helper()
	cfg, err := pgx.ParseConfig(url)
	require.NoError(t, err)
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	db := stdlib.OpenDB(*cfg)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// newMigrationDB opens a fresh database for one test.
func newMigrationDB(t *testing.T) migratetest.Database {
	t.Helper()
	return migratetest.Database{
		DB:              openMigrationDB(t, pgtest.NewDatabase(t)),
		Dialect:         dialect{registrySchema: defaultMetadataSchema},
		NamespaceSchema: func() string { return "ns_" + uuid.NewString()[:8] },
	}
}

// TestMigrator runs the migrator's scenarios with this backend's dialect.
func TestMigrator(t *testing.T) {
	migratetest.Run(t, newMigrationDB)
}

// Namespace migrations applied with ApplyNamespaceMigrationTx vanish with a
// rollback and stay with a commit.
func TestMigrator_NamespaceInTransaction(t *testing.T) {
	ctx := context.Background()
	d := newMigrationDB(t)
	m, err := migrate.New(d.DB, d.Dialect, nil)
	require.NoError(t, err)

	tx, err := d.DB.BeginTx(ctx, nil)
	require.NoError(t, err)
	require.NoError(t, m.ApplyNamespaceMigrationTx(ctx, tx, "ns_rolled_back"))
	require.NoError(t, tx.Rollback())
	require.False(t, d.HasTable(t, "ns_rolled_back", "messages"))

	tx, err = d.DB.BeginTx(ctx, nil)
	require.NoError(t, err)
	require.NoError(t, m.ApplyNamespaceMigrationTx(ctx, tx, "ns_committed"))
	require.NoError(t, tx.Commit())
	require.True(t, d.HasTable(t, "ns_committed", "messages"))
	applied, err := m.Applied(ctx, "ns_committed")
	require.NoError(t, err)
	require.Equal(t, migratetest.NamespaceVersions(t, migrationsName), migratetest.Versions(applied))
	require.WithinDuration(t, time.Now(), applied[0].AppliedAt, time.Hour)
}

// A file that runs in several transactions: each step commits on its own
// (CREATE INDEX CONCURRENTLY, which no transaction allows, works), a failing
// step keeps the earlier ones and records nothing, and the file runs again
// from its first step.
func TestMigrator_StepByStep(t *testing.T) {
	ctx := context.Background()
	d := newMigrationDB(t)
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
	schema := d.NamespaceSchema()
	m, err := migrate.New(d.DB, d.Dialect, &migrate.Options{Namespace: steps("THIS IS NOT SQL")})
	require.NoError(t, err)
	pending, err := m.PendingNamespace(ctx, schema)
	require.NoError(t, err)
	require.Equal(t, []string{"001_a", "002_steps"}, pending)

	_, err = m.ApplyNamespaceMigration(ctx, schema)
	var me *migrations.Error
	require.ErrorAs(t, err, &me)
	require.Equal(t, "002_steps.sql", me.File)
	require.ErrorContains(t, err, "step 3 of 3")
	var rows int
	require.NoError(t, d.DB.QueryRow("SELECT count(*) FROM "+schema+".a").Scan(&rows))
	require.Equal(t, 1, rows, "the first step committed")
	applied, err := m.Applied(ctx, schema)
	require.NoError(t, err)
	require.Equal(t, []string{"001_a"}, migratetest.Versions(applied), "a file that failed is not recorded")

	m, err = migrate.New(d.DB, d.Dialect, &migrate.Options{Namespace: steps("INSERT INTO {{SCHEMA_NAME}}.a VALUES (2)")})
	require.NoError(t, err)
	_, err = m.ApplyNamespaceMigration(ctx, schema)
	require.NoError(t, err)
	require.NoError(t, d.DB.QueryRow("SELECT count(*) FROM "+schema+".a").Scan(&rows))
	require.Equal(t, 2, rows, "the file ran again from its first step")
	applied, err = m.Applied(ctx, schema)
	require.NoError(t, err)
	require.Equal(t, []string{"001_a", "002_steps"}, migratetest.Versions(applied))
	pending, err = m.PendingNamespace(ctx, schema)
	require.NoError(t, err)
	require.Empty(t, pending)
}

// In a caller's transaction, a file that runs in several transactions runs
// in that one: a rollback leaves nothing of it.
func TestMigrator_StepByStepInTransaction(t *testing.T) {
	ctx := context.Background()
	d := newMigrationDB(t)
	files := fstest.MapFS{"001_steps.sql": {Data: []byte(`-- messagedb:no-transaction
CREATE TABLE {{SCHEMA_NAME}}.a (x integer);
-- messagedb:commit
INSERT INTO {{SCHEMA_NAME}}.a VALUES (1);
`)}}
	m, err := migrate.New(d.DB, d.Dialect, &migrate.Options{Namespace: files})
	require.NoError(t, err)
	tx, err := d.DB.BeginTx(ctx, nil)
	require.NoError(t, err)
	require.NoError(t, m.ApplyNamespaceMigrationTx(ctx, tx, "ns_steps"))
	var rows int
	require.NoError(t, tx.QueryRow("SELECT count(*) FROM ns_steps.a").Scan(&rows))
	require.Equal(t, 1, rows)
	require.NoError(t, tx.Rollback())
	require.False(t, d.HasTable(t, "ns_steps", "a"))
}

// A guard runs before each migration; its error stops them, before a file
// that runs in several transactions takes its first step.
func TestMigrator_Guard(t *testing.T) {
	ctx := context.Background()
	d := newMigrationDB(t)
	files := fstest.MapFS{
		"001_a.sql": {Data: []byte("CREATE TABLE {{SCHEMA_NAME}}.a (x integer)")},
		"002_steps.sql": {Data: []byte(`-- messagedb:no-transaction
INSERT INTO {{SCHEMA_NAME}}.a VALUES (1);
`)},
	}
	m, err := migrate.New(d.DB, d.Dialect, &migrate.Options{Namespace: files})
	require.NoError(t, err)
	stop := errors.New("stop")
	calls := 0
	guard := func(ctx context.Context, ex migrate.Execer) error {
		calls++
		if calls == 2 {
			return stop
		}
		return nil
	}
	schema := d.NamespaceSchema()
	_, err = m.ApplyNamespaceMigrationGuarded(ctx, schema, guard)
	require.ErrorIs(t, err, stop)
	require.Equal(t, 2, calls)
	var rows int
	require.NoError(t, d.DB.QueryRow("SELECT count(*) FROM "+schema+".a").Scan(&rows))
	require.Zero(t, rows, "the step after the guard's error did not run")
	applied, err := m.Applied(ctx, schema)
	require.NoError(t, err)
	require.Equal(t, []string{"001_a"}, migratetest.Versions(applied))
}

// A role that may not apply what is pending gets an error naming the role
// that may; once nothing is pending, it needs nothing but SELECT.
func TestMigrator_RoleThatMayNotMigrate(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	role, roleURL := pgtest.NewRole(t, url)
	var owner string
	admin := openMigrationDB(t, url)
	require.NoError(t, admin.QueryRow("SELECT current_user::text").Scan(&owner))
	d := dialect{registrySchema: defaultMetadataSchema}

	restricted, err := migrate.New(openMigrationDB(t, roleURL), d, nil)
	require.NoError(t, err)
	_, err = restricted.AutoMigrate(ctx)
	var pe *migrations.PendingError
	require.ErrorAs(t, err, &pe, "a registry yet to be made")
	require.ErrorIs(t, pe, domain.ErrMigrationPending)
	require.Equal(t, migrations.PendingError{Schema: defaultMetadataSchema, Versions: []string{"001_namespace_registry"},
		Role: role, Owner: owner}, *pe, "the database's owner may create the schema")
	exists, err := d.HasTable(ctx, admin, defaultMetadataSchema, migrate.Table)
	require.NoError(t, err)
	require.False(t, exists, "nothing was made")

	m, err := migrate.New(admin, d, nil)
	require.NoError(t, err)
	_, err = m.AutoMigrate(ctx)
	require.NoError(t, err)
	_, err = m.ApplyNamespaceMigration(ctx, "ns_granted")
	require.NoError(t, err)
	_, err = admin.Exec(`GRANT USAGE ON SCHEMA messagedb, ns_granted TO ` + role + `;
GRANT SELECT ON messagedb.schema_migrations, ns_granted.schema_migrations TO ` + role)
	require.NoError(t, err)
	_, err = restricted.AutoMigrate(ctx)
	require.NoError(t, err, "nothing pending: nothing but SELECT")
	_, err = restricted.ApplyNamespaceMigration(ctx, "ns_granted")
	require.NoError(t, err)

	more := fstest.MapFS{}
	fsys, err := migrations.Namespace(migrationsName)
	require.NoError(t, err)
	names, err := fs.Glob(fsys, "*.sql")
	require.NoError(t, err)
	for _, n := range names {
		b, err := fs.ReadFile(fsys, n)
		require.NoError(t, err)
		more[n] = &fstest.MapFile{Data: b}
	}
	more["999_more.sql"] = &fstest.MapFile{Data: []byte("CREATE TABLE {{SCHEMA_NAME}}.more (x integer)")}
	restricted, err = migrate.New(openMigrationDB(t, roleURL), d, &migrate.Options{Namespace: more})
	require.NoError(t, err)
	_, err = restricted.ApplyNamespaceMigration(ctx, "ns_granted")
	require.ErrorAs(t, err, &pe)
	require.Equal(t, migrations.PendingError{Schema: "ns_granted", Versions: []string{"999_more"}, Role: role, Owner: owner}, *pe,
		"the schema's owner may")
	require.Contains(t, err.Error(), `run "messagedb migrate" as role `+owner)
	exists, err = d.HasTable(ctx, admin, "ns_granted", "more")
	require.NoError(t, err)
	require.False(t, exists)
}
