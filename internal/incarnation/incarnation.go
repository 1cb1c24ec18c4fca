// Package incarnation makes the handles of a deleted namespace fail, on
// every backend alike. A namespace id may be created, deleted and created
// again: each life is an incarnation. A Store keeps the current incarnation
// of each id in a Registry, and each handle (a message store) holds the one
// it was made with. Deleting the namespace ends its incarnation, so its
// handles fail from then on, also after a namespace of the same id is
// created again: that one is a new incarnation.
//
// An Incarnation also carries what the backend keeps for that life (SQLite:
// the namespace's open database and its watchers), and lets the end wait for
// the calls in progress (Enter, Leave) before that state is released.
package incarnation

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
)

// Incarnation is one life of a namespace in a Store; State is the backend's
// state of it.
type Incarnation[T any] struct {
	State T

	rw      sync.RWMutex          // held shared by calls in progress, exclusively to end
	err     atomic.Pointer[error] // why calls fail, once ended
	life    context.Context       // done once ended; made by Take
	endLife context.CancelFunc

	// Guarded by the Registry's lock.
	pending int  // lookups between Take and Release
	held    bool // a handle holds it
}

// Err returns nil while the incarnation lives, else why it ended. It does
// not wait for the calls in progress.
func (inc *Incarnation[T]) Err() error {
	if p := inc.err.Load(); p != nil {
		return *p
	}
	return nil
}

// Enter starts a call that uses the incarnation's state: it returns why the
// incarnation ended, or nil, and the call then ends with Leave. An end waits
// for the calls entered.
func (inc *Incarnation[T]) Enter() error {
	inc.rw.RLock()
	if err := inc.Err(); err != nil {
		inc.rw.RUnlock()
		return err
	}
	return nil
}

// Leave ends a call that Enter started.
func (inc *Incarnation[T]) Leave() { inc.rw.RUnlock() }

// Bind returns a context that is done when ctx is, or when the
// incarnation (one from Take) ends: what lasts no longer than the
// namespace, such as a watch, runs under it. The incarnation ends before
// the context is done. Binding takes no goroutine while both live.
func (inc *Incarnation[T]) Bind(ctx context.Context) context.Context {
	bound, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(inc.life, cancel)
	context.AfterFunc(bound, func() { stop() })
	return bound
}

// end ends the incarnation with reason once the calls in progress are done,
// and then runs release, if any, on its state; it returns release's error.
// An incarnation ended already is left as it is.
func (inc *Incarnation[T]) end(reason error, release func(*T) error) error {
	inc.rw.Lock()
	defer inc.rw.Unlock()
	if inc.err.Load() != nil {
		return nil
	}
	inc.err.Store(&reason)
	if inc.endLife != nil {
		inc.endLife()
	}
	if release != nil {
		return release(&inc.State)
	}
	return nil
}

// Registry holds the current incarnation of each namespace id of a Store.
// An incarnation is kept while a handle may hold it: looking up ids that do
// not exist leaves nothing behind. The zero value is ready to use; it is
// safe for concurrent use.
type Registry[T any] struct {
	mu     sync.Mutex
	byID   map[string]*Incarnation[T]
	closed error // set by EndAll
}

// Take returns the current incarnation of id (a new one if there is none),
// for a lookup of the namespace that ends with Release. Taking it before
// the lookup matters: a delete that commits after the lookup then ends the
// incarnation the handle gets. After EndAll, Take returns EndAll's reason.
func (r *Registry[T]) Take(id string) (*Incarnation[T], error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed != nil {
		return nil, r.closed
	}
	inc := r.byID[id]
	if inc == nil {
		if r.byID == nil {
			r.byID = make(map[string]*Incarnation[T])
		}
		inc = new(Incarnation[T])
		inc.life, inc.endLife = context.WithCancel(context.Background())
		r.byID[id] = inc
	}
	inc.pending++
	return inc, nil
}

// Held reports whether a handle holds inc, taken by Take: the namespace
// was found by an earlier lookup, and is current until its incarnation
// ends.
func (r *Registry[T]) Held(inc *Incarnation[T]) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return inc.held
}

// Release ends a lookup that took inc: hold says whether it made a handle
// (the namespace exists). An incarnation no handle holds is forgotten.
func (r *Registry[T]) Release(id string, inc *Incarnation[T], hold bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	inc.pending--
	inc.held = inc.held || hold
	if inc.pending == 0 && !inc.held && r.byID[id] == inc {
		delete(r.byID, id)
	}
}

// End ends the current incarnation of id, if any, with reason (see
// Incarnation.Err): the next Take starts a new one. It waits for the calls
// in progress, then runs release on the incarnation's state and returns
// its error.
func (r *Registry[T]) End(id string, reason error, release func(*T) error) error {
	r.mu.Lock()
	inc := r.byID[id]
	delete(r.byID, id)
	r.mu.Unlock()
	if inc == nil {
		return nil
	}
	return inc.end(reason, release)
}

// EndAll ends every incarnation with reason, as End does, and makes later
// calls of Take fail with reason: the Store is closed. It returns the
// errors of release, joined.
func (r *Registry[T]) EndAll(reason error, release func(*T) error) error {
	r.mu.Lock()
	if r.closed == nil {
		r.closed = reason
	}
	all := r.byID
	r.byID = nil
	r.mu.Unlock()
	var errs []error
	for _, inc := range all {
		errs = append(errs, inc.end(reason, release))
	}
	return errors.Join(errs...)
}

// Len returns how many incarnations the Registry holds (for tests).
func (r *Registry[T]) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.byID)
}
