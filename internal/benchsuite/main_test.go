package benchsuite_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/messagedb-go/messagedb/adapters/postgres"
	"github.com/messagedb-go/messagedb/adapters/sqlite"
	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/internal/benchsuite"
	"github.com/messagedb-go/messagedb/internal/pgtest"
	"github.com/messagedb-go/messagedb/ports"
)

func TestMain(m *testing.M) {
	code := m.Run()
	closeFixtures()
	pgtest.Stop()
	os.Exit(code)
}

// backend is a store under measurement.
type backend struct {
	name string
	// open opens a new Store with its data in dir (SQLite files) and at
	// most conns connections (PostgreSQL).
	open func(tb testing.TB, dir string, conns int) (ports.Store, error)
	// settle runs once the read fixture is imported into namespace id.
	settle func(tb testing.TB, id string) error
}

func sqliteBackend(name string, opts func(dir string) sqlite.Options) *backend {
	return &backend{name: name, open: func(tb testing.TB, dir string, _ int) (ports.Store, error) {
		return sqlite.Open(context.Background(), opts(dir))
	}}
}

var (
	pgBackend = &backend{
		name: "postgres",
		open: func(tb testing.TB, _ string, conns int) (ports.Store, error) {
			return postgres.Open(context.Background(), sharedURL(tb), &postgres.Options{MaxConns: conns})
		},
		// A table just loaded has no statistics yet; autovacuum would have
		// analyzed it by the time it is read in production.
		settle: func(tb testing.TB, id string) error {
			return execOn(sharedURL(tb), "VACUUM ANALYZE "+pgx.Identifier{postgres.SchemaName(id), "messages"}.Sanitize())
		},
	}
	fileBackend = sqliteBackend("sqlite-file", func(dir string) sqlite.Options {
		return sqlite.Options{Dir: dir, Synchronous: sqlite.SynchronousFull}
	})
	fileNormalBackend = sqliteBackend("sqlite-file-normal", func(dir string) sqlite.Options {
		return sqlite.Options{Dir: dir, Synchronous: sqlite.SynchronousNormal}
	})
	memoryBackend = sqliteBackend("sqlite-memory", func(string) sqlite.Options {
		return sqlite.Options{InMemory: true}
	})
)

// Which backends a benchmark runs on. Reads do not depend on the
// synchronous setting, so NORMAL is measured for writes only.
var (
	writeBackends = []*backend{pgBackend, fileBackend, fileNormalBackend, memoryBackend}
	readBackends  = []*backend{pgBackend, fileBackend, memoryBackend}
)

// newStore opens a Store on be, closed when b ends.
func newStore(b *testing.B, be *backend, conns int) ports.Store {
	b.Helper()
	s, err := be.open(b, b.TempDir(), conns)
	if err != nil {
		b.Fatalf("open %s: %v", be.name, err)
	}
	b.Cleanup(func() { _ = s.Close() })
	return s
}

// newNamespace creates an empty namespace in a new Store on be and returns
// its message store; the namespace is deleted when b ends.
func newNamespace(b *testing.B, be *backend, conns int) ports.MessageStore {
	b.Helper()
	ctx := context.Background()
	s := newStore(b, be, conns)
	id := newID("b")
	if _, err := s.CreateNamespace(ctx, id, domain.NamespaceOptions{}); err != nil {
		b.Fatalf("create namespace: %v", err)
	}
	b.Cleanup(func() { _ = s.DeleteNamespace(context.Background(), id) })
	ms, err := s.MessageStore(ctx, id)
	if err != nil {
		b.Fatal(err)
	}
	return ms
}

// newID returns a namespace id unique to this run (PostgreSQL backends
// share one database).
func newID(prefix string) string {
	var r [5]byte
	_, _ = rand.Read(r[:])
	return prefix + "_" + hex.EncodeToString(r[:])
}

// fixture is the read fixture of one backend, made once per test binary.
type fixture struct {
	once  sync.Once
	dir   string
	store ports.Store
	id    string // the namespace's
	ms    ports.MessageStore
	err   error
}

var fixtures struct {
	mu sync.Mutex
	m  map[string]*fixture
}

// importChunk is how many messages one ImportMessages call carries.
const importChunk = 10_000

// readFixture returns the message store of be's read fixture, building it on
// first use: benchsuite.FixtureSize messages imported in chunks, then
// settled.
func readFixture(b *testing.B, be *backend) ports.MessageStore {
	b.Helper()
	fixtures.mu.Lock()
	if fixtures.m == nil {
		fixtures.m = map[string]*fixture{}
	}
	f := fixtures.m[be.name]
	if f == nil {
		f = &fixture{}
		fixtures.m[be.name] = f
	}
	fixtures.mu.Unlock()

	f.once.Do(func() { f.err = f.build(b, be) })
	if f.err != nil {
		b.Fatalf("read fixture on %s: %v", be.name, f.err)
	}
	return f.ms
}

func (f *fixture) build(b *testing.B, be *backend) error {
	ctx := context.Background()
	start := time.Now()
	dir, err := os.MkdirTemp("", "messagedb-bench-")
	if err != nil {
		return err
	}
	f.dir = dir // removed by closeFixtures
	if f.store, err = be.open(b, dir, 2); err != nil {
		return err
	}
	id := newID("fixture")
	f.id = id
	if _, err := f.store.CreateNamespace(ctx, id, domain.NamespaceOptions{Description: "read benchmarks"}); err != nil {
		return err
	}
	if f.ms, err = f.store.MessageStore(ctx, id); err != nil {
		return err
	}
	imp, ok := f.ms.(ports.Importer)
	if !ok {
		return fmt.Errorf("%T is not a ports.Importer", f.ms)
	}
	for first := int64(1); first <= benchsuite.FixtureSize; first += importChunk {
		if err := imp.ImportMessages(ctx, benchsuite.FixtureMessages(first, importChunk)); err != nil {
			return fmt.Errorf("import from global position %d: %w", first, err)
		}
	}
	if be.settle != nil {
		if err := be.settle(b, id); err != nil {
			return err
		}
	}
	b.Logf("read fixture on %s: %d messages in %s", be.name, benchsuite.FixtureSize, time.Since(start).Round(time.Millisecond))
	return nil
}

func closeFixtures() {
	for _, f := range fixtures.m {
		if f.store != nil {
			_ = f.store.Close()
		}
		if f.dir != "" {
			_ = os.RemoveAll(f.dir)
		}
	}
}

// described makes the first PostgreSQL benchmark log the server's version
// and settings.
var described sync.Once

// sharedURL returns the URL of the database shared by every PostgreSQL
// benchmark (each in namespaces of its own), dropped by TestMain's
// pgtest.Stop.
func sharedURL(tb testing.TB) string {
	tb.Helper()
	u := pgtest.SharedDatabase(tb) // skips (or fails) without PostgreSQL
	described.Do(func() {
		about, err := describeServer(u)
		if err != nil {
			about = "(settings unknown: " + err.Error() + ")"
		}
		tb.Logf("postgres: %s", about)
	})
	return u
}

// describeServer returns the server's version and the settings that weigh
// on the benchmarks, for the report.
func describeServer(url string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return "", err
	}
	defer conn.Close(context.Background())
	var version string
	if err := conn.QueryRow(ctx, "SHOW server_version").Scan(&version); err != nil {
		return "", err
	}
	about := "PostgreSQL " + version
	for _, name := range []string{"fsync", "synchronous_commit", "wal_sync_method", "full_page_writes", "shared_buffers", "max_connections"} {
		var v string
		if err := conn.QueryRow(ctx, "SELECT current_setting($1)", name).Scan(&v); err != nil {
			return "", err
		}
		about += ", " + name + "=" + v
	}
	return about, nil
}

func execOn(url, sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}
