package contracttest

import (
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messagedb-go/messagedb/domain"
)

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

	changed := m
	changed.Data = []byte(`{"n":99}`)
	again = write(t, ms, stream, changed)
	assert.Equal(t, first, again, "a retry is recognised by id, stream and type, not by data")

	assertNothingWritten(t, ms, before)
	msgs := streamMessages(t, ms, stream)
	require.Len(t, msgs, 2)
	assert.JSONEq(t, `{"n":0}`, string(msgs[0].Data), "the first write's data stays")
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
