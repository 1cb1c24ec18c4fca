package app_test

import (
	"context"
	"os"
	"testing"

	"github.com/messagedb-go/messagedb/app"
	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// backend opens a fresh store for one test and closes it at cleanup.
type backend struct {
	name string
	open func(t *testing.T) *app.Store
}

func backends() []backend {
	return []backend{
		{"SQLiteMemory", func(t *testing.T) *app.Store { return openStore(t, "memory:") }},
		{"SQLiteFile", func(t *testing.T) *app.Store { return openStore(t, "sqlite:"+t.TempDir()+"?synchronous=normal") }},
		{"Postgres", func(t *testing.T) *app.Store { return openStore(t, pgtest.NewDatabase(t)) }},
	}
}

// openStore opens url and closes the store at cleanup.
func openStore(t *testing.T, url string) *app.Store {
	t.Helper()
	s, err := app.Open(context.Background(), url, nil)
	if err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close %s: %v", url, err)
		}
	})
	return s
}

// eachStore runs f as a parallel subtest on every backend, with a fresh
// store.
func eachStore(t *testing.T, f func(t *testing.T, s *app.Store)) {
	t.Helper()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			f(t, b.open(t))
		})
	}
}

// eachBackend runs f as a parallel subtest on every backend, in a fresh
// namespace.
func eachBackend(t *testing.T, f func(t *testing.T, ns *app.Namespace)) {
	t.Helper()
	eachStore(t, func(t *testing.T, s *app.Store) {
		ns, err := s.EnsureNamespace(context.Background(), "test", domain.NamespaceOptions{})
		if err != nil {
			t.Fatalf("ensure namespace: %v", err)
		}
		f(t, ns)
	})
}
