package sqlite_test

import (
	"context"
	"encoding/json"
	"runtime"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messagedb-go/messagedb/adapters/sqlite"
	"github.com/messagedb-go/messagedb/domain"
)

func TestImport_KeepsPositionsAndAdvancesTheSequence(t *testing.T) {
	eachMode(t, func(t *testing.T, s *sqlite.Store) {
		ctx := t.Context()
		ns := newNamespace(t, s, "copy")
		at := time.Date(2024, 2, 29, 12, 30, 45, 123456000, time.UTC)
		imported := []domain.Message{
			{ID: uuid.New(), StreamName: "order-1", Type: "Placed", Position: 0, GlobalPosition: 10, Data: json.RawMessage(`{"n":1}`), Time: at},
			{ID: uuid.New(), StreamName: "order-2", Type: "Placed", Position: 0, GlobalPosition: 12, Data: json.RawMessage(`{"n":2}`),
				Metadata: json.RawMessage(`{"correlationStreamName":"payment-1"}`), Time: at.Add(time.Second)},
			{ID: uuid.New(), StreamName: "order-1", Type: "Paid", Position: 1, GlobalPosition: 20, Data: json.RawMessage(`{"n":3}`), Time: at.Add(2 * time.Second)},
		}
		require.NoError(t, ns.ImportMessages(ctx, imported))
		assert.Equal(t, imported, readAll(t, ns), "ids, positions, global positions and times are kept")
		corr, err := ns.GetCategoryMessages(ctx, "order", domain.CategoryOpts{Correlation: "payment"})
		require.NoError(t, err)
		assert.Equal(t, []int64{12}, gps(corr), "derived columns are filled on import")

		// The next write takes the global position after the highest
		// imported one.
		r := writeAny(t, ns, "order-1", msg("Shipped", `{}`))
		assert.Equal(t, wr(2, 21), r)

		// Not above the highest global position, or not at version+1:
		// nothing is written.
		before := readAll(t, ns)
		err = ns.ImportMessages(ctx, []domain.Message{
			{ID: uuid.New(), StreamName: "order-3", Type: "Placed", Position: 0, GlobalPosition: 30, Data: json.RawMessage(`{}`), Time: at},
			{ID: uuid.New(), StreamName: "order-3", Type: "Placed", Position: 2, GlobalPosition: 31, Data: json.RawMessage(`{}`), Time: at},
		})
		var conflict *domain.VersionConflictError
		require.ErrorAs(t, err, &conflict)
		assert.Equal(t, domain.VersionConflictError{StreamName: "order-3", Expected: 1, Actual: 0}, *conflict)
		err = ns.ImportMessages(ctx, []domain.Message{
			{ID: uuid.New(), StreamName: "order-3", Type: "Placed", Position: 0, GlobalPosition: 21, Data: json.RawMessage(`{}`), Time: at},
		})
		assert.ErrorIs(t, err, domain.ErrInvalidMessage)
		assert.Equal(t, before, readAll(t, ns), "all or nothing")
	})
}

func TestWatch_WakesAfterCommit(t *testing.T) {
	eachMode(t, func(t *testing.T, s *sqlite.Store) {
		ctx := t.Context()
		ns := newNamespace(t, s, "shop")
		watchCtx, stop := context.WithCancel(ctx)
		orders, err := ns.WatchCategory(watchCtx, "order")
		require.NoError(t, err)
		invoices, err := ns.WatchCategory(watchCtx, "invoice")
		require.NoError(t, err)

		for range 3 {
			writeAny(t, ns, "order-1", msg("Placed", `{}`))
		}
		select {
		case _, ok := <-orders:
			assert.True(t, ok)
		default:
			t.Fatal("no wake-up after a committed write")
		}
		select {
		case <-orders:
			t.Fatal("wake-ups are coalesced: one pending at most")
		default:
		}
		select {
		case <-invoices:
			t.Fatal("a write to another category woke the watcher")
		default:
		}

		// A write that fails wakes nobody.
		_, err = ns.WriteMessage(ctx, "order-1", msg("Late", `{}`), domain.ExpectVersion(0))
		require.ErrorIs(t, err, domain.ErrVersionConflict)
		select {
		case <-orders:
			t.Fatal("a failed write woke the watcher")
		default:
		}

		_, err = ns.WatchCategory(ctx, "order-1")
		assert.ErrorIs(t, err, domain.ErrInvalidStreamName)

		stop()
		for _, ch := range []<-chan struct{}{orders, invoices} {
			select {
			case _, ok := <-ch:
				assert.False(t, ok, "closed when the context is done")
			case <-time.After(10 * time.Second):
				t.Fatal("channel not closed after the context ended")
			}
		}
	})
}

// Watching takes no goroutine while it waits, and closing the channels
// leaves none behind.
func TestWatch_NoGoroutineLeak(t *testing.T) {
	ctx := t.Context()
	s := openStore(t, sqlite.Options{InMemory: true})
	ns := newNamespace(t, s, "shop")
	writeAny(t, ns, "order-1", msg("Placed", `{}`))

	before := runtime.NumGoroutine()
	watchCtx, stop := context.WithCancel(ctx)
	var chans []<-chan struct{}
	for range 100 {
		ch, err := ns.WatchCategory(watchCtx, "order")
		require.NoError(t, err)
		chans = append(chans, ch)
	}
	assert.LessOrEqual(t, runtime.NumGoroutine(), before+5, "watchers do not hold goroutines")
	stop()
	for _, ch := range chans {
		for range ch { // until closed
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	assert.LessOrEqual(t, runtime.NumGoroutine(), before, "no goroutine left behind")
}
