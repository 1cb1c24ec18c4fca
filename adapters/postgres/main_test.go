package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/messagedb-go/messagedb/adapters/postgres"
	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/internal/pgtest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if fixture.s != nil {
		_ = fixture.s.Close()
	}
	dropSharedDatabase()
	pgtest.Stop()
	os.Exit(code)
}

// shared is a database created once per test binary and used by the tests
// that keep to namespaces of their own (most of them, and the contract
// suite). It is dropped by TestMain.
var shared struct {
	once sync.Once
	base string // server URL it was created from
	name string
	url  string
	err  error
}

// sharedURL returns the URL of the shared database. pgtest.NewDatabase ties
// its database to one test, so the shared one is made here.
func sharedURL(t testing.TB) string {
	t.Helper()
	base := pgtest.URL(t) // skips (or fails) without PostgreSQL
	shared.once.Do(func() {
		shared.base = base
		shared.name = "messagedb_postgres_test_" + randomHex(4)
		shared.err = execOn(base, "CREATE DATABASE "+pgx.Identifier{shared.name}.Sanitize())
		if shared.err == nil {
			shared.url, shared.err = withDatabase(base, shared.name)
		}
	})
	if shared.err != nil {
		t.Fatalf("shared database: %v", shared.err)
	}
	return shared.url
}

func dropSharedDatabase() {
	if shared.name == "" || shared.err != nil {
		return
	}
	if err := execOn(shared.base, "DROP DATABASE IF EXISTS "+pgx.Identifier{shared.name}.Sanitize()+" WITH (FORCE)"); err != nil {
		fmt.Fprintf(os.Stderr, "drop shared database %s: %v\n", shared.name, err)
	}
}

func execOn(url, sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}

// withDatabase returns the URL u with its database set to name.
func withDatabase(u, name string) (string, error) {
	cfg, err := pgx.ParseConfig(u)
	if err != nil {
		return "", err
	}
	if strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://") {
		i := strings.Index(u, "?")
		rest := ""
		if i >= 0 {
			u, rest = u[:i], u[i:]
		}
		slash := strings.LastIndex(u, "/")
		if slash < len("postgres://") {
			return u + "/" + name + rest, nil
		}
		return u[:slash+1] + name + rest, nil
	}
	_ = cfg
	return u + " dbname=" + name, nil
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
