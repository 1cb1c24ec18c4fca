package contracttest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/ports"
)

func namespaceCases() []testCase {
	return []testCase{
		{"Create", testCreateNamespace},
		{"CreateWithoutOptions", testCreateNamespaceNoOptions},
		{"CreateDuplicate", testCreateNamespaceDuplicate},
		{"CreateInvalidID", testCreateNamespaceInvalid},
		{"CreateInvalidRoleToGrant", testCreateNamespaceInvalidRole},
		{"CreateLongestID", testCreateNamespaceLongestID},
		{"UnderscoreAndDashDoNotCollide", testNamespaceUnderscoreDash},
		{"GetAndList", testGetAndListNamespaces},
		{"NotFound", testNamespaceNotFound},
		{"Delete", testDeleteNamespace},
		{"MessageStoreFailsAfterDelete", testMessageStoreAfterDelete},
		{"RecreateStartsEmpty", testRecreateNamespace},
		{"DeleteLeavesOthersIntact", testDeleteLeavesOthers},
		{"MDB001_6A_T1_Isolation", testNamespaceIsolation},
		{"CloseMakesMessageStoresFail", testCloseStore},
	}
}

func testCreateNamespace(t *testing.T, newStore Factory) {
	store := newStore(t)
	ctx := t.Context()
	id := uniqueNamespaceID(t)
	before := time.Now()
	ns, err := store.CreateNamespace(ctx, id, domain.NamespaceOptions{Description: "Accounts – ünïcode ✓"})
	after := time.Now()
	require.NoError(t, err)
	t.Cleanup(func() { deleteNamespaceAtCleanup(t, store, id) })

	assert.Equal(t, id, ns.ID)
	assert.Equal(t, "Accounts – ünïcode ✓", ns.Description)
	assert.Equal(t, time.UTC, ns.CreatedAt.Location(), "CreatedAt is in UTC")
	assert.WithinRange(t, ns.CreatedAt, before.Add(-5*time.Second), after.Add(5*time.Second), "CreatedAt is the time of creation")

	got, err := store.GetNamespace(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, ns.ID, got.ID)
	assert.Equal(t, ns.Description, got.Description)
	assert.Equal(t, time.UTC, got.CreatedAt.Location(), "GetNamespace: CreatedAt is in UTC")
	assert.WithinDuration(t, ns.CreatedAt, got.CreatedAt, time.Millisecond, "GetNamespace returns the stored CreatedAt")

	ms, err := store.MessageStore(ctx, id)
	require.NoError(t, err)
	assertEmpty(t, ms)
}

func testCreateNamespaceNoOptions(t *testing.T, newStore Factory) {
	store := newStore(t)
	id := uniqueNamespaceID(t)
	ns, err := store.CreateNamespace(t.Context(), id, domain.NamespaceOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { deleteNamespaceAtCleanup(t, store, id) })
	assert.Equal(t, id, ns.ID)
	assert.Empty(t, ns.Description)

	got, err := store.GetNamespace(t.Context(), id)
	require.NoError(t, err)
	assert.Empty(t, got.Description)
}

func testCreateNamespaceDuplicate(t *testing.T, newStore Factory) {
	store := newStore(t)
	ctx := t.Context()
	ms, id := newNamespaceWithID(t, store)
	stream := category(t, "acct") + "-1"
	write(t, ms, stream, newMsg("Tested", 0))
	orig, err := store.GetNamespace(ctx, id)
	require.NoError(t, err)

	_, err = store.CreateNamespace(ctx, id, domain.NamespaceOptions{Description: "second"})
	assert.ErrorIs(t, err, domain.ErrNamespaceExists)

	got, err := store.GetNamespace(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, orig.Description, got.Description, "the existing namespace is unchanged")
	assert.Len(t, allMessages(t, ms), 1, "the existing namespace keeps its messages")
	ms2, err := store.MessageStore(ctx, id)
	require.NoError(t, err)
	assert.Len(t, allMessages(t, ms2), 1, "the existing namespace keeps its messages")
}

func testCreateNamespaceInvalid(t *testing.T, newStore Factory) {
	store := newStore(t)
	ctx := t.Context()
	u := uniqueNamespaceID(t)
	invalid := []string{
		"", "A", "T" + u[1:], u + "X", "a-b", u + "-b", "1a", "1" + u, "_" + u, "a b", u + " ",
		"t" + strings.Repeat("a", domain.MaxNamespaceIDLength), // 51 characters
		"../x", "../" + u, u + "/x", u + ".db", u + "\x00", "ü" + u, u + ";drop",
	}
	for _, id := range invalid {
		_, err := store.CreateNamespace(ctx, id, domain.NamespaceOptions{})
		assert.ErrorIs(t, err, domain.ErrInvalidNamespace, "CreateNamespace(%q)", id)
		if err == nil {
			t.Cleanup(func() { deleteNamespaceAtCleanup(t, store, id) })
		}
	}
	list, err := store.ListNamespaces(ctx)
	require.NoError(t, err)
	for _, ns := range list {
		assert.NotContains(t, invalid, ns.ID, "a refused id must leave no namespace")
		assert.NoError(t, domain.ValidateNamespaceID(ns.ID), "listed namespace %q", ns.ID)
	}
}

// Roles to grant are validated alike on every backend, before anything is
// made (SQLite then ignores them: it has no roles).
func testCreateNamespaceInvalidRole(t *testing.T, newStore Factory) {
	store := newStore(t)
	ctx := t.Context()
	for _, grant := range [][]string{{""}, {"public"}, {"none"}, {"pg_read_all_data"}, {"app", "a\x00b"}, {"\xff"},
		{"a\nb"}, {strings.Repeat("r", domain.MaxRoleNameLength+1)}} {
		id := uniqueNamespaceID(t)
		_, err := store.CreateNamespace(ctx, id, domain.NamespaceOptions{Grant: grant})
		assert.ErrorIs(t, err, domain.ErrInvalidRole, "grant %q", grant)
		assert.ErrorIs(t, err, domain.ErrInvalidOptions, "grant %q", grant)
		if err == nil {
			t.Cleanup(func() { deleteNamespaceAtCleanup(t, store, id) })
		}
		_, err = store.GetNamespace(ctx, id)
		assert.ErrorIs(t, err, domain.ErrNamespaceNotFound, "grant %q: nothing created", grant)
	}
}

func testCreateNamespaceLongestID(t *testing.T, newStore Factory) {
	store := newStore(t)
	id := uniqueNamespaceID(t)
	id += strings.Repeat("z", domain.MaxNamespaceIDLength-len(id))
	require.Len(t, id, domain.MaxNamespaceIDLength)

	_, err := store.CreateNamespace(t.Context(), id, domain.NamespaceOptions{})
	require.NoError(t, err, "an id of %d characters is valid", domain.MaxNamespaceIDLength)
	t.Cleanup(func() { deleteNamespaceAtCleanup(t, store, id) })
	ms, err := store.MessageStore(t.Context(), id)
	require.NoError(t, err)
	r := write(t, ms, category(t, "acct")+"-1", newMsg("Tested", 0))
	assert.Equal(t, int64(0), r.Position)
}

func testNamespaceUnderscoreDash(t *testing.T, newStore Factory) {
	store := newStore(t)
	ctx := t.Context()
	base := uniqueNamespaceID(t)

	_, err := store.CreateNamespace(ctx, base+"-b", domain.NamespaceOptions{})
	assert.ErrorIs(t, err, domain.ErrInvalidNamespace, "a dash is refused, not rewritten to _")

	_, err = store.CreateNamespace(ctx, base+"_b", domain.NamespaceOptions{Description: "underscore"})
	require.NoError(t, err, "an underscore is valid")
	t.Cleanup(func() { deleteNamespaceAtCleanup(t, store, base+"_b") })

	_, err = store.CreateNamespace(ctx, base+"-b", domain.NamespaceOptions{})
	assert.ErrorIs(t, err, domain.ErrInvalidNamespace, "a dash is still refused, and does not find the _ namespace")
	assert.NotErrorIs(t, err, domain.ErrNamespaceExists)

	got, err := store.GetNamespace(ctx, base+"_b")
	require.NoError(t, err)
	assert.Equal(t, "underscore", got.Description)
}

func testGetAndListNamespaces(t *testing.T, newStore Factory) {
	store := newStore(t)
	ctx := t.Context()
	base := uniqueNamespaceID(t)
	created := map[string]domain.Namespace{}
	// "_" sorts before digits and letters only in byte order: a collation
	// that skips punctuation would put base+"0" or base+"a" elsewhere.
	for _, id := range []string{base + "_c", base + "a", base + "_a", base + "_b2", base + "0", base + "_b"} {
		ns, err := store.CreateNamespace(ctx, id, domain.NamespaceOptions{Description: "desc " + id})
		require.NoError(t, err)
		t.Cleanup(func() { deleteNamespaceAtCleanup(t, store, id) })
		created[id] = ns
	}

	list, err := store.ListNamespaces(ctx)
	require.NoError(t, err)
	assert.True(t, slices.IsSortedFunc(list, func(a, b domain.Namespace) int { return strings.Compare(a.ID, b.ID) }),
		"ListNamespaces is ordered by id: %v", namespaceIDs(list))
	var mine []string
	for _, ns := range list {
		want, ok := created[ns.ID]
		if !ok {
			continue // namespaces of other tests sharing the database
		}
		mine = append(mine, ns.ID)
		assert.Equal(t, want.Description, ns.Description)
		assert.Equal(t, time.UTC, ns.CreatedAt.Location())
		assert.WithinDuration(t, want.CreatedAt, ns.CreatedAt, time.Millisecond)
	}
	assert.Equal(t, []string{base + "0", base + "_a", base + "_b", base + "_b2", base + "_c", base + "a"}, mine,
		"every created namespace, in byte order of id")

	for id, want := range created {
		got, err := store.GetNamespace(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, want.ID, got.ID)
		assert.Equal(t, want.Description, got.Description)
	}
}

func namespaceIDs(list []domain.Namespace) []string {
	out := make([]string, len(list))
	for i, ns := range list {
		out[i] = ns.ID
	}
	return out
}

func testNamespaceNotFound(t *testing.T, newStore Factory) {
	store := newStore(t)
	ctx := t.Context()
	id := uniqueNamespaceID(t)

	_, err := store.GetNamespace(ctx, id)
	assert.ErrorIs(t, err, domain.ErrNamespaceNotFound, "GetNamespace")
	_, err = store.MessageStore(ctx, id)
	assert.ErrorIs(t, err, domain.ErrNamespaceNotFound, "MessageStore")
	assert.ErrorIs(t, store.DeleteNamespace(ctx, id), domain.ErrNamespaceNotFound, "DeleteNamespace")

	list, err := store.ListNamespaces(ctx)
	require.NoError(t, err)
	assert.NotContains(t, namespaceIDs(list), id, "looking a namespace up does not create it")
}

func testDeleteNamespace(t *testing.T, newStore Factory) {
	store := newStore(t)
	ctx := t.Context()
	ms, id := newNamespaceWithID(t, store)
	writeN(t, ms, category(t, "acct")+"-1", 3)

	require.NoError(t, store.DeleteNamespace(ctx, id))

	_, err := store.GetNamespace(ctx, id)
	assert.ErrorIs(t, err, domain.ErrNamespaceNotFound, "GetNamespace after delete")
	_, err = store.MessageStore(ctx, id)
	assert.ErrorIs(t, err, domain.ErrNamespaceNotFound, "MessageStore after delete")
	assert.ErrorIs(t, store.DeleteNamespace(ctx, id), domain.ErrNamespaceNotFound, "DeleteNamespace again")

	list, err := store.ListNamespaces(ctx)
	require.NoError(t, err)
	assert.NotContains(t, namespaceIDs(list), id, "a deleted namespace is not listed")
}

func testMessageStoreAfterDelete(t *testing.T, newStore Factory) {
	store := newStore(t)
	ctx := t.Context()
	ms, id := newNamespaceWithID(t, store)
	cat := category(t, "acct")
	stream := cat + "-1"
	writeN(t, ms, stream, 3)

	require.NoError(t, store.DeleteNamespace(ctx, id))

	// "Message stores handed out for it fail afterwards", matching
	// domain.ErrNamespaceNotFound.
	_, err := ms.WriteMessage(ctx, stream, newMsg("Tested", 9), domain.AnyVersion)
	assert.ErrorIs(t, err, domain.ErrNamespaceNotFound, "WriteMessage on a deleted namespace")
	_, err = ms.WriteMessages(ctx, stream, []domain.NewMessage{newMsg("Tested", 9)}, domain.AnyVersion)
	assert.ErrorIs(t, err, domain.ErrNamespaceNotFound, "WriteMessages on a deleted namespace")
	_, err = ms.GetStreamMessages(ctx, stream, domain.GetOpts{})
	assert.ErrorIs(t, err, domain.ErrNamespaceNotFound, "GetStreamMessages on a deleted namespace")
	_, err = ms.GetCategoryMessages(ctx, cat, domain.CategoryOpts{})
	assert.ErrorIs(t, err, domain.ErrNamespaceNotFound, "GetCategoryMessages on a deleted namespace")
	_, err = ms.GetLastStreamMessage(ctx, stream, "")
	assert.ErrorIs(t, err, domain.ErrNamespaceNotFound, "GetLastStreamMessage on a deleted namespace")
	_, err = ms.GetStreamVersion(ctx, stream)
	assert.ErrorIs(t, err, domain.ErrNamespaceNotFound, "GetStreamVersion on a deleted namespace")
	_, err = ms.GetAllMessages(ctx, domain.AllOpts{})
	assert.ErrorIs(t, err, domain.ErrNamespaceNotFound, "GetAllMessages on a deleted namespace")

	_, err = store.GetNamespace(ctx, id)
	assert.ErrorIs(t, err, domain.ErrNamespaceNotFound, "a write through an old message store must not re-create the namespace")
}

func testRecreateNamespace(t *testing.T, newStore Factory) {
	store := newStore(t)
	ctx := t.Context()
	ms, id := newNamespaceWithID(t, store)
	cat := category(t, "acct")
	stream := cat + "-1"
	m := newMsgWithID(t, "Tested", 0)
	write(t, ms, stream, m)
	writeN(t, ms, stream, 4)
	write(t, ms, cat+"-2", newMsg("Tested", 0))

	require.NoError(t, store.DeleteNamespace(ctx, id))
	_, err := store.CreateNamespace(ctx, id, domain.NamespaceOptions{Description: "again"})
	require.NoError(t, err, "re-create a deleted namespace")

	ms2, err := store.MessageStore(ctx, id)
	require.NoError(t, err)
	assertEmpty(t, ms2)
	assert.Empty(t, streamMessages(t, ms2, stream))
	assert.Empty(t, categoryMessages(t, ms2, cat, domain.CategoryOpts{}))
	assert.Equal(t, domain.NoStream, version(t, ms2, stream))
	_, err = ms2.GetLastStreamMessage(ctx, stream, "")
	assert.ErrorIs(t, err, domain.ErrStreamNotFound)

	r, err := ms2.WriteMessage(ctx, stream, m, domain.ExpectVersion(domain.NoStream))
	require.NoError(t, err, "the old messages' ids are gone too")
	assert.Equal(t, domain.WriteResult{Position: 0, GlobalPosition: 1}, r, "positions start again")
	msgs := allMessages(t, ms2)
	require.Len(t, msgs, 1)
	assert.Equal(t, m.ID, msgs[0].ID)

	// A message store handed out before the delete stays dead: it never
	// reads or writes the namespace created again with its id.
	_, err = ms.GetStreamMessages(ctx, stream, domain.GetOpts{})
	assert.ErrorIs(t, err, domain.ErrNamespaceNotFound, "read through a message store of the deleted namespace")
	_, err = ms.WriteMessage(ctx, stream, newMsg("Tested", 7), domain.AnyVersion)
	assert.ErrorIs(t, err, domain.ErrNamespaceNotFound, "write through a message store of the deleted namespace")
	assert.Len(t, allMessages(t, ms2), 1, "the old message store wrote into the new namespace")
}

func testDeleteLeavesOthers(t *testing.T, newStore Factory) {
	store := newStore(t)
	ctx := t.Context()
	ms1, id1 := newNamespaceWithID(t, store)
	ms2, id2 := newNamespaceWithID(t, store)
	stream := category(t, "acct") + "-1"
	writeN(t, ms1, stream, 2)
	rs := writeN(t, ms2, stream, 3)

	require.NoError(t, store.DeleteNamespace(ctx, id1))

	_, err := store.GetNamespace(ctx, id2)
	require.NoError(t, err)
	msgs := streamMessages(t, ms2, stream)
	assert.Equal(t, resultGlobalPositions(rs), globalPositions(msgs), "the other namespace keeps its messages")
	again, err := store.MessageStore(ctx, id2)
	require.NoError(t, err)
	assert.Equal(t, int64(3), write(t, again, stream, newMsg("Tested", 3)).Position)
}

func testNamespaceIsolation(t *testing.T, newStore Factory) {
	store := newStore(t)
	ctx := t.Context()
	ms1 := newNamespace(t, store)
	ms2 := newNamespace(t, store)
	cat := category(t, "acct")
	stream := cat + "-1"

	shared := newMsgWithID(t, "Tested", 0)
	var rs1, rs2 []domain.WriteResult
	rs1 = append(rs1, write(t, ms1, stream, shared))
	rs2 = append(rs2, write(t, ms2, stream, shared)) // ids are unique per namespace
	for i := 1; i < 5; i++ {
		if i%2 == 0 {
			rs1 = append(rs1, write(t, ms1, stream, newMsg("Tested", i)))
		}
		rs2 = append(rs2, write(t, ms2, stream, newMsg("Tested", i)))
	}
	write(t, ms2, cat+"-2", newMsg("Tested", 9))

	for name, c := range map[string]struct {
		ms   ports.MessageStore
		rs   []domain.WriteResult
		more int
	}{"first": {ms1, rs1, 0}, "second": {ms2, rs2, 1}} {
		assert.Equal(t, int64(1), c.rs[0].GlobalPosition, "%s: global positions start at 1 in each namespace", name)
		for i, r := range c.rs {
			assert.Equal(t, int64(i), r.Position, "%s: position %d", name, i)
		}
		msgs := streamMessages(t, c.ms, stream)
		assert.Equal(t, seq(0, int64(len(c.rs)-1)), positions(msgs), "%s: stream read", name)
		assert.Equal(t, resultGlobalPositions(c.rs), globalPositions(msgs), "%s: stream read", name)
		assert.Equal(t, shared.ID, msgs[0].ID, "%s: the same id in both namespaces", name)
		assert.Equal(t, int64(len(c.rs)-1), version(t, c.ms, stream), "%s: version", name)

		cmsgs := categoryMessages(t, c.ms, cat, domain.CategoryOpts{})
		assert.Len(t, cmsgs, len(c.rs)+c.more, "%s: category read", name)
		assert.Len(t, allMessages(t, c.ms), len(c.rs)+c.more, "%s: all messages", name)

		last, err := c.ms.GetLastStreamMessage(ctx, stream, "")
		require.NoError(t, err)
		assert.Equal(t, int64(len(c.rs)-1), last.Position, "%s: last message", name)
	}

	// A retry is recognised per namespace: the shared id is a retry in each.
	assert.Equal(t, rs1[0], write(t, ms1, stream, shared))
	assert.Equal(t, rs2[0], write(t, ms2, stream, shared))
	_, err := ms1.WriteMessage(ctx, stream, newMsg("Tested", 5), domain.ExpectVersion(int64(len(rs2)-1)))
	requireConflict(t, err, stream, int64(len(rs2)-1), int64(len(rs1)-1))
}

func testCloseStore(t *testing.T, newStore Factory) {
	// Clean up through another store: the closed one cannot. Where the
	// factory's stores share nothing, that store does not find the
	// namespace, which the cleanup accepts.
	other := newStore(t)
	store := newStore(t)
	ctx := t.Context()
	id := uniqueNamespaceID(t)
	_, err := store.CreateNamespace(ctx, id, domain.NamespaceOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { deleteNamespaceAtCleanup(t, other, id) })
	ms, err := store.MessageStore(ctx, id)
	require.NoError(t, err)
	stream := category(t, "acct") + "-1"
	write(t, ms, stream, newMsg("Tested", 0))

	require.NoError(t, store.Close())

	_, err = ms.WriteMessage(ctx, stream, newMsg("Tested", 1), domain.AnyVersion)
	assert.Error(t, err, "WriteMessage after Close")
	_, err = ms.GetStreamMessages(ctx, stream, domain.GetOpts{})
	assert.Error(t, err, "GetStreamMessages after Close")
}
