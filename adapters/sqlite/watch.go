package sqlite

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/messagedb-go/messagedb/domain"
)

// WatchCategory returns a channel that receives a value after messages
// written to the category through this Store have committed; see
// ports.Watcher. Writes made by other processes (or other Stores) on the same
// file do not wake it: readers still poll. The channel is closed when ctx is
// done, the namespace is deleted or the Store closed. Watching takes no
// goroutine.
func (n *Namespace) WatchCategory(ctx context.Context, category string) (<-chan struct{}, error) {
	if err := domain.ValidateCategory(category); err != nil {
		return nil, err
	}
	e := n.e
	e.rw.RLock()
	defer e.rw.RUnlock()
	if e.gone != nil {
		return nil, e.gone
	}
	// The entry is retired under its write lock, so watchers are open.
	return e.watch.add(ctx, category), nil
}

type watcher struct {
	ch   chan struct{}
	stop func() bool // unregisters the context.AfterFunc
}

// watchers are a namespace's watchers by category.
type watchers struct {
	count  atomic.Int64 // watchers registered: writes skip the lock when 0
	mu     sync.Mutex
	byCat  map[string]map[*watcher]struct{}
	closed bool
}

// add registers a watcher of category until ctx is done.
func (ws *watchers) add(ctx context.Context, category string) <-chan struct{} {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	w := &watcher{ch: make(chan struct{}, 1)}
	if ws.closed {
		close(w.ch)
		return w.ch
	}
	// The function runs in a goroutine of its own once ctx is done, and
	// waits for this lock: w is registered by then.
	w.stop = context.AfterFunc(ctx, func() { ws.remove(category, w) })
	if ws.byCat == nil {
		ws.byCat = make(map[string]map[*watcher]struct{})
	}
	set := ws.byCat[category]
	if set == nil {
		set = make(map[*watcher]struct{})
		ws.byCat[category] = set
	}
	set[w] = struct{}{}
	ws.count.Add(1)
	return w.ch
}

// remove unregisters w and closes its channel, unless that was done already.
func (ws *watchers) remove(category string, w *watcher) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	set := ws.byCat[category]
	if _, ok := set[w]; !ok {
		return
	}
	delete(set, w)
	if len(set) == 0 {
		delete(ws.byCat, category)
	}
	ws.count.Add(-1)
	close(w.ch)
}

// notify wakes the category's watchers; a watcher with a wake-up pending
// keeps just that one.
func (ws *watchers) notify(category string) {
	if ws.count.Load() == 0 {
		return
	}
	ws.mu.Lock()
	defer ws.mu.Unlock()
	for w := range ws.byCat[category] {
		select {
		case w.ch <- struct{}{}:
		default:
		}
	}
}

// closeAll closes every watcher's channel and refuses new watchers.
func (ws *watchers) closeAll() {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	ws.closed = true
	for _, set := range ws.byCat {
		for w := range set {
			w.stop()
			close(w.ch)
		}
	}
	ws.byCat = nil
	ws.count.Store(0)
}
