package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/messagedb-go/messagedb/adapters/postgres"
	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/internal/pgtest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.Stop()
	os.Exit(code)
}

// sharedURL returns the URL of the database shared by the tests that keep to
// namespaces of their own (most of them, and the contract suite); TestMain's
// pgtest.Stop drops it.
func sharedURL(t testing.TB) string {
	t.Helper()
	return pgtest.SharedDatabase(t)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// openStore opens a Store on url, closed when the test ends.
func openStore(t testing.TB, url string, opts *postgres.Options) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), url, opts)
	require.NoError(t, err, "open")
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// newID returns a namespace id unique to this run.
func newID(prefix string) string { return prefix + "_" + randomHex(5) }

// newNamespace creates a namespace with a unique id in s, deleted when the
// test ends.
func newNamespace(t testing.TB, s *postgres.Store) *postgres.Namespace {
	t.Helper()
	ctx := context.Background()
	id := newID("t")
	_, err := s.CreateNamespace(ctx, id, domain.NamespaceOptions{Description: t.Name()})
	require.NoError(t, err, "create namespace %s", id)
	t.Cleanup(func() { _ = s.DeleteNamespace(context.Background(), id) })
	ns, err := s.Namespace(ctx, id)
	require.NoError(t, err)
	return ns
}

// sqlConn opens a plain pgx connection to url, closed when the test ends.
func sqlConn(t testing.TB, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}
