package pgtest_test

import (
	"context"
	"database/sql"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messagedb-go/messagedb/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func currentDatabase(t *testing.T, url string) string {
	t.Helper()
	var name string
	require.NoError(t, connect(t, url).QueryRow(context.Background(), "SELECT current_database()").Scan(&name))
	return name
}

func databaseExists(t *testing.T, name string) bool {
	t.Helper()
	var exists bool
	err := connect(t, pgtest.URL(t)).QueryRow(context.Background(),
		"SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists)
	require.NoError(t, err)
	return exists
}

func TestNewDatabase(t *testing.T) {
	url := pgtest.NewDatabase(t)
	var db, version string
	err := connect(t, url).QueryRow(context.Background(), "SELECT current_database(), version()").Scan(&db, &version)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(db, "pgtest_"), "database %q", db)
	assert.NotEqual(t, "postgres", db)
	assert.Contains(t, version, "PostgreSQL")
	assert.True(t, databaseExists(t, db))
}

func TestNewDatabaseUnique(t *testing.T) {
	a, b := pgtest.NewDatabase(t), pgtest.NewDatabase(t)
	assert.NotEqual(t, a, b)
	assert.NotEqual(t, currentDatabase(t, a), currentDatabase(t, b))
}

func TestNewDatabaseDroppedOnCleanup(t *testing.T) {
	parent := t
	var name string
	t.Run("create", func(t *testing.T) {
		url := pgtest.NewDatabase(t)
		name = currentDatabase(t, url)
		require.True(t, databaseExists(t, name))
		// A connection still open at cleanup must not stop the drop
		// (WITH (FORCE)), so this one is closed only when the parent ends.
		_ = connect(parent, url)
	})
	require.NotEmpty(t, name)
	assert.False(t, databaseExists(t, name), "database %s still exists after cleanup", name)
}

// database/sql with pgx's stdlib driver accepts the URLs, including the
// Unix socket directory in the host parameter.
func TestStdlib(t *testing.T) {
	url := pgtest.NewDatabase(t)
	db, err := sql.Open("pgx", url)
	require.NoError(t, err)
	defer db.Close()
	var name string
	require.NoError(t, db.QueryRow("SELECT current_database()").Scan(&name))
	assert.True(t, strings.HasPrefix(name, "pgtest_"), "database %q", name)
}

func TestURLFromEnv(t *testing.T) {
	const want = "postgres://someone@example.invalid/db?sslmode=disable"
	t.Setenv("MESSAGEDB_TEST_POSTGRES_URL", want)
	assert.Equal(t, want, pgtest.URL(t))
}

// Stop is idempotent and a later URL starts a new cluster. Keep this last:
// it restarts the server.
func TestStopRestart(t *testing.T) {
	if os.Getenv("MESSAGEDB_TEST_POSTGRES_URL") != "" {
		t.Skip("uses an external server")
	}
	first := pgtest.URL(t)
	pgtest.Stop()
	pgtest.Stop()
	second := pgtest.URL(t)
	assert.NotEqual(t, first, second, "expected a new cluster directory")
	assert.Equal(t, "postgres", currentDatabase(t, second))
}

func TestNewRole(t *testing.T) {
	ctx := context.Background()
	dbURL := pgtest.NewDatabase(t)
	admin := connect(t, dbURL)
	var name string
	t.Run("Role", func(t *testing.T) {
		var roleURL string
		name, roleURL = pgtest.NewRole(t, dbURL)
		conn := connect(t, roleURL)
		var user string
		var super, createDB, createRole bool
		require.NoError(t, conn.QueryRow(ctx, `SELECT current_user::text, rolsuper, rolcreatedb, rolcreaterole
			FROM pg_roles WHERE rolname = current_user`).Scan(&user, &super, &createDB, &createRole))
		require.Equal(t, name, user, "connected as the new role")
		require.False(t, super || createDB || createRole, "the role has no attribute but LOGIN")
		require.Equal(t, currentDatabase(t, dbURL), currentDatabase(t, roleURL), "the same database")
		_, err := conn.Exec(ctx, "CREATE SCHEMA not_allowed")
		require.Error(t, err, "the role may not create a schema")

		_, err = admin.Exec(ctx, "CREATE TABLE granted (x int); GRANT SELECT ON granted TO "+pgx.Identifier{name}.Sanitize())
		require.NoError(t, err)
		require.NoError(t, conn.Close(ctx))
	})
	var n int
	require.NoError(t, admin.QueryRow(ctx, "SELECT count(*) FROM pg_roles WHERE rolname = $1", name).Scan(&n))
	require.Zero(t, n, "the role is dropped when its test ends, with its privileges")
}
