package contracttest

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/ports"
)

// The adapters' category read scenarios MDB001_3A_T8 and MDB001_5A_T8 are
// these cases.
func categoryCases() []testCase {
	return []testCase{
		{"MDB001_6A_T3_GlobalOrderAcrossStreams", testCategoryGlobalOrder},
		{"MDB001_6A_T3_InclusivePosition", testCategoryInclusivePosition},
		{"MDB001_6A_T3_BatchSize", testCategoryBatchSize},
		{"PagingSeesEveryMessageOnce", testCategoryPaging},
		{"CategoryTypesStaySeparate", testCategoryTypesSeparate},
		{"EmptyCategory", testCategoryEmpty},
		{"InvalidOptions", testCategoryInvalidOptions},
		{"MDB001_6A_T3_Correlation", testCorrelation},
		{"CorrelationWithBatchSizeAndPosition", testCorrelationBatch},
		{"InvalidCorrelation", testInvalidCorrelation},
	}
}

// writeInterleaved writes n messages to each of the streams, round robin,
// and returns the results in write order.
func writeInterleaved(t *testing.T, ms ports.MessageStore, streams []string, n int) ([]string, []domain.WriteResult) {
	t.Helper()
	var names []string
	var rs []domain.WriteResult
	for i := range n {
		for _, s := range streams {
			r, err := ms.WriteMessage(t.Context(), s, newMsg("Tested", i), domain.AnyVersion)
			require.NoError(t, err, "write to %s", s)
			assert.Equal(t, int64(i), r.Position, "position in %s", s)
			names = append(names, s)
			rs = append(rs, r)
		}
	}
	return names, rs
}

func testCategoryGlobalOrder(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	cat := category(t, "acct")
	streams := []string{cat + "-1", cat + "-2", cat + "-3+a", cat + "-4", cat + "-5"}
	write(t, ms, category(t, "other")+"-1", newMsg("Elsewhere", 0))
	names, rs := writeInterleaved(t, ms, streams, 4)

	msgs := categoryMessages(t, ms, cat, domain.CategoryOpts{})
	assert.Equal(t, names, streamNames(msgs), "messages of every stream, in write order")
	assert.Equal(t, resultGlobalPositions(rs), globalPositions(msgs), "in global position order")
	assertStrictlyIncreasing(t, globalPositions(msgs), "category read")
	for i, m := range msgs {
		assert.Equal(t, int64(i/len(streams)), m.Position, "stream position of message %d", i)
		assert.Equal(t, cat, domain.Category(m.StreamName))
	}
}

func testCategoryInclusivePosition(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	ctx := t.Context()
	cat := category(t, "acct")
	write(t, ms, category(t, "other")+"-1", newMsg("Elsewhere", 0))
	_, rs := writeInterleaved(t, ms, []string{cat + "-1", cat + "-2", cat + "-3"}, 3)
	gps := resultGlobalPositions(rs)

	for _, c := range []struct {
		name     string
		position int64
		want     []int64
	}{
		{"Zero", 0, gps},
		{"One", 1, gps},
		{"First", gps[0], gps},
		{"Fourth", gps[3], gps[3:]},
		{"BetweenFourthAndLast", gps[3] + 1, gps[4:]},
		{"Last", gps[len(gps)-1], gps[len(gps)-1:]},
		{"PastTheEnd", gps[len(gps)-1] + 1, []int64{}},
	} {
		msgs, err := ms.GetCategoryMessages(ctx, cat, domain.CategoryOpts{Position: c.position})
		require.NoError(t, err, c.name)
		assert.Equal(t, c.want, append([]int64{}, globalPositions(msgs)...), "%s: from global position %d", c.name, c.position)
	}
}

func testCategoryBatchSize(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	ctx := t.Context()
	cat := category(t, "acct")
	_, rs := writeInterleaved(t, ms, []string{cat + "-1", cat + "-2"}, 3)
	gps := resultGlobalPositions(rs)

	for _, c := range []struct {
		name string
		opts domain.CategoryOpts
		want []int64
	}{
		{"Nil", domain.CategoryOpts{}, gps},
		{"Two", domain.CategoryOpts{BatchSize: ptr(2)}, gps[:2]},
		{"TwoFromThird", domain.CategoryOpts{Position: gps[2], BatchSize: ptr(2)}, gps[2:4]},
		{"Zero", domain.CategoryOpts{BatchSize: ptr(0)}, []int64{}},
		{"Unlimited", domain.CategoryOpts{Position: gps[1], BatchSize: unlimited()}, gps[1:]},
		{"AboveCount", domain.CategoryOpts{BatchSize: ptr(100)}, gps},
	} {
		msgs, err := ms.GetCategoryMessages(ctx, cat, c.opts)
		require.NoError(t, err, c.name)
		assert.Equal(t, c.want, append([]int64{}, globalPositions(msgs)...), c.name)
	}
}

func testCategoryPaging(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	cat := category(t, "acct")
	write(t, ms, category(t, "other")+"-1", newMsg("Elsewhere", 0))
	_, rs := writeInterleaved(t, ms, []string{cat + "-1", cat + "-2", cat + "-3"}, 5)
	write(t, ms, category(t, "other")+"-1", newMsg("Elsewhere", 1))

	var got []int64
	next := int64(0)
	for range len(rs) + 1 {
		msgs := categoryMessages(t, ms, cat, domain.CategoryOpts{Position: next, BatchSize: ptr(4)})
		if len(msgs) == 0 {
			break
		}
		assert.LessOrEqual(t, len(msgs), 4)
		got = append(got, globalPositions(msgs)...)
		next = msgs[len(msgs)-1].GlobalPosition + 1
	}
	assert.Equal(t, resultGlobalPositions(rs), got, "paging from last+1 reads every message once, in order")
}

func testCategoryTypesSeparate(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	cat := category(t, "acct")
	streams := []string{cat + "-1", cat + ":command-1", cat + ":position-1", cat + "x-1", cat + "-2", cat + ":command-2"}
	for i, s := range streams {
		write(t, ms, s, newMsg("Tested", i))
	}
	byCategory := map[string][]string{
		cat:               {cat + "-1", cat + "-2"},
		cat + ":command":  {cat + ":command-1", cat + ":command-2"},
		cat + ":position": {cat + ":position-1"},
		cat + "x":         {cat + "x-1"},
	}
	for c, want := range byCategory {
		msgs := categoryMessages(t, ms, c, domain.CategoryOpts{})
		assert.Equal(t, want, streamNames(msgs), "category %s holds only its own streams", c)
	}
	msgs := categoryMessages(t, ms, cat[:len(cat)-1], domain.CategoryOpts{})
	assert.Empty(t, msgs, "a prefix of a category is another category")
}

func testCategoryEmpty(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	write(t, ms, category(t, "acct")+"-1", newMsg("Tested", 0))
	msgs, err := ms.GetCategoryMessages(t.Context(), category(t, "none"), domain.CategoryOpts{})
	require.NoError(t, err, "reading a category without messages is not an error")
	assert.Empty(t, msgs)
}

func testCategoryInvalidOptions(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	cat := category(t, "acct")
	write(t, ms, cat+"-1", newMsg("Tested", 0))
	ctx := t.Context()

	_, err := ms.GetCategoryMessages(ctx, cat, domain.CategoryOpts{Position: -1})
	assert.ErrorIs(t, err, domain.ErrInvalidPosition)
	assert.ErrorIs(t, err, domain.ErrInvalidOptions)

	_, err = ms.GetCategoryMessages(ctx, cat, domain.CategoryOpts{BatchSize: ptr(-2)})
	assert.ErrorIs(t, err, domain.ErrInvalidBatchSize)
	assert.ErrorIs(t, err, domain.ErrInvalidOptions)

	_, err = ms.GetCategoryMessages(ctx, cat+"-1", domain.CategoryOpts{})
	assert.ErrorIs(t, err, domain.ErrInvalidStreamName, "a stream name is not a category")
}

// correlated returns a message whose metadata names a correlation stream.
func correlated(typ string, n int, correlationStream string) domain.NewMessage {
	m := newMsg(typ, n)
	md, _ := json.Marshal(map[string]any{"correlationStreamName": correlationStream, "n": n})
	m.Metadata = md
	return m
}

func testCorrelation(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	cat := category(t, "acct")
	other := category(t, "other")
	another := "an" + other

	type row struct {
		stream string
		msg    domain.NewMessage
	}
	rows := []row{
		{cat + "-1", correlated("A", 0, other+"-123")},
		{cat + "-2", correlated("A", 1, another+"-123")},
		{cat + "-1", newMsg("A", 2)},
		{cat + "-3", correlated("A", 3, other+":command-123")},
		{cat + "-3", domain.NewMessage{Type: "A", Metadata: []byte(`{"correlationStreamName":null}`)}},
		{cat + "-2", domain.NewMessage{Type: "A", Metadata: []byte(`{"somethingElse":"` + other + `-1"}`)}},
		{cat + "-4", correlated("A", 6, other+"-456+x")},
		{other + "-9", correlated("A", 7, other+"-123")},
		{cat + "-5", correlated("A", 8, other+"x-1")},
		// Message DB compares category(correlationStreamName), and the
		// category of a name without "-" is the name itself.
		{cat + "-5", correlated("A", 9, other)},
		// The name is compared once decoded, and of a key given twice the
		// last counts (as PostgreSQL's jsonb keeps it).
		{cat + "-6", domain.NewMessage{Type: "A", Metadata: []byte(`{"correlationStreamName":"\u006f` + other[1:] + `-5"}`)}},
		{cat + "-6", domain.NewMessage{Type: "A", Metadata: []byte(`{"correlationStreamName":"` + other + `-6","correlationStreamName":"` + another + `-6"}`)}},
	}
	gps := make([]int64, len(rows))
	for i, r := range rows {
		gps[i] = write(t, ms, r.stream, r.msg).GlobalPosition
	}

	for _, c := range []struct {
		correlation string
		want        []int64
	}{
		{other, []int64{gps[0], gps[6], gps[9], gps[10]}},
		{another, []int64{gps[1], gps[11]}},
		{other + ":command", []int64{gps[3]}},
		{other + "x", []int64{gps[8]}},
		{category(t, "none"), []int64{}},
	} {
		msgs := categoryMessages(t, ms, cat, domain.CategoryOpts{Correlation: c.correlation})
		assert.Equal(t, c.want, append([]int64{}, globalPositions(msgs)...), "correlation %s", c.correlation)
		for _, m := range msgs {
			assert.Equal(t, c.correlation, domain.Category(m.CorrelationStreamName()))
		}
	}
}

func testCorrelationBatch(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	cat := category(t, "acct")
	other := category(t, "other")
	var want []int64
	for i := range 12 {
		s := fmt.Sprintf("%s-%d", cat, i%3)
		if i%2 == 0 {
			want = append(want, write(t, ms, s, correlated("A", i, other+"-1")).GlobalPosition)
		} else {
			write(t, ms, s, newMsg("A", i))
		}
	}
	msgs := categoryMessages(t, ms, cat, domain.CategoryOpts{Correlation: other, BatchSize: ptr(2)})
	assert.Equal(t, want[:2], globalPositions(msgs), "the batch size counts matching messages")
	msgs = categoryMessages(t, ms, cat, domain.CategoryOpts{Correlation: other, Position: want[2], BatchSize: ptr(3)})
	assert.Equal(t, want[2:5], globalPositions(msgs), "from an inclusive position")
	msgs = categoryMessages(t, ms, cat, domain.CategoryOpts{Correlation: other, Position: want[2] + 1, BatchSize: unlimited()})
	assert.Equal(t, want[3:], globalPositions(msgs), "from a position between matches")
}

func testInvalidCorrelation(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	cat := category(t, "acct")
	write(t, ms, cat+"-1", correlated("A", 0, "other-1"))

	for _, c := range []string{"other-1", "-", "other-", "x\x00"} {
		_, err := ms.GetCategoryMessages(t.Context(), cat, domain.CategoryOpts{Correlation: c})
		assert.ErrorIs(t, err, domain.ErrInvalidCorrelation, "correlation %q", c)
		assert.ErrorIs(t, err, domain.ErrInvalidOptions, "correlation %q", c)
	}
}
