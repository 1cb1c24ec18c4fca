package contracttest

import (
	"testing"

	"github.com/messagedb-go/messagedb/contracttest/internal/memstore"
	"github.com/messagedb-go/messagedb/ports"
)

// newMemstore is a Factory of the minimal in-memory store built only from
// the domain rules.
func newMemstore(t *testing.T) ports.Store {
	s := memstore.New()
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

// TestMemstore runs the suite against the in-memory store: the suite must
// pass on a correct implementation.
func TestMemstore(t *testing.T) {
	Run(t, newMemstore)
}
