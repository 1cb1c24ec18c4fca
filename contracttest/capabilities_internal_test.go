package contracttest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messagedb-go/messagedb/contracttest/internal/memstore"
	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/ports"
)

// The capability check catches a store whose message stores lack a port it
// declares, or have one it does not declare, and passes an honest one.
func TestUndeclared(t *testing.T) {
	s := memstore.New()
	_, err := s.CreateNamespace(t.Context(), "caps", domain.NamespaceOptions{})
	require.NoError(t, err)
	full, err := s.MessageStore(t.Context(), "caps")
	require.NoError(t, err)
	plain := struct{ ports.MessageStore }{full} // neither Importer nor Watcher

	all := ports.Capabilities{System: ports.SystemOther, Importer: true, Watcher: true}
	none := ports.Capabilities{System: ports.SystemOther}
	assert.NoError(t, undeclared(all, full))
	assert.NoError(t, undeclared(none, plain))

	err = undeclared(all, plain)
	assert.ErrorContains(t, err, "is no ports.Importer, which its store declares")
	assert.ErrorContains(t, err, "is no ports.Watcher, which its store declares")
	err = undeclared(none, full)
	assert.ErrorContains(t, err, "is a ports.Importer, which its store does not declare")
	assert.ErrorContains(t, err, "is a ports.Watcher, which its store does not declare")
	assert.ErrorContains(t, undeclared(ports.Capabilities{Importer: true}, full), "ports.Watcher, which its store does not declare")
}
