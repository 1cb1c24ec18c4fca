package postgres

import (
	"slices"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Signals that arrive while a notification is under way are coalesced: the
// next statement carries each channel once, however many writes signalled
// it.
func TestNotifier_CoalescesSignals(t *testing.T) {
	cfg, err := pgx.ParseConfig("postgres://messagedb@127.0.0.1:1/none")
	require.NoError(t, err)
	nt := newNotifier(cfg, "token")
	defer nt.cancel()
	nt.started = true // as if its goroutine were busy sending: nothing is taken meanwhile

	channels := []string{"mdb_a", "mdb_b", "mdb_c"}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			<-start
			for i := range 100 {
				nt.signal(channels[(g+i)%len(channels)])
			}
		})
	}
	close(start)
	wg.Wait()

	got := nt.take()
	slices.Sort(got)
	assert.Equal(t, channels, got, "1600 signals on 3 channels make one notification per channel")
	assert.Empty(t, nt.take(), "taken once")

	nt.requeue([]string{"mdb_b"})
	assert.Equal(t, []string{"mdb_b"}, nt.take(), "a channel that could not be sent is sent again")
}
