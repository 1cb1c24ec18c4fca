package pgtest_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messagedb-go/messagedb/internal/pgtest"
)

// A committed row survives an immediate shutdown, the URL stays the same
// across the restart, and connections fail while the server is down.
func TestCluster_ImmediateStopAndStart(t *testing.T) {
	c := pgtest.NewCluster(t)
	ctx := context.Background()
	url := c.URL()
	assert.NotEqual(t, pgtest.URL(t), url, "a private cluster is not the shared one")

	conn := connect(t, url)
	_, err := conn.Exec(ctx, "CREATE TABLE t (v int); INSERT INTO t VALUES (42)")
	require.NoError(t, err)

	require.NoError(t, c.Stop(pgtest.Immediate))
	require.NoError(t, c.Stop(pgtest.Immediate), "stopping a stopped cluster")
	_, err = pgx.Connect(ctx, url)
	require.Error(t, err, "connect while the server is down")
	assert.Error(t, conn.Ping(ctx), "a connection made before the stop is broken")

	require.NoError(t, c.Start())
	require.NoError(t, c.Start(), "starting a running cluster")
	assert.Equal(t, url, c.URL())
	var v int
	require.NoError(t, connect(t, url).QueryRow(ctx, "SELECT v FROM t").Scan(&v))
	assert.Equal(t, 42, v)

	require.NoError(t, c.Stop(pgtest.Fast))
	require.NoError(t, c.Start())
	require.NoError(t, connect(t, url).QueryRow(ctx, "SELECT v FROM t").Scan(&v))
	assert.Equal(t, 42, v)
	assert.Contains(t, c.Log(), "database system is ready to accept connections")
}
