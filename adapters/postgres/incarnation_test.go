package postgres

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/internal/pgtest"
)

// Looking up namespaces that do not exist leaves nothing behind in the
// Store, however many ids are asked for; a handle's incarnation is kept while
// the namespace lives and forgotten when it is deleted.
func TestStore_NamespaceLookupsKeepNoTraceOfMissingIDs(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, pgtest.SharedDatabase(t), &Options{MaxConns: 2})
	require.NoError(t, err)
	defer s.Close()

	incarnations := s.incarnations.Len
	for i := range 200 {
		_, err := s.Namespace(ctx, fmt.Sprintf("missing_%d", i))
		require.ErrorIs(t, err, domain.ErrNamespaceNotFound)
	}
	assert.Equal(t, 0, incarnations(), "missing ids are forgotten")

	id := fmt.Sprintf("incarnation_%d", time.Now().UnixNano()%1e12)
	_, err = s.CreateNamespace(ctx, id, domain.NamespaceOptions{})
	require.NoError(t, err)
	ns, err := s.Namespace(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, 1, incarnations(), "a live handle keeps its incarnation")

	require.NoError(t, s.DeleteNamespace(ctx, id))
	assert.Equal(t, 0, incarnations(), "a deleted namespace's incarnation is forgotten")
	_, err = ns.GetStreamVersion(ctx, "thing-1")
	assert.ErrorIs(t, err, domain.ErrNamespaceNotFound, "the old handle knows it was deleted")
}
