package sqlite_test

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messagedb-go/messagedb/adapters/sqlite"
	"github.com/messagedb-go/messagedb/domain"
)

func msg(typ string, data string) domain.NewMessage {
	return domain.NewMessage{Type: typ, Data: json.RawMessage(data)}
}

func wr(pos, gp int64) domain.WriteResult {
	return domain.WriteResult{Position: pos, GlobalPosition: gp}
}

func writeAny(t *testing.T, ns *sqlite.Namespace, stream string, m domain.NewMessage) domain.WriteResult {
	t.Helper()
	r, err := ns.WriteMessage(t.Context(), stream, m, domain.AnyVersion)
	require.NoError(t, err, "write to %s", stream)
	return r
}

func readAll(t *testing.T, ns *sqlite.Namespace) []domain.Message {
	t.Helper()
	msgs, err := ns.GetAllMessages(t.Context(), domain.AllOpts{BatchSize: new(domain.Unlimited)})
	require.NoError(t, err)
	return msgs
}

func gps(msgs []domain.Message) []int64 {
	out := make([]int64, len(msgs))
	for i, m := range msgs {
		out[i] = m.GlobalPosition
	}
	return out
}

func streamsOf(msgs []domain.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.StreamName
	}
	return out
}

func TestMessages_MDB001_5A_T1_WritesToItsNamespace(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	s := openStore(t, sqlite.Options{Dir: dir})
	a, b := newNamespace(t, s, "alpha"), newNamespace(t, s, "beta")
	writeAny(t, a, "order-1", msg("Placed", `{"n":1}`))
	writeAny(t, a, "order-1", msg("Paid", `{"n":2}`))
	writeAny(t, b, "order-1", msg("Placed", `{"n":3}`))

	// In the namespace's own file, and only there.
	count := func(id string) []string {
		return queryStrings(t, openFile(t, filepath.Join(dir, "namespaces", id+".db")), "SELECT type FROM messages ORDER BY global_position")
	}
	assert.Equal(t, []string{"Placed", "Paid"}, count("alpha"))
	assert.Equal(t, []string{"Placed"}, count("beta"))

	// Positions and global positions are the namespace's own.
	msgs, err := b.GetStreamMessages(ctx, "order-1", domain.GetOpts{})
	require.NoError(t, err)
	require.Len(t, msgs, 1)
	assert.Equal(t, int64(0), msgs[0].Position)
	assert.Equal(t, int64(1), msgs[0].GlobalPosition)
	assert.JSONEq(t, `{"n":3}`, string(msgs[0].Data))
}

func TestMessages_MDB001_5A_T2_Positions(t *testing.T) {
	eachMode(t, func(t *testing.T, s *sqlite.Store) {
		ctx := t.Context()
		ns := newNamespace(t, s, "shop")
		var got []domain.WriteResult
		for _, stream := range []string{"order-1", "order-2", "order-1", "invoice-1", "order-1"} {
			got = append(got, writeAny(t, ns, stream, msg("Tested", `{}`)))
		}
		assert.Equal(t, []domain.WriteResult{wr(0, 1), wr(0, 2), wr(1, 3), wr(0, 4), wr(2, 5)}, got,
			"positions per stream from 0; global positions across streams from 1")

		batch, err := ns.WriteMessages(ctx, "order-2", []domain.NewMessage{msg("A", `{}`), msg("B", `{}`), msg("C", `{}`)}, domain.AnyVersion)
		require.NoError(t, err)
		assert.Equal(t, []domain.WriteResult{wr(1, 6), wr(2, 7), wr(3, 8)}, batch, "a batch takes consecutive positions")
	})
}

func TestMessages_MDB001_5A_T3_ExpectedVersion(t *testing.T) {
	eachMode(t, func(t *testing.T, s *sqlite.Store) {
		ctx := t.Context()
		ns := newNamespace(t, s, "shop")
		r, err := ns.WriteMessage(ctx, "order-1", msg("Placed", `{}`), domain.ExpectVersion(domain.NoStream))
		require.NoError(t, err, "NoStream on a new stream")
		assert.Equal(t, int64(0), r.Position)
		r, err = ns.WriteMessage(ctx, "order-1", msg("Paid", `{}`), domain.ExpectVersion(0))
		require.NoError(t, err)
		assert.Equal(t, int64(1), r.Position)
		rs, err := ns.WriteMessages(ctx, "order-1", []domain.NewMessage{msg("Packed", `{}`), msg("Shipped", `{}`)}, domain.ExpectVersion(1))
		require.NoError(t, err)
		assert.Equal(t, int64(3), rs[1].Position)
		_, err = ns.WriteMessage(ctx, "order-1", msg("Thanked", `{}`), domain.ExpectVersion(-2))
		assert.ErrorIs(t, err, domain.ErrInvalidExpectedVersion)
	})
}

func TestMessages_MDB001_5A_T4_ExpectedVersionConflict(t *testing.T) {
	eachMode(t, func(t *testing.T, s *sqlite.Store) {
		ctx := t.Context()
		ns := newNamespace(t, s, "shop")
		writeAny(t, ns, "order-1", msg("Placed", `{}`))
		before := readAll(t, ns)

		for _, expected := range []int64{domain.NoStream, 1, 5} {
			_, err := ns.WriteMessage(ctx, "order-1", msg("Paid", `{}`), domain.ExpectVersion(expected))
			var conflict *domain.VersionConflictError
			require.ErrorAs(t, err, &conflict, "expected %d", expected)
			assert.ErrorIs(t, err, domain.ErrVersionConflict)
			assert.Equal(t, domain.VersionConflictError{StreamName: "order-1", Expected: expected, Actual: 0}, *conflict)
		}
		_, err := ns.WriteMessages(ctx, "order-1", []domain.NewMessage{msg("A", `{}`), msg("B", `{}`)}, domain.ExpectVersion(3))
		assert.ErrorIs(t, err, domain.ErrVersionConflict)
		_, err = ns.WriteMessage(ctx, "order-2", msg("Paid", `{}`), domain.ExpectVersion(0))
		var conflict *domain.VersionConflictError
		require.ErrorAs(t, err, &conflict)
		assert.Equal(t, domain.NoStream, conflict.Actual, "a new stream's version")
		assert.Equal(t, gps(before), gps(readAll(t, ns)), "nothing written on conflict")

		// Writers racing on one expected version: exactly one wins each.
		const writers = 8
		for version := int64(0); version < 3; version++ {
			start := make(chan struct{})
			var wg sync.WaitGroup
			var mu sync.Mutex
			wins, conflicts := 0, 0
			for range writers {
				wg.Go(func() {
					<-start
					_, err := ns.WriteMessage(ctx, "race-1", msg("Raced", `{}`), domain.ExpectVersion(version-1))
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil:
						wins++
					case assert.ErrorIs(t, err, domain.ErrVersionConflict):
						conflicts++
					}
				})
			}
			close(start)
			wg.Wait()
			assert.Equal(t, 1, wins, "one winner for expected version %d", version-1)
			assert.Equal(t, writers-1, conflicts)
		}
		v, err := ns.GetStreamVersion(ctx, "race-1")
		require.NoError(t, err)
		assert.Equal(t, int64(2), v)
	})
}

func TestMessages_MDB001_5A_T5_JSON(t *testing.T) {
	eachMode(t, func(t *testing.T, s *sqlite.Store) {
		ctx := t.Context()
		ns := newNamespace(t, s, "shop")
		data := `{
			"nested": {"list": [1, 2.5, {"deep": null}], "flag": true},
			"unicode": "žluťoučký kůň 🐎 \u00e9",
			"big": 12345678901234567890123,
			"exact": 9007199254740993
		}`
		meta := `{"correlationStreamName": "payment-7", "causationMessagePosition": 3}`
		before := time.Now()
		writeAny(t, ns, "order-1", domain.NewMessage{Type: "Placed", Data: json.RawMessage(data), Metadata: json.RawMessage(meta)})
		writeAny(t, ns, "order-1", domain.NewMessage{Type: "Empty"})

		msgs, err := ns.GetStreamMessages(ctx, "order-1", domain.GetOpts{})
		require.NoError(t, err)
		require.Len(t, msgs, 2)
		assert.JSONEq(t, data, string(msgs[0].Data))
		assert.JSONEq(t, meta, string(msgs[0].Metadata))
		assert.Contains(t, string(msgs[0].Data), `12345678901234567890123`, "large numbers are kept as written")
		assert.Contains(t, string(msgs[0].Data), `9007199254740993`, "beyond float64 precision, kept exact")
		assert.NotContains(t, string(msgs[0].Data), "\n", "stored compact")
		assert.Equal(t, `{}`, string(msgs[1].Data), "no data is {}")
		assert.Nil(t, msgs[1].Metadata, "no metadata is nil")

		assert.Equal(t, time.UTC, msgs[0].Time.Location())
		assert.WithinRange(t, msgs[0].Time, before.Add(-time.Millisecond), time.Now())
		assert.Zero(t, msgs[0].Time.Nanosecond()%1000, "microsecond precision, as on PostgreSQL")

		// Invalid JSON is refused and writes nothing.
		for _, bad := range []domain.NewMessage{
			{Type: "Bad", Data: json.RawMessage(`{"a":`)},
			{Type: "Bad", Metadata: json.RawMessage(`nope`)},
			{Type: "", Data: json.RawMessage(`{}`)},
		} {
			_, err := ns.WriteMessage(ctx, "order-1", bad, domain.AnyVersion)
			assert.ErrorIs(t, err, domain.ErrInvalidMessage)
		}
		_, err = ns.WriteMessages(ctx, "order-1", []domain.NewMessage{msg("Good", `{}`), msg("Bad", `[`)}, domain.AnyVersion)
		assert.ErrorIs(t, err, domain.ErrInvalidMessage)
		assert.Len(t, readAll(t, ns), 2, "nothing written")
	})
}

func TestMessages_MDB001_5A_T6_GetStreamMessages(t *testing.T) {
	eachMode(t, func(t *testing.T, s *sqlite.Store) {
		ctx := t.Context()
		ns := newNamespace(t, s, "shop")
		id := uuid.Must(uuid.NewV7())
		writeAny(t, ns, "order-1", domain.NewMessage{ID: id, Type: "Placed", Data: json.RawMessage(`{"n":0}`)})
		writeAny(t, ns, "order-2", msg("Placed", `{"n":1}`))
		writeAny(t, ns, "order-1", msg("Paid", `{"n":2}`))
		writeAny(t, ns, "order:command-1", msg("Place", `{"n":3}`))

		msgs, err := ns.GetStreamMessages(ctx, "order-1", domain.GetOpts{})
		require.NoError(t, err)
		require.Len(t, msgs, 2)
		assert.Equal(t, id, msgs[0].ID)
		assert.Equal(t, "order-1", msgs[0].StreamName)
		assert.Equal(t, "Placed", msgs[0].Type)
		assert.Equal(t, int64(0), msgs[0].Position)
		assert.Equal(t, int64(1), msgs[0].GlobalPosition)
		assert.Equal(t, "Paid", msgs[1].Type)
		assert.Equal(t, int64(1), msgs[1].Position)
		assert.Equal(t, int64(3), msgs[1].GlobalPosition)

		none, err := ns.GetStreamMessages(ctx, "order-9", domain.GetOpts{})
		require.NoError(t, err, "a stream that does not exist")
		assert.Empty(t, none)

		for _, name := range []string{"order", "", "-1", "order-"} {
			_, err = ns.GetStreamMessages(ctx, name, domain.GetOpts{})
			assert.ErrorIs(t, err, domain.ErrInvalidStreamName, "name %q", name)
		}
	})
}

func TestMessages_MDB001_5A_T7_StreamPositionAndBatchSize(t *testing.T) {
	eachMode(t, func(t *testing.T, s *sqlite.Store) {
		ctx := t.Context()
		ns := newNamespace(t, s, "shop")
		batch := make([]domain.NewMessage, domain.DefaultBatchSize+5)
		for i := range batch {
			batch[i] = msg("Tested", fmt.Sprintf(`{"n":%d}`, i))
		}
		rs, err := ns.WriteMessages(ctx, "order-1", batch, domain.AnyVersion)
		require.NoError(t, err)
		all := readAll(t, ns)
		require.Len(t, all, len(batch))
		for i, r := range rs {
			assert.Equal(t, wr(int64(i), int64(i+1)), r, "result %d of a large batch", i)
			assert.Equal(t, r.GlobalPosition, all[i].GlobalPosition)
			assert.JSONEq(t, fmt.Sprintf(`{"n":%d}`, i), string(all[i].Data), "message %d in its place", i)
		}

		read := func(opts domain.GetOpts) []int64 {
			msgs, err := ns.GetStreamMessages(ctx, "order-1", opts)
			require.NoError(t, err)
			out := make([]int64, len(msgs))
			for i, m := range msgs {
				out[i] = m.Position
			}
			return out
		}
		assert.Equal(t, []int64{3, 4}, read(domain.GetOpts{Position: 3, BatchSize: new(int64(2))}), "inclusive position")
		assert.Len(t, read(domain.GetOpts{}), int(domain.DefaultBatchSize), "default batch size")
		assert.Len(t, read(domain.GetOpts{BatchSize: new(domain.Unlimited)}), len(batch), "-1 reads all")
		assert.Empty(t, read(domain.GetOpts{BatchSize: new(int64(0))}), "0 reads none")
		assert.Equal(t, []int64{1003, 1004}, read(domain.GetOpts{Position: 1003}))
		assert.Empty(t, read(domain.GetOpts{Position: 5000}))

		_, err = ns.GetStreamMessages(ctx, "order-1", domain.GetOpts{Position: -1})
		assert.ErrorIs(t, err, domain.ErrInvalidPosition)
		_, err = ns.GetStreamMessages(ctx, "order-1", domain.GetOpts{BatchSize: new(int64(-2))})
		assert.ErrorIs(t, err, domain.ErrInvalidBatchSize)
	})
}

func TestMessages_MDB001_5A_T8_GetCategoryMessages(t *testing.T) {
	eachMode(t, func(t *testing.T, s *sqlite.Store) {
		ctx := t.Context()
		ns := newNamespace(t, s, "shop")
		writes := []struct{ stream, corr string }{
			{"order-1", "payment-1"}, {"order-2", ""}, {"order:command-1", ""}, {"invoice-1", "payment-2"},
			{"order-3+x", "payment-3"}, {"order-1", "refund-1"}, {"order-2", "payment-4"},
		}
		for i, w := range writes {
			m := msg("Tested", fmt.Sprintf(`{"i":%d}`, i))
			if w.corr != "" {
				m.Metadata = json.RawMessage(fmt.Sprintf(`{"correlationStreamName":%q}`, w.corr))
			}
			writeAny(t, ns, w.stream, m)
		}
		read := func(category string, opts domain.CategoryOpts) []int64 {
			msgs, err := ns.GetCategoryMessages(ctx, category, opts)
			require.NoError(t, err)
			return gps(msgs)
		}
		assert.Equal(t, []int64{1, 2, 5, 6, 7}, read("order", domain.CategoryOpts{}), "every stream of the category, in global order")
		assert.Equal(t, []int64{3}, read("order:command", domain.CategoryOpts{}), "category types stay separate")
		assert.Equal(t, []int64{5, 6, 7}, read("order", domain.CategoryOpts{Position: 5}), "inclusive global position")
		assert.Equal(t, []int64{2, 5}, read("order", domain.CategoryOpts{Position: 2, BatchSize: new(int64(2))}))
		assert.Equal(t, []int64{1, 5, 7}, read("order", domain.CategoryOpts{Correlation: "payment"}), "correlation")
		assert.Equal(t, []int64{5, 7}, read("order", domain.CategoryOpts{Correlation: "payment", Position: 3}))
		assert.Empty(t, read("order", domain.CategoryOpts{Correlation: "nothing"}))
		assert.Empty(t, read("order", domain.CategoryOpts{BatchSize: new(int64(0))}))
		assert.Empty(t, read("customer", domain.CategoryOpts{}))

		msgs, err := ns.GetCategoryMessages(ctx, "order", domain.CategoryOpts{})
		require.NoError(t, err)
		assert.Equal(t, []string{"order-1", "order-2", "order-3+x", "order-1", "order-2"}, streamsOf(msgs))

		_, err = ns.GetCategoryMessages(ctx, "order-1", domain.CategoryOpts{})
		assert.ErrorIs(t, err, domain.ErrInvalidStreamName, "a stream name is not a category")
		_, err = ns.GetCategoryMessages(ctx, "order", domain.CategoryOpts{Correlation: "payment-1"})
		assert.ErrorIs(t, err, domain.ErrInvalidCorrelation)
	})
}

func TestMessages_MDB001_5A_T9_ConsumerGroups(t *testing.T) {
	eachMode(t, func(t *testing.T, s *sqlite.Store) {
		ctx := t.Context()
		ns := newNamespace(t, s, "shop")
		var streams []string
		for i := range 40 {
			streams = append(streams, fmt.Sprintf("order-%d", i))
		}
		streams = append(streams, "order-7+extra", "order-7+more", "order-x+1")
		for round := range 2 {
			for _, st := range streams {
				writeAny(t, ns, st, msg("Tested", fmt.Sprintf(`{"r":%d}`, round)))
			}
		}
		total := 2 * len(streams)
		for size := int64(1); size <= 5; size++ {
			seen := map[int64]int64{} // global position -> member
			for member := range size {
				msgs, err := ns.GetCategoryMessages(ctx, "order", domain.CategoryOpts{
					BatchSize: new(domain.Unlimited), ConsumerGroup: &domain.ConsumerGroup{Member: member, Size: size}})
				require.NoError(t, err)
				for _, m := range msgs {
					_, dup := seen[m.GlobalPosition]
					assert.False(t, dup, "size %d: message %d goes to one member", size, m.GlobalPosition)
					seen[m.GlobalPosition] = member
					assert.True(t, domain.IsMember(m.StreamName, member, size), "size %d: %s in member %d", size, m.StreamName, member)
				}
			}
			assert.Len(t, seen, total, "size %d: every message goes to a member", size)
		}
		// Compound ids go with their cardinal id.
		for size := int64(2); size <= 5; size++ {
			m7, _ := domain.GroupMember("order-7", size)
			msgs, err := ns.GetCategoryMessages(ctx, "order", domain.CategoryOpts{
				BatchSize: new(domain.Unlimited), ConsumerGroup: &domain.ConsumerGroup{Member: m7, Size: size}})
			require.NoError(t, err)
			assert.Subset(t, streamsOf(msgs), []string{"order-7", "order-7+extra", "order-7+more"}, "size %d", size)
		}

		for _, g := range []domain.ConsumerGroup{{Member: 0, Size: 0}, {Member: 2, Size: 2}, {Member: -1, Size: 2}} {
			_, err := ns.GetCategoryMessages(ctx, "order", domain.CategoryOpts{ConsumerGroup: &g})
			assert.ErrorIs(t, err, domain.ErrInvalidConsumerGroup, "%+v", g)
			assert.ErrorIs(t, err, domain.ErrInvalidOptions, "%+v", g)
		}
	})
}

func TestMessages_MDB001_5A_T10_HashPartitioningMatchesMessageDB(t *testing.T) {
	// Message DB: SELECT hash_64('someStream') is 2053039834977696644.
	require.Equal(t, int64(2053039834977696644), domain.Hash64("someStream"))

	eachMode(t, func(t *testing.T, s *sqlite.Store) {
		ctx := t.Context()
		ns := newNamespace(t, s, "shop")
		streams := []string{"someCategory-someStream", "someCategory-someStream+compound", "someCategory-1", "someCategory-abc", "someCategory-ž"}
		for i := range 100 {
			streams = append(streams, fmt.Sprintf("someCategory-%s", uuid.NewSHA1(uuid.NameSpaceOID, []byte{byte(i)})))
		}
		for _, st := range streams {
			writeAny(t, ns, st, msg("Tested", `{}`))
		}

		// The stored hash is Message DB's, of the cardinal id.
		n := 0
		require.NoError(t, ns.WithConn(ctx, func(c *sql.Conn) error {
			rows, err := c.QueryContext(ctx, "SELECT stream_name, group_hash FROM messages")
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var stream string
				var hash int64
				if err := rows.Scan(&stream, &hash); err != nil {
					return err
				}
				want := domain.Hash64(domain.CardinalID(stream))
				if want < 0 && want != math.MinInt64 {
					want = -want
				}
				assert.Equal(t, want, hash, stream)
				n++
			}
			return rows.Err()
		}))
		assert.Equal(t, len(streams), n)

		// someStream: 2053039834977696644 % 4 = 0, % 3 = 2053039834977696644 - 3*684346611659232214 = 2.
		for _, c := range []struct{ member, size int64 }{{0, 4}, {2, 3}} {
			msgs, err := ns.GetCategoryMessages(ctx, "someCategory", domain.CategoryOpts{
				BatchSize: new(domain.Unlimited), ConsumerGroup: &domain.ConsumerGroup{Member: c.member, Size: c.size}})
			require.NoError(t, err)
			assert.Subset(t, streamsOf(msgs), []string{"someCategory-someStream", "someCategory-someStream+compound"},
				"member %d of %d", c.member, c.size)
		}

		// SQL selects exactly the streams the Go rule assigns.
		for size := int64(1); size <= 7; size++ {
			for member := range size {
				msgs, err := ns.GetCategoryMessages(ctx, "someCategory", domain.CategoryOpts{
					BatchSize: new(domain.Unlimited), ConsumerGroup: &domain.ConsumerGroup{Member: member, Size: size}})
				require.NoError(t, err)
				var want []string
				for _, st := range streams {
					if domain.IsMember(st, member, size) {
						want = append(want, st)
					}
				}
				assert.ElementsMatch(t, want, streamsOf(msgs), "member %d of %d", member, size)
			}
		}
	})
}

func TestMessages_MDB001_5A_T11_GetLastStreamMessage(t *testing.T) {
	eachMode(t, func(t *testing.T, s *sqlite.Store) {
		ctx := t.Context()
		ns := newNamespace(t, s, "shop")
		_, err := ns.GetLastStreamMessage(ctx, "order-1", "")
		assert.ErrorIs(t, err, domain.ErrStreamNotFound, "an empty stream has no last message")

		writeAny(t, ns, "order-1", msg("Placed", `{"n":0}`))
		writeAny(t, ns, "order-2", msg("Placed", `{"n":1}`))
		writeAny(t, ns, "order-1", msg("Paid", `{"n":2}`))
		last, err := ns.GetLastStreamMessage(ctx, "order-1", "")
		require.NoError(t, err)
		assert.Equal(t, "Paid", last.Type)
		assert.Equal(t, int64(1), last.Position)
		assert.Equal(t, int64(3), last.GlobalPosition)
		assert.JSONEq(t, `{"n":2}`, string(last.Data))

		_, err = ns.GetLastStreamMessage(ctx, "order", "")
		assert.ErrorIs(t, err, domain.ErrInvalidStreamName)
	})
}

func TestMessages_MDB001_5A_T12_GetLastStreamMessageOfType(t *testing.T) {
	eachMode(t, func(t *testing.T, s *sqlite.Store) {
		ctx := t.Context()
		ns := newNamespace(t, s, "shop")
		for _, typ := range []string{"Placed", "Paid", "Placed", "Shipped"} {
			writeAny(t, ns, "order-1", msg(typ, `{}`))
		}
		last, err := ns.GetLastStreamMessage(ctx, "order-1", "Placed")
		require.NoError(t, err)
		assert.Equal(t, "Placed", last.Type)
		assert.Equal(t, int64(2), last.Position)
		last, err = ns.GetLastStreamMessage(ctx, "order-1", "Paid")
		require.NoError(t, err)
		assert.Equal(t, int64(1), last.Position)
		_, err = ns.GetLastStreamMessage(ctx, "order-1", "Refunded")
		assert.ErrorIs(t, err, domain.ErrStreamNotFound, "no message of the type")
	})
}

func TestMessages_MDB001_5A_T13_GetStreamVersion(t *testing.T) {
	eachMode(t, func(t *testing.T, s *sqlite.Store) {
		ctx := t.Context()
		ns := newNamespace(t, s, "shop")
		v, err := ns.GetStreamVersion(ctx, "order-1")
		require.NoError(t, err)
		assert.Equal(t, domain.NoStream, v)
		for i := range 3 {
			writeAny(t, ns, "order-1", msg("Tested", `{}`))
			writeAny(t, ns, "order-2", msg("Tested", `{}`))
			v, err = ns.GetStreamVersion(ctx, "order-1")
			require.NoError(t, err)
			assert.Equal(t, int64(i), v)
		}
		_, err = ns.GetStreamVersion(ctx, "order")
		assert.ErrorIs(t, err, domain.ErrInvalidStreamName)
	})
}
