package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messagedb-go/messagedb/adapters/postgres"
	"github.com/messagedb-go/messagedb/domain"
)

func msg(typ string, n int) domain.NewMessage {
	return domain.NewMessage{Type: typ, Data: json.RawMessage(fmt.Sprintf(`{"n": %d}`, n))}
}

func wr(pos, gp int64) domain.WriteResult {
	return domain.WriteResult{Position: pos, GlobalPosition: gp}
}

func write(t *testing.T, ns *postgres.Namespace, stream string, m domain.NewMessage) domain.WriteResult {
	t.Helper()
	r, err := ns.WriteMessage(context.Background(), stream, m, domain.AnyVersion)
	require.NoError(t, err, "write to %s", stream)
	return r
}

// messagesNS is a namespace of the shared database for one test.
func messagesNS(t *testing.T) (*postgres.Store, *postgres.Namespace) {
	t.Helper()
	s := openStore(t, sharedURL(t), &postgres.Options{MaxConns: 4})
	return s, newNamespace(t, s)
}

func TestMessages_MDB001_3A_T1_WriteGoesToTheNamespaceSchema(t *testing.T) {
	ctx := context.Background()
	s, ns := messagesNS(t)
	other := newNamespace(t, s)
	id := uuid.New()
	_, err := ns.WriteMessage(ctx, "acct-1", domain.NewMessage{ID: id, Type: "Opened"}, domain.AnyVersion)
	require.NoError(t, err)

	conn := sqlConn(t, sharedURL(t))
	var stream string
	require.NoError(t, conn.QueryRow(ctx, "SELECT stream_name FROM "+ns.Schema()+".messages WHERE id = $1", id).Scan(&stream))
	assert.Equal(t, "acct-1", stream)
	var n int
	require.NoError(t, conn.QueryRow(ctx, "SELECT count(*) FROM "+other.Schema()+".messages").Scan(&n))
	assert.Zero(t, n, "another namespace holds nothing")
	v, err := other.GetStreamVersion(ctx, "acct-1")
	require.NoError(t, err)
	assert.Equal(t, domain.NoStream, v)
}

func TestMessages_MDB001_3A_T2_PositionAndGlobalPosition(t *testing.T) {
	_, ns := messagesNS(t)
	got := []domain.WriteResult{
		write(t, ns, "acct-1", msg("A", 0)),
		write(t, ns, "acct-2", msg("A", 1)),
		write(t, ns, "acct-1", msg("A", 2)),
		write(t, ns, "other-1", msg("A", 3)),
		write(t, ns, "acct-1", msg("A", 4)),
	}
	assert.Equal(t, []domain.WriteResult{wr(0, 1), wr(0, 2), wr(1, 3), wr(0, 4), wr(2, 5)}, got)
}

func TestMessages_MDB001_3A_T3_ExpectedVersionSuccess(t *testing.T) {
	ctx := context.Background()
	_, ns := messagesNS(t)
	r, err := ns.WriteMessage(ctx, "acct-1", msg("A", 0), domain.ExpectVersion(domain.NoStream))
	require.NoError(t, err)
	assert.Equal(t, int64(0), r.Position)
	r, err = ns.WriteMessage(ctx, "acct-1", msg("A", 1), domain.ExpectVersion(0))
	require.NoError(t, err)
	assert.Equal(t, int64(1), r.Position)
	rs, err := ns.WriteMessages(ctx, "acct-1", []domain.NewMessage{msg("A", 2), msg("A", 3)}, domain.ExpectVersion(1))
	require.NoError(t, err)
	assert.Equal(t, []domain.WriteResult{wr(2, 3), wr(3, 4)}, rs)
}

func TestMessages_MDB001_3A_T4_ExpectedVersionConflict(t *testing.T) {
	ctx := context.Background()
	_, ns := messagesNS(t)
	write(t, ns, "acct-1", msg("A", 0))
	write(t, ns, "acct-1", msg("A", 1))

	for _, tc := range []struct {
		stream   string
		expected int64
		actual   int64
	}{
		{"acct-1", 3, 1},
		{"acct-1", 0, 1},
		{"acct-1", domain.NoStream, 1},
		{"acct-2", 0, domain.NoStream},
	} {
		_, err := ns.WriteMessage(ctx, tc.stream, msg("B", 9), domain.ExpectVersion(tc.expected))
		require.ErrorIs(t, err, domain.ErrVersionConflict)
		var vc *domain.VersionConflictError
		require.ErrorAs(t, err, &vc)
		assert.Equal(t, domain.VersionConflictError{StreamName: tc.stream, Expected: tc.expected, Actual: tc.actual}, *vc)
		assertNoPgError(t, err)

		_, err = ns.WriteMessages(ctx, tc.stream, []domain.NewMessage{msg("B", 1), msg("B", 2)}, domain.ExpectVersion(tc.expected))
		require.ErrorAs(t, err, &vc)
		assert.Equal(t, tc.actual, vc.Actual)
	}
	msgs, err := ns.GetStreamMessages(ctx, "acct-1", domain.GetOpts{})
	require.NoError(t, err)
	assert.Len(t, msgs, 2, "nothing written by the failed writes")
	all, err := ns.GetAllMessages(ctx, domain.AllOpts{})
	require.NoError(t, err)
	assert.Len(t, all, 2)

	_, err = ns.WriteMessage(ctx, "acct-1", msg("B", 1), domain.ExpectVersion(-2))
	assert.ErrorIs(t, err, domain.ErrInvalidExpectedVersion)
}

func TestMessages_MDB001_3A_T5_PositionsIncrement(t *testing.T) {
	ctx := context.Background()
	_, ns := messagesNS(t)
	var batch []domain.NewMessage
	for i := range 5 {
		batch = append(batch, msg("A", i))
	}
	rs, err := ns.WriteMessages(ctx, "acct-1", batch, domain.AnyVersion)
	require.NoError(t, err)
	for i, r := range rs {
		assert.Equal(t, domain.WriteResult{Position: int64(i), GlobalPosition: int64(i + 1)}, r)
	}
	r := write(t, ns, "acct-1", msg("A", 5))
	assert.Equal(t, domain.WriteResult{Position: 5, GlobalPosition: 6}, r)

	msgs, err := ns.GetStreamMessages(ctx, "acct-1", domain.GetOpts{})
	require.NoError(t, err)
	require.Len(t, msgs, 6)
	for i, m := range msgs {
		assert.Equal(t, int64(i), m.Position, "positions 0.. without gaps")
		assert.JSONEq(t, fmt.Sprintf(`{"n":%d}`, i), string(m.Data))
	}

	// The batch is all or nothing.
	dup := uuid.New()
	_, err = ns.WriteMessages(ctx, "acct-1", []domain.NewMessage{{ID: dup, Type: "A"}, {ID: dup, Type: "A"}}, domain.AnyVersion)
	assert.ErrorIs(t, err, domain.ErrInvalidMessage)
	_, err = ns.WriteMessages(ctx, "acct-1", nil, domain.AnyVersion)
	assert.ErrorIs(t, err, domain.ErrInvalidMessage)
	v, err := ns.GetStreamVersion(ctx, "acct-1")
	require.NoError(t, err)
	assert.Equal(t, int64(5), v)
}

func TestMessages_IdempotentRetryAndDuplicateIDs(t *testing.T) {
	ctx := context.Background()
	_, ns := messagesNS(t)
	id := uuid.New()
	first, err := ns.WriteMessage(ctx, "acct-1", domain.NewMessage{ID: id, Type: "A"}, domain.ExpectVersion(domain.NoStream))
	require.NoError(t, err)
	write(t, ns, "acct-1", msg("B", 1))

	// A retry returns the first result, whatever the expected version.
	again, err := ns.WriteMessage(ctx, "acct-1", domain.NewMessage{ID: id, Type: "A"}, domain.ExpectVersion(domain.NoStream))
	require.NoError(t, err)
	assert.Equal(t, first, again)

	_, err = ns.WriteMessage(ctx, "acct-2", domain.NewMessage{ID: id, Type: "A"}, domain.AnyVersion)
	assert.ErrorIs(t, err, domain.ErrDuplicateMessageID, "same id, other stream")
	_, err = ns.WriteMessage(ctx, "other-2", domain.NewMessage{ID: id, Type: "A"}, domain.AnyVersion)
	assert.ErrorIs(t, err, domain.ErrDuplicateMessageID, "same id, other category")
	_, err = ns.WriteMessage(ctx, "acct-1", domain.NewMessage{ID: id, Type: "B"}, domain.AnyVersion)
	assert.ErrorIs(t, err, domain.ErrDuplicateMessageID, "same id, other type")

	// Batches: all stored is a retry; some stored is an error.
	b1, b2 := uuid.New(), uuid.New()
	rs, err := ns.WriteMessages(ctx, "acct-3", []domain.NewMessage{{ID: b1, Type: "A"}, {ID: b2, Type: "B"}}, domain.AnyVersion)
	require.NoError(t, err)
	rs2, err := ns.WriteMessages(ctx, "acct-3", []domain.NewMessage{{ID: b1, Type: "A"}, {ID: b2, Type: "B"}}, domain.ExpectVersion(7))
	require.NoError(t, err)
	assert.Equal(t, rs, rs2)
	_, err = ns.WriteMessages(ctx, "acct-3", []domain.NewMessage{{ID: b1, Type: "A"}, {ID: uuid.New(), Type: "B"}}, domain.AnyVersion)
	assert.ErrorIs(t, err, domain.ErrDuplicateMessageID)
	v, err := ns.GetStreamVersion(ctx, "acct-3")
	require.NoError(t, err)
	assert.Equal(t, int64(1), v)

	// No global position was used up by the refused writes.
	r := write(t, ns, "acct-4", msg("A", 0))
	assert.Equal(t, int64(5), r.GlobalPosition)
}

func TestMessages_MDB001_3A_T6_GetStreamMessages(t *testing.T) {
	ctx := context.Background()
	_, ns := messagesNS(t)
	id := uuid.New()
	before := time.Now().UTC().Add(-time.Minute)
	_, err := ns.WriteMessage(ctx, "acct-1", domain.NewMessage{ID: id, Type: "Opened",
		Data:     json.RawMessage(`{ "name" : "Ann", "tags": [1, 2] }`),
		Metadata: json.RawMessage(`{"correlationStreamName": "other-1"}`)}, domain.AnyVersion)
	require.NoError(t, err)
	write(t, ns, "acct-2", msg("A", 0))
	write(t, ns, "acct-1", msg("Deposited", 1))

	msgs, err := ns.GetStreamMessages(ctx, "acct-1", domain.GetOpts{})
	require.NoError(t, err)
	require.Len(t, msgs, 2)
	m := msgs[0]
	assert.Equal(t, id, m.ID)
	assert.Equal(t, "acct-1", m.StreamName)
	assert.Equal(t, "Opened", m.Type)
	assert.Equal(t, int64(0), m.Position)
	assert.Equal(t, int64(1), m.GlobalPosition)
	assert.Equal(t, `{"name":"Ann","tags":[1,2]}`, string(m.Data), "compact JSON")
	assert.Equal(t, `{"correlationStreamName":"other-1"}`, string(m.Metadata))
	assert.Equal(t, time.UTC, m.Time.Location())
	assert.True(t, m.Time.After(before), "time %v", m.Time)
	assert.Zero(t, m.Time.Nanosecond()%1000, "microseconds")
	assert.Nil(t, msgs[1].Metadata, "no metadata is nil")
	assert.Equal(t, int64(3), msgs[1].GlobalPosition)

	none, err := ns.GetStreamMessages(ctx, "acct-9", domain.GetOpts{})
	require.NoError(t, err)
	assert.Empty(t, none)
	_, err = ns.GetStreamMessages(ctx, "acct", domain.GetOpts{})
	assert.ErrorIs(t, err, domain.ErrInvalidStreamName)
}

func TestMessages_MDB001_3A_T7_StreamPositionAndBatchSize(t *testing.T) {
	ctx := context.Background()
	_, ns := messagesNS(t)
	var batch []domain.NewMessage
	for i := range 10 {
		batch = append(batch, msg("A", i))
	}
	_, err := ns.WriteMessages(ctx, "acct-1", batch, domain.AnyVersion)
	require.NoError(t, err)

	positions := func(opts domain.GetOpts) []int64 {
		msgs, err := ns.GetStreamMessages(ctx, "acct-1", opts)
		require.NoError(t, err)
		out := []int64{}
		for _, m := range msgs {
			out = append(out, m.Position)
		}
		return out
	}
	assert.Equal(t, []int64{3, 4, 5}, positions(domain.GetOpts{Position: 3, BatchSize: new(int64(3))}))
	assert.Equal(t, []int64{8, 9}, positions(domain.GetOpts{Position: 8}))
	assert.Equal(t, []int64{7, 8, 9}, positions(domain.GetOpts{Position: 7, BatchSize: new(domain.Unlimited)}))
	assert.Equal(t, []int64{}, positions(domain.GetOpts{BatchSize: new(int64(0))}))
	assert.Equal(t, []int64{}, positions(domain.GetOpts{Position: 10}))

	_, err = ns.GetStreamMessages(ctx, "acct-1", domain.GetOpts{Position: -1})
	assert.ErrorIs(t, err, domain.ErrInvalidPosition)
	_, err = ns.GetStreamMessages(ctx, "acct-1", domain.GetOpts{BatchSize: new(int64(-2))})
	assert.ErrorIs(t, err, domain.ErrInvalidBatchSize)
}

func TestMessages_MDB001_3A_T8_CategoryFromManyStreams(t *testing.T) {
	ctx := context.Background()
	_, ns := messagesNS(t)
	write(t, ns, "acct-1", msg("A", 0))                                                                                    // 1
	write(t, ns, "acct:command-1", msg("A", 1))                                                                            // 2, another category
	write(t, ns, "acct-2", domain.NewMessage{Type: "B", Metadata: json.RawMessage(`{"correlationStreamName":"other-5"}`)}) // 3
	write(t, ns, "account-1", msg("A", 3))                                                                                 // 4, another category
	write(t, ns, "acct-1+x", msg("A", 4))                                                                                  // 5

	gps := func(cat string, opts domain.CategoryOpts) []int64 {
		msgs, err := ns.GetCategoryMessages(ctx, cat, opts)
		require.NoError(t, err)
		out := []int64{}
		for _, m := range msgs {
			assert.Equal(t, cat, domain.Category(m.StreamName))
			out = append(out, m.GlobalPosition)
		}
		return out
	}
	assert.Equal(t, []int64{1, 3, 5}, gps("acct", domain.CategoryOpts{}))
	assert.Equal(t, []int64{3, 5}, gps("acct", domain.CategoryOpts{Position: 2}))
	assert.Equal(t, []int64{1, 3}, gps("acct", domain.CategoryOpts{BatchSize: new(int64(2))}))
	assert.Equal(t, []int64{}, gps("acct", domain.CategoryOpts{BatchSize: new(int64(0))}))
	assert.Equal(t, []int64{1, 3, 5}, gps("acct", domain.CategoryOpts{BatchSize: new(domain.Unlimited)}))
	assert.Equal(t, []int64{2}, gps("acct:command", domain.CategoryOpts{}))
	assert.Equal(t, []int64{3}, gps("acct", domain.CategoryOpts{Correlation: "other"}))
	assert.Equal(t, []int64{}, gps("acct", domain.CategoryOpts{Correlation: "nothing"}))
	assert.Equal(t, []int64{}, gps("nothing", domain.CategoryOpts{}))

	_, err := ns.GetCategoryMessages(ctx, "acct-1", domain.CategoryOpts{})
	assert.ErrorIs(t, err, domain.ErrInvalidStreamName)
	_, err = ns.GetCategoryMessages(ctx, "acct", domain.CategoryOpts{Correlation: "other-1"})
	assert.ErrorIs(t, err, domain.ErrInvalidCorrelation)
}

// groupFixture writes one message to each of 40 streams of acct, some with
// compound ids, and returns the stream names.
func groupFixture(t *testing.T, ns *postgres.Namespace) []string {
	t.Helper()
	var streams []string
	for i := range 40 {
		s := fmt.Sprintf("acct-%d", i)
		if i%4 == 0 {
			s = fmt.Sprintf("acct-%d+part", i/4)
		}
		streams = append(streams, s)
		write(t, ns, s, msg("A", i))
	}
	return streams
}

func TestMessages_MDB001_3A_T9_ConsumerGroups(t *testing.T) {
	ctx := context.Background()
	_, ns := messagesNS(t)
	streams := groupFixture(t, ns)
	const size = 3
	for member := range int64(size) {
		msgs, err := ns.GetCategoryMessages(ctx, "acct", domain.CategoryOpts{ConsumerGroup: &domain.ConsumerGroup{Member: member, Size: size}})
		require.NoError(t, err)
		var got []string
		for _, m := range msgs {
			got = append(got, m.StreamName)
		}
		var want []string
		for _, s := range streams {
			if domain.IsMember(s, member, size) {
				want = append(want, s)
			}
		}
		assert.Equal(t, want, got, "member %d: the streams whose cardinal id hashes to it, in global position order", member)
	}
	_, err := ns.GetCategoryMessages(ctx, "acct", domain.CategoryOpts{ConsumerGroup: &domain.ConsumerGroup{Member: 3, Size: 3}})
	assert.ErrorIs(t, err, domain.ErrInvalidConsumerGroup)

	// With a correlation filter too.
	_, err = ns.WriteMessage(ctx, "acct-7", domain.NewMessage{Type: "C", Metadata: json.RawMessage(`{"correlationStreamName":"x-1"}`)}, domain.AnyVersion)
	require.NoError(t, err)
	member, _ := domain.GroupMember("acct-7", size)
	msgs, err := ns.GetCategoryMessages(ctx, "acct", domain.CategoryOpts{Correlation: "x", ConsumerGroup: &domain.ConsumerGroup{Member: member, Size: size}})
	require.NoError(t, err)
	require.Len(t, msgs, 1)
	assert.Equal(t, "C", msgs[0].Type)
	msgs, err = ns.GetCategoryMessages(ctx, "acct", domain.CategoryOpts{Correlation: "x", ConsumerGroup: &domain.ConsumerGroup{Member: (member + 1) % size, Size: size}})
	require.NoError(t, err)
	assert.Empty(t, msgs)
}

func TestMessages_MDB001_3A_T10_ConsumerGroupPartition(t *testing.T) {
	ctx := context.Background()
	_, ns := messagesNS(t)
	streams := groupFixture(t, ns)
	for _, size := range []int64{1, 2, 4, 7} {
		seen := map[string]int64{}
		total := 0
		for member := range size {
			var pos int64
			for {
				// Page through the member with small batches.
				msgs, err := ns.GetCategoryMessages(ctx, "acct", domain.CategoryOpts{Position: pos, BatchSize: new(int64(3)),
					ConsumerGroup: &domain.ConsumerGroup{Member: member, Size: size}})
				require.NoError(t, err)
				if len(msgs) == 0 {
					break
				}
				for _, m := range msgs {
					prev, dup := seen[m.StreamName]
					assert.False(t, dup && prev != member, "stream %s in members %d and %d", m.StreamName, prev, member)
					seen[m.StreamName] = member
					total++
				}
				pos = msgs[len(msgs)-1].GlobalPosition + 1
			}
		}
		assert.Equal(t, len(streams), total, "size %d: every message in exactly one member", size)
		// Compound ids go with their cardinal id.
		for i := range 10 {
			m1, ok1 := seen[fmt.Sprintf("acct-%d+part", i)]
			m2, ok2 := seen[fmt.Sprintf("acct-%d", i)]
			if ok1 && ok2 {
				assert.Equal(t, m1, m2, "size %d: acct-%d+part and acct-%d", size, i, i)
			}
		}
	}
}

func TestMessages_MDB001_3A_T11_GetLastStreamMessage(t *testing.T) {
	ctx := context.Background()
	_, ns := messagesNS(t)
	write(t, ns, "acct-1", msg("A", 0))
	write(t, ns, "acct-1", msg("B", 1))
	write(t, ns, "acct-2", msg("C", 2))
	last, err := ns.GetLastStreamMessage(ctx, "acct-1", "")
	require.NoError(t, err)
	assert.Equal(t, int64(1), last.Position)
	assert.Equal(t, "B", last.Type)
	assert.JSONEq(t, `{"n":1}`, string(last.Data))

	_, err = ns.GetLastStreamMessage(ctx, "acct-9", "")
	assert.ErrorIs(t, err, domain.ErrStreamNotFound)
	_, err = ns.GetLastStreamMessage(ctx, "acct", "")
	assert.ErrorIs(t, err, domain.ErrInvalidStreamName)
}

func TestMessages_MDB001_3A_T12_GetLastStreamMessageOfType(t *testing.T) {
	ctx := context.Background()
	_, ns := messagesNS(t)
	write(t, ns, "acct-1", msg("A", 0))
	write(t, ns, "acct-1", msg("B", 1))
	write(t, ns, "acct-1", msg("A", 2))
	write(t, ns, "acct-1", msg("B", 3))
	last, err := ns.GetLastStreamMessage(ctx, "acct-1", "A")
	require.NoError(t, err)
	assert.Equal(t, int64(2), last.Position)
	assert.Equal(t, "A", last.Type)
	_, err = ns.GetLastStreamMessage(ctx, "acct-1", "Z")
	assert.ErrorIs(t, err, domain.ErrStreamNotFound)
}

func TestMessages_MDB001_3A_T13_GetStreamVersion(t *testing.T) {
	ctx := context.Background()
	_, ns := messagesNS(t)
	v, err := ns.GetStreamVersion(ctx, "acct-1")
	require.NoError(t, err)
	assert.Equal(t, domain.NoStream, v)
	for i := range 3 {
		write(t, ns, "acct-1", msg("A", i))
		v, err = ns.GetStreamVersion(ctx, "acct-1")
		require.NoError(t, err)
		assert.Equal(t, int64(i), v)
	}
	write(t, ns, "acct-11", msg("A", 0))
	v, err = ns.GetStreamVersion(ctx, "acct-1")
	require.NoError(t, err)
	assert.Equal(t, int64(2), v, "another stream with the same prefix does not count")
	_, err = ns.GetStreamVersion(ctx, "acct")
	assert.ErrorIs(t, err, domain.ErrInvalidStreamName)
}

// TestMessages_QuotesAndBackslashesInValues checks that values that need
// quoting in SQL text (the simple protocol quotes parameters client-side)
// are stored and found as they are.
func TestMessages_QuotesAndBackslashesInValues(t *testing.T) {
	ctx := context.Background()
	_, ns := messagesNS(t)
	stream := `acct-o'brien\x"; DROP TABLE x; --`
	typ := `Type'With\Quote`
	data := json.RawMessage(`{"s":"it's a \\ backslash and a \" quote","e":"E'\\x00'"}`)
	r, err := ns.WriteMessage(ctx, stream, domain.NewMessage{Type: typ, Data: data,
		Metadata: json.RawMessage(`{"correlationStreamName":"o'neil-1"}`)}, domain.ExpectVersion(domain.NoStream))
	require.NoError(t, err)
	assert.Equal(t, wr(0, 1), r)
	msgs, err := ns.GetStreamMessages(ctx, stream, domain.GetOpts{})
	require.NoError(t, err)
	require.Len(t, msgs, 1)
	assert.Equal(t, stream, msgs[0].StreamName)
	assert.Equal(t, typ, msgs[0].Type)
	assert.JSONEq(t, string(data), string(msgs[0].Data))
	last, err := ns.GetLastStreamMessage(ctx, stream, typ)
	require.NoError(t, err)
	assert.Equal(t, msgs[0].ID, last.ID)
	cat, err := ns.GetCategoryMessages(ctx, "acct", domain.CategoryOpts{Correlation: "o'neil"})
	require.NoError(t, err)
	assert.Len(t, cat, 1)
	_, err = ns.WriteMessage(ctx, stream, domain.NewMessage{Type: typ}, domain.ExpectVersion(5))
	var vc *domain.VersionConflictError
	require.ErrorAs(t, err, &vc)
	assert.Equal(t, domain.VersionConflictError{StreamName: stream, Expected: 5, Actual: 0}, *vc,
		"the stream name is read back from Message DB's exception text")
}
