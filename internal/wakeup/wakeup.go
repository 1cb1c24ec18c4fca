// Package wakeup fans wake-ups out to watchers: the part of
// ports.Watcher that every backend shares. A Hub holds watchers by key (a
// category, or a PostgreSQL notification channel); a write wakes the
// watchers of its keys once it has committed. A watcher's channel holds at
// most one pending wake-up, so a slow watcher is never a reason to wait, and
// it is closed when the watcher's context is done or the Hub closed.
//
// How writes reach the Hub is the backend's: SQLite wakes it from the
// Store's own writes, PostgreSQL also from the notifications its listener
// receives.
package wakeup

import (
	"context"
	"sync"
	"sync/atomic"
)

// Hub holds watchers by key. The zero value is ready to use; a Hub must not
// be copied after first use. It is safe for concurrent use.
type Hub struct {
	// Idle, when set, is called with a key after its last watcher has gone
	// (its context done), outside the Hub's lock. It is not called once the
	// Hub is closed. The key may have a new watcher by the time it runs:
	// check with Watched.
	Idle func(key string)

	count  atomic.Int64 // watchers registered: Wake takes no lock when 0
	mu     sync.Mutex
	byKey  map[string]map[*watcher]struct{}
	closed bool
}

type watcher struct {
	ch   chan struct{}
	stop func() bool // unregisters the context.AfterFunc
}

// Watch returns a channel that receives a value after each Wake of key,
// holding at most one, until ctx is done: it is then closed. On a closed
// Hub the channel is closed at once. Watching takes no goroutine.
func (h *Hub) Watch(ctx context.Context, key string) <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	w := &watcher{ch: make(chan struct{}, 1)}
	if h.closed {
		close(w.ch)
		return w.ch
	}
	// The function runs in a goroutine of its own once ctx is done, and
	// waits for the lock: w is registered by then.
	w.stop = context.AfterFunc(ctx, func() { h.remove(key, w) })
	if h.byKey == nil {
		h.byKey = make(map[string]map[*watcher]struct{})
	}
	set := h.byKey[key]
	if set == nil {
		set = make(map[*watcher]struct{})
		h.byKey[key] = set
	}
	set[w] = struct{}{}
	h.count.Add(1)
	return w.ch
}

// remove unregisters w and closes its channel, unless Close did.
func (h *Hub) remove(key string, w *watcher) {
	h.mu.Lock()
	set := h.byKey[key]
	if _, ok := set[w]; !ok {
		h.mu.Unlock()
		return
	}
	delete(set, w)
	idle := len(set) == 0
	if idle {
		delete(h.byKey, key)
	}
	h.count.Add(-1)
	close(w.ch)
	h.mu.Unlock()
	if idle && h.Idle != nil {
		h.Idle(key)
	}
}

// Watched reports whether key has a watcher.
func (h *Hub) Watched(key string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.byKey[key]) > 0
}

// Wake wakes the watchers of the keys; a watcher with a wake-up pending
// keeps just that one.
func (h *Hub) Wake(keys ...string) {
	if h.count.Load() == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, k := range keys {
		for w := range h.byKey[k] {
			wake(w)
		}
	}
}

// WakeAll wakes every watcher (after wake-ups may have been lost).
func (h *Hub) WakeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, set := range h.byKey {
		for w := range set {
			wake(w)
		}
	}
}

func wake(w *watcher) {
	select {
	case w.ch <- struct{}{}:
	default:
	}
}

// Close closes every watcher's channel; later watchers get a closed
// channel.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for _, set := range h.byKey {
		for w := range set {
			w.stop()
			close(w.ch)
		}
	}
	h.byKey = nil
	h.count.Store(0)
}
