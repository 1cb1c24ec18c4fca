package sqlite_test

import (
	"database/sql"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messagedb-go/messagedb/adapters/sqlite"
)

// TestOptions_Durability checks the settings every connection of a store
// gets: synchronous (FULL=2 by default, NORMAL=1), busy timeout, WAL in
// file mode, foreign keys.
func TestOptions_Durability(t *testing.T) {
	for _, c := range []struct {
		name     string
		opts     sqlite.Options
		sync     string
		busy     string
		journals []string // accepted journal modes
	}{
		{"FileDefault", sqlite.Options{}, "2", "5000", []string{"wal"}},
		{"FileFull", sqlite.Options{Synchronous: sqlite.SynchronousFull}, "2", "5000", []string{"wal"}},
		{"FileNormal", sqlite.Options{Synchronous: sqlite.SynchronousNormal, BusyTimeout: 1500 * time.Millisecond}, "1", "1500", []string{"wal"}},
		// memdb databases have no write-ahead log.
		{"MemoryDefault", sqlite.Options{InMemory: true}, "2", "5000", []string{"memory", "delete"}},
		{"MemoryNormal", sqlite.Options{InMemory: true, Synchronous: sqlite.SynchronousNormal}, "1", "5000", []string{"memory", "delete"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := t.Context()
			opts := c.opts
			if !opts.InMemory {
				opts.Dir = t.TempDir()
			}
			s := openStore(t, opts)
			ns := newNamespace(t, s, "shop")
			check := func(i int, conn *sql.Conn) {
				for pragma, want := range map[string]string{"synchronous": c.sync, "busy_timeout": c.busy, "foreign_keys": "1"} {
					var got string
					require.NoError(t, conn.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got))
					assert.Equal(t, want, got, "connection %d: PRAGMA %s", i, pragma)
				}
				var journal string
				require.NoError(t, conn.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&journal))
				assert.Contains(t, c.journals, journal, "connection %d: journal mode", i)
			}
			// In file mode several connections at once (nested), so that
			// more than one is checked; memory mode has one.
			conns := 1
			if !opts.InMemory {
				conns = 3
			}
			var nest func(i int) error
			nest = func(i int) error {
				return ns.WithConn(ctx, func(conn *sql.Conn) error {
					check(i, conn)
					if i+1 < conns {
						return nest(i + 1)
					}
					return nil
				})
			}
			require.NoError(t, nest(0))
			var got string
			require.NoError(t, s.RegistryDB().QueryRowContext(ctx, "PRAGMA synchronous").Scan(&got))
			assert.Equal(t, c.sync, got, "registry")
		})
	}
}
