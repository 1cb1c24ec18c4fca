package contracttest

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/messagedb-go/messagedb/domain"
)

func invalidInputCases() []testCase {
	return []testCase{
		{"InvalidStreamNames", testInvalidStreamNames},
		{"InvalidMessages", testInvalidMessages},
		{"InvalidCategoryNames", testInvalidCategoryNames},
	}
}

// badStreamNames are names that are not stream names, with why.
func badStreamNames(cat string) map[string]string {
	return map[string]string{
		"Empty":            "",
		"Category":         cat,
		"CategoryWithType": cat + ":command",
		"EmptyCategory":    "-1",
		"EmptyID":          cat + "-",
		"InvalidUTF8":      cat + "-\xff\xfe",
		"NUL":              cat + "-1\x00",
	}
}

func testInvalidStreamNames(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	cat := category(t, "acct")
	ctx := t.Context()

	for why, name := range badStreamNames(cat) {
		t.Run(why, func(t *testing.T) {
			_, err := ms.WriteMessage(ctx, name, newMsg("A", 0), domain.AnyVersion)
			assert.ErrorIs(t, err, domain.ErrInvalidStreamName, "WriteMessage(%q)", name)
			_, err = ms.WriteMessage(ctx, name, newMsg("A", 0), domain.ExpectVersion(domain.NoStream))
			assert.ErrorIs(t, err, domain.ErrInvalidStreamName, "WriteMessage(%q, NoStream)", name)
			_, err = ms.WriteMessages(ctx, name, []domain.NewMessage{newMsg("A", 0), newMsg("B", 1)}, domain.AnyVersion)
			assert.ErrorIs(t, err, domain.ErrInvalidStreamName, "WriteMessages(%q)", name)
			assertEmpty(t, ms)

			_, err = ms.GetStreamMessages(ctx, name, domain.GetOpts{})
			assert.ErrorIs(t, err, domain.ErrInvalidStreamName, "GetStreamMessages(%q)", name)
			_, err = ms.GetLastStreamMessage(ctx, name, "")
			assert.ErrorIs(t, err, domain.ErrInvalidStreamName, "GetLastStreamMessage(%q)", name)
			_, err = ms.GetStreamVersion(ctx, name)
			assert.ErrorIs(t, err, domain.ErrInvalidStreamName, "GetStreamVersion(%q)", name)
		})
	}
}

func testInvalidMessages(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	stream := category(t, "acct") + "-1"
	ctx := t.Context()

	bad := map[string]domain.NewMessage{
		"EmptyType":           {Data: []byte(`{"a":1}`)},
		"DataNotJSON":         {Type: "A", Data: []byte(`not json`)},
		"DataTruncated":       {Type: "A", Data: []byte(`{"a":`)},
		"DataTwoValues":       {Type: "A", Data: []byte(`{} {}`)},
		"MetadataNotJSON":     {Type: "A", Data: []byte(`{}`), Metadata: []byte(`{a:1}`)},
		"MetadataTruncated":   {Type: "A", Metadata: []byte(`[1,`)},
		"DataWithEscapedNUL":  {Type: "A", Data: []byte(`{"a":"\u0000"}`)},
		"TypeWithInvalidUTF8": {Type: "A\xff", Data: []byte(`{}`)},
	}
	for why, m := range bad {
		t.Run(why, func(t *testing.T) {
			_, err := ms.WriteMessage(ctx, stream, m, domain.AnyVersion)
			assert.ErrorIs(t, err, domain.ErrInvalidMessage, "WriteMessage")
			_, err = ms.WriteMessage(ctx, stream, m, domain.ExpectVersion(domain.NoStream))
			assert.ErrorIs(t, err, domain.ErrInvalidMessage, "WriteMessage with NoStream")
			_, err = ms.WriteMessages(ctx, stream, []domain.NewMessage{m}, domain.AnyVersion)
			assert.ErrorIs(t, err, domain.ErrInvalidMessage, "WriteMessages")
			assertEmpty(t, ms)
		})
	}
	assert.Equal(t, domain.NoStream, version(t, ms, stream))
}

func testInvalidCategoryNames(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	cat := category(t, "acct")
	write(t, ms, cat+"-1", newMsg("A", 0))
	ctx := t.Context()

	for why, name := range map[string]string{
		"Empty":       "",
		"StreamName":  cat + "-1",
		"OnlyDash":    "-",
		"InvalidUTF8": cat + "\xff",
		"NUL":         cat + "\x00",
	} {
		_, err := ms.GetCategoryMessages(ctx, name, domain.CategoryOpts{})
		assert.ErrorIs(t, err, domain.ErrInvalidStreamName, "%s: GetCategoryMessages(%q)", why, name)
	}
}
