package wakeup_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messagedb-go/messagedb/internal/wakeup"
)

// pending reports whether ch holds a wake-up, without waiting; it fails the
// test if ch is closed.
func pending(t *testing.T, ch <-chan struct{}) bool {
	t.Helper()
	select {
	case _, ok := <-ch:
		require.True(t, ok, "channel closed, want open")
		return true
	default:
		return false
	}
}

// closed waits for ch to be closed (a liveness bound, not a timing
// requirement), draining a pending wake-up. It may run in any goroutine.
func closed(t *testing.T, ch <-chan struct{}) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-deadline:
			assert.Fail(t, "channel not closed")
			return
		}
	}
}

func TestHub_WakeReachesTheKeysWatchers(t *testing.T) {
	var h wakeup.Hub
	ctx := t.Context()
	a1, a2, b := h.Watch(ctx, "a"), h.Watch(ctx, "a"), h.Watch(ctx, "b")

	h.Wake("a")
	assert.True(t, pending(t, a1))
	assert.True(t, pending(t, a2))
	assert.False(t, pending(t, b), "another key's watcher stays asleep")

	// Wake-ups coalesce: three wakes, one pending value.
	h.Wake("b")
	h.Wake("b", "b")
	assert.True(t, pending(t, b))
	assert.False(t, pending(t, b), "a watcher keeps one wake-up")

	h.WakeAll()
	for i, ch := range []<-chan struct{}{a1, a2, b} {
		assert.True(t, pending(t, ch), "watcher %d after WakeAll", i)
	}
	h.Wake("nobody") // no watcher: nothing happens
}

func TestHub_ContextEndsTheWatch(t *testing.T) {
	idle := make(chan string, 4)
	h := wakeup.Hub{Idle: func(key string) { idle <- key }}
	ctx1, cancel1 := context.WithCancel(t.Context())
	ctx2, cancel2 := context.WithCancel(t.Context())
	w1, w2 := h.Watch(ctx1, "a"), h.Watch(ctx2, "a")

	cancel1()
	closed(t, w1)
	assert.True(t, h.Watched("a"), "the other watcher remains")
	assert.Empty(t, idle, "not idle while a watcher remains")
	h.Wake("a")
	assert.True(t, pending(t, w2))

	cancel2()
	closed(t, w2)
	select {
	case k := <-idle:
		assert.Equal(t, "a", k)
	case <-time.After(10 * time.Second):
		require.FailNow(t, "Idle not called after the last watcher left")
	}
	assert.False(t, h.Watched("a"))
}

func TestHub_Close(t *testing.T) {
	calls := 0
	h := wakeup.Hub{Idle: func(string) { calls++ }}
	ctx, cancel := context.WithCancel(t.Context())
	w := h.Watch(ctx, "a")
	h.Close()
	closed(t, w)
	cancel() // the watch's context ends after Close: no double close, no Idle
	closed(t, h.Watch(t.Context(), "a"))
	h.Wake("a")
	h.WakeAll()
	assert.False(t, h.Watched("a"))
	assert.Zero(t, calls, "Idle is not called for a closed Hub")
}

// Many watchers come and go while writers wake their keys and the Hub
// closes: run with -race. Every watcher's channel ends closed, and a
// watcher that was registered before a Wake of its key holds a wake-up.
func TestHub_Concurrent(t *testing.T) {
	var h wakeup.Hub
	const goroutines = 32
	start := make(chan struct{})
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			<-start
			key := fmt.Sprint("k", g%4)
			for i := range 50 {
				ctx, cancel := context.WithCancel(t.Context())
				ch := h.Watch(ctx, key)
				h.Wake(key)
				select {
				case <-ch: // a wake-up, or closed by Close
				case <-time.After(10 * time.Second):
					t.Errorf("goroutine %d, watch %d: no wake-up", g, i)
				}
				cancel()
				closed(t, ch)
			}
		})
	}
	close(start)
	wg.Wait()
	h.Close()
	assert.False(t, h.Watched("k0"))
}
