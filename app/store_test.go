package app_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messagedb-go/messagedb/app"
	"github.com/messagedb-go/messagedb/domain"
)

func TestStore_Namespaces(t *testing.T) {
	eachStore(t, func(t *testing.T, s *app.Store) {
		ctx := context.Background()
		_, err := s.Namespace(ctx, "missing")
		assert.ErrorIs(t, err, domain.ErrNamespaceNotFound)
		_, err = s.GetNamespace(ctx, "missing")
		assert.ErrorIs(t, err, domain.ErrNamespaceNotFound)
		_, err = s.EnsureNamespace(ctx, "Not-Valid", domain.NamespaceOptions{})
		assert.ErrorIs(t, err, domain.ErrInvalidNamespace)

		created, err := s.CreateNamespace(ctx, "bank", domain.NamespaceOptions{Description: "accounts"})
		require.NoError(t, err)
		assert.Equal(t, "bank", created.ID)
		_, err = s.CreateNamespace(ctx, "bank", domain.NamespaceOptions{})
		assert.ErrorIs(t, err, domain.ErrNamespaceExists)

		// EnsureNamespace on an existing namespace keeps its attributes.
		ns, err := s.EnsureNamespace(ctx, "bank", domain.NamespaceOptions{Description: "other"})
		require.NoError(t, err)
		assert.Equal(t, "bank", ns.ID())
		got, err := s.GetNamespace(ctx, "bank")
		require.NoError(t, err)
		assert.Equal(t, "accounts", got.Description)

		_, err = s.EnsureNamespace(ctx, "audit", domain.NamespaceOptions{})
		require.NoError(t, err)
		list, err := s.ListNamespaces(ctx)
		require.NoError(t, err)
		var ids []string
		for _, n := range list {
			ids = append(ids, n.ID)
		}
		assert.Equal(t, []string{"audit", "bank"}, ids)

		require.NoError(t, s.DeleteNamespace(ctx, "bank"))
		_, err = s.Namespace(ctx, "bank")
		assert.ErrorIs(t, err, domain.ErrNamespaceNotFound)
		assert.ErrorIs(t, s.DeleteNamespace(ctx, "bank"), domain.ErrNamespaceNotFound)
	})
}

func TestStore_EnsureNamespaceConcurrently(t *testing.T) {
	eachStore(t, func(t *testing.T, s *app.Store) {
		ctx := context.Background()
		const n = 8
		start := make(chan struct{})
		errs := make([]error, n)
		handles := make([]*app.Namespace, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				handles[i], errs[i] = s.EnsureNamespace(ctx, "shared", domain.NamespaceOptions{})
			}()
		}
		close(start)
		wg.Wait()
		for i := range n {
			require.NoError(t, errs[i], "EnsureNamespace %d", i)
		}
		// Every handle is on the one namespace: writes through each land
		// in the same stream.
		for i, h := range handles {
			r, err := h.Write(ctx, "thing-1", domain.NewMessage{Type: "Touched"}, domain.ExpectVersion(int64(i)-1))
			require.NoError(t, err)
			assert.Equal(t, int64(i), r.Position)
		}
	})
}

func TestNamespace_WriteAndRead(t *testing.T) {
	eachBackend(t, func(t *testing.T, ns *app.Namespace) {
		ctx := context.Background()
		v, err := ns.Version(ctx, "account-1")
		require.NoError(t, err)
		assert.Equal(t, domain.NoStream, v)
		_, err = ns.Last(ctx, "account-1", "")
		assert.ErrorIs(t, err, domain.ErrStreamNotFound)

		r, err := ns.Write(ctx, "account-1", domain.NewMessage{Type: "Opened"}, domain.ExpectVersion(domain.NoStream))
		require.NoError(t, err)
		assert.Equal(t, int64(0), r.Position)
		rs, err := ns.WriteBatch(ctx, "account-1", []domain.NewMessage{
			{Type: "Deposited", Data: []byte(`{"amount":5}`)}, {Type: "Withdrawn", Data: []byte(`{"amount":2}`)},
		}, domain.ExpectVersion(0))
		require.NoError(t, err)
		assert.Equal(t, []int64{1, 2}, []int64{rs[0].Position, rs[1].Position})

		_, err = ns.Write(ctx, "account-1", domain.NewMessage{Type: "Deposited"}, domain.ExpectVersion(0))
		var conflict *domain.VersionConflictError
		require.ErrorAs(t, err, &conflict)
		assert.Equal(t, int64(0), conflict.Expected)
		assert.Equal(t, int64(2), conflict.Actual)

		msgs, err := ns.Read(ctx, "account-1", domain.GetOpts{Position: 1})
		require.NoError(t, err)
		require.Len(t, msgs, 2)
		assert.Equal(t, "Deposited", msgs[0].Type)
		assert.JSONEq(t, `{"amount":5}`, string(msgs[0].Data))

		last, err := ns.Last(ctx, "account-1", "Deposited")
		require.NoError(t, err)
		assert.Equal(t, int64(1), last.Position)
		v, err = ns.Version(ctx, "account-1")
		require.NoError(t, err)
		assert.Equal(t, int64(2), v)

		cat, err := ns.ReadCategory(ctx, "account", domain.CategoryOpts{})
		require.NoError(t, err)
		assert.Len(t, cat, 3)
		all, err := ns.ReadAll(ctx, domain.AllOpts{})
		require.NoError(t, err)
		assert.Len(t, all, 3)
	})
}
