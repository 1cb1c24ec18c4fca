package sqlite

import (
	"database/sql"
	"fmt"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun/driver/sqliteshim"

	"github.com/messagedb-go/messagedb/internal/migrate/migratetest"
)

// TestMigrator runs the migrator's scenarios with this backend's dialect,
// each on a private in-memory database.
func TestMigrator(t *testing.T) {
	migratetest.Run(t, func(t *testing.T) migratetest.Database {
		dsn := fmt.Sprintf("file:/%s?vfs=memdb&_pragma=busy_timeout(5000)", uuid.NewString())
		db, err := sql.Open(sqliteshim.ShimName, dsn)
		require.NoError(t, err)
		// A memdb database lives while a connection to it is open.
		db.SetMaxIdleConns(4)
		db.SetConnMaxIdleTime(0)
		t.Cleanup(func() { _ = db.Close() })
		return migratetest.Database{DB: db, Dialect: dialect{}, NamespaceSchema: func() string { return mainSchema }}
	})
}
