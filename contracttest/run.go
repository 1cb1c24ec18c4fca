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
func Run(t *testing.T, newStore Factory) {
	t.Helper()
	if newStore == nil {
		t.Fatal("contracttest.Run: nil Factory")
	}
	groups := []struct {
		name  string
		cases []testCase
	}{
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
		{"Parity", parityCases()},
		{"Importer", importerCases()},
		{"Watcher", watcherCases()},
		{"Concurrency", concurrencyCases()},
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
