package contracttest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/ports"
)

func closingCases() []testCase {
	return []testCase{
		{"EveryCallFailsWithErrClosed", testEveryCallAfterClose},
		{"CloseTwice", testCloseTwice},
		{"ConcurrentCloseWhileReadingAndWriting", testConcurrentClose},
	}
}

// closedStore returns a store with a namespace holding one message, and
// that namespace's message store, ready to be closed. The namespace is
// deleted at cleanup through another store of the factory.
func closedStore(t *testing.T, newStore Factory) (store ports.Store, ms ports.MessageStore, id, stream string) {
	t.Helper()
	other := newStore(t)
	store = newStore(t)
	ctx := t.Context()
	id = uniqueNamespaceID(t)
	_, err := store.CreateNamespace(ctx, id, domain.NamespaceOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { deleteNamespaceAtCleanup(t, other, id) })
	ms, err = store.MessageStore(ctx, id)
	require.NoError(t, err)
	stream = category(t, "closing") + "-1"
	write(t, ms, stream, newMsg("Tested", 0))
	return store, ms, id, stream
}

// closedCalls are every call of a Store and of a message store it handed
// out (of namespace id, holding stream), with valid arguments, by name.
// Each but CreateNamespace and DeleteNamespace (of another id) succeeds, as
// often as it is called, while the store is open.
func closedCalls(store ports.Store, ms ports.MessageStore, id, stream string) map[string]func(ctx context.Context) error {
	cat := domain.Category(stream)
	other := "t" + strings.ReplaceAll(uuid.NewString(), "-", "")[:10]
	var imported atomic.Int64
	calls := map[string]func(ctx context.Context) error{
		"CreateNamespace": func(ctx context.Context) error {
			_, err := store.CreateNamespace(ctx, other, domain.NamespaceOptions{})
			return err
		},
		"DeleteNamespace": func(ctx context.Context) error { return store.DeleteNamespace(ctx, other) },
		"GetNamespace": func(ctx context.Context) error {
			_, err := store.GetNamespace(ctx, id)
			return err
		},
		"ListNamespaces": func(ctx context.Context) error {
			_, err := store.ListNamespaces(ctx)
			return err
		},
		"MessageStore": func(ctx context.Context) error {
			_, err := store.MessageStore(ctx, id)
			return err
		},
		"WriteMessage": func(ctx context.Context) error {
			_, err := ms.WriteMessage(ctx, stream, newMsg("Tested", 1), domain.AnyVersion)
			return err
		},
		"WriteMessages": func(ctx context.Context) error {
			_, err := ms.WriteMessages(ctx, stream, []domain.NewMessage{newMsg("Tested", 1), newMsg("Tested", 2)}, domain.AnyVersion)
			return err
		},
		"GetStreamMessages": func(ctx context.Context) error {
			_, err := ms.GetStreamMessages(ctx, stream, domain.GetOpts{})
			return err
		},
		"GetCategoryMessages": func(ctx context.Context) error {
			_, err := ms.GetCategoryMessages(ctx, cat, domain.CategoryOpts{})
			return err
		},
		"GetLastStreamMessage": func(ctx context.Context) error {
			_, err := ms.GetLastStreamMessage(ctx, stream, "")
			return err
		},
		"GetStreamVersion": func(ctx context.Context) error {
			_, err := ms.GetStreamVersion(ctx, stream)
			return err
		},
		"GetAllMessages": func(ctx context.Context) error {
			_, err := ms.GetAllMessages(ctx, domain.AllOpts{})
			return err
		},
		"GetLastGlobalPosition": func(ctx context.Context) error {
			_, err := ms.GetLastGlobalPosition(ctx, cat)
			return err
		},
	}
	if imp, ok := ms.(ports.Importer); ok {
		calls["ImportMessages"] = func(ctx context.Context) error {
			n := imported.Add(1)
			return imp.ImportMessages(ctx, []domain.Message{{ID: uuid.New(), StreamName: fmt.Sprintf("%s-imported%d", cat, n),
				Type: "Tested", Position: 0, GlobalPosition: 1<<40 + n, Data: []byte(`{}`)}})
		}
	}
	if w, ok := ms.(ports.Watcher); ok {
		calls["WatchCategory"] = func(ctx context.Context) error {
			ctx, cancel := context.WithCancel(ctx)
			defer cancel()
			_, err := w.WatchCategory(ctx, cat)
			return err
		}
	}
	return calls
}

func testEveryCallAfterClose(t *testing.T, newStore Factory) {
	store, ms, id, stream := closedStore(t, newStore)
	require.NoError(t, store.Close())
	for name, call := range closedCalls(store, ms, id, stream) {
		assert.ErrorIs(t, call(t.Context()), domain.ErrClosed, "%s after Close", name)
	}
}

func testCloseTwice(t *testing.T, newStore Factory) {
	store, ms, _, stream := closedStore(t, newStore)
	require.NoError(t, store.Close())
	assert.NoError(t, store.Close(), "a second Close")
	_, err := ms.GetStreamVersion(t.Context(), stream)
	assert.ErrorIs(t, err, domain.ErrClosed)
}

// testConcurrentClose releases goroutines that close the store and others
// that read and write until the store is closed: every call either works
// or fails with ErrClosed, and nothing races.
func testConcurrentClose(t *testing.T, newStore Factory) {
	store, ms, id, stream := closedStore(t, newStore)
	calls := closedCalls(store, ms, id, stream)
	// Creating and deleting another namespace fail with other errors when
	// repeated while the store is open.
	delete(calls, "CreateNamespace")
	delete(calls, "DeleteNamespace")
	const closers, rounds = 4, 50

	start := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var bad []string
	report := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		bad = append(bad, fmt.Sprintf(format, args...))
	}
	for range closers {
		wg.Go(func() {
			<-start
			if err := store.Close(); err != nil {
				report("Close: %v", err)
			}
		})
	}
	for name, call := range calls {
		wg.Go(func() {
			<-start
			for i := range rounds {
				err := call(context.Background())
				if errors.Is(err, domain.ErrClosed) {
					return
				}
				if err != nil {
					report("%s (call %d): %v, want nil or ErrClosed", name, i, err)
					return
				}
			}
		})
	}
	close(start)
	wg.Wait()
	assert.Empty(t, bad, "calls during Close either work or fail with ErrClosed")
	for name, call := range calls {
		assert.ErrorIs(t, call(t.Context()), domain.ErrClosed, "%s once Close returned", name)
	}
}
