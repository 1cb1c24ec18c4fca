package contracttest_test

import (
	"testing"

	"github.com/messagedb-go/messagedb/contracttest"
	"github.com/messagedb-go/messagedb/contracttest/internal/memstore"
	"github.com/messagedb-go/messagedb/ports"
)

// TestMemstore runs the suite against a minimal in-memory store built only
// from the domain rules: the suite must pass on a correct implementation.
func TestMemstore(t *testing.T) {
	contracttest.Run(t, func(t *testing.T) ports.Store {
		s := memstore.New()
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
		})
		return s
	})
}
