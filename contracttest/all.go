package contracttest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messagedb-go/messagedb/domain"
)

func allMessagesCases() []testCase {
	return []testCase{
		{"EveryStreamInGlobalOrder", testAllMessagesOrder},
		{"PositionAndBatchSize", testAllMessagesPositionAndBatch},
		{"InvalidOptions", testAllMessagesInvalidOptions},
	}
}

func testAllMessagesOrder(t *testing.T, newStore Factory) {
	store, ms := setup(t, newStore)
	a, b := category(t, "acct"), category(t, "other")
	streams := []string{a + "-1", b + "-1", a + ":command-1", a + "-2", b + "-1+x", a + "-1"}
	var gps []int64
	for i, s := range streams {
		gps = append(gps, write(t, ms, s, newMsg("Tested", i)).GlobalPosition)
	}

	msgs := allMessages(t, ms)
	assert.Equal(t, streams, streamNames(msgs), "every stream and category of the namespace, in write order")
	assert.Equal(t, gps, globalPositions(msgs))
	assert.Equal(t, []int64{0, 0, 0, 0, 0, 1}, positions(msgs))

	// Another namespace of the store sees none of them.
	assertEmpty(t, newNamespace(t, store))
}

func testAllMessagesPositionAndBatch(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	a, b := category(t, "acct"), category(t, "other")
	_, rs := writeInterleaved(t, ms, []string{a + "-1", b + "-1", a + "-2"}, 3)
	gps := resultGlobalPositions(rs)

	for _, c := range []struct {
		name string
		opts domain.AllOpts
		want []int64
	}{
		{"ZeroValue", domain.AllOpts{}, gps},
		{"PositionOne", domain.AllOpts{Position: 1}, gps},
		{"FromFifth", domain.AllOpts{Position: gps[4]}, gps[4:]},
		{"PastTheEnd", domain.AllOpts{Position: gps[len(gps)-1] + 1}, []int64{}},
		{"BatchSize2", domain.AllOpts{Position: gps[1], BatchSize: ptr(2)}, gps[1:3]},
		{"BatchSize0", domain.AllOpts{BatchSize: ptr(0)}, []int64{}},
		{"Unlimited", domain.AllOpts{Position: gps[2], BatchSize: unlimited()}, gps[2:]},
	} {
		msgs, err := ms.GetAllMessages(t.Context(), c.opts)
		require.NoError(t, err, c.name)
		assert.Equal(t, c.want, append([]int64{}, globalPositions(msgs)...), c.name)
	}
}

func testAllMessagesInvalidOptions(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	write(t, ms, category(t, "acct")+"-1", newMsg("Tested", 0))
	ctx := t.Context()

	_, err := ms.GetAllMessages(ctx, domain.AllOpts{Position: -1})
	assert.ErrorIs(t, err, domain.ErrInvalidPosition)
	assert.ErrorIs(t, err, domain.ErrInvalidOptions)

	_, err = ms.GetAllMessages(ctx, domain.AllOpts{BatchSize: ptr(-2)})
	assert.ErrorIs(t, err, domain.ErrInvalidBatchSize)
	assert.ErrorIs(t, err, domain.ErrInvalidOptions)
}
