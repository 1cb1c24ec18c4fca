package stress

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/messagedb-go/messagedb/adapters/postgres"
	"github.com/messagedb-go/messagedb/app"
	"github.com/messagedb-go/messagedb/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// backend is one way to open a store.
type backend struct {
	name string
	open func(t *testing.T) *app.Store
}

// backends returns the three backends, each opening a fresh store that is
// closed when the test ends: SQLite in memory, SQLite in a temporary
// directory, and PostgreSQL in a database of its own (pgtest).
func backends() []backend {
	return []backend{
		{"SQLiteMemory", func(t *testing.T) *app.Store { return openURL(t, "sqlite::memory:") }},
		{"SQLiteFile", func(t *testing.T) *app.Store { return openURL(t, "sqlite:"+t.TempDir()) }},
		{"PostgreSQL", func(t *testing.T) *app.Store {
			url := pgtest.NewDatabase(t)
			if strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://") {
				return openURL(t, url)
			}
			// A keyword/value DSN from MESSAGEDB_TEST_POSTGRES_URL, which
			// app.Open does not take: open the backend directly.
			s, err := postgres.Open(t.Context(), url, &postgres.Options{MaxConns: maxConns})
			require.NoError(t, err, "open PostgreSQL")
			store := app.NewStore(s)
			t.Cleanup(func() { _ = store.Close() })
			return store
		}},
	}
}

// maxConns is the PostgreSQL pool size: one connection per writer and some
// for the readers and consumers, so that they really run at once.
const maxConns = 24

func openURL(t *testing.T, url string) *app.Store {
	t.Helper()
	store, err := app.Open(context.Background(), url, &app.Options{Postgres: &postgres.Options{MaxConns: maxConns}})
	require.NoError(t, err, "open %s", url)
	t.Cleanup(func() { _ = store.Close() })
	return store
}
