package sqlite_test

import (
	"database/sql"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messagedb-go/messagedb/adapters/sqlite"
	"github.com/messagedb-go/messagedb/domain"
)

// The SQLite message scenarios MDB001_5A_T2 to T13 are contracttest cases
// (named beside them), which TestContract_Memory and TestContract_File
// run; what is SQLite's own stays here.

func msg(typ string, data string) domain.NewMessage {
	return domain.NewMessage{Type: typ, Data: json.RawMessage(data)}
}

func wr(pos, gp int64) domain.WriteResult {
	return domain.WriteResult{Position: pos, GlobalPosition: gp}
}

func writeAny(t *testing.T, ns *sqlite.Namespace, stream string, m domain.NewMessage) domain.WriteResult {
	t.Helper()
	r, err := ns.WriteMessage(t.Context(), stream, m, domain.AnyVersion)
	require.NoError(t, err, "write to %s", stream)
	return r
}

func readAll(t *testing.T, ns *sqlite.Namespace) []domain.Message {
	t.Helper()
	msgs, err := ns.GetAllMessages(t.Context(), domain.AllOpts{BatchSize: new(domain.Unlimited)})
	require.NoError(t, err)
	return msgs
}

func gps(msgs []domain.Message) []int64 {
	out := make([]int64, len(msgs))
	for i, m := range msgs {
		out[i] = m.GlobalPosition
	}
	return out
}

func TestMessages_MDB001_5A_T1_WritesToItsNamespace(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	s := openStore(t, sqlite.Options{Dir: dir})
	a, b := newNamespace(t, s, "alpha"), newNamespace(t, s, "beta")
	writeAny(t, a, "order-1", msg("Placed", `{"n":1}`))
	writeAny(t, a, "order-1", msg("Paid", `{"n":2}`))
	writeAny(t, b, "order-1", msg("Placed", `{"n":3}`))

	// In the namespace's own file, and only there.
	count := func(id string) []string {
		return queryStrings(t, openFile(t, filepath.Join(dir, "namespaces", id+".db")), "SELECT type FROM messages ORDER BY global_position")
	}
	assert.Equal(t, []string{"Placed", "Paid"}, count("alpha"))
	assert.Equal(t, []string{"Placed"}, count("beta"))

	// Positions and global positions are the namespace's own.
	msgs, err := b.GetStreamMessages(ctx, "order-1", domain.GetOpts{})
	require.NoError(t, err)
	require.Len(t, msgs, 1)
	assert.Equal(t, int64(0), msgs[0].Position)
	assert.Equal(t, int64(1), msgs[0].GlobalPosition)
	assert.JSONEq(t, `{"n":3}`, string(msgs[0].Data))
}

// MDB001_5A_T10, SQLite's part: each message stores the hash that
// consumer group reads filter on, abs(hash_64(cardinal id)) as Message DB
// computes it. The values are computed apart
// from this module (Message DB's hash_64('someStream') is
// 2053039834977696644); contracttest checks the members they give.
func TestMessages_MDB001_5A_T10_StoredGroupHashIsMessageDBs(t *testing.T) {
	want := map[string]sql.NullInt64{
		"someCategory-someStream":          {Int64: 2053039834977696644, Valid: true},
		"someCategory-someStream+compound": {Int64: 2053039834977696644, Valid: true},
		"someCategory-1":                   {Int64: 4266524885998034046, Valid: true}, // hash_64('1') is negative
		"someCategory-abc+1":               {Int64: 8070080442485551184, Valid: true},
		"someCategory-ž":                   {Int64: 1500566953780250345, Valid: true},
		"someCategory-x-y":                 {Int64: 1861566083311409138, Valid: true},
	}
	eachMode(t, func(t *testing.T, s *sqlite.Store) {
		ctx := t.Context()
		ns := newNamespace(t, s, "shop")
		for stream := range want {
			writeAny(t, ns, stream, msg("Tested", `{}`))
		}
		got := map[string]sql.NullInt64{}
		require.NoError(t, ns.WithConn(ctx, func(c *sql.Conn) error {
			rows, err := c.QueryContext(ctx, "SELECT stream_name, group_hash FROM messages")
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var stream string
				var hash sql.NullInt64
				if err := rows.Scan(&stream, &hash); err != nil {
					return err
				}
				got[stream] = hash
			}
			return rows.Err()
		}))
		assert.Equal(t, want, got)
	})
}
