package contracttest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/ports"
)

// unlimited returns a batch size that reads everything.
func unlimited() *int64 { return new(domain.Unlimited) }

// randomHex returns n random lowercase hex characters (n even).
func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n/2)
	_, err := rand.Read(b)
	require.NoError(t, err, "random suffix")
	return hex.EncodeToString(b)
}

// uniqueSuffix returns a short random suffix for names of one subtest.
func uniqueSuffix(t *testing.T) string {
	t.Helper()
	return randomHex(t, 8)
}

// uniqueNamespaceID returns a fresh valid namespace id: "t" and 10 random
// lowercase hex characters.
func uniqueNamespaceID(t *testing.T) string {
	t.Helper()
	id := "t" + randomHex(t, 10)
	require.NoError(t, domain.ValidateNamespaceID(id), "generated namespace id")
	return id
}

// category returns a category name unique to the subtest, starting with
// prefix (no "-" in it).
func category(t *testing.T, prefix string) string {
	t.Helper()
	return prefix + uniqueSuffix(t)
}

// createNamespace creates a namespace with a unique id on store, deleted at
// the end of the test (unless the test deleted it already).
func createNamespace(t *testing.T, store ports.Store) string {
	t.Helper()
	id := uniqueNamespaceID(t)
	_, err := store.CreateNamespace(t.Context(), id, domain.NamespaceOptions{Description: "contracttest " + t.Name()})
	require.NoError(t, err, "create namespace %s", id)
	t.Cleanup(func() { deleteNamespaceAtCleanup(t, store, id) })
	return id
}

func deleteNamespaceAtCleanup(t *testing.T, store ports.Store, id string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := store.DeleteNamespace(ctx, id); err != nil && !errors.Is(err, domain.ErrNamespaceNotFound) {
		t.Errorf("cleanup: delete namespace %s: %v", id, err)
	}
}

// newNamespace creates a namespace on store and returns its message store.
func newNamespace(t *testing.T, store ports.Store) ports.MessageStore {
	t.Helper()
	ms, _ := newNamespaceWithID(t, store)
	return ms
}

// newNamespaceWithID is newNamespace that also returns the namespace id.
func newNamespaceWithID(t *testing.T, store ports.Store) (ports.MessageStore, string) {
	t.Helper()
	id := createNamespace(t, store)
	ms, err := store.MessageStore(t.Context(), id)
	require.NoError(t, err, "message store of namespace %s", id)
	require.NotNil(t, ms, "message store of namespace %s", id)
	return ms, id
}

// setup returns a fresh store and a message store of a new namespace in it.
func setup(t *testing.T, newStore Factory) (ports.Store, ports.MessageStore) {
	t.Helper()
	store := newStore(t)
	require.NotNil(t, store, "factory returned a nil store")
	return store, newNamespace(t, store)
}

// newMsg returns a message of the given type whose data records n.
func newMsg(typ string, n int) domain.NewMessage {
	return domain.NewMessage{Type: typ, Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, n))}
}

// newMsgWithID is newMsg with a fresh id.
func newMsgWithID(t *testing.T, typ string, n int) domain.NewMessage {
	t.Helper()
	m := newMsg(typ, n)
	id, err := uuid.NewRandom()
	require.NoError(t, err)
	m.ID = id
	return m
}

// write writes one message with any version and returns its result.
func write(t *testing.T, ms ports.MessageStore, stream string, m domain.NewMessage) domain.WriteResult {
	t.Helper()
	r, err := ms.WriteMessage(t.Context(), stream, m, domain.AnyVersion)
	require.NoError(t, err, "write to %s", stream)
	return r
}

// writeN writes n messages of type "Tested" one by one and returns their
// results.
func writeN(t *testing.T, ms ports.MessageStore, stream string, n int) []domain.WriteResult {
	t.Helper()
	out := make([]domain.WriteResult, n)
	for i := range n {
		out[i] = write(t, ms, stream, newMsg("Tested", i))
	}
	return out
}

// allMessages returns every message of the namespace.
func allMessages(t *testing.T, ms ports.MessageStore) []domain.Message {
	t.Helper()
	msgs, err := ms.GetAllMessages(t.Context(), domain.AllOpts{BatchSize: unlimited()})
	require.NoError(t, err, "read all messages")
	return msgs
}

// streamMessages returns every message of a stream.
func streamMessages(t *testing.T, ms ports.MessageStore, stream string) []domain.Message {
	t.Helper()
	msgs, err := ms.GetStreamMessages(t.Context(), stream, domain.GetOpts{BatchSize: unlimited()})
	require.NoError(t, err, "read stream %s", stream)
	return msgs
}

// categoryMessages reads a category with opts.
func categoryMessages(t *testing.T, ms ports.MessageStore, cat string, opts domain.CategoryOpts) []domain.Message {
	t.Helper()
	msgs, err := ms.GetCategoryMessages(t.Context(), cat, opts)
	require.NoError(t, err, "read category %s", cat)
	return msgs
}

// version returns the stream's version.
func version(t *testing.T, ms ports.MessageStore, stream string) int64 {
	t.Helper()
	v, err := ms.GetStreamVersion(t.Context(), stream)
	require.NoError(t, err, "version of %s", stream)
	return v
}

// assertNothingWritten checks that the namespace still holds exactly want
// (by global position), i.e. that a failed call wrote nothing.
func assertNothingWritten(t *testing.T, ms ports.MessageStore, want []domain.Message) {
	t.Helper()
	got := allMessages(t, ms)
	assert.Equal(t, globalPositions(want), globalPositions(got), "a failed write must leave the namespace unchanged")
	assert.Equal(t, ids(want), ids(got), "a failed write must leave the namespace unchanged")
}

// assertEmpty checks that the namespace holds no message.
func assertEmpty(t *testing.T, ms ports.MessageStore) {
	t.Helper()
	assert.Empty(t, allMessages(t, ms), "namespace must hold no message")
}

func positions(msgs []domain.Message) []int64 {
	out := make([]int64, len(msgs))
	for i, m := range msgs {
		out[i] = m.Position
	}
	return out
}

func globalPositions(msgs []domain.Message) []int64 {
	out := make([]int64, len(msgs))
	for i, m := range msgs {
		out[i] = m.GlobalPosition
	}
	return out
}

func resultGlobalPositions(rs []domain.WriteResult) []int64 {
	out := make([]int64, len(rs))
	for i, r := range rs {
		out[i] = r.GlobalPosition
	}
	return out
}

func ids(msgs []domain.Message) []uuid.UUID {
	out := make([]uuid.UUID, len(msgs))
	for i, m := range msgs {
		out[i] = m.ID
	}
	return out
}

func streamNames(msgs []domain.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.StreamName
	}
	return out
}

// seq returns from, from+1, ..., to (inclusive).
func seq(from, to int64) []int64 {
	out := []int64{}
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

// assertStrictlyIncreasing checks that global positions increase.
func assertStrictlyIncreasing(t *testing.T, gps []int64, what string) bool {
	t.Helper()
	for i := 1; i < len(gps); i++ {
		if gps[i] <= gps[i-1] {
			return assert.Failf(t, "global positions must increase",
				"%s: global position %d at index %d follows %d (all: %v)", what, gps[i], i, gps[i-1], gps)
		}
	}
	return true
}

// requireConflict checks that err is a *domain.VersionConflictError with the
// given facts.
func requireConflict(t *testing.T, err error, stream string, expected, actual int64) {
	t.Helper()
	require.ErrorIs(t, err, domain.ErrVersionConflict)
	var vc *domain.VersionConflictError
	require.ErrorAs(t, err, &vc, "a conflict must be a *domain.VersionConflictError")
	assert.Equal(t, stream, vc.StreamName, "conflict stream name")
	assert.Equal(t, expected, vc.Expected, "conflict expected version")
	assert.Equal(t, actual, vc.Actual, "conflict actual version")
}

// assertSameMessage compares two reads of one stored message.
func assertSameMessage(t *testing.T, want, got domain.Message, how string) {
	t.Helper()
	assert.Equal(t, want.ID, got.ID, "%s: id", how)
	assert.Equal(t, want.StreamName, got.StreamName, "%s: stream name", how)
	assert.Equal(t, want.Type, got.Type, "%s: type", how)
	assert.Equal(t, want.Position, got.Position, "%s: position", how)
	assert.Equal(t, want.GlobalPosition, got.GlobalPosition, "%s: global position", how)
	assertJSONEq(t, want.Data, got.Data, "%s: data", how)
	if want.Metadata == nil {
		assert.Nil(t, got.Metadata, "%s: metadata", how)
	} else {
		assertJSONEq(t, want.Metadata, got.Metadata, "%s: metadata", how)
	}
	assert.True(t, want.Time.Truncate(time.Microsecond).Equal(got.Time.Truncate(time.Microsecond)),
		"%s: time: want %s, got %s", how, want.Time, got.Time)
}

func assertJSONEq(t *testing.T, want, got json.RawMessage, msgAndArgs ...any) bool {
	t.Helper()
	if !json.Valid(got) {
		return assert.Fail(t, fmt.Sprintf("not JSON: %q", got), msgAndArgs...)
	}
	return assert.JSONEq(t, string(want), string(got), msgAndArgs...)
}

// decodeNumbers decodes JSON keeping numbers as their text.
func decodeNumbers(t *testing.T, b []byte) map[string]any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	require.NoError(t, d.Decode(&m), "decode %s", b)
	return m
}

// receive waits for a value or the closing of ch, for at most timeout, and
// reports whether the channel is still open. This is a liveness bound, not
// a timing requirement.
func receive(t *testing.T, ch <-chan struct{}, timeout time.Duration, what string) (open bool) {
	t.Helper()
	select {
	case _, ok := <-ch:
		return ok
	case <-time.After(timeout):
		require.FailNowf(t, "timed out", "%s: nothing received within %s", what, timeout)
		return false
	}
}

// ptr returns a pointer to v (for batch sizes).
func ptr(v int64) *int64 { return &v }

// newStoreAndNamespace returns a fresh store, a new namespace's message
// store and the namespace's id.
func newStoreAndNamespace(t *testing.T, newStore Factory) (ports.Store, ports.MessageStore, string) {
	t.Helper()
	store := newStore(t)
	require.NotNil(t, store, "factory returned a nil store")
	ms, id := newNamespaceWithID(t, store)
	return store, ms, id
}
