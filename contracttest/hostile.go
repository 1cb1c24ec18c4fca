package contracttest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/ports"
)

// hostileCases feed the stores input meant to break them: ids and names
// built to escape SQL or the data directory, payloads too deep, too large or
// not UTF-8, contexts cancelled mid-write.
func hostileCases() []testCase {
	return []testCase{
		{"NamespaceIDsRefusedNotRewritten", testHostileNamespaceIDs},
		{"NamespaceIDsNeverShareStorage", testNamespaceIDsInjective},
		{"NamespaceOptionsAreData", testHostileNamespaceOptions},
		{"SQLMetacharactersInNamesAreData", testSQLMetacharacterNames},
		{"NoWildcardsInNames", testNoWildcardMatches},
		{"DeepJSON", testDeepJSON},
		{"InvalidUTF8Refused", testInvalidUTF8},
		{"MessageSizeLimit", testMessageSizeLimit},
		{"ContextCancelledBeforeWrite", testCancelledBeforeWrite},
		{"ContextCancelledDuringWrite", testCancelledDuringWrite},
	}
}

// hostileNamespaceIDs returns ids that must be refused, each built around
// the unique valid id u so that a rewritten form of it would show.
func hostileNamespaceIDs(u string) map[string]string {
	return map[string]string{
		"Empty":              "",
		"Whitespace":         " ",
		"LeadingSpace":       " " + u,
		"TrailingNewline":    u + "\n",
		"Tab":                u + "\t",
		"SingleQuote":        u + "'",
		"QuoteInjection":     u + "'; DROP SCHEMA public CASCADE; --",
		"DoubleQuote":        `"` + u + `"`,
		"QuotedIdentEscape":  u + `""; DROP TABLE x; --`,
		"Semicolon":          u + ";",
		"LineComment":        u + "--",
		"BlockComment":       u + "/**/",
		"Backslash":          u + `\`,
		"DotDot":             "../" + u,
		"DotDotAlone":        "..",
		"Absolute":           "/tmp/" + u,
		"InnerDotDot":        u + "/../" + u,
		"Slash":              u + "/x",
		"DotDB":              u + ".db",
		"NUL":                u + "\x00",
		"NULFirst":           "\x00" + u,
		"CyrillicA":          "\u0430" + u[1:], // looks like "a…"
		"CyrillicInside":     u + "\u0430",
		"Fullwidth":          "\uff54" + u[1:], // fullwidth t
		"ZeroWidthSpace":     u + "\u200b",
		"Uppercase":          strings.ToUpper(u),
		"UppercaseLast":      u + "X",
		"Dash":               u + "-x",
		"Percent":            u + "%",
		"Underscore1st":      "_" + u,
		"DigitFirst":         "1" + u,
		"InvalidUTF8":        u + "\xff",
		"Overlong":           u + strings.Repeat("x", domain.MaxNamespaceIDLength+1-len(u)),
		"VeryLong":           u + strings.Repeat("x", 10000),
		"PostgresIdentifier": u + "$1",
	}
}

func testHostileNamespaceIDs(t *testing.T, newStore Factory) {
	store := newStore(t)
	ctx := t.Context()
	u := uniqueNamespaceID(t)

	for why, id := range hostileNamespaceIDs(u) {
		t.Run(why, func(t *testing.T) {
			_, err := store.CreateNamespace(ctx, id, domain.NamespaceOptions{Description: why})
			assert.ErrorIs(t, err, domain.ErrInvalidNamespace, "CreateNamespace(%q)", id)
			if err == nil {
				t.Cleanup(func() { deleteNamespaceAtCleanup(t, store, id) })
			}
			_, err = store.GetNamespace(ctx, id)
			assert.ErrorIs(t, err, domain.ErrInvalidNamespace, "GetNamespace(%q)", id)
			_, err = store.MessageStore(ctx, id)
			assert.ErrorIs(t, err, domain.ErrInvalidNamespace, "MessageStore(%q)", id)
			err = store.DeleteNamespace(ctx, id)
			assert.ErrorIs(t, err, domain.ErrInvalidNamespace, "DeleteNamespace(%q)", id)
		})
	}

	// Nothing was created, under the id or any rewriting of it (u is
	// unique to this test, and no valid namespace was made from it).
	list, err := store.ListNamespaces(ctx)
	require.NoError(t, err)
	for _, ns := range list {
		assert.NotContains(t, strings.ToLower(ns.ID), u, "a refused id left namespace %q", ns.ID)
		assert.NoError(t, domain.ValidateNamespaceID(ns.ID), "listed namespace %q", ns.ID)
	}
	_, err = store.GetNamespace(ctx, u)
	assert.ErrorIs(t, err, domain.ErrNamespaceNotFound, "the plain id %q was not created either", u)
}

// testNamespaceIDsInjective creates ids that a lossy mapping (dropping or
// folding "_", cutting at a length) would merge, and checks each namespace
// holds only its own messages.
func testNamespaceIDsInjective(t *testing.T, newStore Factory) {
	store := newStore(t)
	ctx := t.Context()
	u := uniqueNamespaceID(t)
	long := u + strings.Repeat("z", domain.MaxNamespaceIDLength-len(u)-1)
	ids := []string{u, u + "_", u + "__", u + "_0", u + "0", long + "a", long + "b", long + "_"}
	stream := category(t, "acct") + "-1"

	stores := make([]ports.MessageStore, len(ids))
	for i, id := range ids {
		require.NoError(t, domain.ValidateNamespaceID(id), "test id %q", id)
		_, err := store.CreateNamespace(ctx, id, domain.NamespaceOptions{})
		require.NoError(t, err, "CreateNamespace(%q): distinct valid ids never collide", id)
		t.Cleanup(func() { deleteNamespaceAtCleanup(t, store, id) })
		stores[i], err = store.MessageStore(ctx, id)
		require.NoError(t, err)
		write(t, stores[i], stream, newMsg("Owned", i))
	}
	for i, id := range ids {
		msgs := allMessages(t, stores[i])
		if assert.Len(t, msgs, 1, "namespace %q holds only its own message", id) {
			assert.Equal(t, float64(i), decodeData(t, msgs[0])["n"], "namespace %q", id)
		}
		got, err := store.GetNamespace(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, id, got.ID, "the id is stored as given")
	}
}

// testHostileNamespaceOptions checks that a description is
// stored as given, whatever SQL it looks like, and that text no backend can
// store alike (NUL, invalid UTF-8) is refused before anything is created.
func testHostileNamespaceOptions(t *testing.T, newStore Factory) {
	store := newStore(t)
	ctx := t.Context()

	for why, opts := range map[string]domain.NamespaceOptions{
		"DescriptionNUL":         {Description: "a\x00b"},
		"DescriptionInvalidUTF8": {Description: "a\xffb"},
		"DescriptionOnlyNUL":     {Description: "\x00"},
		"DescriptionCutUTF8":     {Description: "\xc3\x28"},
	} {
		id := uniqueNamespaceID(t)
		_, err := store.CreateNamespace(ctx, id, opts)
		assert.ErrorIs(t, err, domain.ErrInvalidOptions, "%s", why)
		if err == nil {
			t.Cleanup(func() { deleteNamespaceAtCleanup(t, store, id) })
		}
		_, err = store.GetNamespace(ctx, id)
		assert.ErrorIs(t, err, domain.ErrNamespaceNotFound, "%s: nothing created", why)
	}

	id := uniqueNamespaceID(t)
	opts := domain.NamespaceOptions{
		Description: "x'); DROP TABLE namespaces; -- /* \"quoted\" */ \\ % _ $1 $$ ünï😀\n\t",
	}
	_, err := store.CreateNamespace(ctx, id, opts)
	require.NoError(t, err)
	t.Cleanup(func() { deleteNamespaceAtCleanup(t, store, id) })
	got, err := store.GetNamespace(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, opts.Description, got.Description, "description byte for byte")
}

// decodeData decodes a message's data.
func decodeData(t *testing.T, m domain.Message) map[string]any {
	t.Helper()
	var v map[string]any
	require.NoError(t, json.Unmarshal(m.Data, &v), "data %s", m.Data)
	return v
}

// metaCategory returns a unique category name carrying SQL and LIKE
// metacharacters (without "-", which would end the category: "--" becomes
// "//"; the stream's id keeps it).
func metaCategory(t *testing.T, meta string) string {
	return category(t, "c") + strings.ReplaceAll(meta, "-", "/")
}

// sqlMetacharacters are put in categories and ids: quotes, statement
// ends, comments, escapes, LIKE and regular expression wildcards, bind
// parameter markers, and non-ASCII text.
var sqlMetacharacters = map[string]string{
	"SingleQuote": "'",
	"Injection":   "'); DROP TABLE messages; SELECT ('",
	"DoubleQuote": `"`,
	"Semicolon":   ";",
	"LineComment": "--",
	"Block":       "/*x*/",
	"Backslash":   `\`,
	"BackslashQ":  `\'`,
	"Percent":     "%",
	"Underscore":  "_",
	"Dollar":      "$1",
	"DollarQuote": "$$",
	"Question":    "?",
	"Regex":       ".*[a]^$",
	"Braces":      "{S}",
	"Unicode":     "ünï😀中",
	"Newline":     "\n\r\t",
	"Colon":       ":x",
	"Plus":        "+x",
}

func testSQLMetacharacterNames(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	ctx := t.Context()

	for why, meta := range sqlMetacharacters {
		t.Run(why, func(t *testing.T) {
			cat := metaCategory(t, meta)
			stream := cat + "-" + meta + "1" + meta
			typ := "T" + meta
			corr := metaCategory(t, meta)
			m := domain.NewMessage{Type: typ, Data: json.RawMessage(fmt.Sprintf(`{"v":%q}`, meta)),
				Metadata: json.RawMessage(fmt.Sprintf(`{"correlationStreamName":%q}`, corr+"-1"))}
			r, err := ms.WriteMessage(ctx, stream, m, domain.ExpectVersion(domain.NoStream))
			require.NoError(t, err, "write to %q", stream)
			_, err = ms.WriteMessages(ctx, stream, []domain.NewMessage{newMsg(typ, 1), newMsg(typ, 2)}, domain.ExpectVersion(0))
			require.NoError(t, err, "batch to %q", stream)

			check := func(how string, msgs []domain.Message, n int) {
				t.Helper()
				if assert.Len(t, msgs, n, how) {
					for _, got := range msgs {
						assert.Equal(t, stream, got.StreamName, "%s: stream name byte for byte", how)
						assert.Equal(t, typ, got.Type, "%s: type byte for byte", how)
					}
				}
			}
			msgs, err := ms.GetStreamMessages(ctx, stream, domain.GetOpts{})
			require.NoError(t, err)
			check("stream read", msgs, 3)
			if len(msgs) == 3 {
				assert.Equal(t, meta, decodeData(t, msgs[0])["v"], "data byte for byte")
			}
			msgs, err = ms.GetCategoryMessages(ctx, cat, domain.CategoryOpts{})
			require.NoError(t, err)
			check("category read", msgs, 3)
			msgs, err = ms.GetCategoryMessages(ctx, cat, domain.CategoryOpts{Correlation: corr})
			require.NoError(t, err)
			check("correlated category read", msgs, 1)
			msgs, err = ms.GetCategoryMessages(ctx, cat, domain.CategoryOpts{ConsumerGroup: &domain.ConsumerGroup{Member: 0, Size: 1}})
			require.NoError(t, err)
			check("consumer group read", msgs, 3)
			last, err := ms.GetLastStreamMessage(ctx, stream, "")
			require.NoError(t, err)
			check("last message", []domain.Message{last}, 1)
			last, err = ms.GetLastStreamMessage(ctx, stream, typ)
			require.NoError(t, err)
			check("last message of type", []domain.Message{last}, 1)
			assert.Equal(t, int64(2), last.Position)
			v, err := ms.GetStreamVersion(ctx, stream)
			require.NoError(t, err)
			assert.Equal(t, int64(2), v, "version")
			_, err = ms.WriteMessage(ctx, stream, newMsg(typ, 3), domain.ExpectVersion(5))
			requireConflict(t, err, stream, 5, 2)
			all, err := ms.GetAllMessages(ctx, domain.AllOpts{Position: r.GlobalPosition, BatchSize: unlimited()})
			require.NoError(t, err)
			var mine []domain.Message
			for _, m := range all {
				if m.StreamName == stream {
					mine = append(mine, m)
				}
			}
			check("all messages", mine, 3)
		})
	}
}

// testNoWildcardMatches checks that names are compared as they are:
// "%", "_", "*", "." or a regular expression match only themselves.
func testNoWildcardMatches(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	ctx := t.Context()
	base := category(t, "w")
	// One stream per category; the pattern-like names come first, then the
	// names they would match as patterns.
	cats := []string{base + "%", base + "_", base + ".*", base + "*", base + "[x]", base + "x", base + "xy", base + "X"}
	for i, c := range cats {
		write(t, ms, c+"-1", domain.NewMessage{Type: "T" + c[len(base):], Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, i)),
			Metadata: json.RawMessage(fmt.Sprintf(`{"correlationStreamName":%q}`, c+"-9"))})
	}
	for _, c := range cats {
		msgs := categoryMessages(t, ms, c, domain.CategoryOpts{})
		assert.Equal(t, []string{c + "-1"}, streamNames(msgs), "category %q reads only itself", c)
		msgs = streamMessages(t, ms, c+"-1")
		assert.Equal(t, []string{c + "-1"}, streamNames(msgs), "stream %q reads only itself", c+"-1")
		msgs = categoryMessages(t, ms, c, domain.CategoryOpts{Correlation: c})
		assert.Equal(t, []string{c + "-1"}, streamNames(msgs), "correlation %q matches only itself", c)
		_, err := ms.GetLastStreamMessage(ctx, cats[len(cats)-1]+"-1", "T"+c[len(base):])
		if c == cats[len(cats)-1] {
			assert.NoError(t, err)
		} else {
			assert.ErrorIs(t, err, domain.ErrStreamNotFound, "type %q matches only itself", "T"+c[len(base):])
		}
	}
	// A category that is a prefix of others matches none of them.
	assert.Empty(t, categoryMessages(t, ms, base, domain.CategoryOpts{}), "category %q", base)
	assert.Empty(t, streamMessages(t, ms, base+"-1"), "stream %q", base+"-1")
}

// nested returns JSON nested depth levels deep: arrays and objects in turn.
func nested(depth int) json.RawMessage {
	var open, close strings.Builder
	for i := range depth {
		if i%2 == 0 {
			open.WriteString(`{"k":`)
		} else {
			open.WriteString(`[`)
		}
	}
	for i := depth - 1; i >= 0; i-- {
		if i%2 == 0 {
			close.WriteString(`}`)
		} else {
			close.WriteString(`]`)
		}
	}
	return json.RawMessage(open.String() + "1" + close.String())
}

func testDeepJSON(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	ctx := t.Context()
	stream := category(t, "deep") + "-1"

	deepest := nested(domain.MaxJSONDepth)
	m := domain.NewMessage{Type: "Deep", Data: deepest, Metadata: deepest}
	write(t, ms, stream, m)
	msgs := streamMessages(t, ms, stream)
	require.Len(t, msgs, 1)
	assert.Equal(t, string(deepest), string(msgs[0].Data), "data nested %d deep reads back as written", domain.MaxJSONDepth)
	assert.Equal(t, string(deepest), string(msgs[0].Metadata), "metadata nested %d deep reads back as written", domain.MaxJSONDepth)

	for why, data := range map[string]json.RawMessage{
		"OneTooDeep":     nested(domain.MaxJSONDepth + 1),
		"MillionOpen":    json.RawMessage(strings.Repeat("[", 1_000_000)),
		"MillionClosed":  json.RawMessage(strings.Repeat("[", 1_000_000) + strings.Repeat("]", 1_000_000)),
		"DeepInMetadata": nil,
	} {
		msg := domain.NewMessage{Type: "Deep", Data: data}
		if data == nil {
			msg = domain.NewMessage{Type: "Deep", Metadata: nested(domain.MaxJSONDepth + 1)}
		}
		_, err := ms.WriteMessage(ctx, stream, msg, domain.AnyVersion)
		assert.ErrorIs(t, err, domain.ErrInvalidMessage, "%s", why)
		_, err = ms.WriteMessages(ctx, stream, []domain.NewMessage{newMsg("A", 0), msg}, domain.AnyVersion)
		assert.ErrorIs(t, err, domain.ErrInvalidMessage, "%s in a batch", why)
	}
	assert.Len(t, streamMessages(t, ms, stream), 1, "refused writes wrote nothing")
}

func testInvalidUTF8(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	ctx := t.Context()
	stream := category(t, "utf") + "-1"

	for why, m := range map[string]domain.NewMessage{
		"DataString":     {Type: "A", Data: json.RawMessage("{\"a\":\"\xff\"}")},
		"DataKey":        {Type: "A", Data: json.RawMessage("{\"\xc3\x28\":1}")},
		"DataSurrogate":  {Type: "A", Data: json.RawMessage("[\"\xed\xa0\x80\"]")},
		"DataOverlong":   {Type: "A", Data: json.RawMessage("[\"\xc0\xaf\"]")},
		"DataTruncated":  {Type: "A", Data: json.RawMessage("[\"\xe2\x82\"]")},
		"MetadataString": {Type: "A", Metadata: json.RawMessage("{\"a\":\"\xfe\"}")},
		"Type":           {Type: "A\xff"},
		"TypeTruncated":  {Type: "A\xe2\x82"},
	} {
		_, err := ms.WriteMessage(ctx, stream, m, domain.AnyVersion)
		assert.ErrorIs(t, err, domain.ErrInvalidMessage, "%s: WriteMessage", why)
		_, err = ms.WriteMessages(ctx, stream, []domain.NewMessage{newMsg("A", 0), m}, domain.AnyVersion)
		assert.ErrorIs(t, err, domain.ErrInvalidMessage, "%s: WriteMessages", why)
		if imp, ok := ms.(ports.Importer); ok {
			err = imp.ImportMessages(ctx, []domain.Message{{ID: uuid.New(), StreamName: stream, Type: m.Type,
				Position: 0, GlobalPosition: 1, Data: m.Data, Metadata: m.Metadata}})
			assert.ErrorIs(t, err, domain.ErrInvalidMessage, "%s: ImportMessages", why)
		}
	}
	assertEmpty(t, ms)

	write(t, ms, stream, newMsg("A", 0))
	_, err := ms.GetLastStreamMessage(ctx, stream, "A\xff")
	assert.ErrorIs(t, err, domain.ErrInvalidOptions, "a type filter that is not UTF-8")
	_, err = ms.GetLastStreamMessage(ctx, stream, "A\x00")
	assert.ErrorIs(t, err, domain.ErrInvalidOptions, "a type filter with NUL")
	_, err = ms.GetCategoryMessages(ctx, domain.Category(stream), domain.CategoryOpts{Correlation: "c\xff"})
	assert.ErrorIs(t, err, domain.ErrInvalidCorrelation, "a correlation that is not UTF-8")
}

// sizedMessage returns a message whose canonical data is exactly n bytes.
func sizedMessage(typ string, n int) domain.NewMessage {
	return domain.NewMessage{Type: typ, Data: json.RawMessage(`{"s":"` + strings.Repeat("x", n-8) + `"}`)}
}

// testMessageSizeLimit checks the default limit, which the factory's stores
// keep: domain.DefaultMaxMessageSize bytes of canonical data and metadata.
func testMessageSizeLimit(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	ctx := t.Context()
	stream := category(t, "big") + "-1"
	limit := int(domain.DefaultMaxMessageSize)

	atLimit := sizedMessage("Big", limit)
	write(t, ms, stream, atLimit)
	msgs := streamMessages(t, ms, stream)
	require.Len(t, msgs, 1)
	assert.Equal(t, len(atLimit.Data), len(msgs[0].Data), "a message of exactly the limit reads back whole")
	assert.True(t, string(atLimit.Data) == string(msgs[0].Data), "a message of exactly the limit reads back byte for byte")

	over := sizedMessage("Big", limit+1)
	withMeta := sizedMessage("Big", limit-20)
	withMeta.Metadata = json.RawMessage(`{"pad":"` + strings.Repeat("y", 20) + `"}`)
	for why, m := range map[string]domain.NewMessage{"DataOver": over, "DataAndMetadataOver": withMeta} {
		_, err := ms.WriteMessage(ctx, stream, m, domain.AnyVersion)
		assert.ErrorIs(t, err, domain.ErrMessageTooLarge, "%s", why)
		assert.ErrorIs(t, err, domain.ErrInvalidMessage, "%s", why)
		var e *domain.MessageTooLargeError
		if assert.ErrorAs(t, err, &e, "%s", why) {
			assert.Equal(t, domain.DefaultMaxMessageSize, e.Limit)
			assert.Greater(t, e.Size, e.Limit)
		}
		_, err = ms.WriteMessages(ctx, stream, []domain.NewMessage{newMsg("Small", 0), m}, domain.AnyVersion)
		assert.ErrorIs(t, err, domain.ErrMessageTooLarge, "%s in a batch", why)
	}
	if imp, ok := ms.(ports.Importer); ok {
		err := imp.ImportMessages(ctx, []domain.Message{{ID: uuid.New(), StreamName: category(t, "imp") + "-1",
			Type: "Big", Position: 0, GlobalPosition: msgs[0].GlobalPosition + 1, Data: over.Data}})
		assert.ErrorIs(t, err, domain.ErrMessageTooLarge, "ImportMessages")
	}
	assert.Len(t, allMessages(t, ms), 1, "refused writes wrote nothing")
}

// cancelBatch is a batch large enough that a write of it takes a while.
func cancelBatch(n int) []domain.NewMessage {
	msgs := make([]domain.NewMessage, n)
	for i := range msgs {
		msgs[i] = domain.NewMessage{Type: "Batched", Data: json.RawMessage(fmt.Sprintf(`{"i":%d,"pad":%q}`, i, strings.Repeat("p", 200)))}
	}
	return msgs
}

func testCancelledBeforeWrite(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	stream := category(t, "cancel") + "-1"
	ctx, cancel := context.WithCancel(t.Context())
	cancel()

	_, err := ms.WriteMessages(ctx, stream, cancelBatch(500), domain.AnyVersion)
	assert.ErrorIs(t, err, context.Canceled, "WriteMessages with a cancelled context")
	_, err = ms.WriteMessage(ctx, stream, newMsg("A", 0), domain.ExpectVersion(domain.NoStream))
	assert.ErrorIs(t, err, context.Canceled, "WriteMessage with a cancelled context")
	assertEmpty(t, ms)
	assert.Equal(t, domain.NoStream, version(t, ms, stream))
}

// testCancelledDuringWrite cancels writes of a large batch at different
// moments: each write is either whole or absent, and a later write finds
// the stream consistent.
func testCancelledDuringWrite(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	stream := category(t, "cancel") + "-1"
	const batch = 300
	const rounds = 16

	want := int64(0) // messages in the stream
	var written, refused int
	defer func() { t.Logf("%d rounds: %d batches written, %d not", rounds, written, refused) }()
	for round := range rounds {
		ctx, cancel := context.WithCancel(t.Context())
		msgs := cancelBatch(batch)
		// Cancel from another goroutine after a delay that doubles each
		// round (20µs to 650ms), so that rounds cancel before, during and
		// after the write reaches the backend. The delay only spreads the
		// moments; nothing depends on how long the write takes.
		stop := time.AfterFunc(time.Duration(1<<round)*20*time.Microsecond, cancel)
		_, err := ms.WriteMessages(ctx, stream, msgs, domain.AnyVersion)
		stop.Stop()
		cancel()
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("round %d: error %v, want nil or one matching context.Canceled", round, err)
		}

		got := streamMessages(t, ms, stream)
		n := int64(len(got))
		switch {
		case n == want:
			refused++
		case n == want+batch:
			want = n
			written++
		default:
			t.Fatalf("round %d: the stream holds %d messages, want %d or %d: a cancelled write is all or nothing", round, n, want, want+batch)
		}
		if err == nil && n != want {
			t.Fatalf("round %d: the write succeeded but its messages are not there", round)
		}
		assert.Equal(t, seq(0, n-1), positions(got), "round %d: positions stay gapless", round)
		assert.Equal(t, n-1, version(t, ms, stream), "round %d: version", round)
	}
	// The stream still takes writes at its version.
	r, err := ms.WriteMessage(t.Context(), stream, newMsg("After", 0), domain.ExpectVersion(want-1))
	require.NoError(t, err)
	assert.Equal(t, want, r.Position)
}
