package contracttest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/ports"
)

// wakeTimeout bounds how long a case waits for a wake-up. It only keeps a
// broken watcher from hanging the suite; it is not a latency requirement.
const wakeTimeout = 10 * time.Second

// watcherCases are the cases of ports.Watcher; that of an import when the
// store declares ports.Importer too.
func watcherCases(caps ports.Capabilities) []testCase {
	cases := []testCase{
		{"WakesAfterWrite", testWatchWakes},
		{"WakesAgain", testWatchWakesAgain},
		{"WritesThroughAnotherHandle", testWatchOtherHandle},
		{"EveryWatcherWakes", testWatchSeveral},
		{"ClosedWhenContextDone", testWatchClosed},
		{"ClosedWhenNamespaceDeleted", testWatchClosedOnDelete},
		{"InvalidCategory", testWatchInvalidCategory},
	}
	if caps.Importer {
		cases = append(cases, testCase{"WakesOnImport", testWatchWakesOnImport})
	}
	return cases
}

// watcher returns the namespace's message store as a ports.Watcher, for
// the cases that run on a store that declares it.
func watcher(t *testing.T, ms ports.MessageStore) ports.Watcher {
	t.Helper()
	w, ok := ms.(ports.Watcher)
	require.Truef(t, ok, "%T does not implement ports.Watcher", ms)
	return w
}

func watch(t *testing.T, ms ports.MessageStore, cat string) <-chan struct{} {
	t.Helper()
	ch, err := watcher(t, ms).WatchCategory(t.Context(), cat)
	require.NoError(t, err, "watch %s", cat)
	require.NotNil(t, ch)
	return ch
}

func testWatchWakes(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	cat := category(t, "acct")
	ch := watch(t, ms, cat)

	write(t, ms, cat+"-1", newMsg("Tested", 0))
	assert.True(t, receive(t, ch, wakeTimeout, "after a write"), "the channel must stay open while ctx is live")
	assert.Len(t, categoryMessages(t, ms, cat, domain.CategoryOpts{}), 1, "the woken reader finds the message")
}

func testWatchWakesAgain(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	cat := category(t, "acct")
	ch := watch(t, ms, cat)

	// Several writes before the reader looks: wake-ups are coalesced, so at
	// least one is pending.
	writeN(t, ms, cat+"-1", 3)
	require.True(t, receive(t, ch, wakeTimeout, "after three writes"))

	// Drain whatever is pending, then a new write wakes the reader again.
	for drained := false; !drained; {
		select {
		case _, ok := <-ch:
			require.True(t, ok, "the channel must stay open while ctx is live")
		default:
			drained = true
		}
	}
	_, err := ms.WriteMessages(t.Context(), cat+"-2", []domain.NewMessage{newMsg("A", 0), newMsg("B", 1)}, domain.AnyVersion)
	require.NoError(t, err)
	assert.True(t, receive(t, ch, wakeTimeout, "after a later batch"))
}

func testWatchOtherHandle(t *testing.T, newStore Factory) {
	store, ms, id := newStoreAndNamespace(t, newStore)
	cat := category(t, "acct")
	ch := watch(t, ms, cat)

	other, err := store.MessageStore(t.Context(), id)
	require.NoError(t, err)
	write(t, other, cat+"-1", newMsg("Tested", 0))
	assert.True(t, receive(t, ch, wakeTimeout, "after a write through another message store of the same registry"))
}

func testWatchSeveral(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	cat := category(t, "acct")
	chans := []<-chan struct{}{watch(t, ms, cat), watch(t, ms, cat), watch(t, ms, cat)}

	write(t, ms, cat+":command-1", newMsg("Tested", 0)) // another category first
	write(t, ms, cat+"-1", newMsg("Tested", 0))
	for i, ch := range chans {
		assert.True(t, receive(t, ch, wakeTimeout, "every watcher of the category"), "watcher %d", i)
	}
}

func testWatchClosed(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	cat := category(t, "acct")
	ctx, cancel := context.WithCancel(t.Context())
	ch, err := watcher(t, ms).WatchCategory(ctx, cat)
	require.NoError(t, err)
	write(t, ms, cat+"-1", newMsg("Tested", 0))
	require.True(t, receive(t, ch, wakeTimeout, "after a write"))

	cancel()
	// Wake-ups still pending may be received; then the channel closes.
	deadline := time.After(wakeTimeout)
	for closed := false; !closed; {
		select {
		case _, ok := <-ch:
			closed = !ok
		case <-deadline:
			require.FailNow(t, "the channel is not closed after ctx is done", "waited %s", wakeTimeout)
		}
	}

	// The store is still usable.
	write(t, ms, cat+"-1", newMsg("Tested", 1))
}

// waitClosed waits for ch to be closed, receiving the wake-ups still
// pending.
func waitClosed(t *testing.T, ch <-chan struct{}, why string) {
	t.Helper()
	deadline := time.After(wakeTimeout)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-deadline:
			require.FailNow(t, "the channel is not closed "+why, "waited %s", wakeTimeout)
		}
	}
}

// testWatchClosedOnDelete deletes a namespace through the store its
// watchers watch through: their channels are closed (a consumer waiting for
// a wake-up learns at once that its namespace is gone), those of another
// namespace stay open, and the deleted namespace can no longer be watched
// (but can, once created again).
func testWatchClosedOnDelete(t *testing.T, newStore Factory) {
	store, ms, id := newStoreAndNamespace(t, newStore)
	other := newNamespace(t, store)
	cat := category(t, "acct")
	chans := []<-chan struct{}{watch(t, ms, cat), watch(t, ms, cat), watch(t, ms, cat+":command")}
	kept := watch(t, other, cat)

	require.NoError(t, store.DeleteNamespace(t.Context(), id))
	for i, ch := range chans {
		waitClosed(t, ch, fmt.Sprintf("after its namespace is deleted (watcher %d)", i))
	}
	_, err := watcher(t, ms).WatchCategory(t.Context(), cat)
	assert.ErrorIs(t, err, domain.ErrNamespaceNotFound, "watching a deleted namespace")

	write(t, other, cat+"-1", newMsg("Tested", 0))
	assert.True(t, receive(t, kept, wakeTimeout, "another namespace's watcher"), "it stays open and wakes")

	// Created again, the namespace is watched as any other.
	_, err = store.CreateNamespace(t.Context(), id, domain.NamespaceOptions{})
	require.NoError(t, err)
	again, err := store.MessageStore(t.Context(), id)
	require.NoError(t, err)
	ch := watch(t, again, cat)
	write(t, again, cat+"-1", newMsg("Tested", 0))
	assert.True(t, receive(t, ch, wakeTimeout, "a watcher of the namespace created again"), "it wakes")
}

func testWatchInvalidCategory(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	cat := category(t, "acct")
	for _, name := range []string{"", cat + "-1"} {
		_, err := watcher(t, ms).WatchCategory(t.Context(), name)
		assert.ErrorIs(t, err, domain.ErrInvalidStreamName, "WatchCategory(%q)", name)
	}
}

// testWatchWakesOnImport watches a category into which messages are
// imported: an import is a write.
func testWatchWakesOnImport(t *testing.T, newStore Factory) {
	_, ms := setup(t, newStore)
	cat := category(t, "acct")
	ch := watch(t, ms, cat)

	require.NoError(t, importer(t, ms).ImportMessages(t.Context(), []domain.Message{{ID: uuid.New(), StreamName: cat + "-1",
		Type: "Tested", GlobalPosition: 7, Data: []byte(`{}`), Time: time.Unix(1e9, 0)}}))
	assert.True(t, receive(t, ch, wakeTimeout, "after an import"), "the channel must stay open while ctx is live")
	assert.Len(t, categoryMessages(t, ms, cat, domain.CategoryOpts{}), 1, "the woken reader finds the message")
}
