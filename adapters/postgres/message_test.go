package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messagedb-go/messagedb/adapters/postgres"
	"github.com/messagedb-go/messagedb/domain"
)

// The PostgreSQL message scenarios MDB001_3A_T2 to T13 are contracttest
// cases (named beside them), which TestContract runs; what is
// PostgreSQL's own stays here.

func msg(typ string, n int) domain.NewMessage {
	return domain.NewMessage{Type: typ, Data: json.RawMessage(fmt.Sprintf(`{"n": %d}`, n))}
}

func wr(pos, gp int64) domain.WriteResult {
	return domain.WriteResult{Position: pos, GlobalPosition: gp}
}

func write(t *testing.T, ns *postgres.Namespace, stream string, m domain.NewMessage) domain.WriteResult {
	t.Helper()
	r, err := ns.WriteMessage(context.Background(), stream, m, domain.AnyVersion)
	require.NoError(t, err, "write to %s", stream)
	return r
}

func TestMessages_MDB001_3A_T1_WriteGoesToTheNamespaceSchema(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, sharedURL(t), &postgres.Options{MaxConns: 4})
	ns, other := newNamespace(t, s), newNamespace(t, s)
	id := uuid.New()
	_, err := ns.WriteMessage(ctx, "acct-1", domain.NewMessage{ID: id, Type: "Opened"}, domain.AnyVersion)
	require.NoError(t, err)

	conn := sqlConn(t, sharedURL(t))
	var stream string
	require.NoError(t, conn.QueryRow(ctx, "SELECT stream_name FROM "+ns.Schema()+".messages WHERE id = $1", id).Scan(&stream))
	assert.Equal(t, "acct-1", stream)
	var n int
	require.NoError(t, conn.QueryRow(ctx, "SELECT count(*) FROM "+other.Schema()+".messages").Scan(&n))
	assert.Zero(t, n, "another namespace holds nothing")
	v, err := other.GetStreamVersion(ctx, "acct-1")
	require.NoError(t, err)
	assert.Equal(t, domain.NoStream, v)
}
