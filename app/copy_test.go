package app_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messagedb-go/messagedb/app"
	"github.com/messagedb-go/messagedb/domain"
)

// readAll returns every message of a namespace.
func readAll(t *testing.T, ns *app.Namespace) []domain.Message {
	t.Helper()
	msgs, err := ns.ReadAll(context.Background(), domain.AllOpts{BatchSize: new(domain.Unlimited)})
	require.NoError(t, err)
	return msgs
}

// sameMessages compares messages field by field, times to the microsecond
// (what every backend keeps).
func sameMessages(t *testing.T, want, got []domain.Message) {
	t.Helper()
	require.Len(t, got, len(want))
	for i := range want {
		w, g := want[i], got[i]
		assert.Equal(t, w.ID, g.ID, "id %d", i)
		assert.Equal(t, w.StreamName, g.StreamName, "stream %d", i)
		assert.Equal(t, w.Type, g.Type, "type %d", i)
		assert.Equal(t, w.Position, g.Position, "position %d", i)
		assert.Equal(t, w.GlobalPosition, g.GlobalPosition, "global position %d", i)
		assert.JSONEq(t, string(w.Data), string(g.Data), "data %d", i)
		if w.Metadata == nil {
			assert.Nil(t, g.Metadata, "metadata %d", i)
		} else {
			assert.JSONEq(t, string(w.Metadata), string(g.Metadata), "metadata %d", i)
		}
		assert.True(t, w.Time.Equal(g.Time), "time %d: %s, want %s", i, g.Time, w.Time)
	}
}

// writeMixed writes 14 messages to streams of two categories, with data
// and metadata.
func writeMixed(t *testing.T, ns *app.Namespace) {
	t.Helper()
	ctx := context.Background()
	for i := range 7 {
		_, err := ns.Write(ctx, "account-1", domain.NewMessage{Type: "Deposited", Data: json.RawMessage(`{"amount":10}`),
			Metadata: json.RawMessage(`{"correlationStreamName":"order-1"}`)}, domain.AnyVersion)
		require.NoError(t, err)
		_, err = ns.Write(ctx, "order-"+string(rune('a'+i)), domain.NewMessage{Type: "Placed"}, domain.AnyVersion)
		require.NoError(t, err)
	}
}

func TestCopyNamespace(t *testing.T) {
	eachStore(t, func(t *testing.T, s *app.Store) {
		ctx := context.Background()
		src, dst := twoNamespaces(t, s)
		writeMixed(t, src)
		var reports [][2]int64
		res, err := app.CopyNamespace(ctx, src, dst, app.CopyOptions{BatchSize: 4, Progress: func(done, total int64) {
			reports = append(reports, [2]int64{done, total})
		}})
		require.NoError(t, err)
		assert.Equal(t, app.CopyResult{Copied: 14, LastGlobalPosition: readAll(t, src)[13].GlobalPosition}, res)
		sameMessages(t, readAll(t, src), readAll(t, dst))
		assert.Equal(t, [][2]int64{{0, 14}, {4, 14}, {8, 14}, {12, 14}, {14, 14}}, reports)

		// The copy is a working namespace: the next write continues the
		// stream's positions.
		v, err := dst.Version(ctx, "account-1")
		require.NoError(t, err)
		assert.Equal(t, int64(6), v)
		r, err := dst.Write(ctx, "account-1", domain.NewMessage{Type: "Closed"}, domain.ExpectVersion(6))
		require.NoError(t, err)
		assert.Equal(t, int64(7), r.Position)

		// Into a non-empty target: refused without Resume.
		_, err = app.CopyNamespace(ctx, src, dst, app.CopyOptions{})
		assert.ErrorIs(t, err, app.ErrTargetNotEmpty)
		// and with Resume, since the target is no longer a copy of the source.
		_, err = app.CopyNamespace(ctx, src, dst, app.CopyOptions{Resume: true})
		assert.ErrorIs(t, err, app.ErrTargetNotEmpty)
	})
}

func TestCopyNamespace_Resume(t *testing.T) {
	eachStore(t, func(t *testing.T, s *app.Store) {
		ctx := context.Background()
		src, dst := twoNamespaces(t, s)
		writeMixed(t, src)
		all := readAll(t, src)
		// An interrupted copy: the target holds the first 5 messages.
		require.NoError(t, dst.Import(ctx, all[:5]))

		_, err := app.CopyNamespace(ctx, src, dst, app.CopyOptions{})
		require.ErrorIs(t, err, app.ErrTargetNotEmpty)
		res, err := app.CopyNamespace(ctx, src, dst, app.CopyOptions{Resume: true, BatchSize: 3})
		require.NoError(t, err)
		assert.Equal(t, app.CopyResult{Copied: 9, Kept: 5, LastGlobalPosition: all[13].GlobalPosition}, res)
		sameMessages(t, all, readAll(t, dst))

		// Resuming a finished copy copies nothing.
		res, err = app.CopyNamespace(ctx, src, dst, app.CopyOptions{Resume: true})
		require.NoError(t, err)
		assert.Equal(t, int64(0), res.Copied)
	})
}

// twoNamespaces creates namespaces "source" and "target".
func twoNamespaces(t *testing.T, s *app.Store) (src, dst *app.Namespace) {
	t.Helper()
	src, err := s.EnsureNamespace(context.Background(), "source", domain.NamespaceOptions{})
	require.NoError(t, err)
	dst, err = s.EnsureNamespace(context.Background(), "target", domain.NamespaceOptions{})
	require.NoError(t, err)
	return src, dst
}
