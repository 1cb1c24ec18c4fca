package contracttest

import (
	"fmt"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messagedb-go/messagedb/domain"
)

// The adapters' idempotent retry and duplicate id scenarios are these
// cases.
func idCases() []testCase {
	return []testCase{
		{"ZeroIDIsGenerated", testGeneratedID},
		{"GivenIDIsKept", testGivenIDKept},
		{"RetrySameStreamSameTypeIsIdempotent", testIdempotentRetry},
		{"RetrySkipsTheVersionCheck", testRetrySkipsVersionCheck},
		{"SameIDInAnotherStream", testDuplicateIDOtherStream},
		{"SameIDWithAnotherType", testDuplicateIDOtherType},
		{"WriteMessagesRetryOfWholeBatch", testWriteMessagesRetry},
		{"WriteMessageRetryOfBatchMessage", testWriteMessageRetryOfBatchMessage},
		{"WriteMessagesPartlyStoredBatch", testWriteMessagesMixedRetry},
		{"WriteMessagesIDInAnotherStream", testWriteMessagesIDElsewhere},
		{"WriteMessagesRetryWithAnotherType", testWriteMessagesRetryOtherType},
		{"WriteMessagesRetryOfStoredIDs", testWriteMessagesRetryOfStoredIDs},
		{"SameIDWithOtherDataOrMetadata", testDuplicateIDOtherContent},
		{"RetryComparesCanonicalJSON", testRetryComparesCanonicalJSON},
		{"WriteMessagesRetryWithOtherData", testWriteMessagesRetryOtherData},
		{"DuplicateNamesTheStoredMessage", testDuplicateNamesStoredMessage},
	}
}

func testGeneratedID(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	stream := category(t, "acct") + "-1"
	write(t, ms, stream, domain.NewMessage{Type: "A"})
	write(t, ms, stream, domain.NewMessage{ID: uuid.Nil, Type: "A"})

	msgs := streamMessages(t, ms, stream)
	require.Len(t, msgs, 2)
	for _, m := range msgs {
		assert.NotEqual(t, uuid.Nil, m.ID, "a zero id must be replaced by a generated one")
		assert.Equal(t, uuid.Version(7), m.ID.Version(), "generated ids are UUIDv7: %s", m.ID)
	}
	assert.NotEqual(t, msgs[0].ID, msgs[1].ID, "generated ids differ")
}

func testGivenIDKept(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	stream := category(t, "acct") + "-1"
	m := newMsgWithID(t, "A", 0)
	r := write(t, ms, stream, m)

	msgs := streamMessages(t, ms, stream)
	require.Len(t, msgs, 1)
	assert.Equal(t, m.ID, msgs[0].ID)
	assert.Equal(t, r.GlobalPosition, msgs[0].GlobalPosition)
}

func testIdempotentRetry(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	stream := category(t, "acct") + "-1"
	m := newMsgWithID(t, "Deposited", 0)
	first := write(t, ms, stream, m)
	write(t, ms, stream, newMsg("Deposited", 1))
	before := allMessages(t, ms)

	again := write(t, ms, stream, m)
	assert.Equal(t, first, again, "a retry returns the first write's positions")

	assertNothingWritten(t, ms, before)
	msgs := streamMessages(t, ms, stream)
	require.Len(t, msgs, 2)
	assert.JSONEq(t, `{"n":0}`, string(msgs[0].Data), "the first write's data stays")
}

// testDuplicateIDOtherContent writes an id again to its stream with its
// type but other data or metadata: an id names one message, so that is
// not a retry but a duplicate, and the stored message stays.
func testDuplicateIDOtherContent(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	stream := category(t, "acct") + "-1"
	m := newMsgWithID(t, "Opened", 0)
	m.Metadata = []byte(`{"by":"ada"}`)
	first := write(t, ms, stream, m)
	before := allMessages(t, ms)

	for name, change := range map[string]func(*domain.NewMessage){
		"data":            func(n *domain.NewMessage) { n.Data = []byte(`{"n":99}`) },
		"empty data":      func(n *domain.NewMessage) { n.Data = nil },
		"metadata":        func(n *domain.NewMessage) { n.Metadata = []byte(`{"by":"bob"}`) },
		"no metadata":     func(n *domain.NewMessage) { n.Metadata = nil },
		"a number's form": func(n *domain.NewMessage) { n.Data = []byte(`{"n":0.0}`) },
	} {
		other := m
		change(&other)
		_, err := ms.WriteMessage(t.Context(), stream, other, domain.AnyVersion)
		require.ErrorIs(t, err, domain.ErrDuplicateMessageID, "other %s", name)
		var dup *domain.DuplicateMessageIDError
		require.ErrorAs(t, err, &dup, "other %s", name)
		assert.Equal(t, first.Position, dup.StoredPosition, "other %s", name)
		assert.Equal(t, first.GlobalPosition, dup.StoredGlobalPosition, "other %s", name)
		assertNothingWritten(t, ms, before)
	}
	msgs := streamMessages(t, ms, stream)
	require.Len(t, msgs, 1)
	assert.JSONEq(t, `{"n":0}`, string(msgs[0].Data), "the stored message stays")
	assert.JSONEq(t, `{"by":"ada"}`, string(msgs[0].Metadata), "the stored message stays")
}

// testRetryComparesCanonicalJSON retries with the same JSON written
// otherwise (white space, key order, escapes, exponents): the same message,
// so an idempotent retry.
func testRetryComparesCanonicalJSON(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	stream := category(t, "acct") + "-1"
	m := newMsgWithID(t, "Opened", 0)
	m.Data = []byte(`{"owner":"ada","amount":100,"note":"é"}`)
	m.Metadata = []byte(`{"b":1,"a":2}`)
	first := write(t, ms, stream, m)
	before := allMessages(t, ms)

	again := m
	again.Data = []byte("{ \"note\": \"\\u00e9\", \"amount\": 1e2,\n \"owner\": \"ada\" }")
	again.Metadata = []byte(` {"a":2, "b":1} `)
	got, err := ms.WriteMessage(t.Context(), stream, again, domain.ExpectVersion(7))
	require.NoError(t, err, "the same JSON written otherwise is the same message")
	assert.Equal(t, first, got)
	assertNothingWritten(t, ms, before)
}

func testWriteMessagesRetryOtherData(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	stream := category(t, "acct") + "-1"
	batch := []domain.NewMessage{newMsgWithID(t, "A", 0), newMsgWithID(t, "B", 1)}
	first, err := ms.WriteMessages(t.Context(), stream, batch, domain.AnyVersion)
	require.NoError(t, err)
	before := allMessages(t, ms)

	retry := []domain.NewMessage{batch[0], batch[1]}
	retry[1].Data = []byte(`{"n":2}`)
	_, err = ms.WriteMessages(t.Context(), stream, retry, domain.AnyVersion)
	var dup *domain.DuplicateMessageIDError
	require.ErrorAs(t, err, &dup)
	assert.Equal(t, batch[1].ID, dup.ID)
	assert.Equal(t, 1, dup.Index)
	assert.Equal(t, "data", dup.Differs)
	assert.Equal(t, first[1].Position, dup.StoredPosition)
	assert.Equal(t, first[1].GlobalPosition, dup.StoredGlobalPosition)
	assertNothingWritten(t, ms, before)
}

// testDuplicateNamesTheStoredMessage checks the facts a duplicate carries:
// the stored message's stream, type and positions, and the write's.
func testDuplicateNamesStoredMessage(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	cat := category(t, "acct")
	writeN(t, ms, cat+"-1", 2)
	m := newMsgWithID(t, "Opened", 0)
	stored := write(t, ms, cat+"-1", m)

	_, err := ms.WriteMessage(t.Context(), cat+"-2", m, domain.AnyVersion)
	var dup *domain.DuplicateMessageIDError
	require.ErrorAs(t, err, &dup)
	assert.Equal(t, domain.DuplicateMessageIDError{
		ID: m.ID, StreamName: cat + "-2", Type: "Opened", Differs: "stream",
		StoredStreamName: cat + "-1", StoredType: "Opened", StoredPosition: stored.Position, StoredGlobalPosition: stored.GlobalPosition,
	}, *dup)
	assert.Contains(t, err.Error(), fmt.Sprintf("%s-1/%d (global position %d", cat, stored.Position, stored.GlobalPosition))
}

func testRetrySkipsVersionCheck(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	ctx := t.Context()
	stream := category(t, "acct") + "-1"
	m := newMsgWithID(t, "Opened", 0)
	first, err := ms.WriteMessage(ctx, stream, m, domain.ExpectVersion(domain.NoStream))
	require.NoError(t, err)
	writeN(t, ms, stream, 2)
	before := allMessages(t, ms)

	// A client that timed out after the commit retries with the same,
	// now stale, expected version.
	for _, ev := range []domain.ExpectedVersion{domain.ExpectVersion(domain.NoStream), domain.ExpectVersion(0), domain.ExpectVersion(7)} {
		again, err := ms.WriteMessage(ctx, stream, m, ev)
		require.NoError(t, err, "retry with expected version %s", ev)
		assert.Equal(t, first, again, "retry with expected version %s", ev)
	}
	assertNothingWritten(t, ms, before)
}

func testDuplicateIDOtherStream(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	cat := category(t, "acct")
	m := newMsgWithID(t, "Deposited", 0)
	write(t, ms, cat+"-1", m)
	before := allMessages(t, ms)

	for _, other := range []string{cat + "-2", category(t, "other") + "-1", cat + ":command-1"} {
		_, err := ms.WriteMessage(t.Context(), other, m, domain.AnyVersion)
		assert.ErrorIs(t, err, domain.ErrDuplicateMessageID, "same id in %s", other)
		assert.Equal(t, domain.NoStream, version(t, ms, other), "nothing written to %s", other)
	}
	assertNothingWritten(t, ms, before)
}

func testDuplicateIDOtherType(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	stream := category(t, "acct") + "-1"
	m := newMsgWithID(t, "Deposited", 0)
	write(t, ms, stream, m)
	before := allMessages(t, ms)

	other := m
	other.Type = "Withdrawn"
	_, err := ms.WriteMessage(t.Context(), stream, other, domain.AnyVersion)
	assert.ErrorIs(t, err, domain.ErrDuplicateMessageID)
	assertNothingWritten(t, ms, before)
	assert.Equal(t, int64(0), version(t, ms, stream))
}

func testWriteMessagesRetry(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	ctx := t.Context()
	stream := category(t, "acct") + "-1"
	batch := []domain.NewMessage{newMsgWithID(t, "A", 0), newMsgWithID(t, "B", 1), newMsgWithID(t, "C", 2)}
	first, err := ms.WriteMessages(ctx, stream, batch, domain.ExpectVersion(domain.NoStream))
	require.NoError(t, err)
	write(t, ms, stream, newMsg("D", 3))
	before := allMessages(t, ms)

	again, err := ms.WriteMessages(ctx, stream, batch, domain.ExpectVersion(domain.NoStream))
	require.NoError(t, err, "a retried batch is not checked against its stale expected version")
	assert.Equal(t, first, again, "a retried batch returns the stored results")
	assertNothingWritten(t, ms, before)
}

func testWriteMessageRetryOfBatchMessage(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	stream := category(t, "acct") + "-1"
	batch := []domain.NewMessage{newMsgWithID(t, "A", 0), newMsgWithID(t, "B", 1), newMsgWithID(t, "C", 2)}
	first, err := ms.WriteMessages(t.Context(), stream, batch, domain.AnyVersion)
	require.NoError(t, err)
	before := allMessages(t, ms)

	again := write(t, ms, stream, batch[1])
	assert.Equal(t, first[1], again, "retrying one message of a batch returns its stored result")
	assertNothingWritten(t, ms, before)
}

func testWriteMessagesMixedRetry(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	stream := category(t, "acct") + "-1"
	stored := newMsgWithID(t, "A", 0)
	write(t, ms, stream, stored)
	before := allMessages(t, ms)

	fresh := newMsgWithID(t, "B", 1)
	for name, batch := range map[string][]domain.NewMessage{
		"StoredFirst": {stored, fresh},
		"StoredLast":  {fresh, stored},
	} {
		_, err := ms.WriteMessages(t.Context(), stream, batch, domain.AnyVersion)
		assert.ErrorIs(t, err, domain.ErrDuplicateMessageID, name)
		assertNothingWritten(t, ms, before)
	}

	// The fresh id was not stored: it can be written now.
	r := write(t, ms, stream, fresh)
	assert.Equal(t, int64(1), r.Position)
}

func testWriteMessagesIDElsewhere(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	cat := category(t, "acct")
	elsewhere := newMsgWithID(t, "A", 0)
	write(t, ms, cat+"-2", elsewhere)
	before := allMessages(t, ms)

	_, err := ms.WriteMessages(t.Context(), cat+"-1", []domain.NewMessage{newMsgWithID(t, "A", 1), elsewhere}, domain.AnyVersion)
	assert.ErrorIs(t, err, domain.ErrDuplicateMessageID)
	assertNothingWritten(t, ms, before)
	assert.Equal(t, domain.NoStream, version(t, ms, cat+"-1"))
}

func testWriteMessagesRetryOtherType(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	stream := category(t, "acct") + "-1"
	batch := []domain.NewMessage{newMsgWithID(t, "A", 0), newMsgWithID(t, "B", 1)}
	_, err := ms.WriteMessages(t.Context(), stream, batch, domain.AnyVersion)
	require.NoError(t, err)
	before := allMessages(t, ms)

	retry := []domain.NewMessage{batch[0], batch[1]}
	retry[1].Type = "Other"
	_, err = ms.WriteMessages(t.Context(), stream, retry, domain.AnyVersion)
	assert.ErrorIs(t, err, domain.ErrDuplicateMessageID)
	assertNothingWritten(t, ms, before)
}

// testWriteMessagesRetryOfStoredIDs retries batches made of ids stored in
// the stream by other calls, in another order or only some of them: each is
// an idempotent retry whose results follow the batch's order.
func testWriteMessagesRetryOfStoredIDs(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	ctx := t.Context()
	stream := category(t, "acct") + "-1"
	batch := []domain.NewMessage{newMsgWithID(t, "A", 0), newMsgWithID(t, "B", 1), newMsgWithID(t, "C", 2)}
	first, err := ms.WriteMessages(ctx, stream, batch, domain.AnyVersion)
	require.NoError(t, err)
	single := newMsgWithID(t, "D", 3)
	last := write(t, ms, stream, single)
	before := allMessages(t, ms)

	for _, c := range []struct {
		name  string
		batch []domain.NewMessage
		want  []domain.WriteResult
	}{
		{"Reversed", []domain.NewMessage{batch[2], batch[1], batch[0]}, []domain.WriteResult{first[2], first[1], first[0]}},
		{"Part", []domain.NewMessage{batch[1], batch[2]}, first[1:]},
		{"FromTwoWrites", []domain.NewMessage{single, batch[0]}, []domain.WriteResult{last, first[0]}},
	} {
		got, err := ms.WriteMessages(ctx, stream, c.batch, domain.ExpectVersion(domain.NoStream))
		require.NoError(t, err, c.name)
		assert.Equal(t, c.want, got, c.name)
		assertNothingWritten(t, ms, before)
	}
}
