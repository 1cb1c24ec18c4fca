package sqlite_test

import (
	"testing"

	"github.com/messagedb-go/messagedb/adapters/sqlite"
	"github.com/messagedb-go/messagedb/contracttest"
	"github.com/messagedb-go/messagedb/ports"
)

// The conformance suite every backend passes, in both SQLite modes: each
// case gets a Store of its own.

func TestContract_Memory(t *testing.T) {
	contracttest.Run(t, func(t *testing.T) ports.Store {
		return openStore(t, sqlite.Options{InMemory: true})
	})
}

func TestContract_File(t *testing.T) {
	contracttest.Run(t, func(t *testing.T) ports.Store {
		return openStore(t, sqlite.Options{Dir: t.TempDir()})
	})
}

// openStore opens a store closed at the end of the test.
func openStore(t testing.TB, opts sqlite.Options) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), opts)
	if err != nil {
		t.Fatalf("open %+v: %v", opts, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}
