package contracttest

import (
	"testing"

	"github.com/messagedb-go/messagedb/ports"
)

// Factory returns a fresh store for one test and registers its cleanup
// (Close) with t.Cleanup.
type Factory func(t *testing.T) ports.Store

// testCase is one named case of the suite.
type testCase struct {
	name string
	run  func(t *testing.T, newStore Factory)
}

// Run runs every case of the suite against stores made by newStore, as
// nested subtests of t. Cases run in parallel (t.Parallel), each in its own
// namespace(s) with unique ids, so they may share one database; Run returns
// before they finish, so release shared resources with t.Cleanup.
//
// The cases of an optional port (ports.Importer, ports.Watcher) run when
// the stores declare it (ports.Store.Capabilities); the Capabilities cases
// check that every store declares the same, and that its message stores
// implement what it declares and nothing else.
func Run(t *testing.T, newStore Factory) {
	t.Helper()
	if newStore == nil {
		t.Fatal("contracttest.Run: nil Factory")
	}
	caps := newStore(t).Capabilities()
	type group struct {
		name  string
		cases []testCase
	}
	groups := []group{
		{"Capabilities", capabilityCases()},
		{"Writes", writeCases()},
		{"MessageIDs", idCases()},
		{"ErrorTexts", errorTextCases()},
		{"InvalidInput", invalidInputCases()},
		{"HostileInput", hostileCases()},
		{"Closing", closingCases()},
		{"StreamReads", streamReadCases()},
		{"LastMessageAndVersion", lastMessageCases()},
		{"CategoryReads", categoryCases()},
		{"ConsumerGroups", groupCases()},
		{"AllMessages", allMessagesCases()},
		{"Namespaces", namespaceCases()},
		{"Isolation", isolationCases()},
		{"Parity", parityCases(caps)},
		{"Concurrency", concurrencyCases()},
	}
	if caps.Importer {
		groups = append(groups, group{"Importer", importerCases()})
	}
	if caps.Watcher {
		groups = append(groups, group{"Watcher", watcherCases(caps)})
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			for _, c := range g.cases {
				t.Run(c.name, func(t *testing.T) {
					t.Parallel()
					c.run(t, newStore)
				})
			}
		})
	}
}
