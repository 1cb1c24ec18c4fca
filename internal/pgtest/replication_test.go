package pgtest_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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

	// Kill returns once the postmaster and every server process are gone.
	pids := serverPIDs(t, primary)
	require.NoError(t, primary.Kill())
	for _, pid := range pids {
		assert.False(t, running(pid), "server process %d alive after Kill", pid)
	}
	require.NoError(t, primary.Kill(), "killing a stopped cluster")
	assert.Error(t, primary.Exec(ctx, "SELECT 1"), "the killed primary answers nothing")

	require.NoError(t, standby.Promote(ctx))
	require.NoError(t, standby.Exec(ctx, "INSERT INTO t VALUES (3)"), "the promoted standby takes writes")
	var sum int
	require.NoError(t, connect(t, standby.URL()).QueryRow(ctx, "SELECT sum(v) FROM t").Scan(&sum))
	assert.Equal(t, 6, sum, "rows 1 and 2 were replicated, 3 written after the promotion")
}

// serverPIDs returns the cluster's postmaster (from postmaster.pid) and
// its other processes (from pg_stat_activity), at least a checkpointer and
// a WAL sender.
func serverPIDs(t *testing.T, c *pgtest.Cluster) []int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(c.Dir(), "data", "postmaster.pid"))
	require.NoError(t, err)
	pm, err := strconv.Atoi(strings.SplitN(string(b), "\n", 2)[0])
	require.NoError(t, err)
	rows, err := connect(t, c.URL()).Query(t.Context(),
		"SELECT pid, backend_type FROM pg_catalog.pg_stat_activity WHERE pid <> pg_catalog.pg_backend_pid()")
	require.NoError(t, err)
	pids := []int{pm}
	kinds := map[string]bool{}
	for rows.Next() {
		var pid int
		var kind string
		require.NoError(t, rows.Scan(&pid, &kind))
		pids = append(pids, pid)
		kinds[kind] = true
	}
	require.NoError(t, rows.Err())
	require.True(t, kinds["checkpointer"] && kinds["walsender"], "server processes: %v", kinds)
	for _, pid := range pids {
		require.True(t, running(pid), "server process %d", pid)
	}
	return pids
}

// running reports whether process pid exists and is not a zombie.
func running(pid int) bool {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || !strings.HasPrefix(strings.TrimSpace(s[i+1:]), "Z")
}
