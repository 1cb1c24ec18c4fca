package contracttest

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/ports"
)

func importerCases() []testCase {
	return []testCase{
		{"CopyKeepsEverything", testImportCopy},
		{"InChunks", testImportInChunks},
		{"PositionNotVersionPlusOne", testImportBadPosition},
		{"GlobalPositionNotAboveMax", testImportBadGlobalPosition},
		{"AllOrNothing", testImportAllOrNothing},
		{"WritesContinueAfterImport", testImportThenWrite},
		{"TimesInUTCToTheMicrosecond", testImportTimes},
		{"StoresCanonicalForm", testImportCanonicalForm},
		{"InvalidMessages", testImportInvalidMessages},
	}
}

// importer returns the namespace's message store as a ports.Importer, for
// the cases that run on a store that declares it.
func importer(t *testing.T, ms ports.MessageStore) ports.Importer {
	t.Helper()
	imp, ok := ms.(ports.Importer)
	require.Truef(t, ok, "%T does not implement ports.Importer", ms)
	return imp
}

// importSource writes messages to a namespace of store and returns them as
// read back, with times moved to a fixed past (so that an import that
// re-stamps them shows) and without the messages of one stream (so that
// their global positions leave gaps).
func importSource(t *testing.T, store ports.Store) (cat string, msgs []domain.Message) {
	t.Helper()
	src := newNamespace(t, store)
	cat = category(t, "acct")
	skipped := cat + "-2"
	streams := []string{cat + "-1", skipped, cat + ":command-1", cat + "-3+x", skipped}
	for i := range 3 {
		for _, s := range streams {
			m := newMsg("Tested", i)
			if s == cat+"-3+x" {
				m = domain.NewMessage{Type: "Rich", Data: []byte(roundTripData), Metadata: []byte(roundTripMetadata)}
			}
			write(t, src, s, m)
		}
	}
	base := time.Date(2021, 3, 4, 5, 6, 7, 123456000, time.UTC)
	for i, m := range allMessages(t, src) {
		if m.StreamName == skipped {
			continue
		}
		m.Time = base.Add(time.Duration(i) * 1001 * time.Microsecond)
		msgs = append(msgs, m)
	}
	return cat, msgs
}

func testImportCopy(t *testing.T, newStore Factory) {
	store := newStore(t)
	cat, src := importSource(t, store)
	dst := newNamespace(t, store)

	require.NoError(t, importer(t, dst).ImportMessages(t.Context(), src))

	got := allMessages(t, dst)
	require.Len(t, got, len(src))
	for i := range src {
		assertSameMessage(t, src[i], got[i], "imported message")
		assert.Equal(t, time.UTC, got[i].Time.Location(), "imported time is in UTC")
	}
	assert.Equal(t, globalPositions(src), globalPositions(got), "global positions are kept, gaps included")
	assert.Equal(t, int64(2), version(t, dst, cat+"-1"))
	assert.Equal(t, domain.NoStream, version(t, dst, cat+"-2"), "the skipped stream was not imported")

	// Every read path serves imported messages.
	cmsgs := categoryMessages(t, dst, cat, domain.CategoryOpts{})
	assert.Len(t, cmsgs, 6)
	last, err := dst.GetLastStreamMessage(t.Context(), cat+"-3+x", "Rich")
	require.NoError(t, err)
	assert.Equal(t, int64(2), last.Position)
	assert.JSONEq(t, roundTripData, string(last.Data))
	assert.Equal(t, "12345678901234567890", string(decodeNumbers(t, last.Data)["big"].(json.Number)))
	g := &domain.ConsumerGroup{Member: 0, Size: 1}
	assert.Len(t, categoryMessages(t, dst, cat, domain.CategoryOpts{ConsumerGroup: g}), 6, "imported messages are in consumer groups")
	assert.Len(t, categoryMessages(t, dst, cat, domain.CategoryOpts{Correlation: "other"}), 3, "imported metadata is filtered by correlation")
}

func testImportInChunks(t *testing.T, newStore Factory) {
	store := newStore(t)
	_, src := importSource(t, store)
	dst := newNamespace(t, store)
	imp := importer(t, dst)

	for i := 0; i < len(src); i += 4 {
		require.NoError(t, imp.ImportMessages(t.Context(), src[i:min(i+4, len(src))]), "chunk from %d into a partly imported namespace", i)
	}
	got := allMessages(t, dst)
	require.Len(t, got, len(src))
	for i := range src {
		assertSameMessage(t, src[i], got[i], "imported message")
	}
}

func testImportBadPosition(t *testing.T, newStore Factory) {
	store := newStore(t)
	cat, src := importSource(t, store)
	dst := newNamespace(t, store)
	imp := importer(t, dst)
	require.NoError(t, imp.ImportMessages(t.Context(), src[:1]))
	first := src[0] // position 0 of cat-1

	next := func(m domain.Message, position, gp int64) domain.Message {
		m.ID = newMsgWithID(t, "X", 0).ID
		m.Position, m.GlobalPosition = position, gp
		return m
	}
	for name, m := range map[string]domain.Message{
		"SamePositionAgain":  next(first, 0, 100),
		"SkipsAPosition":     next(first, 2, 100),
		"NewStreamNotAtZero": next(domain.Message{StreamName: cat + "-9", Type: "X", Data: []byte(`{}`), Time: first.Time}, 1, 100),
	} {
		err := imp.ImportMessages(t.Context(), []domain.Message{m})
		assert.ErrorIs(t, err, domain.ErrVersionConflict, name)
		assertNothingWritten(t, dst, src[:1])
	}
	// Within one call, positions follow each other too.
	err := imp.ImportMessages(t.Context(), []domain.Message{next(first, 1, 100), next(first, 1, 101)})
	assert.ErrorIs(t, err, domain.ErrVersionConflict, "the same position twice in one call")
	assertNothingWritten(t, dst, src[:1])
}

func testImportBadGlobalPosition(t *testing.T, newStore Factory) {
	store := newStore(t)
	cat, src := importSource(t, store)
	dst := newNamespace(t, store)
	imp := importer(t, dst)
	require.NoError(t, imp.ImportMessages(t.Context(), src[:3]))
	max := src[2].GlobalPosition

	fresh := func(stream string, gp int64) domain.Message {
		return domain.Message{ID: newMsgWithID(t, "X", 0).ID, StreamName: stream, Type: "X", Data: []byte(`{}`),
			Position: 0, GlobalPosition: gp, Time: src[0].Time}
	}
	for name, gp := range map[string]int64{"EqualToMax": max, "BelowMax": max - 1, "Zero": 0} {
		err := imp.ImportMessages(t.Context(), []domain.Message{fresh(cat+"-9", gp)})
		assert.ErrorIs(t, err, domain.ErrInvalidMessage, name)
		assertNothingWritten(t, dst, src[:3])
	}
	err := imp.ImportMessages(t.Context(), []domain.Message{fresh(cat+"-9", max+5), fresh(cat+"-8", max+2)})
	assert.ErrorIs(t, err, domain.ErrInvalidMessage, "global positions must increase within one call")
	assertNothingWritten(t, dst, src[:3])
}

func testImportAllOrNothing(t *testing.T, newStore Factory) {
	store := newStore(t)
	_, src := importSource(t, store)
	dst := newNamespace(t, store)

	bad := append([]domain.Message{}, src...)
	last := bad[len(bad)-1]
	last.Position += 3
	bad[len(bad)-1] = last
	err := importer(t, dst).ImportMessages(t.Context(), bad)
	assert.ErrorIs(t, err, domain.ErrVersionConflict)
	assertEmpty(t, dst)

	require.NoError(t, importer(t, dst).ImportMessages(t.Context(), src), "a failed import leaves the namespace importable")
	assert.Len(t, allMessages(t, dst), len(src))
}

func testImportThenWrite(t *testing.T, newStore Factory) {
	store := newStore(t)
	cat, src := importSource(t, store)
	dst := newNamespace(t, store)
	require.NoError(t, importer(t, dst).ImportMessages(t.Context(), src))
	max := src[len(src)-1].GlobalPosition

	r, err := dst.WriteMessage(t.Context(), cat+"-1", newMsg("After", 0), domain.ExpectVersion(2))
	require.NoError(t, err, "the imported version is the stream's version")
	assert.Equal(t, domain.WriteResult{Position: 3, GlobalPosition: max + 1}, r, "writes continue after the imported positions")

	_, err = dst.WriteMessage(t.Context(), cat+"-3+x", newMsg("After", 0), domain.ExpectVersion(1))
	requireConflict(t, err, cat+"-3+x", 1, 2)

	// An imported id is stored: a retry is recognised, another stream refused.
	again, err := dst.WriteMessage(t.Context(), src[0].StreamName,
		domain.NewMessage{ID: src[0].ID, Type: src[0].Type, Data: src[0].Data}, domain.AnyVersion)
	require.NoError(t, err)
	assert.Equal(t, domain.WriteResult{Position: src[0].Position, GlobalPosition: src[0].GlobalPosition}, again)
	_, err = dst.WriteMessage(t.Context(), cat+"-77", domain.NewMessage{ID: src[0].ID, Type: src[0].Type}, domain.AnyVersion)
	assert.ErrorIs(t, err, domain.ErrDuplicateMessageID)
}

// testImportTimes imports messages with times at the edges of what the
// backends store: a time reads back in UTC, truncated to the microsecond
// (PostgreSQL's precision, which every backend keeps), whatever its zone.
func testImportTimes(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	stream := category(t, "acct") + "-1"
	east := time.FixedZone("east", 5*3600+30*60)
	times := []struct {
		name       string
		give, want time.Time
	}{
		{"Nanoseconds", time.Date(2024, 2, 29, 23, 59, 59, 999_999_999, time.UTC),
			time.Date(2024, 2, 29, 23, 59, 59, 999_999_000, time.UTC)},
		{"OtherZone", time.Date(2024, 1, 1, 3, 0, 0, 1_000, east),
			time.Date(2023, 12, 31, 21, 30, 0, 1_000, time.UTC)},
		{"Year1970", time.Unix(0, 0), time.Unix(0, 0).UTC()},
		{"Year9999", time.Date(9999, 12, 31, 23, 59, 59, 999_999_000, time.UTC),
			time.Date(9999, 12, 31, 23, 59, 59, 999_999_000, time.UTC)},
	}
	msgs := make([]domain.Message, len(times))
	for i, c := range times {
		msgs[i] = domain.Message{ID: uuid.New(), StreamName: stream, Type: c.name, Position: int64(i),
			GlobalPosition: int64(10 + i), Time: c.give, Data: []byte(`{}`)}
	}
	require.NoError(t, importer(t, ms).ImportMessages(t.Context(), msgs))

	got := streamMessages(t, ms, stream)
	require.Len(t, got, len(times))
	for i, c := range times {
		assert.Equal(t, c.name, got[i].Type)
		assert.True(t, c.want.Equal(got[i].Time), "%s: time %s, want %s", c.name, got[i].Time, c.want)
		assert.Equal(t, time.UTC, got[i].Time.Location(), "%s: time is in UTC", c.name)
	}
}

// testImportCanonicalForm imports data and metadata that are not in
// canonical form: they read back as written ones do, in canonical form.
func testImportCanonicalForm(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	stream := category(t, "acct") + "-1"
	m := domain.NewMessage{ID: uuid.New(), Type: "Tested", Data: []byte(canonicalData),
		Metadata: []byte(` { "n" : 1.0e1 , "a":[ ] } `)}
	want, err := domain.Limits{}.Prepare(m)
	require.NoError(t, err)
	require.NoError(t, importer(t, ms).ImportMessages(t.Context(), []domain.Message{{ID: m.ID, StreamName: stream,
		Type: m.Type, GlobalPosition: 1, Data: m.Data, Metadata: m.Metadata, Time: time.Unix(1e9, 0)}}))

	got := streamMessages(t, ms, stream)
	require.Len(t, got, 1)
	assert.Equal(t, string(want.Data), string(got[0].Data), "data")
	assert.Equal(t, string(want.Metadata), string(got[0].Metadata), "metadata")
}

// testImportInvalidMessages imports messages that are not valid: each is
// refused with its sentinel and nothing is written.
func testImportInvalidMessages(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	imp := importer(t, ms)
	cat := category(t, "acct")
	stored := write(t, ms, cat+"-1", newMsgWithID(t, "Tested", 0))
	before := allMessages(t, ms)
	valid := func() domain.Message {
		return domain.Message{ID: uuid.New(), StreamName: cat + "-2", Type: "Tested", GlobalPosition: stored.GlobalPosition + 10,
			Data: []byte(`{}`), Time: time.Unix(1e9, 0)}
	}
	with := func(change func(m *domain.Message)) []domain.Message {
		m := valid()
		change(&m)
		return []domain.Message{m}
	}
	twice := valid()
	second := twice
	second.Position, second.GlobalPosition = 1, twice.GlobalPosition+1
	for _, c := range []struct {
		name string
		msgs []domain.Message
		want error
	}{
		{"NoID", with(func(m *domain.Message) { m.ID = uuid.Nil }), domain.ErrInvalidMessage},
		{"IDTwiceInOneCall", []domain.Message{twice, second}, domain.ErrInvalidMessage},
		{"IDStoredInAnotherStream", with(func(m *domain.Message) { m.ID = before[0].ID }), domain.ErrDuplicateMessageID},
		{"CategoryName", with(func(m *domain.Message) { m.StreamName = cat }), domain.ErrInvalidStreamName},
		{"NoType", with(func(m *domain.Message) { m.Type = "" }), domain.ErrInvalidMessage},
		{"DataNotJSON", with(func(m *domain.Message) { m.Data = []byte(`{"a":`) }), domain.ErrInvalidMessage},
		{"MetadataNotJSON", with(func(m *domain.Message) { m.Metadata = []byte(`nope`) }), domain.ErrInvalidMessage},
	} {
		err := imp.ImportMessages(t.Context(), c.msgs)
		assert.ErrorIs(t, err, c.want, c.name)
		assertNothingWritten(t, ms, before)
	}
	// A negative position is not its stream's version + 1: either sentinel
	// of ports.Importer.
	err := imp.ImportMessages(t.Context(), with(func(m *domain.Message) { m.Position = -1 }))
	assert.True(t, errors.Is(err, domain.ErrInvalidMessage) || errors.Is(err, domain.ErrVersionConflict),
		"negative position: %v, want ErrInvalidMessage or ErrVersionConflict", err)
	assertNothingWritten(t, ms, before)
}
