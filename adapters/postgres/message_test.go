package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"
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

// MDB001_3A_T4, PostgreSQL's part: the namespace's write_messages returns
// a wrong expected version as a row without id that holds the stream's
// version, and writes nothing; the adapter makes it a
// *domain.VersionConflictError with no driver error in its chain.
// (write_message, Message DB's function, still raises Message DB's
// exception: see TestSQL_WriteMessageWithMessageDBArguments.)
func TestMessages_MDB001_3A_T4_VersionConflictIsData(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, sharedURL(t), &postgres.Options{MaxConns: 4})
	ns := newNamespace(t, s)
	write(t, ns, "acct-1", msg("A", 0))
	write(t, ns, "acct-1", msg("A", 1))

	_, err := ns.WriteMessage(ctx, "acct-1", msg("B", 2), domain.ExpectVersion(0))
	var vc *domain.VersionConflictError
	require.ErrorAs(t, err, &vc)
	assert.Equal(t, domain.VersionConflictError{StreamName: "acct-1", Expected: 0, Actual: 1}, *vc)
	assertNoPgError(t, err)

	conn := sqlConn(t, sharedURL(t))
	for _, c := range []struct {
		stream   string
		expected int64
		version  int64
	}{{"acct-1", 5, 1}, {"acct-1", -1, 1}, {"acct-2", 0, -1}} {
		rows, err := conn.Query(ctx, "SELECT * FROM "+ns.Schema()+".write_messages($1, ARRAY[$2::uuid], ARRAY['X'], ARRAY['{}'::jsonb], ARRAY[NULL::jsonb], $3)",
			c.stream, uuid.New(), c.expected)
		require.NoError(t, err)
		var got []string
		for rows.Next() {
			var id pgtype.UUID
			var stream string
			var typ pgtype.Text
			var pos int64
			var gp pgtype.Int8
			var written bool
			require.NoError(t, rows.Scan(&id, &stream, &typ, &pos, &gp, &written))
			got = append(got, fmt.Sprint(id.Valid, stream, typ.Valid, pos, gp.Valid, written))
		}
		require.NoError(t, rows.Err())
		assert.Equal(t, []string{fmt.Sprint(false, c.stream, false, c.version, false, false)}, got,
			"expected %d on %s: one row, without id, holding the version", c.expected, c.stream)
	}
	v, err := ns.GetStreamVersion(ctx, "acct-1")
	require.NoError(t, err)
	assert.Equal(t, int64(1), v, "nothing written")
	v, err = ns.GetStreamVersion(ctx, "acct-2")
	require.NoError(t, err)
	assert.Equal(t, domain.NoStream, v, "nothing written")
}
