package contracttest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messagedb-go/messagedb/ports"
)

func capabilityCases() []testCase {
	return []testCase{
		{"DeclaredHonestly", testCapabilitiesHonest},
	}
}

// testCapabilitiesHonest checks a store's declaration: the same from every
// store of the factory, a known system, and message stores (new ones, and
// one handed out again) that implement the optional ports declared and no
// other.
func testCapabilitiesHonest(t *testing.T, newStore Factory) {
	store, ms, id := newStoreAndNamespace(t, newStore)
	caps := store.Capabilities()
	assert.Equal(t, caps, store.Capabilities(), "the same on every call")
	assert.Equal(t, caps, newStore(t).Capabilities(), "the same from every store")
	assert.Contains(t, []string{ports.SystemPostgreSQL, ports.SystemSQLite, ports.SystemOther}, caps.System)

	again, err := store.MessageStore(t.Context(), id)
	require.NoError(t, err)
	for i, ms := range []ports.MessageStore{ms, again, newNamespace(t, store)} {
		_, imports := ms.(ports.Importer)
		_, watches := ms.(ports.Watcher)
		assert.Equal(t, caps.Importer, imports, "message store %d (%T) is a ports.Importer as declared", i, ms)
		assert.Equal(t, caps.Watcher, watches, "message store %d (%T) is a ports.Watcher as declared", i, ms)
	}
}
