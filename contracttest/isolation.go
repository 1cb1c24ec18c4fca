package contracttest

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/ports"
)

// isolationCases check that a namespace's message store reaches only its
// own namespace, whatever names it is given: names that spell another
// namespace's schema, table or file, paths, quotes, statement separators,
// comments and pattern characters are plain names in one namespace.
func isolationCases() []testCase {
	return []testCase{
		{"HostileNamesReadNothingOfAnother", testIsolationHostileReads},
		{"HostileNamesWriteOnlyTheirOwn", testIsolationHostileWrites},
	}
}

// hostileStreamNames returns stream names that try to reach the namespace
// other (its id), its PostgreSQL schema or its SQLite file, or to break out
// of a quoted name, besides the plain stream names of cat. Each is a valid
// stream name.
func hostileStreamNames(other, cat string) []string {
	schema := "messagedb_" + other
	return []string{
		cat + "-1",
		cat + "-2+x",
		cat + ":command-1",
		other + "-1",
		schema + "-1",
		schema + ".messages-1",
		`"` + schema + `".messages-1`,
		schema + ".messages." + cat + "-1",
		other + ".messages-1",
		"messagedb.namespaces-1",
		"messagedb.schema_migrations-1",
		"public.messages-1",
		"pg_catalog.pg_class-1",
		"main.messages-1",
		"temp.messages-1",
		"registry.namespaces-1",
		other + ".db-1",
		"namespaces/" + other + ".db-1",
		"../" + other + "-1",
		"../namespaces/" + other + ".db-1",
		"/tmp/" + other + ".db-1",
		`..\` + other + "-1",
		"file:" + other + ".db?mode=memory-1",
		"'-1",
		`"-1`,
		"`-1",
		cat + "'; DELETE FROM " + schema + ".messages; --1",
		cat + `"; DROP SCHEMA ` + schema + " CASCADE; -- -1",
		cat + "'); ATTACH DATABASE '" + other + ".db' AS x; --1",
		cat + " OR 1=1-1",
		cat + "' OR '1'='1-1",
		cat + "/*-*/1",
		"/*" + cat + "*/-1",
		";-1",
		"%-1",
		"_-1",
		cat[:len(cat)-1] + "_-1",
		cat[:3] + "%-1",
		"*-1",
		"?-1",
		"[a-z]-1",
		`\-1`,
		`$1-$2`,
		"?-?",
		cat + "\n-1",
		"\t-1",
		" -1",
		cat + " -1",
		cat + "\u00a0-1",
		"ünïcødé✓-1",
	}
}

// hostileCategories returns the categories of names and more category names
// that spell another namespace's storage or patterns.
func hostileCategories(other string, names []string) []string {
	schema := "messagedb_" + other
	out := []string{
		other, schema, schema + ".messages", other + ".messages", "messagedb", "messagedb.namespaces",
		"messages", "namespaces", "registry", other + ".db", "%", "_", "*", ".", "..", "'", `"`, ";", `\`,
	}
	for _, n := range names {
		out = append(out, domain.Category(n))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// isolationSetup returns two namespaces of one store, A and B, with A's
// messages written to every hostile name and to plain streams of cat.
func isolationSetup(t *testing.T, newStore Factory) (msA, msB ports.MessageStore, idA, cat string, names []string) {
	t.Helper()
	store := newStore(t)
	require.NotNil(t, store, "factory returned a nil store")
	msA, idA = newNamespaceWithID(t, store)
	msB = newNamespace(t, store)
	cat = category(t, "acct")
	names = hostileStreamNames(idA, cat)
	for i, n := range names {
		write(t, msA, n, newMsg("InA", i))
		write(t, msA, n, newMsg("InA", i))
	}
	return msA, msB, idA, cat, names
}

func testIsolationHostileReads(t *testing.T, newStore Factory) {
	msA, msB, idA, cat, names := isolationSetup(t, newStore)
	ctx := t.Context()
	require.Len(t, allMessages(t, msA), 2*len(names), "namespace A holds its messages")

	for _, n := range names {
		assert.Empty(t, streamMessages(t, msB, n), "B reads stream %q", n)
		assert.Equal(t, domain.NoStream, version(t, msB, n), "B's version of stream %q", n)
		_, err := msB.GetLastStreamMessage(ctx, n, "")
		assert.ErrorIs(t, err, domain.ErrStreamNotFound, "B's last message of stream %q", n)
		_, err = msB.GetLastStreamMessage(ctx, n, "InA")
		assert.ErrorIs(t, err, domain.ErrStreamNotFound, "B's last InA message of stream %q", n)
	}
	for _, c := range hostileCategories(idA, names) {
		for what, opts := range map[string]domain.CategoryOpts{
			"plain":       {BatchSize: unlimited()},
			"group":       {BatchSize: unlimited(), ConsumerGroup: &domain.ConsumerGroup{Member: 0, Size: 1}},
			"correlation": {BatchSize: unlimited(), Correlation: cat},
		} {
			assert.Empty(t, categoryMessages(t, msB, c, opts), "B reads category %q (%s)", c, what)
		}
	}
	assertEmpty(t, msB)

	// A still reads its own.
	for _, n := range names {
		assert.Equal(t, []int64{0, 1}, positions(streamMessages(t, msA, n)), "A reads stream %q", n)
	}
}

func testIsolationHostileWrites(t *testing.T, newStore Factory) {
	msA, msB, idA, _, names := isolationSetup(t, newStore)
	ctx := t.Context()
	beforeA := allMessages(t, msA)

	// B writes to every name as to a stream it has never written: A's
	// streams of the same names are not its own.
	wrote := map[string][]domain.WriteResult{}
	for i, n := range names {
		r, err := msB.WriteMessage(ctx, n, newMsg("InB", i), domain.ExpectVersion(domain.NoStream))
		require.NoError(t, err, "B writes %q as a new stream", n)
		assert.Equal(t, int64(0), r.Position, "B's first message of %q", n)
		rs, err := msB.WriteMessages(ctx, n, []domain.NewMessage{newMsg("InB", i), newMsg("InB", i)}, domain.ExpectVersion(0))
		require.NoError(t, err, "B writes a batch to %q at version 0", n)
		wrote[n] = append([]domain.WriteResult{r}, rs...)
	}

	// B reads back exactly what it wrote.
	allB := allMessages(t, msB)
	assert.Len(t, allB, 3*len(names), "B holds only its own messages")
	assert.Equal(t, int64(1), allB[0].GlobalPosition, "B's global positions are its own, from 1")
	for _, m := range allB {
		assert.Equal(t, "InB", m.Type, "B reads a message of type %s in %q", m.Type, m.StreamName)
	}
	for _, n := range names {
		msgs := streamMessages(t, msB, n)
		assert.Equal(t, resultGlobalPositions(wrote[n]), globalPositions(msgs), "B reads stream %q", n)
		assert.Equal(t, int64(2), version(t, msB, n), "B's version of %q", n)
	}
	for _, c := range hostileCategories(idA, names) {
		var want []int64
		for _, m := range allB {
			if domain.Category(m.StreamName) == c {
				want = append(want, m.GlobalPosition)
			}
		}
		got := globalPositions(categoryMessages(t, msB, c, domain.CategoryOpts{BatchSize: unlimited()}))
		assert.Equal(t, len(want), len(got), "B reads category %q", c)
		if len(want) > 0 {
			assert.Equal(t, want, got, "B reads category %q", c)
		}
	}

	// A is unchanged, and goes on at its own versions.
	afterA := allMessages(t, msA)
	require.Equal(t, len(beforeA), len(afterA), "B's writes changed the number of A's messages")
	for i := range beforeA {
		assertSameMessage(t, beforeA[i], afterA[i], "A's message after B's writes")
	}
	for i, n := range names {
		assert.Equal(t, int64(1), version(t, msA, n), "A's version of %q", n)
		r, err := msA.WriteMessage(ctx, n, newMsg("InA", i), domain.ExpectVersion(1))
		require.NoError(t, err, "A writes %q at its own version", n)
		assert.Equal(t, int64(2), r.Position)
		assert.Greater(t, r.GlobalPosition, afterA[len(afterA)-1].GlobalPosition, "A's global positions go on from its own")
	}
	assert.Len(t, allMessages(t, msB), 3*len(names), "A's writes do not reach B")
}
