package contracttest

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messagedb-go/messagedb/domain"
)

// The adapters' write scenarios MDB001_3A_T2 to MDB001_3A_T5 and
// MDB001_5A_T2 to MDB001_5A_T4 are these cases (and, for writers racing on
// one expected version, Concurrency/MDB001_6A_T7).
func writeCases() []testCase {
	return []testCase{
		{"MDB001_6A_T2_PositionsStartAtZeroWithoutGaps", testPositionsGapless},
		{"GlobalPositionsIncreaseAcrossStreams", testGlobalPositionsAcrossStreams},
		{"MDB001_6A_T5_ExpectedVersion", testExpectedVersion},
		{"MDB001_6A_T5_NoStreamOnExistingStream", testNoStreamOnExistingStream},
		{"ConflictWritesNothing", testConflictWritesNothing},
		{"InvalidExpectedVersion", testInvalidExpectedVersion},
		{"WriteMessagesConsecutivePositions", testWriteMessagesConsecutive},
		{"WriteMessagesConflictWritesNone", testWriteMessagesConflict},
		{"WriteMessagesInvalidMessageWritesNone", testWriteMessagesInvalidMessage},
		{"WriteMessagesEmptyBatch", testWriteMessagesEmptyBatch},
		{"WriteMessagesSameIDTwice", testWriteMessagesSameIDTwice},
	}
}

func testPositionsGapless(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	stream := category(t, "acct") + "-1"

	rs := writeN(t, ms, stream, 5)
	for i, r := range rs {
		assert.Equal(t, int64(i), r.Position, "position of write %d", i)
	}
	assert.Equal(t, int64(1), rs[0].GlobalPosition, "the first message of a new namespace has global position 1")
	assertStrictlyIncreasing(t, resultGlobalPositions(rs), "write results")

	msgs := streamMessages(t, ms, stream)
	assert.Equal(t, seq(0, 4), positions(msgs), "positions read back")
	assert.Equal(t, resultGlobalPositions(rs), globalPositions(msgs), "global positions read back")
	assert.Equal(t, int64(4), version(t, ms, stream))
}

func testGlobalPositionsAcrossStreams(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	a := category(t, "acct")
	b := category(t, "other")
	streams := []string{a + "-1", b + "-1", a + "-2", a + "-1", b + "-2", a + ":command-1", b + "-1"}

	var gps []int64
	next := map[string]int64{}
	for i, s := range streams {
		r := write(t, ms, s, newMsg("Tested", i))
		assert.Equal(t, next[s], r.Position, "position in %s", s)
		next[s]++
		gps = append(gps, r.GlobalPosition)
	}
	assert.Equal(t, int64(1), gps[0], "global positions start at 1 in a new namespace")
	assertStrictlyIncreasing(t, gps, "writes to several streams")

	msgs := allMessages(t, ms)
	assert.Equal(t, gps, globalPositions(msgs), "all messages in global order")
	assert.Equal(t, streams, streamNames(msgs), "all messages in write order")
}

func testExpectedVersion(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	ctx := t.Context()
	stream := category(t, "acct") + "-1"

	r, err := ms.WriteMessage(ctx, stream, newMsg("Opened", 0), domain.ExpectVersion(domain.NoStream))
	require.NoError(t, err, "NoStream on a new stream")
	assert.Equal(t, int64(0), r.Position)

	r, err = ms.WriteMessage(ctx, stream, newMsg("Deposited", 1), domain.ExpectVersion(0))
	require.NoError(t, err, "expected version 0 after one message")
	assert.Equal(t, int64(1), r.Position)

	_, err = ms.WriteMessage(ctx, stream, newMsg("Deposited", 2), domain.ExpectVersion(0))
	requireConflict(t, err, stream, 0, 1)

	_, err = ms.WriteMessage(ctx, stream, newMsg("Deposited", 2), domain.ExpectVersion(5))
	requireConflict(t, err, stream, 5, 1)

	r, err = ms.WriteMessage(ctx, stream, newMsg("Deposited", 2), domain.ExpectVersion(1))
	require.NoError(t, err, "expected version 1 after two messages")
	assert.Equal(t, int64(2), r.Position)

	r, err = ms.WriteMessage(ctx, stream, newMsg("Deposited", 3), domain.AnyVersion)
	require.NoError(t, err, "any version")
	assert.Equal(t, int64(3), r.Position)

	other := category(t, "acct") + "-2"
	_, err = ms.WriteMessage(ctx, other, newMsg("Deposited", 0), domain.ExpectVersion(3))
	requireConflict(t, err, other, 3, domain.NoStream)
	_, err = ms.WriteMessage(ctx, other, newMsg("Deposited", 0), domain.ExpectVersion(0))
	requireConflict(t, err, other, 0, domain.NoStream)
	_, err = ms.WriteMessages(ctx, other, []domain.NewMessage{newMsg("Deposited", 0), newMsg("Deposited", 1)}, domain.ExpectVersion(0))
	requireConflict(t, err, other, 0, domain.NoStream)

	assert.Equal(t, seq(0, 3), positions(streamMessages(t, ms, stream)))
	assert.Equal(t, domain.NoStream, version(t, ms, other), "a conflicting write must not create the stream")
	assert.Empty(t, streamMessages(t, ms, other))
}

func testNoStreamOnExistingStream(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	stream := category(t, "acct") + "-1"
	write(t, ms, stream, newMsg("Opened", 0))

	_, err := ms.WriteMessage(t.Context(), stream, newMsg("Opened", 1), domain.ExpectVersion(domain.NoStream))
	requireConflict(t, err, stream, domain.NoStream, 0)

	_, err = ms.WriteMessages(t.Context(), stream, []domain.NewMessage{newMsg("Opened", 1)}, domain.ExpectVersion(domain.NoStream))
	requireConflict(t, err, stream, domain.NoStream, 0)

	assert.Equal(t, int64(0), version(t, ms, stream))
}

func testConflictWritesNothing(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	stream := category(t, "acct") + "-1"
	writeN(t, ms, stream, 3)
	before := allMessages(t, ms)

	m := newMsgWithID(t, "Conflicting", 9)
	_, err := ms.WriteMessage(t.Context(), stream, m, domain.ExpectVersion(1))
	requireConflict(t, err, stream, 1, 2)

	assert.Equal(t, int64(2), version(t, ms, stream), "version after a conflict")
	assert.Equal(t, seq(0, 2), positions(streamMessages(t, ms, stream)), "stream after a conflict")
	assertNothingWritten(t, ms, before)

	// The id of the refused message is free: writing it now stores it.
	r, err := ms.WriteMessage(t.Context(), stream, m, domain.ExpectVersion(2))
	require.NoError(t, err, "the refused message's id must not have been stored")
	assert.Equal(t, int64(3), r.Position)
}

func testInvalidExpectedVersion(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	stream := category(t, "acct") + "-1"

	_, err := ms.WriteMessage(t.Context(), stream, newMsg("Opened", 0), domain.ExpectVersion(-2))
	assert.ErrorIs(t, err, domain.ErrInvalidExpectedVersion)
	assert.ErrorIs(t, err, domain.ErrInvalidOptions)

	_, err = ms.WriteMessages(t.Context(), stream, []domain.NewMessage{newMsg("Opened", 0)}, domain.ExpectVersion(-2))
	assert.ErrorIs(t, err, domain.ErrInvalidExpectedVersion)
	assert.ErrorIs(t, err, domain.ErrInvalidOptions)

	assertEmpty(t, ms)
}

func testWriteMessagesConsecutive(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	ctx := t.Context()
	cat := category(t, "acct")
	stream := cat + "-1"
	write(t, ms, cat+"-2", newMsg("Other", 0))

	batch := []domain.NewMessage{newMsg("A", 0), newMsg("B", 1), newMsg("C", 2)}
	rs, err := ms.WriteMessages(ctx, stream, batch, domain.ExpectVersion(domain.NoStream))
	require.NoError(t, err)
	require.Len(t, rs, 3, "one result per message")
	for i, r := range rs {
		assert.Equal(t, int64(i), r.Position, "position of message %d", i)
	}
	assertStrictlyIncreasing(t, resultGlobalPositions(rs), "batch")

	rs2, err := ms.WriteMessages(ctx, stream, []domain.NewMessage{newMsg("D", 3), newMsg("E", 4)}, domain.ExpectVersion(2))
	require.NoError(t, err, "expected version is checked before the first message")
	require.Len(t, rs2, 2, "one result per message")
	assert.Equal(t, int64(3), rs2[0].Position)
	assert.Equal(t, int64(4), rs2[1].Position)
	assert.Greater(t, rs2[0].GlobalPosition, rs[2].GlobalPosition)
	assert.Greater(t, rs2[1].GlobalPosition, rs2[0].GlobalPosition)

	msgs := streamMessages(t, ms, stream)
	require.Len(t, msgs, 5)
	for i, m := range msgs {
		assert.Equal(t, string(rune('A'+i)), m.Type, "message %d in batch order", i)
		assert.JSONEq(t, fmt.Sprintf(`{"n":%d}`, i), string(m.Data), "data of message %d", i)
	}
	assert.Equal(t, append(resultGlobalPositions(rs), resultGlobalPositions(rs2)...), globalPositions(msgs))
}

func testWriteMessagesConflict(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	stream := category(t, "acct") + "-1"
	writeN(t, ms, stream, 2)
	before := allMessages(t, ms)

	batch := []domain.NewMessage{newMsgWithID(t, "A", 0), newMsgWithID(t, "B", 1)}
	rs, err := ms.WriteMessages(t.Context(), stream, batch, domain.ExpectVersion(0))
	requireConflict(t, err, stream, 0, 1)
	assert.Empty(t, rs)
	assertNothingWritten(t, ms, before)
	assert.Equal(t, int64(1), version(t, ms, stream))
}

func testWriteMessagesInvalidMessage(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	stream := category(t, "acct") + "-1"
	writeN(t, ms, stream, 1)
	before := allMessages(t, ms)

	bad := map[string]domain.NewMessage{
		"EmptyType":       {Type: "", Data: []byte(`{}`)},
		"DataNotJSON":     {Type: "Bad", Data: []byte(`{"a":`)},
		"MetadataNotJSON": {Type: "Bad", Data: []byte(`{}`), Metadata: []byte(`not json`)},
	}
	for name, m := range bad {
		t.Run(name, func(t *testing.T) {
			batch := []domain.NewMessage{newMsgWithID(t, "Good", 0), m, newMsgWithID(t, "Good", 2)}
			_, err := ms.WriteMessages(t.Context(), stream, batch, domain.AnyVersion)
			assert.ErrorIs(t, err, domain.ErrInvalidMessage)
			assertNothingWritten(t, ms, before)
		})
	}
	assert.Equal(t, int64(0), version(t, ms, stream))
}

func testWriteMessagesEmptyBatch(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	stream := category(t, "acct") + "-1"

	_, err := ms.WriteMessages(t.Context(), stream, nil, domain.AnyVersion)
	assert.ErrorIs(t, err, domain.ErrInvalidMessage, "nil batch")
	_, err = ms.WriteMessages(t.Context(), stream, []domain.NewMessage{}, domain.ExpectVersion(domain.NoStream))
	assert.ErrorIs(t, err, domain.ErrInvalidMessage, "empty batch")
	assertEmpty(t, ms)
}

func testWriteMessagesSameIDTwice(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	stream := category(t, "acct") + "-1"

	m := newMsgWithID(t, "A", 0)
	twin := m
	twin.Data = []byte(`{"n":1}`)
	_, err := ms.WriteMessages(t.Context(), stream, []domain.NewMessage{m, newMsgWithID(t, "B", 1), twin}, domain.AnyVersion)
	assert.ErrorIs(t, err, domain.ErrInvalidMessage)
	assertEmpty(t, ms)
	assert.Equal(t, domain.NoStream, version(t, ms, stream))
}
