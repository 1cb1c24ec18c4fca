package contracttest

import (
	"fmt"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/ports"
)

// The adapters' scenarios MDB001_3A_T11 to T13 and MDB001_5A_T11 to T13
// (last message, of a type, stream version) are these cases.
func lastMessageCases() []testCase {
	return []testCase{
		{"LastMessage", testLastMessage},
		{"LastMessageOfType", testLastMessageOfType},
		{"EmptyStreamIsNotFound", testLastMessageNotFound},
		{"CategoryNameRefused", testLastMessageCategoryName},
		{"StreamVersion", testStreamVersion},
		{"CategoryLastGlobalPosition", testLastGlobalPosition},
	}
}

// testLastGlobalPosition reads the global position of categories' last
// messages: 0 for none, each category's own when writes interleave, a
// category type apart from its category, imported messages counted.
func testLastGlobalPosition(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	ctx := t.Context()
	a, b := category(t, "acct"), category(t, "bank")
	last := func(cat string) int64 {
		t.Helper()
		gp, err := ms.GetLastGlobalPosition(ctx, cat)
		require.NoError(t, err, "last global position of %s", cat)
		return gp
	}
	assert.Equal(t, int64(0), last(a), "a category without messages")

	var wantA, wantB int64
	for i := range 6 {
		if i%2 == 0 {
			wantA = write(t, ms, fmt.Sprintf("%s-%d", a, i), newMsg("A", i)).GlobalPosition
		} else {
			rs, err := ms.WriteMessages(ctx, b+"-1", []domain.NewMessage{newMsg("B", i), newMsg("B", i)}, domain.AnyVersion)
			require.NoError(t, err)
			wantB = rs[1].GlobalPosition
		}
		assert.Equal(t, wantA, last(a), "after write %d", i)
		assert.Equal(t, wantB, last(b), "after write %d", i)
	}
	typed := write(t, ms, a+":command-1", newMsg("C", 0)).GlobalPosition
	assert.Equal(t, wantA, last(a), "a category type is another category")
	assert.Equal(t, typed, last(a+":command"))
	assert.Equal(t, int64(0), last(a+"x"), "no prefix matching")

	if imp, ok := ms.(ports.Importer); ok {
		require.NoError(t, imp.ImportMessages(ctx, []domain.Message{
			{ID: uuid.New(), StreamName: b + "-9", Type: "I", GlobalPosition: typed + 100, Data: []byte(`{}`)}}))
		assert.Equal(t, typed+100, last(b), "an imported message")
	}

	_, err := ms.GetLastGlobalPosition(ctx, a+"-1")
	assert.ErrorIs(t, err, domain.ErrInvalidStreamName, "a stream name is not a category")
}

func testLastMessage(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	cat := category(t, "acct")
	stream := cat + "-1"
	write(t, ms, stream, newMsg("Opened", 0))
	write(t, ms, stream, newMsg("Deposited", 1))
	r := write(t, ms, stream, newMsg("Opened", 2))
	// Later messages elsewhere, even in streams with similar names, do not
	// count.
	write(t, ms, cat+"-10", newMsg("Deposited", 3))
	write(t, ms, cat+"-1+a", newMsg("Deposited", 4))

	last, err := ms.GetLastStreamMessage(t.Context(), stream, "")
	require.NoError(t, err)
	assert.Equal(t, int64(2), last.Position)
	assert.Equal(t, r.GlobalPosition, last.GlobalPosition)
	assert.Equal(t, "Opened", last.Type)
	assert.Equal(t, stream, last.StreamName)
	assert.JSONEq(t, `{"n":2}`, string(last.Data))

	write(t, ms, stream, newMsg("Closed", 5))
	last, err = ms.GetLastStreamMessage(t.Context(), stream, "")
	require.NoError(t, err)
	assert.Equal(t, int64(3), last.Position, "last message after one more write")
	assert.Equal(t, "Closed", last.Type)
}

func testLastMessageOfType(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	stream := category(t, "acct") + "-1"
	write(t, ms, stream, newMsg("Opened", 0))
	first := write(t, ms, stream, newMsg("Deposited", 1))
	write(t, ms, stream, newMsg("Withdrawn", 2))
	write(t, ms, stream, newMsg("Withdrawn", 3))

	last, err := ms.GetLastStreamMessage(t.Context(), stream, "Deposited")
	require.NoError(t, err)
	assert.Equal(t, int64(1), last.Position, "the older message of the type, though a newer one of another type exists")
	assert.Equal(t, first.GlobalPosition, last.GlobalPosition)
	assert.Equal(t, "Deposited", last.Type)

	last, err = ms.GetLastStreamMessage(t.Context(), stream, "Withdrawn")
	require.NoError(t, err)
	assert.Equal(t, int64(3), last.Position)

	last, err = ms.GetLastStreamMessage(t.Context(), stream, "Opened")
	require.NoError(t, err)
	assert.Equal(t, int64(0), last.Position)

	_, err = ms.GetLastStreamMessage(t.Context(), stream, "Closed")
	assert.ErrorIs(t, err, domain.ErrStreamNotFound, "no message of that type")
	_, err = ms.GetLastStreamMessage(t.Context(), stream, "deposited")
	assert.ErrorIs(t, err, domain.ErrStreamNotFound, "types are case sensitive")
}

func testLastMessageNotFound(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	cat := category(t, "acct")
	write(t, ms, cat+"-1", newMsg("Opened", 0))

	for _, typ := range []string{"", "Opened"} {
		_, err := ms.GetLastStreamMessage(t.Context(), cat+"-2", typ)
		assert.ErrorIs(t, err, domain.ErrStreamNotFound, "stream without messages, type %q", typ)
		_, err = ms.GetLastStreamMessage(t.Context(), category(t, "none")+"-1", typ)
		assert.ErrorIs(t, err, domain.ErrStreamNotFound, "category without messages, type %q", typ)
	}
}

func testLastMessageCategoryName(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	cat := category(t, "acct")
	write(t, ms, cat+"-1", newMsg("Opened", 0))

	_, err := ms.GetLastStreamMessage(t.Context(), cat, "")
	assert.ErrorIs(t, err, domain.ErrInvalidStreamName)
	_, err = ms.GetLastStreamMessage(t.Context(), cat, "Opened")
	assert.ErrorIs(t, err, domain.ErrInvalidStreamName)
}

func testStreamVersion(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	cat := category(t, "acct")
	stream := cat + "-1"

	assert.Equal(t, domain.NoStream, version(t, ms, stream), "version of a stream without messages")
	for i := range int64(3) {
		write(t, ms, stream, newMsg("Tested", int(i)))
		assert.Equal(t, i, version(t, ms, stream), "version after %d messages", i+1)
	}
	_, err := ms.WriteMessages(t.Context(), stream, []domain.NewMessage{newMsg("A", 0), newMsg("B", 1)}, domain.AnyVersion)
	require.NoError(t, err)
	assert.Equal(t, int64(4), version(t, ms, stream), "version after a batch")

	write(t, ms, cat+"-1+a", newMsg("Tested", 0))
	write(t, ms, cat+"-10", newMsg("Tested", 0))
	assert.Equal(t, int64(4), version(t, ms, stream), "other streams do not change the version")
	assert.Equal(t, domain.NoStream, version(t, ms, cat+"-2"))

	_, err = ms.GetStreamVersion(t.Context(), cat)
	assert.ErrorIs(t, err, domain.ErrInvalidStreamName, "a category has no version")
}
