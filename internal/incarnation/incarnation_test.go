package incarnation_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messagedb-go/messagedb/internal/incarnation"
)

var (
	errDeleted = errors.New("deleted")
	errClosed  = errors.New("closed")
)

// lookup takes and releases id's incarnation as a Store's lookup does:
// found says whether the namespace exists.
func lookup(t *testing.T, r *incarnation.Registry[int], id string, found bool) *incarnation.Incarnation[int] {
	t.Helper()
	inc, err := r.Take(id)
	require.NoError(t, err)
	r.Release(id, inc, found)
	return inc
}

func TestRegistry_MissingIDsLeaveNothing(t *testing.T) {
	var r incarnation.Registry[int]
	for i := range 100 {
		lookup(t, &r, fmt.Sprint("missing", i), false)
	}
	assert.Zero(t, r.Len(), "ids not found are forgotten")

	inc := lookup(t, &r, "a", true)
	assert.Equal(t, 1, r.Len(), "a handle keeps its incarnation")
	assert.Same(t, inc, lookup(t, &r, "a", true), "handles of one life share it")
	assert.Same(t, inc, lookup(t, &r, "a", false), "a failed lookup does not drop what a handle holds")
	assert.Equal(t, 1, r.Len())
	assert.NoError(t, inc.Err())
}

func TestRegistry_EndFailsOldHandlesOnly(t *testing.T) {
	var r incarnation.Registry[int]
	old := lookup(t, &r, "a", true)
	other := lookup(t, &r, "b", true)
	released := 0
	require.NoError(t, r.End("a", errDeleted, func(n *int) error { released++; *n = -1; return nil }))
	assert.Equal(t, 1, released)
	assert.ErrorIs(t, old.Err(), errDeleted)
	assert.ErrorIs(t, old.Enter(), errDeleted, "Enter refuses an ended incarnation")
	assert.Equal(t, -1, old.State, "release ran on the state")
	assert.NoError(t, other.Err(), "another id is untouched")
	assert.Equal(t, 1, r.Len())

	// Created again: a new incarnation; the old handle keeps failing.
	renewed := lookup(t, &r, "a", true)
	assert.NotSame(t, old, renewed)
	assert.NoError(t, renewed.Err())
	assert.ErrorIs(t, old.Err(), errDeleted)

	// Ending an id without incarnation, or twice, does nothing.
	require.NoError(t, r.End("none", errDeleted, func(*int) error { return errors.New("must not run") }))
}

func TestRegistry_EndDuringLookupEndsWhatItTook(t *testing.T) {
	var r incarnation.Registry[int]
	inc, err := r.Take("a") // a lookup in progress
	require.NoError(t, err)
	require.NoError(t, r.End("a", errDeleted, nil)) // a delete commits meanwhile
	r.Release("a", inc, true)                       // the lookup had found it
	assert.ErrorIs(t, inc.Err(), errDeleted, "the handle made from the lookup fails")
	assert.Zero(t, r.Len())
	assert.NotSame(t, inc, lookup(t, &r, "a", true))
}

func TestRegistry_HeldOnceAHandleHoldsIt(t *testing.T) {
	var r incarnation.Registry[int]
	inc, err := r.Take("a")
	require.NoError(t, err)
	assert.False(t, r.Held(inc), "never found yet")
	r.Release("a", inc, true)
	inc, err = r.Take("a")
	require.NoError(t, err)
	assert.True(t, r.Held(inc))
	r.Release("a", inc, true)
}

func TestRegistry_EndAll(t *testing.T) {
	var r incarnation.Registry[int]
	a, b := lookup(t, &r, "a", true), lookup(t, &r, "b", true)
	boom := errors.New("boom")
	err := r.EndAll(errClosed, func(n *int) error { return boom })
	assert.ErrorIs(t, err, boom, "release errors are returned")
	assert.ErrorIs(t, a.Err(), errClosed)
	assert.ErrorIs(t, b.Err(), errClosed)
	_, err = r.Take("a")
	assert.ErrorIs(t, err, errClosed, "nothing is taken after EndAll")
	require.NoError(t, r.EndAll(errDeleted, nil), "twice: nothing left to end")
	_, err = r.Take("c")
	assert.ErrorIs(t, err, errClosed, "the first reason stays")
}

// The end waits for the calls in progress before it releases the state,
// and no call starts on an ended incarnation: many goroutines enter while
// the namespace is deleted (run with -race).
func TestIncarnation_EndWaitsForCalls(t *testing.T) {
	var r incarnation.Registry[int]
	inc := lookup(t, &r, "a", true)
	var released atomic.Bool
	var finished, refused atomic.Int64
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			<-start
			for range 200 {
				if err := inc.Enter(); err != nil {
					assert.ErrorIs(t, err, errDeleted)
					refused.Add(1)
					return
				}
				if released.Load() {
					t.Error("a call runs on released state")
				}
				inc.Leave()
			}
			finished.Add(1)
		})
	}
	close(start)
	require.NoError(t, r.End("a", errDeleted, func(*int) error { released.Store(true); return nil }))
	wg.Wait()
	assert.True(t, released.Load())
	assert.Equal(t, int64(32), finished.Load()+refused.Load(), "each goroutine made its calls or was refused")
	assert.ErrorIs(t, inc.Enter(), errDeleted)
}

// A context bound to an incarnation is done once the incarnation ends, or
// once its own parent is done; it outlives neither, and the end of another
// id's incarnation leaves it alone.
func TestIncarnation_Bind(t *testing.T) {
	var r incarnation.Registry[int]
	inc, other := lookup(t, &r, "a", true), lookup(t, &r, "b", true)
	bound := inc.Bind(t.Context())
	parent, cancel := context.WithCancel(t.Context())
	early := inc.Bind(parent)
	unrelated := other.Bind(t.Context())

	cancel()
	requireDone(t, early, "the parent ended first")
	assert.NoError(t, bound.Err(), "a live incarnation leaves its contexts alone")

	require.NoError(t, r.End("a", errDeleted, nil))
	requireDone(t, bound, "its namespace was deleted")
	assert.ErrorIs(t, bound.Err(), context.Canceled)
	assert.NoError(t, unrelated.Err(), "another id's context lives on")

	late := inc.Bind(t.Context())
	requireDone(t, late, "bound after the end: done at once")
	require.NoError(t, r.EndAll(errClosed, nil))
	requireDone(t, unrelated, "every incarnation ended")
}

// requireDone fails unless ctx is done within a few seconds.
func requireDone(t *testing.T, ctx context.Context, why string) {
	t.Helper()
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatalf("context not done: %s", why)
	}
}
