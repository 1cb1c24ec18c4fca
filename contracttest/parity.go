package contracttest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/ports"
)

// testCorrelationOnlyFromAString writes messages whose metadata's
// correlationStreamName is not a string: no correlation filter matches them,
// even one spelled as the value's JSON text (domain.CorrelationStreamName is
// "" for them).
func testCorrelationOnlyFromAString(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	cat := category(t, "acct")
	for i, md := range []string{
		`{"correlationStreamName":12}`,
		`{"correlationStreamName":true}`,
		`{"correlationStreamName":false}`,
		`{"correlationStreamName":["x"]}`,
	} {
		m := newMsg("A", i)
		m.Metadata = []byte(md)
		write(t, ms, cat+"-1", m)
	}
	want := write(t, ms, cat+"-1", correlated("A", 9, "12-1")).GlobalPosition

	for _, c := range []struct {
		correlation string
		want        []int64
	}{
		{"12", []int64{want}},
		{"true", []int64{}},
		{"false", []int64{}},
		{`["x"]`, []int64{}},
	} {
		msgs := categoryMessages(t, ms, cat, domain.CategoryOpts{Correlation: c.correlation})
		assert.Equal(t, c.want, append([]int64{}, globalPositions(msgs)...), "correlation %s", c.correlation)
	}
}

// parityCases pin down behaviour that the backends once differed on, each
// where the natural SQL of one backend would do otherwise; those of imports
// when the store declares ports.Importer.
func parityCases(caps ports.Capabilities) []testCase {
	cases := []testCase{
		// A correlation is read from a string only (not ->> of any value).
		{"CorrelationOnlyFromAString", testCorrelationOnlyFromAString},
		// Calls that have nothing to do still fail on a closed store.
		{"EmptyCallsFailWithErrClosed", testEmptyCallsAfterClose},
		// Reads that have nothing to do still fail on a deleted namespace.
		{"EmptyReadsFailAfterDelete", testEmptyReadsAfterDelete},
	}
	if caps.Importer {
		cases = append(cases,
			// An import keeps every field as given, a zero time too.
			testCase{"ImportKeepsZeroTime", testImportZeroTime},
			// Import times are within years 1 to 9999, which both
			// backends store and read back (domain.Limits.PrepareImport).
			testCase{"ImportTimesOutOfRange", testImportTimesOutOfRange},
		)
	}
	return cases
}

// testImportZeroTime imports a message without a time: it is kept as it
// is, the zero time, as every other field of an imported message.
func testImportZeroTime(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	stream := category(t, "acct") + "-1"
	require.NoError(t, importer(t, ms).ImportMessages(t.Context(), []domain.Message{
		{ID: uuid.New(), StreamName: stream, Type: "Tested", GlobalPosition: 1, Data: []byte(`{}`)}}))
	got := streamMessages(t, ms, stream)
	require.Len(t, got, 1)
	assert.True(t, got[0].Time.IsZero(), "a zero time is kept: got %s", got[0].Time)
}

// emptyCalls are the calls of a message store that have nothing to read or
// write: a read of batch size 0, an import of no message.
func emptyCalls(ctx context.Context, ms ports.MessageStore, stream string) map[string]func() error {
	cat := domain.Category(stream)
	calls := map[string]func() error{
		"GetStreamMessages": func() error {
			_, err := ms.GetStreamMessages(ctx, stream, domain.GetOpts{BatchSize: ptr(0)})
			return err
		},
		"GetCategoryMessages": func() error {
			_, err := ms.GetCategoryMessages(ctx, cat, domain.CategoryOpts{BatchSize: ptr(0)})
			return err
		},
		"GetAllMessages": func() error {
			_, err := ms.GetAllMessages(ctx, domain.AllOpts{BatchSize: ptr(0)})
			return err
		},
	}
	if imp, ok := ms.(ports.Importer); ok {
		calls["ImportMessages"] = func() error { return imp.ImportMessages(ctx, nil) }
	}
	return calls
}

func testEmptyCallsAfterClose(t *testing.T, newStore Factory) {
	store, ms, _, stream := closedStore(t, newStore)
	for name, call := range emptyCalls(t.Context(), ms, stream) {
		require.NoError(t, call(), "%s while open", name)
	}
	require.NoError(t, store.Close())
	for name, call := range emptyCalls(t.Context(), ms, stream) {
		assert.ErrorIs(t, call(), domain.ErrClosed, "%s after Close", name)
	}
}

func testEmptyReadsAfterDelete(t *testing.T, newStore Factory) {
	store, ms, id := newStoreAndNamespace(t, newStore)
	stream := category(t, "acct") + "-1"
	write(t, ms, stream, newMsg("Tested", 0))
	calls := emptyCalls(t.Context(), ms, stream)
	delete(calls, "ImportMessages") // an import writes; see EmptyCallsFailWithErrClosed
	require.NoError(t, store.DeleteNamespace(t.Context(), id))
	for name, call := range calls {
		assert.ErrorIs(t, call(), domain.ErrNamespaceNotFound, "%s after delete", name)
	}
}

// testImportTimesOutOfRange imports times outside years 1 to 9999, one per
// stream: each import fails with domain.ErrInvalidMessage and writes
// nothing (domain.Limits.PrepareImport), and the namespace stays readable.
func testImportTimesOutOfRange(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	cat := category(t, "acct")
	for i, tm := range []time.Time{
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(0, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
	} {
		stream := fmt.Sprintf("%s-%d", cat, i)
		err := importer(t, ms).ImportMessages(t.Context(), []domain.Message{
			{ID: uuid.New(), StreamName: stream, Type: "Tested", GlobalPosition: int64(1 + i), Time: tm, Data: []byte(`{}`)}})
		assert.ErrorIs(t, err, domain.ErrInvalidMessage, "time %s", tm)
		msgs, err := ms.GetStreamMessages(t.Context(), stream, domain.GetOpts{})
		if assert.NoError(t, err, "time %s: the stream stays readable", tm) {
			assert.Empty(t, msgs, "time %s: a refused import writes nothing", tm)
		}
	}
	_, err := ms.GetAllMessages(t.Context(), domain.AllOpts{})
	assert.NoError(t, err, "the namespace stays readable")
}
