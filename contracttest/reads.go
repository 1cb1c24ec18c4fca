package contracttest

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messagedb-go/messagedb/domain"
)

// The adapters' stream read scenarios MDB001_3A_T6, MDB001_3A_T7,
// MDB001_5A_T5, MDB001_5A_T6 and MDB001_5A_T7 are these cases: stored
// fields, positions and batch sizes, JSON kept exact and compact.
func streamReadCases() []testCase {
	return []testCase{
		{"MDB001_6A_T2_InclusivePositionAndBatchSize", testStreamInclusivePosition},
		{"DefaultBatchSizeIs1000", testDefaultBatchSize},
		{"InvalidOptions", testStreamInvalidOptions},
		{"CategoryNameRefused", testStreamReadCategoryName},
		{"StreamThatDoesNotExist", testStreamNotExisting},
		{"OnlyThatStream", testStreamOnlyThatStream},
		{"MDB001_6A_T2_DataRoundTrip", testDataRoundTrip},
		{"NonObjectData", testNonObjectData},
		{"EmptyDataAndMetadata", testEmptyDataAndMetadata},
		{"MDB001_6A_T2_StoredFields", testStoredFields},
		{"StoredInCanonicalForm", testStoredInCanonicalForm},
	}
}

func testStreamInclusivePosition(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	ctx := t.Context()
	stream := category(t, "acct") + "-1"
	rs := writeN(t, ms, stream, 5)

	cases := []struct {
		name string
		opts domain.GetOpts
		want []int64
	}{
		{"ZeroValue", domain.GetOpts{}, seq(0, 4)},
		{"FromPosition2", domain.GetOpts{Position: 2}, seq(2, 4)},
		{"FromLastPosition", domain.GetOpts{Position: 4}, []int64{4}},
		{"PastTheEnd", domain.GetOpts{Position: 5}, nil},
		{"FarPastTheEnd", domain.GetOpts{Position: 1 << 40}, nil},
		{"BatchSize2", domain.GetOpts{Position: 1, BatchSize: ptr(2)}, []int64{1, 2}},
		{"BatchSize1", domain.GetOpts{BatchSize: ptr(1)}, []int64{0}},
		{"BatchSize0", domain.GetOpts{BatchSize: ptr(0)}, nil},
		{"BatchSizeUnlimited", domain.GetOpts{Position: 3, BatchSize: unlimited()}, []int64{3, 4}},
		{"BatchSizeAboveCount", domain.GetOpts{BatchSize: ptr(10)}, seq(0, 4)},
	}
	for _, c := range cases {
		msgs, err := ms.GetStreamMessages(ctx, stream, c.opts)
		require.NoError(t, err, c.name)
		assert.Equal(t, len(c.want), len(msgs), "%s: count", c.name)
		if len(c.want) > 0 {
			assert.Equal(t, c.want, positions(msgs), "%s: positions", c.name)
			for _, m := range msgs {
				assert.Equal(t, rs[m.Position].GlobalPosition, m.GlobalPosition, "%s: global position of %d", c.name, m.Position)
			}
		}
	}
}

func testDefaultBatchSize(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	ctx := t.Context()
	cat := category(t, "acct")
	stream := cat + "-1"

	const n = domain.DefaultBatchSize + 1
	batch := make([]domain.NewMessage, n)
	for i := range batch {
		batch[i] = newMsg("Tested", i)
	}
	rs, err := ms.WriteMessages(ctx, stream, batch, domain.ExpectVersion(domain.NoStream))
	require.NoError(t, err, "write %d messages in one batch", n)
	require.Len(t, rs, int(n))
	assert.Equal(t, n-1, rs[n-1].Position)

	msgs, err := ms.GetStreamMessages(ctx, stream, domain.GetOpts{})
	require.NoError(t, err)
	assert.Equal(t, seq(0, domain.DefaultBatchSize-1), positions(msgs), "stream read, default batch size")

	msgs, err = ms.GetStreamMessages(ctx, stream, domain.GetOpts{Position: domain.DefaultBatchSize})
	require.NoError(t, err)
	assert.Equal(t, []int64{domain.DefaultBatchSize}, positions(msgs), "stream read of the rest")

	msgs, err = ms.GetStreamMessages(ctx, stream, domain.GetOpts{BatchSize: unlimited()})
	require.NoError(t, err)
	require.Len(t, msgs, int(n), "stream read, unlimited")
	for i, m := range msgs {
		if !assert.Equal(t, rs[i].GlobalPosition, m.GlobalPosition, "message %d of a large batch: its result's global position", i) ||
			!assert.JSONEq(t, fmt.Sprintf(`{"n":%d}`, i), string(m.Data), "message %d of a large batch in its place", i) {
			break
		}
	}

	msgs, err = ms.GetCategoryMessages(ctx, cat, domain.CategoryOpts{})
	require.NoError(t, err)
	assert.Equal(t, resultGlobalPositions(rs[:domain.DefaultBatchSize]), globalPositions(msgs), "category read, default batch size")

	msgs, err = ms.GetCategoryMessages(ctx, cat, domain.CategoryOpts{BatchSize: unlimited()})
	require.NoError(t, err)
	assert.Len(t, msgs, int(n), "category read, unlimited")

	msgs, err = ms.GetAllMessages(ctx, domain.AllOpts{})
	require.NoError(t, err)
	assert.Equal(t, resultGlobalPositions(rs[:domain.DefaultBatchSize]), globalPositions(msgs), "all messages, default batch size")

	msgs, err = ms.GetAllMessages(ctx, domain.AllOpts{BatchSize: unlimited()})
	require.NoError(t, err)
	assert.Len(t, msgs, int(n), "all messages, unlimited")
}

func testStreamInvalidOptions(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	ctx := t.Context()
	stream := category(t, "acct") + "-1"
	writeN(t, ms, stream, 2)

	_, err := ms.GetStreamMessages(ctx, stream, domain.GetOpts{Position: -1})
	assert.ErrorIs(t, err, domain.ErrInvalidPosition)
	assert.ErrorIs(t, err, domain.ErrInvalidOptions)

	_, err = ms.GetStreamMessages(ctx, stream, domain.GetOpts{BatchSize: ptr(-2)})
	assert.ErrorIs(t, err, domain.ErrInvalidBatchSize)
	assert.ErrorIs(t, err, domain.ErrInvalidOptions)
}

func testStreamReadCategoryName(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	cat := category(t, "acct")
	writeN(t, ms, cat+"-1", 2)

	msgs, err := ms.GetStreamMessages(t.Context(), cat, domain.GetOpts{})
	assert.ErrorIs(t, err, domain.ErrInvalidStreamName)
	assert.Empty(t, msgs)
}

func testStreamNotExisting(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	cat := category(t, "acct")
	writeN(t, ms, cat+"-1", 2)

	for _, s := range []string{cat + "-2", cat + "-10", category(t, "nothing") + "-1"} {
		msgs, err := ms.GetStreamMessages(t.Context(), s, domain.GetOpts{})
		require.NoError(t, err, "reading a stream that does not exist is not an error")
		assert.Empty(t, msgs, "stream %s", s)
	}
}

func testStreamOnlyThatStream(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	cat := category(t, "acct")
	// Names that share prefixes with the stream read must not leak into it.
	for i, s := range []string{cat + "-1", cat + "-10", cat + "-1+a", cat + ":command-1", cat + "x-1", cat + "-1", cat + "-11"} {
		write(t, ms, s, newMsg("A", i))
	}
	msgs := streamMessages(t, ms, cat+"-1")
	assert.Equal(t, []string{cat + "-1", cat + "-1"}, streamNames(msgs))
	assert.Equal(t, []int64{0, 1}, positions(msgs))

	// Names are compared byte for byte: no case folding, no padding.
	for _, s := range []string{strings.ToUpper(cat) + "-1", cat + "-1 ", " " + cat + "-1"} {
		assert.Empty(t, streamMessages(t, ms, s), "stream %q", s)
		assert.Equal(t, domain.NoStream, version(t, ms, s), "version of %q", s)
	}
	assert.Empty(t, categoryMessages(t, ms, strings.ToUpper(cat), domain.CategoryOpts{}), "category %q", strings.ToUpper(cat))
}

// roundTripData exercises JSON that backends are known to alter: big
// integers, decimals, unicode, escapes, nesting, empty containers.
const roundTripData = `{
	"big": 12345678901234567890,
	"negativeBig": -9223372036854775809,
	"tenth": 0.1,
	"precise": 3.14159265358979323846,
	"int": 42,
	"zero": 0,
	"yes": true,
	"no": false,
	"nothing": null,
	"emoji": "😀🎉 👩‍👩‍👧",
	"cjk": "中文 日本語 한국어",
	"accents": "Zoë Ærøskøbing",
	"escaped": "quote \" backslash \\ slash \/ newline \n tab \t return \r e-acute \u00e9 emoji \ud83d\ude00 control \u0001",
	"html": "<a href=\"x\">&amp;</a>",
	"nested": {"list": [1, "two", {"three": [3.5, false, null]}, []], "empty": {}, "deeper": {"a": {"b": {"c": "d"}}}},
	"emptyString": ""
}`

const roundTripMetadata = `{
	"correlationStreamName": "other-123",
	"causationMessageStreamName": "acct-1",
	"traceID": 12345678901234567890,
	"tags": ["é", "😀", "中"],
	"ratio": 0.1
}`

func testDataRoundTrip(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	cat := category(t, "acct")
	stream := cat + "-1"
	r := write(t, ms, stream, domain.NewMessage{Type: "Tested", Data: []byte(roundTripData), Metadata: []byte(roundTripMetadata)})

	check := func(how string, m domain.Message) {
		t.Helper()
		assert.JSONEq(t, roundTripData, string(m.Data), "%s: data", how)
		assert.JSONEq(t, roundTripMetadata, string(m.Metadata), "%s: metadata", how)

		data := decodeNumbers(t, m.Data)
		assert.Equal(t, json.Number("12345678901234567890"), data["big"], "%s: a large integer keeps its exact text", how)
		assert.Equal(t, json.Number("-9223372036854775809"), data["negativeBig"], "%s: a large negative integer keeps its exact text", how)
		assert.Equal(t, json.Number("0.1"), data["tenth"], "%s: 0.1 keeps its exact text", how)
		assert.Equal(t, json.Number("3.14159265358979323846"), data["precise"], "%s: decimals keep every digit", how)
		assert.Equal(t, json.Number("42"), data["int"], how)
		assert.Equal(t, "😀🎉 👩‍👩‍👧", data["emoji"], how)
		assert.Equal(t, "中文 日本語 한국어", data["cjk"], how)
		assert.Equal(t, "quote \" backslash \\ slash / newline \n tab \t return \r e-acute é emoji 😀 control \x01", data["escaped"], how)

		md := decodeNumbers(t, m.Metadata)
		assert.Equal(t, json.Number("12345678901234567890"), md["traceID"], "%s: metadata large integer", how)
		assert.Equal(t, json.Number("0.1"), md["ratio"], "%s: metadata decimal", how)
		assert.Equal(t, "other-123", m.CorrelationStreamName(), how)
	}

	msgs := streamMessages(t, ms, stream)
	require.Len(t, msgs, 1)
	check("stream read", msgs[0])
	assert.Equal(t, r.GlobalPosition, msgs[0].GlobalPosition)

	cmsgs := categoryMessages(t, ms, cat, domain.CategoryOpts{})
	require.Len(t, cmsgs, 1)
	check("category read", cmsgs[0])

	last, err := ms.GetLastStreamMessage(t.Context(), stream, "")
	require.NoError(t, err)
	check("last message", last)

	amsgs := allMessages(t, ms)
	require.Len(t, amsgs, 1)
	check("all messages", amsgs[0])
}

func testNonObjectData(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	stream := category(t, "acct") + "-1"
	values := []string{`[1,"two",{"three":3}]`, `"text"`, `12345678901234567890`, `true`}
	for i, v := range values {
		write(t, ms, stream, domain.NewMessage{Type: "Tested", Data: []byte(v), Metadata: []byte(values[len(values)-1-i])})
	}
	msgs := streamMessages(t, ms, stream)
	require.Len(t, msgs, len(values))
	for i, m := range msgs {
		assertJSONEq(t, []byte(values[i]), m.Data, "data %d", i)
		assertJSONEq(t, []byte(values[len(values)-1-i]), m.Metadata, "metadata %d", i)
	}
	assert.Equal(t, "12345678901234567890", string(msgs[2].Data), "a top-level large integer keeps its exact text")
}

func testEmptyDataAndMetadata(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	stream := category(t, "acct") + "-1"
	write(t, ms, stream, domain.NewMessage{Type: "NilData"})
	write(t, ms, stream, domain.NewMessage{Type: "EmptyData", Data: []byte{}, Metadata: []byte{}})
	write(t, ms, stream, domain.NewMessage{Type: "BlankData", Data: []byte("  \n"), Metadata: []byte(" ")})
	write(t, ms, stream, domain.NewMessage{Type: "EmptyObjects", Data: []byte(`{}`), Metadata: []byte(`{}`)})

	msgs := streamMessages(t, ms, stream)
	require.Len(t, msgs, 4)
	for _, m := range msgs[:3] {
		assertJSONEq(t, []byte(`{}`), m.Data, "%s: empty data is stored as {}", m.Type)
		assert.Nil(t, m.Metadata, "%s: no metadata reads back as nil", m.Type)
	}
	assertJSONEq(t, []byte(`{}`), msgs[3].Data, "empty object data")
	assertJSONEq(t, []byte(`{}`), msgs[3].Metadata, "empty object metadata is kept, not dropped")

	last, err := ms.GetLastStreamMessage(t.Context(), stream, "NilData")
	require.NoError(t, err)
	assert.Nil(t, last.Metadata, "last message: no metadata reads back as nil")
	cmsgs := categoryMessages(t, ms, domain.Category(stream), domain.CategoryOpts{BatchSize: ptr(1)})
	require.Len(t, cmsgs, 1)
	assert.Nil(t, cmsgs[0].Metadata, "category read: no metadata reads back as nil")
}

func testStoredFields(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	cat := category(t, "acct")
	stream := cat + "-42+x"
	write(t, ms, cat+"-7", newMsg("Other", 0))

	m := newMsgWithID(t, "Deposited", 1)
	before := time.Now()
	r := write(t, ms, stream, m)
	after := time.Now()

	msgs := streamMessages(t, ms, stream)
	require.Len(t, msgs, 1)
	got := msgs[0]
	assert.Equal(t, m.ID, got.ID)
	assert.Equal(t, stream, got.StreamName)
	assert.Equal(t, "Deposited", got.Type)
	assert.Equal(t, int64(0), got.Position)
	assert.Equal(t, r.GlobalPosition, got.GlobalPosition)
	assert.JSONEq(t, `{"n":1}`, string(got.Data))
	assert.Equal(t, time.UTC, got.Time.Location(), "time is in UTC")
	assert.Zero(t, got.Time.Nanosecond()%1000, "time to the microsecond, as PostgreSQL keeps it")
	// A correctness bound (the time is the write's, not zero or another
	// zone's), not a speed requirement.
	assert.WithinRange(t, got.Time, before.Add(-5*time.Second), after.Add(5*time.Second), "time is the time of the write")

	cmsgs := categoryMessages(t, ms, cat, domain.CategoryOpts{Position: r.GlobalPosition})
	require.Len(t, cmsgs, 1)
	assertSameMessage(t, got, cmsgs[0], "category read")
	assert.Equal(t, time.UTC, cmsgs[0].Time.Location(), "category read: time is in UTC")

	last, err := ms.GetLastStreamMessage(t.Context(), stream, "")
	require.NoError(t, err)
	assertSameMessage(t, got, last, "last message")
	assert.Equal(t, time.UTC, last.Time.Location(), "last message: time is in UTC")

	amsgs, err := ms.GetAllMessages(t.Context(), domain.AllOpts{Position: r.GlobalPosition})
	require.NoError(t, err)
	require.Len(t, amsgs, 1)
	assertSameMessage(t, got, amsgs[0], "all messages")
	assert.Equal(t, time.UTC, amsgs[0].Time.Location(), "all messages: time is in UTC")
}

// canonicalData is JSON whose stored form backends would each write
// differently if left to themselves: keys out of order and given twice,
// numbers in exponent form, with trailing zeros or negative zero, escapes
// that may or may not be needed, characters JSON encoders like to escape.
const canonicalData = `{"zz":1,"b":[1.50,-0,-0.0,1e2,1E-2,0.000001e6,1e+2,12345678901234567890e-5],` +
	`"a":"\u00e9\/\u2028<>&\u007f\u001f\b\f\ud83d\ude00","b ":{"y":null,"x":true,"x":false},"aa":{},"zz":2}`

// testStoredInCanonicalForm writes data and metadata that are not in
// canonical form and reads back, through every read, exactly the canonical
// bytes (domain.Limits.Prepare): every backend stores the same text.
func testStoredInCanonicalForm(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	cat := category(t, "acct")
	stream := cat + "-1"
	msg := domain.NewMessage{Type: "Tested", Data: []byte(canonicalData),
		Metadata: []byte(` { "correlationStreamName" : "other-1" , "n":1.0e1 } `)}
	want, err := domain.Limits{}.Prepare(msg)
	require.NoError(t, err)
	write(t, ms, stream, msg)

	reads := map[string][]domain.Message{
		"stream read":   streamMessages(t, ms, stream),
		"category read": categoryMessages(t, ms, cat, domain.CategoryOpts{}),
		"all messages":  allMessages(t, ms),
	}
	last, err := ms.GetLastStreamMessage(t.Context(), stream, "")
	require.NoError(t, err)
	reads["last message"] = []domain.Message{last}
	for how, msgs := range reads {
		require.Len(t, msgs, 1, how)
		assert.Equal(t, string(want.Data), string(msgs[0].Data), "%s: data reads back in canonical form", how)
		assert.Equal(t, string(want.Metadata), string(msgs[0].Metadata), "%s: metadata reads back in canonical form", how)
	}
}
