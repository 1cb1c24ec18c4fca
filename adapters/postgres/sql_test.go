package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messagedb-go/messagedb/adapters/postgres"
	"github.com/messagedb-go/messagedb/domain"
)

// sqlMessage is a row of Message DB's message type.
type sqlMessage struct {
	ID             string
	StreamName     string
	Type           string
	Position       int64
	GlobalPosition int64
	Data           *string
	Metadata       *string
	Time           time.Time
}

func sqlMessages(t *testing.T, conn *pgx.Conn, query string, args ...any) []sqlMessage {
	t.Helper()
	rows, err := conn.Query(context.Background(), query, args...)
	require.NoError(t, err, query)
	msgs, err := pgx.CollectRows(rows, pgx.RowToStructByPos[sqlMessage])
	require.NoError(t, err, query)
	return msgs
}

// sqlError runs query and returns the PostgreSQL exception it raises.
func sqlError(t *testing.T, conn *pgx.Conn, query string, args ...any) string {
	t.Helper()
	return sqlException(t, conn, query, args...).Message
}

// sqlException runs query, which must fail, and returns PostgreSQL's
// exception.
func sqlException(t *testing.T, conn *pgx.Conn, query string, args ...any) *pgconn.PgError {
	t.Helper()
	rows, err := conn.Query(context.Background(), query, args...)
	if err == nil {
		for rows.Next() {
		}
		rows.Close()
		err = rows.Err()
	}
	var pe *pgconn.PgError
	require.True(t, errors.As(err, &pe), "%s: want a PostgreSQL exception, got %v", query, err)
	return pe
}

// sqlNamespace returns a namespace of the shared database and a plain
// connection to it whose search_path is pg_catalog only: every call must
// name the schema, as a Message DB client pointed at the namespace does.
func sqlNamespace(t *testing.T) (*postgres.Namespace, *pgx.Conn, string) {
	t.Helper()
	s := openStore(t, sharedURL(t), &postgres.Options{MaxConns: 2})
	ns := newNamespace(t, s)
	conn := sqlConn(t, sharedURL(t))
	_, err := conn.Exec(context.Background(), "SET search_path = pg_catalog")
	require.NoError(t, err)
	return ns, conn, ns.Schema()
}

func TestSQL_WriteMessageWithMessageDBArguments(t *testing.T) {
	ctx := context.Background()
	ns, conn, sch := sqlNamespace(t)
	call := func(args string, params ...any) int64 {
		t.Helper()
		var pos int64
		require.NoError(t, conn.QueryRow(ctx, "SELECT "+sch+".write_message("+args+")", params...).Scan(&pos))
		return pos
	}
	// The argument lists Message DB clients use (Ruby's message-store,
	// the Node and Elixir clients): 4, 5 and 6 arguments, typed.
	id1, id2, id3 := uuid.NewString(), uuid.NewString(), uuid.NewString()
	assert.Equal(t, int64(0), call("$1::varchar, $2::varchar, $3::varchar, $4::jsonb", id1, "acct-1", "Opened", `{"a": 1}`))
	assert.Equal(t, int64(1), call("$1::varchar, $2::varchar, $3::varchar, $4::jsonb, $5::jsonb",
		id2, "acct-1", "Deposited", `{"amount": 5}`, `{"correlationStreamName": "other-1"}`))
	assert.Equal(t, int64(2), call("$1::varchar, $2::varchar, $3::varchar, $4::jsonb, $5::jsonb, $6::bigint",
		id3, "acct-1", "Deposited", `{}`, nil, 1))
	assert.Equal(t, int64(0), call("$1, $2, $3, $4", uuid.NewString(), "acct-2", "Opened", `{}`), "untyped parameters")
	assert.Equal(t, int64(1), call("id => $1, stream_name => $2, type => $3, data => $4, expected_version => $5",
		uuid.NewString(), "acct-2", "X", `{}`, 0), "named arguments")

	// The Go adapter reads what SQL wrote.
	msgs, err := ns.GetStreamMessages(ctx, "acct-1", domain.GetOpts{})
	require.NoError(t, err)
	require.Len(t, msgs, 3)
	assert.Equal(t, id2, msgs[1].ID.String())
	assert.JSONEq(t, `{"amount":5}`, string(msgs[1].Data))
	assert.JSONEq(t, `{"correlationStreamName":"other-1"}`, string(msgs[1].Metadata))
	assert.Equal(t, []int64{1, 2, 3}, []int64{msgs[0].GlobalPosition, msgs[1].GlobalPosition, msgs[2].GlobalPosition})

	// Message DB's exception texts.
	pe := sqlException(t, conn, "SELECT "+sch+".write_message($1, 'acct-1', 'X', '{}', NULL, 3)", uuid.NewString())
	assert.Equal(t, "Wrong expected version: 3 (Stream: acct-1, Stream Version: 2)", pe.Message)
	assert.Equal(t, "P0001", pe.Code, "Message DB's SQLSTATE (raise_exception)")
	assert.Equal(t, "Wrong expected version: 0 (Stream: acct-9, Stream Version: -1)",
		sqlError(t, conn, "SELECT "+sch+".write_message($1, 'acct-9', 'X', '{}', NULL, 0)", uuid.NewString()))
	assert.Contains(t, sqlError(t, conn, "SELECT "+sch+".write_message('not-a-uuid', 'acct-9', 'X', '{}')"),
		"invalid input syntax for type uuid", "the id must be a UUID")
	assert.Contains(t, sqlError(t, conn, "SELECT "+sch+".write_message($1, 'acct-3', 'X', '{}')", id1),
		"messages_id", "the id is unique")

	// A Message DB version-conflict written in SQL reads as a
	// VersionConflictError in Go.
	_, err = ns.WriteMessage(ctx, "acct-1", domain.NewMessage{Type: "X"}, domain.ExpectVersion(0))
	var vc *domain.VersionConflictError
	require.ErrorAs(t, err, &vc)
	assert.Equal(t, domain.VersionConflictError{StreamName: "acct-1", Expected: 0, Actual: 2}, *vc)
}

func TestSQL_ReadFunctions(t *testing.T) {
	ctx := context.Background()
	ns, conn, sch := sqlNamespace(t)
	var batch []domain.NewMessage
	for i := range 1001 {
		batch = append(batch, domain.NewMessage{Type: "T", Data: []byte(fmt.Sprintf(`{"n":%d}`, i))})
	}
	_, err := ns.WriteMessages(ctx, "big-1", batch, domain.AnyVersion)
	require.NoError(t, err)
	_, err = ns.WriteMessage(ctx, "acct-1", domain.NewMessage{Type: "A", Data: []byte(`{"x": [1, {"y": null}]}`),
		Metadata: []byte(`{"correlationStreamName": "other-7", "k": 1}`)}, domain.AnyVersion)
	require.NoError(t, err)
	_, err = ns.WriteMessage(ctx, "acct-2", domain.NewMessage{Type: "B"}, domain.AnyVersion)
	require.NoError(t, err)
	_, err = ns.WriteMessage(ctx, "acct-1", domain.NewMessage{Type: "C"}, domain.AnyVersion)
	require.NoError(t, err)

	// Defaults: stream position 0, category position 1, batch 1000; -1 is no limit.
	assert.Len(t, sqlMessages(t, conn, "SELECT * FROM "+sch+".get_stream_messages('big-1')"), 1000)
	assert.Len(t, sqlMessages(t, conn, "SELECT * FROM "+sch+".get_stream_messages('big-1', NULL, NULL)"), 1000)
	assert.Len(t, sqlMessages(t, conn, "SELECT * FROM "+sch+".get_stream_messages('big-1', 0, -1)"), 1001)
	assert.Len(t, sqlMessages(t, conn, "SELECT * FROM "+sch+".get_stream_messages('big-1', 995, 3)"), 3)
	assert.Len(t, sqlMessages(t, conn, "SELECT * FROM "+sch+".get_category_messages('big')"), 1000)
	assert.Len(t, sqlMessages(t, conn, "SELECT * FROM "+sch+".get_category_messages('big', 1, -1)"), 1001)
	assert.Equal(t, int64(1000), sqlMessages(t, conn, "SELECT * FROM "+sch+".get_category_messages('big', 1000, 10)")[0].GlobalPosition)

	// The rows are the same messages the Go adapter reads.
	rows := sqlMessages(t, conn, "SELECT * FROM "+sch+".get_stream_messages($1::varchar, $2::bigint, $3::bigint, $4::varchar)", "acct-1", 0, 10, nil)
	msgs, err := ns.GetStreamMessages(ctx, "acct-1", domain.GetOpts{})
	require.NoError(t, err)
	require.Len(t, rows, 2)
	for i, r := range rows {
		m := msgs[i]
		assert.Equal(t, m.ID.String(), r.ID)
		assert.Equal(t, m.StreamName, r.StreamName)
		assert.Equal(t, m.Type, r.Type)
		assert.Equal(t, m.Position, r.Position)
		assert.Equal(t, m.GlobalPosition, r.GlobalPosition)
		assert.JSONEq(t, string(m.Data), *r.Data)
		assert.Equal(t, m.Time, r.Time.UTC())
	}
	assert.JSONEq(t, `{"correlationStreamName":"other-7","k":1}`, *rows[0].Metadata)
	assert.Nil(t, rows[1].Metadata)

	cat := func(args string) []int64 {
		t.Helper()
		var out []int64
		for _, m := range sqlMessages(t, conn, "SELECT * FROM "+sch+".get_category_messages("+args+")") {
			out = append(out, m.GlobalPosition)
		}
		return out
	}
	assert.Equal(t, []int64{1002, 1003, 1004}, cat("'acct'"))
	assert.Equal(t, []int64{1003, 1004}, cat("'acct', 1003"))
	assert.Equal(t, []int64{1002}, cat("'acct', 1, 1000, 'other'"))
	assert.Equal(t, []int64{1002}, cat("category => 'acct', correlation => 'other'"))

	last := sqlMessages(t, conn, "SELECT * FROM "+sch+".get_last_stream_message('acct-1')")
	require.Len(t, last, 1)
	assert.Equal(t, "C", last[0].Type)
	last = sqlMessages(t, conn, "SELECT * FROM "+sch+".get_last_stream_message('acct-1', 'A')")
	require.Len(t, last, 1)
	assert.Equal(t, int64(0), last[0].Position)
	assert.Empty(t, sqlMessages(t, conn, "SELECT * FROM "+sch+".get_last_stream_message('acct-1', 'Z')"))
	assert.Empty(t, sqlMessages(t, conn, "SELECT * FROM "+sch+".get_last_stream_message('acct-9')"))

	var v *int64
	require.NoError(t, conn.QueryRow(ctx, "SELECT "+sch+".stream_version('acct-1')").Scan(&v))
	assert.Equal(t, int64(1), *v)
	require.NoError(t, conn.QueryRow(ctx, "SELECT "+sch+".stream_version('acct-9')").Scan(&v))
	assert.Nil(t, v, "Message DB's stream_version is NULL for a stream without messages")

	// Exception texts.
	for query, want := range map[string]string{
		"get_stream_messages('acct')":                                    "Must be a stream name: acct",
		"get_category_messages('acct-1')":                                "Must be a category: acct-1",
		"get_category_messages('acct', 1, 10, 'other-1')":                "Correlation must be a category (Correlation: other-1)",
		"get_category_messages('acct', 1, 10, NULL, 0)":                  "Consumer group member and size must be specified (Consumer Group Member: 0, Consumer Group Size: <NULL>)",
		"get_category_messages('acct', 1, 10, NULL, NULL, 2)":            "Consumer group member and size must be specified (Consumer Group Member: <NULL>, Consumer Group Size: 2)",
		"get_category_messages('acct', 1, 10, NULL, 0, 0)":               "Consumer group size must not be less than 1 (Consumer Group Member: 0, Consumer Group Size: 0)",
		"get_category_messages('acct', 1, 10, NULL, -1, 2)":              "Consumer group member must not be less than 0 (Consumer Group Member: -1, Consumer Group Size: 2)",
		"get_category_messages('acct', 1, 10, NULL, 2, 2)":               "Consumer group member must be less than the group size (Consumer Group Member: 2, Consumer Group Size: 2)",
		"get_stream_messages('acct-1', 0, 10, 'true')":                   "Retrieval with SQL condition is not activated",
		"get_category_messages('acct', 1, 10, NULL, NULL, NULL, 'true')": "Retrieval with SQL condition is not activated",
	} {
		assert.Equal(t, want, sqlError(t, conn, "SELECT * FROM "+sch+"."+query), query)
	}

	// Message DB's raw SQL condition, when the setting allows it.
	_, err = conn.Exec(ctx, "SET message_store.sql_condition = on")
	require.NoError(t, err)
	got := sqlMessages(t, conn, "SELECT * FROM "+sch+".get_stream_messages('acct-1', 0, 10, 'type = ''C''')")
	require.Len(t, got, 1)
	assert.Equal(t, "C", got[0].Type)
	assert.Equal(t, []int64{1003}, cat("'acct', 1, 10, NULL, NULL, NULL, 'type = ''B'''"))
}

func TestSQL_ConsumerGroupsMatchGo(t *testing.T) {
	ns, conn, sch := sqlNamespace(t)
	streams := groupFixture(t, ns)
	for _, size := range []int64{2, 3, 5} {
		for member := range size {
			var want []string
			for _, s := range streams {
				if domain.IsMember(s, member, size) {
					want = append(want, s)
				}
			}
			var got []string
			for _, m := range sqlMessages(t, conn, "SELECT * FROM "+sch+".get_category_messages('acct', 1, 1000, NULL, $1, $2)", member, size) {
				got = append(got, m.StreamName)
			}
			assert.Equal(t, want, got, "member %d of %d", member, size)
		}
	}
}

func TestSQL_HelperFunctionsMatchDomain(t *testing.T) {
	ctx := context.Background()
	ns, conn, sch := sqlNamespace(t)
	names := []string{"acct-1", "acct-1+x", "acct:command-123+a+b", "acct", "a-", "-1", "a-b-c", "é-中+😀", ""}
	for _, name := range names {
		var cat string
		var id, card *string
		var isCat bool
		var hash, ghash *int64
		require.NoError(t, conn.QueryRow(ctx, fmt.Sprintf(`SELECT %[1]s.category($1), %[1]s.id($1), %[1]s.cardinal_id($1),
			%[1]s.is_category($1), %[1]s.hash_64($1), %[1]s.group_hash($1)`, sch), name).
			Scan(&cat, &id, &card, &isCat, &hash, &ghash))
		assert.Equal(t, domain.Category(name), cat, "category(%q)", name)
		assert.Equal(t, domain.IsCategory(name), isCat, "is_category(%q)", name)
		require.NotNil(t, hash)
		assert.Equal(t, domain.Hash64(name), *hash, "hash_64(%q)", name)
		if strings.Contains(name, "-") {
			require.NotNil(t, id, "id(%q)", name)
			assert.Equal(t, domain.ID(name), *id, "id(%q)", name)
			assert.Equal(t, domain.CardinalID(name), *card, "cardinal_id(%q)", name)
		} else {
			assert.Nil(t, id, "id(%q) is NULL", name)
			assert.Nil(t, card, "cardinal_id(%q) is NULL", name)
		}
		gh, ok := domain.GroupHash(name)
		if ok {
			require.NotNil(t, ghash, "group_hash(%q)", name)
			assert.Equal(t, gh, *ghash, "group_hash(%q)", name)
		} else {
			assert.Nil(t, ghash, "group_hash(%q)", name)
		}
		var channel string
		require.NoError(t, conn.QueryRow(ctx, "SELECT "+sch+".notify_channel($1)", cat).Scan(&channel))
		assert.Equal(t, postgres.NotifyChannel(ns.ID(), cat), channel)
		assert.LessOrEqual(t, len(channel), 63)
	}
	var isCat bool
	require.NoError(t, conn.QueryRow(ctx, "SELECT "+sch+".is_category(NULL)").Scan(&isCat))
	assert.True(t, isCat, "Message DB's is_category(NULL) is true")
	var hash *int64
	require.NoError(t, conn.QueryRow(ctx, "SELECT "+sch+".hash_64(NULL)").Scan(&hash))
	assert.Nil(t, hash)

	var version string
	require.NoError(t, conn.QueryRow(ctx, "SELECT "+sch+".message_store_version()").Scan(&version))
	assert.Equal(t, "1.3.0", version)

	// acquire_lock returns its key: the namespace's schema and category.
	tx, err := conn.Begin(ctx)
	require.NoError(t, err)
	defer tx.Rollback(ctx)
	var key int64
	require.NoError(t, tx.QueryRow(ctx, "SELECT "+sch+".acquire_lock('acct-1+x')").Scan(&key))
	assert.Equal(t, domain.Hash64(sch+":acct"), key)
	var held int
	require.NoError(t, tx.QueryRow(ctx, `SELECT count(*) FROM pg_catalog.pg_locks
		WHERE locktype = 'advisory' AND pid = pg_catalog.pg_backend_pid() AND granted
		AND ((classid::bigint << 32) | objid::bigint) = $1`, key).Scan(&held))
	assert.Equal(t, 1, held, "the advisory lock is held by the transaction")
	require.NoError(t, tx.Rollback(ctx))

	// The group hash of written messages (which the category index holds)
	// is domain.GroupHash.
	for _, name := range names[:3] {
		write(t, ns, name, msg("A", 0))
	}
	rows, err := conn.Query(ctx, "SELECT stream_name, "+sch+".group_hash(stream_name) FROM "+sch+".messages")
	require.NoError(t, err)
	for rows.Next() {
		var name string
		var gh int64
		require.NoError(t, rows.Scan(&name, &gh))
		want, _ := domain.GroupHash(name)
		assert.Equal(t, want, gh, name)
	}
	require.NoError(t, rows.Err())
}

// TestSQL_NoSearchPath runs the whole API, in SQL and in Go, with a
// search_path that holds nothing but pg_catalog: no object of a namespace
// is found through the search_path.
func TestSQL_NoSearchPath(t *testing.T) {
	ctx := context.Background()
	url := sharedURL(t)
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	if !strings.HasPrefix(url, "postgres") {
		t.Skip("the shared database URL is a keyword/value DSN")
	}
	noPath := url + sep + "search_path=pg_catalog"
	s := openStore(t, noPath, &postgres.Options{MaxConns: 2})
	ns := newNamespace(t, s)
	conn := sqlConn(t, noPath)
	var path string
	require.NoError(t, conn.QueryRow(ctx, "SHOW search_path").Scan(&path))
	require.Equal(t, "pg_catalog", path)
	sch := ns.Schema()

	for _, q := range []string{
		"SELECT " + sch + ".write_message('" + uuid.NewString() + "', 'acct-1', 'A', '{}')",
		"SELECT " + sch + ".write_message('" + uuid.NewString() + "', 'acct-1+x', 'B', '{}', '{\"correlationStreamName\":\"o-1\"}', -1)",
		"SELECT * FROM " + sch + ".get_stream_messages('acct-1')",
		"SELECT * FROM " + sch + ".get_category_messages('acct')",
		"SELECT * FROM " + sch + ".get_category_messages('acct', 1, 10, 'o', 0, 2)",
		"SELECT * FROM " + sch + ".get_category_messages('acct', 1, 10, NULL, 1, 2)",
		"SELECT * FROM " + sch + ".get_last_stream_message('acct-1', 'A')",
		"SELECT " + sch + ".stream_version('acct-1')",
		"SELECT " + sch + ".message_store_version()",
		"SELECT " + sch + ".cardinal_id('a-1+2'), " + sch + ".is_category('a'), " + sch + ".id('a-1'), " + sch + ".hash_64('x')",
		"SELECT * FROM " + sch + ".write_messages('acct-2', ARRAY['" + uuid.NewString() + "']::uuid[], ARRAY['C'], ARRAY['{}']::jsonb[], ARRAY[NULL]::jsonb[])",
	} {
		rows, err := conn.Query(ctx, q)
		require.NoError(t, err, q)
		rows.Close()
		require.NoError(t, rows.Err(), q)
	}
	_, err := conn.Exec(ctx, "SET message_store.sql_condition = on")
	require.NoError(t, err)
	require.Len(t, sqlMessages(t, conn, "SELECT * FROM "+sch+".get_category_messages('acct', 1, 10, NULL, NULL, NULL, 'type = ''B''')"), 1)

	// The Go adapter too.
	r := write(t, ns, "acct-1", msg("A", 1))
	assert.Equal(t, wr(1, 4), r)
	msgs, err := ns.GetCategoryMessages(ctx, "acct", domain.CategoryOpts{ConsumerGroup: &domain.ConsumerGroup{Member: 0, Size: 1}})
	require.NoError(t, err)
	assert.Len(t, msgs, 4)
	require.NoError(t, ns.ImportMessages(ctx, []domain.Message{{ID: uuid.New(), StreamName: "acct-7", Type: "I", Position: 0, GlobalPosition: 10, Data: []byte(`{}`)}}))
	_, err = s.CreateNamespace(ctx, newID("np"), domain.NamespaceOptions{})
	require.NoError(t, err)
}

// Message DB's data column accepts NULL (a client may write it through SQL):
// it reads as JSON null, and the metadata beside it still reads compact.
func TestSQL_NullDataReadsAsJSONNull(t *testing.T) {
	ctx := context.Background()
	ns, conn, sch := sqlNamespace(t)
	for _, args := range [][]any{
		{uuid.NewString(), "acct-1", "X", nil, nil},
		{uuid.NewString(), "acct-1", "X", nil, `{"correlationStreamName": "other-1", "n": [1, 2]}`},
	} {
		_, err := conn.Exec(ctx, "SELECT "+sch+".write_message($1::varchar, $2::varchar, $3::varchar, $4::jsonb, $5::jsonb)", args...)
		require.NoError(t, err)
	}
	msgs, err := ns.GetStreamMessages(ctx, "acct-1", domain.GetOpts{})
	require.NoError(t, err)
	require.Len(t, msgs, 2)
	assert.Equal(t, "null", string(msgs[0].Data))
	assert.Nil(t, msgs[0].Metadata)
	assert.Equal(t, "null", string(msgs[1].Data))
	assert.Equal(t, `{"n":[1,2],"correlationStreamName":"other-1"}`, string(msgs[1].Metadata))
}
