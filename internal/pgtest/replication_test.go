package pgtest_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messagedb-go/messagedb/internal/pgtest"
)

// A standby streams the primary's writes and refuses its own; after the
// primary is killed it is promoted, keeps what was replicated and accepts
// writes.
func TestCluster_StandbyKillPromote(t *testing.T) {
	primary := pgtest.NewCluster(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	require.NoError(t, primary.Exec(ctx, "CREATE TABLE t (v int)", "INSERT INTO t VALUES (1)"))

	standby := primary.NewStandby(t)
	assert.NotEqual(t, primary.URL(), standby.URL())
	require.NoError(t, primary.Set(ctx, "synchronous_standby_names", "*"))
	require.NoError(t, primary.WaitStreaming(ctx, 1, true))
	// Synchronous: acknowledged once the standby has it.
	require.NoError(t, primary.Exec(ctx, "INSERT INTO t VALUES (2)"))

	var inRecovery bool
	require.NoError(t, connect(t, standby.URL()).QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&inRecovery))
	assert.True(t, inRecovery, "a standby is in recovery")
	assert.Error(t, standby.Exec(ctx, "INSERT INTO t VALUES (3)"), "a standby refuses writes")

	require.NoError(t, primary.Kill())
	require.NoError(t, primary.Kill(), "killing a stopped cluster")
	assert.Error(t, primary.Exec(ctx, "SELECT 1"), "the killed primary answers nothing")

	require.NoError(t, standby.Promote(ctx))
	require.NoError(t, standby.Exec(ctx, "INSERT INTO t VALUES (3)"), "the promoted standby takes writes")
	var sum int
	require.NoError(t, connect(t, standby.URL()).QueryRow(ctx, "SELECT sum(v) FROM t").Scan(&sum))
	assert.Equal(t, 6, sum, "rows 1 and 2 were replicated, 3 written after the promotion")
}
