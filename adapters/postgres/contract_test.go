package postgres_test

import (
	"testing"

	"github.com/messagedb-go/messagedb/adapters/postgres"
	"github.com/messagedb-go/messagedb/contracttest"
	"github.com/messagedb-go/messagedb/ports"
)

// TestContract runs the conformance suite. Every store opens on the shared
// database: cases keep to namespaces of their own.
func TestContract(t *testing.T) {
	url := sharedURL(t)
	contracttest.Run(t, func(t *testing.T) ports.Store {
		return openStore(t, url, &postgres.Options{MaxConns: 4})
	})
}
