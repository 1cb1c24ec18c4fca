package migrate

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

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
