package contracttest

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messagedb-go/messagedb/domain"
)

// The adapters' consumer group scenarios MDB001_3A_T9, MDB001_3A_T10 and
// MDB001_5A_T9 are the partitioning, compound id and combined cases.
func groupCases() []testCase {
	return []testCase{
		{"MDB001_6A_T4_Partitioning", testGroupPartitioning},
		{"CompoundIDsGoWithTheirCardinalID", testGroupCompoundIDs},
		{"WithCorrelationPositionAndBatchSize", testGroupCombined},
		{"InvalidConsumerGroup", testInvalidConsumerGroup},
		{"MDB001_5A_T10_MembersMatchMessageDB", testGroupVectors},
	}
}

// groupVectors are the members that streams with these cardinal ids
// belong to in consumer groups of size 2 to 7, computed apart from this
// module from Message DB's definition: abs(hash_64(cardinal id)) % size,
// hash_64 being the first 8 bytes of the id's MD5 read as a signed
// big-endian integer. Message DB's hash_64('someStream') is
// 2053039834977696644.
var groupVectors = map[string][6]int64{
	"someStream": {0, 2, 0, 4, 2, 2},
	"1":          {0, 0, 2, 1, 0, 2},
	"42":         {1, 0, 1, 3, 3, 4},
	"abc":        {0, 2, 0, 4, 2, 2},
	"ž":          {1, 2, 1, 0, 5, 3},
	"x-y":        {0, 2, 2, 3, 2, 6},
}

// testGroupVectors reads each member of groups of 2 to 7 and checks that
// every stream, and its compound ids, is read by the member Message DB
// assigns it (fixed vectors, not the module's own hash).
func testGroupVectors(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	cat := category(t, "someCategory")
	cardinal := map[string]string{} // stream -> cardinal id
	for id := range groupVectors {
		for _, s := range []string{cat + "-" + id, cat + "-" + id + "+compound"} {
			write(t, ms, s, newMsg("Tested", 0))
			cardinal[s] = id
		}
	}
	for size := int64(2); size <= 7; size++ {
		read := map[string]int64{}
		for member := range size {
			g := &domain.ConsumerGroup{Member: member, Size: size}
			for _, m := range categoryMessages(t, ms, cat, domain.CategoryOpts{ConsumerGroup: g, BatchSize: unlimited()}) {
				read[m.StreamName] = member
			}
		}
		for s, id := range cardinal {
			member, ok := read[s]
			if assert.True(t, ok, "size %d: %s read by no member", size, s) {
				assert.Equal(t, groupVectors[id][size-2], member, "size %d: member of %s", size, s)
			}
		}
	}
}

// groupStreamIDs are the stream ids of the partitioning cases: plain ids,
// compound ids sharing a cardinal id, and ids that contain "-".
func groupStreamIDs() []string {
	ids := make([]string, 0, 32)
	for i := 1; i <= 22; i++ {
		ids = append(ids, fmt.Sprint(i))
	}
	return append(ids, "7+a", "7+b", "13+x", "13+y+z", "abc", "abc+1", "x-y", "x-y+2", "Ünï😀", "0")
}

func testGroupPartitioning(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	cat := category(t, "acct")
	var streams []string
	for _, id := range groupStreamIDs() {
		streams = append(streams, cat+"-"+id)
	}
	write(t, ms, category(t, "other")+"-1", newMsg("Elsewhere", 0))
	names, rs := writeInterleaved(t, ms, streams, 2)
	streamOf := map[int64]string{}
	for i, r := range rs {
		streamOf[r.GlobalPosition] = names[i]
	}

	for size := int64(1); size <= 5; size++ {
		seen := map[int64]int64{} // global position -> member
		for member := range size {
			g := &domain.ConsumerGroup{Member: member, Size: size}
			msgs := categoryMessages(t, ms, cat, domain.CategoryOpts{ConsumerGroup: g, BatchSize: unlimited()})
			assertStrictlyIncreasing(t, globalPositions(msgs), fmt.Sprintf("member %d of %d", member, size))
			for _, m := range msgs {
				if prev, dup := seen[m.GlobalPosition]; dup {
					assert.Failf(t, "message read by two members", "size %d: global position %d (%s) read by members %d and %d",
						size, m.GlobalPosition, m.StreamName, prev, member)
				}
				seen[m.GlobalPosition] = member
				assert.Equal(t, streamOf[m.GlobalPosition], m.StreamName, "stream of global position %d", m.GlobalPosition)
				want, ok := domain.GroupMember(m.StreamName, size)
				assert.True(t, ok)
				// Parity with Message DB: the member is abs(hash_64(cardinal id)) % size.
				assert.Equal(t, want, member, "size %d: %s must go to member %d (Message DB's hash), read by %d",
					size, m.StreamName, want, member)
			}
		}
		assert.Equal(t, len(rs), len(seen), "size %d: the members together read every message of the category exactly once", size)
	}
}

func testGroupCompoundIDs(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	cat := category(t, "acct")
	families := [][]string{
		{cat + "-7", cat + "-7+a", cat + "-7+b"},
		{cat + "-13+x", cat + "-13", cat + "-13+y+z"},
		{cat + "-abc+1", cat + "-abc"},
	}
	for _, f := range families {
		for i, s := range f {
			write(t, ms, s, newMsg("Tested", i))
		}
	}
	for size := int64(2); size <= 5; size++ {
		memberOf := map[string]int64{}
		for member := range size {
			g := &domain.ConsumerGroup{Member: member, Size: size}
			for _, m := range categoryMessages(t, ms, cat, domain.CategoryOpts{ConsumerGroup: g}) {
				memberOf[m.StreamName] = member
			}
		}
		for _, f := range families {
			for _, s := range f {
				require.Contains(t, memberOf, s, "size %d: %s read by no member", size, s)
				assert.Equal(t, memberOf[f[0]], memberOf[s], "size %d: %s goes with %s (same cardinal id)", size, s, f[0])
			}
		}
	}
}

func testGroupCombined(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	cat := category(t, "acct")
	other := category(t, "other")

	var written []domain.Message
	for i := range 60 {
		s := fmt.Sprintf("%s-%d", cat, i%12)
		m := newMsg("A", i)
		if i%3 != 0 {
			m = correlated("A", i, fmt.Sprintf("%s-%d", other, i))
		}
		r := write(t, ms, s, m)
		written = append(written, domain.Message{StreamName: s, GlobalPosition: r.GlobalPosition, Metadata: m.Metadata})
	}
	start := written[10].GlobalPosition

	const size = 3
	for member := range int64(size) {
		var want []int64
		for _, w := range written {
			if w.GlobalPosition >= start && domain.IsMember(w.StreamName, member, size) &&
				domain.Category(w.CorrelationStreamName()) == other {
				want = append(want, w.GlobalPosition)
			}
		}
		require.Greater(t, len(want), 4, "the scenario needs several matching messages per member")
		g := &domain.ConsumerGroup{Member: member, Size: size}

		msgs := categoryMessages(t, ms, cat, domain.CategoryOpts{Position: start, Correlation: other, ConsumerGroup: g, BatchSize: unlimited()})
		assert.Equal(t, want, globalPositions(msgs), "member %d: group, correlation and position together", member)

		msgs = categoryMessages(t, ms, cat, domain.CategoryOpts{Position: start, Correlation: other, ConsumerGroup: g, BatchSize: ptr(3)})
		assert.Equal(t, want[:3], globalPositions(msgs), "member %d: the batch size counts the member's messages", member)

		msgs = categoryMessages(t, ms, cat, domain.CategoryOpts{Position: want[3], Correlation: other, ConsumerGroup: g, BatchSize: ptr(1)})
		assert.Equal(t, want[3:4], globalPositions(msgs), "member %d: from an inclusive position", member)
	}
}

func testInvalidConsumerGroup(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	cat := category(t, "acct")
	write(t, ms, cat+"-1", newMsg("Tested", 0))

	for _, g := range []domain.ConsumerGroup{
		{Member: 0, Size: 0},
		{Member: 0, Size: -1},
		{Member: -1, Size: 2},
		{Member: 2, Size: 2},
		{Member: 1, Size: 1},
		{Member: 5, Size: 3},
	} {
		msgs, err := ms.GetCategoryMessages(t.Context(), cat, domain.CategoryOpts{ConsumerGroup: &g})
		assert.ErrorIs(t, err, domain.ErrInvalidConsumerGroup, "member %d of size %d", g.Member, g.Size)
		assert.ErrorIs(t, err, domain.ErrInvalidOptions, "member %d of size %d", g.Member, g.Size)
		assert.Empty(t, msgs)
	}
}
