package contracttest

import (
	"errors"
	"fmt"
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
		assert.NoError(t, undeclared(caps, ms), "message store %d", i)
	}
}

// undeclared says how a message store differs from what its store
// declares: an optional port declared and not implemented, or implemented
// and not declared.
func undeclared(caps ports.Capabilities, ms ports.MessageStore) error {
	_, imports := ms.(ports.Importer)
	_, watches := ms.(ports.Watcher)
	var errs []error
	for _, p := range []struct {
		port               string
		declared, actually bool
	}{{"ports.Importer", caps.Importer, imports}, {"ports.Watcher", caps.Watcher, watches}} {
		switch {
		case p.declared && !p.actually:
			errs = append(errs, fmt.Errorf("%T is no %s, which its store declares", ms, p.port))
		case !p.declared && p.actually:
			errs = append(errs, fmt.Errorf("%T is a %s, which its store does not declare", ms, p.port))
		}
	}
	return errors.Join(errs...)
}
