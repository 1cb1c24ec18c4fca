package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// A watch made as the listener closes is released: WatchCategory waits for
// its channel's ready, which the listener's goroutine may never get to
// close when the listener is closed before it runs.
func TestListener_CloseReleasesWatchesWaitingForListen(t *testing.T) {
	// No server needed: nothing listens on port 1, and the listener is
	// closed at once anyway.
	cfg, err := pgx.ParseConfig("postgres://messagedb@127.0.0.1:1/none?connect_timeout=1")
	require.NoError(t, err)
	for i := range 200 {
		l := newListener(cfg, "", nil)
		_, ready, err := l.watch(context.Background(), "messagedb_x_c")
		require.NoError(t, err)
		l.close()
		select {
		case <-ready:
		case <-time.After(5 * time.Second):
			t.Fatalf("round %d: a watch is still waiting for a LISTEN after the listener closed", i)
		}
	}
}
