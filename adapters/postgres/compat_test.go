package postgres_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messagedb-go/messagedb/adapters/postgres"
	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/internal/pgtest"
)

// messageDBTable creates, in a schema of its own, a table shaped as Message
// DB 1.3.0's messages table (columns, in the order of its 1.2.4 and later,
// types, defaults, key), and returns its qualified name.
func messageDBTable(t *testing.T, conn *pgx.Conn) string {
	t.Helper()
	ctx := context.Background()
	schema := newID("mdb")
	_, err := conn.Exec(ctx, `CREATE SCHEMA `+schema+`;
CREATE TABLE `+schema+`.messages (
  global_position bigserial NOT NULL,
  position bigint NOT NULL,
  time timestamp without time zone NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
  stream_name text NOT NULL,
  type text NOT NULL,
  data jsonb,
  metadata jsonb,
  id uuid NOT NULL DEFAULT gen_random_uuid()
);
ALTER TABLE `+schema+`.messages ADD PRIMARY KEY (global_position)`)
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = conn.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE") })
	return schema + ".messages"
}

// columnsOf describes the columns of table as SELECT * returns them, and
// as the catalog defines them.
func columnsOf(t *testing.T, conn *pgx.Conn, table string) (selected []string, defined []string) {
	t.Helper()
	ctx := context.Background()
	rows, err := conn.Query(ctx, "SELECT * FROM "+table+" LIMIT 0")
	require.NoError(t, err)
	for _, fd := range rows.FieldDescriptions() {
		typ, ok := conn.TypeMap().TypeForOID(fd.DataTypeOID)
		require.True(t, ok, "type of column %s", fd.Name)
		selected = append(selected, fd.Name+" "+typ.Name)
	}
	rows.Close()
	rows, err = conn.Query(ctx, `SELECT a.attname || ' ' || pg_catalog.format_type(a.atttypid, a.atttypmod)
    || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
    || CASE WHEN a.atthasdef THEN ' default' ELSE '' END
    || CASE WHEN a.attgenerated <> '' THEN ' generated' ELSE '' END
    || CASE WHEN a.attidentity <> '' THEN ' identity' ELSE '' END
  FROM pg_catalog.pg_attribute a
  WHERE a.attrelid = $1::regclass AND a.attnum > 0 ORDER BY a.attnum`, table)
	require.NoError(t, err)
	defined, err = pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	return selected, defined
}

// assertMessageDBColumns checks that the messages table of schema has
// Message DB's columns, in its order, with its types, constraints, defaults
// and global position sequence, and nothing else, not even a dropped column.
func assertMessageDBColumns(t *testing.T, conn *pgx.Conn, schema string) {
	t.Helper()
	ctx := context.Background()
	selected, defined := columnsOf(t, conn, schema+".messages")
	assert.Equal(t, []string{"global_position int8", "position int8", "time timestamp", "stream_name text", "type text",
		"data jsonb", "metadata jsonb", "id uuid"}, selected, "SELECT * on %s", schema)
	mdbSelected, mdbDefined := columnsOf(t, conn, messageDBTable(t, conn))
	assert.Equal(t, mdbSelected, selected, "SELECT * returns what it returns on Message DB's table")
	assert.Equal(t, mdbDefined, defined, "the columns are defined as Message DB's")

	var seq, pkey string
	require.NoError(t, conn.QueryRow(ctx, "SELECT pg_catalog.pg_get_serial_sequence($1, 'global_position')", schema+".messages").Scan(&seq))
	assert.Equal(t, schema+".messages_global_position_seq", seq, "global_position is a bigserial")
	require.NoError(t, conn.QueryRow(ctx, `SELECT pg_catalog.pg_get_constraintdef(c.oid) FROM pg_catalog.pg_constraint c
WHERE c.conrelid = $1::regclass AND c.contype = 'p'`, schema+".messages").Scan(&pkey))
	assert.Equal(t, "PRIMARY KEY (global_position)", pkey)
}

func TestCompat_MessagesTableIsMessageDBs(t *testing.T) {
	s := openStore(t, sharedURL(t), &postgres.Options{MaxConns: 2})
	ns := newNamespace(t, s)
	assertMessageDBColumns(t, sqlConn(t, sharedURL(t)), ns.Schema())
}

// allRows returns every row of table by SELECT *, as text, in global
// position order.
func allRows(t *testing.T, conn *pgx.Conn, table string) [][]string {
	t.Helper()
	rows, err := conn.Query(context.Background(), "SELECT * FROM "+table+" ORDER BY global_position", pgx.QueryExecModeSimpleProtocol)
	require.NoError(t, err)
	defer rows.Close()
	var out [][]string
	for rows.Next() {
		var row []string
		for _, v := range rows.RawValues() {
			row = append(row, string(v))
		}
		out = append(out, row)
	}
	require.NoError(t, rows.Err())
	return out
}

// Whatever maps the table's columns by position works between a namespace
// and a Message DB table: INSERT ... SELECT * and COPY without a column
// list, both ways.
func TestCompat_PositionalInsertAndCopy(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, sharedURL(t), &postgres.Options{MaxConns: 2})
	src := newNamespace(t, s)
	streams := groupFixture(t, src)
	write(t, src, "acct-1", domain.NewMessage{Type: "Correlated", Data: []byte(`{"a":[1,"x"]}`),
		Metadata: []byte(`{"correlationStreamName":"other-1"}`)})
	conn := sqlConn(t, sharedURL(t))
	_, err := conn.Exec(ctx, "SELECT "+src.Schema()+".write_message(gen_random_uuid()::varchar, 'acct-2', 'NullData', NULL)")
	require.NoError(t, err)
	want := allRows(t, conn, src.Schema()+".messages")
	require.Len(t, want, len(streams)+2)

	// Namespace → Message DB, by INSERT ... SELECT *.
	mdb := messageDBTable(t, conn)
	_, err = conn.Exec(ctx, "INSERT INTO "+mdb+" SELECT * FROM "+src.Schema()+".messages")
	require.NoError(t, err)
	assert.Equal(t, want, allRows(t, conn, mdb), "INSERT INTO a Message DB table SELECT * FROM a namespace")

	// Namespace → Message DB, by COPY.
	var copied bytes.Buffer
	_, err = conn.PgConn().CopyTo(ctx, &copied, "COPY "+src.Schema()+".messages TO STDOUT")
	require.NoError(t, err)
	mdbCopy := messageDBTable(t, conn)
	_, err = conn.PgConn().CopyFrom(ctx, bytes.NewReader(copied.Bytes()), "COPY "+mdbCopy+" FROM STDIN")
	require.NoError(t, err)
	assert.Equal(t, want, allRows(t, conn, mdbCopy), "COPY from a namespace into a Message DB table")

	// Message DB → namespace, both ways; the consumer-group hash of rows
	// inserted so is there for group reads.
	for _, how := range []string{"insert", "copy"} {
		dst := newNamespace(t, s)
		if how == "insert" {
			_, err = conn.Exec(ctx, "INSERT INTO "+dst.Schema()+".messages SELECT * FROM "+mdb)
		} else {
			_, err = conn.PgConn().CopyFrom(ctx, bytes.NewReader(copied.Bytes()), "COPY "+dst.Schema()+".messages FROM STDIN")
		}
		require.NoError(t, err, how)
		assert.Equal(t, want, allRows(t, conn, dst.Schema()+".messages"), how)
		seen := 0
		for member := range int64(4) {
			msgs, err := dst.GetCategoryMessages(ctx, "acct", domain.CategoryOpts{ConsumerGroup: &domain.ConsumerGroup{Member: member, Size: 4}})
			require.NoError(t, err, how)
			for _, m := range msgs {
				assert.True(t, domain.IsMember(m.StreamName, member, 4), "%s: %s in member %d", how, m.StreamName, member)
			}
			seen += len(msgs)
		}
		assert.Equal(t, len(want), seen, "%s: the members share every message", how)
	}
}

// Message DB's six report views: names, columns and types, and their rows
// (counts and percentages rounded to two decimals, in order) on known data.
func TestCompat_ReportViews(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, sharedURL(t), &postgres.Options{MaxConns: 2})
	ns := newNamespace(t, s)
	conn := sqlConn(t, sharedURL(t))

	view := func(name string) (cols []string, rows [][]string) {
		t.Helper()
		r, err := conn.Query(ctx, "SELECT * FROM "+ns.Schema()+"."+name, pgx.QueryExecModeSimpleProtocol)
		require.NoError(t, err, name)
		defer r.Close()
		for _, fd := range r.FieldDescriptions() {
			typ, ok := conn.TypeMap().TypeForOID(fd.DataTypeOID)
			require.True(t, ok)
			cols = append(cols, fd.Name+" "+typ.Name)
		}
		for r.Next() {
			var row []string
			for _, v := range r.RawValues() {
				row = append(row, string(v))
			}
			rows = append(rows, row)
		}
		require.NoError(t, r.Err())
		return cols, rows
	}
	columns := map[string][]string{
		"stream_summary":        {"stream_name text", "message_count int8", "percent numeric"},
		"type_summary":          {"type text", "message_count int8", "percent numeric"},
		"stream_type_summary":   {"stream_name text", "type text", "message_count int8", "percent numeric"},
		"type_stream_summary":   {"type text", "stream_name text", "message_count int8", "percent numeric"},
		"category_type_summary": {"category varchar", "type text", "message_count int8", "percent numeric"},
		"type_category_summary": {"type text", "category varchar", "message_count int8", "percent numeric"},
	}
	for name, want := range columns {
		cols, rows := view(name)
		assert.Equal(t, want, cols, name)
		assert.Empty(t, rows, "%s of an empty namespace", name)
	}

	for _, w := range []struct{ stream, typ string }{
		{"acct-1", "Opened"}, {"acct-1", "Deposited"}, {"acct-1", "Deposited"}, {"acct-2", "Opened"},
		{"acct:command-9", "Open"}, {"acct:command-9", "Open"}, {"other-1", "Deposited"},
	} {
		write(t, ns, w.stream, domain.NewMessage{Type: w.typ, Data: []byte(`{}`)})
	}
	// 7 messages: 1 is 14.29%, 2 are 28.57%, 3 are 42.86%.
	want := map[string][][]string{
		"stream_summary": {
			{"acct-1", "3", "42.86"}, {"acct-2", "1", "14.29"}, {"acct:command-9", "2", "28.57"}, {"other-1", "1", "14.29"}},
		"type_summary": {
			{"Deposited", "3", "42.86"}, {"Open", "2", "28.57"}, {"Opened", "2", "28.57"}},
		"stream_type_summary": {
			{"acct-1", "Deposited", "2", "28.57"}, {"acct-1", "Opened", "1", "14.29"}, {"acct-2", "Opened", "1", "14.29"},
			{"acct:command-9", "Open", "2", "28.57"}, {"other-1", "Deposited", "1", "14.29"}},
		"type_stream_summary": {
			{"Deposited", "acct-1", "2", "28.57"}, {"Deposited", "other-1", "1", "14.29"}, {"Open", "acct:command-9", "2", "28.57"},
			{"Opened", "acct-1", "1", "14.29"}, {"Opened", "acct-2", "1", "14.29"}},
		"category_type_summary": {
			{"acct", "Deposited", "2", "28.57"}, {"acct", "Opened", "2", "28.57"}, {"acct:command", "Open", "2", "28.57"},
			{"other", "Deposited", "1", "14.29"}},
		"type_category_summary": {
			{"Deposited", "acct", "2", "28.57"}, {"Deposited", "other", "1", "14.29"}, {"Open", "acct:command", "2", "28.57"},
			{"Opened", "acct", "2", "28.57"}},
	}
	for name, rows := range want {
		_, got := view(name)
		assert.Equal(t, rows, got, name)
	}

	// The views are the namespace's own: another namespace's messages do not
	// count, whatever the search_path.
	other := newNamespace(t, s)
	write(t, other, "acct-1", msg("Opened", 0))
	_, err := conn.Exec(ctx, "SET search_path = "+other.Schema())
	require.NoError(t, err)
	_, got := view("stream_summary")
	assert.Equal(t, want["stream_summary"], got, "with another namespace on the search_path")
}

// groupReadPlan is the plan of the adapter's consumer-group read (the
// inner query that selects the member's global positions), prepared with a
// generic plan as the adapter's connections do.
func groupReadPlan(t *testing.T, url, sch string) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, `SET plan_cache_mode = force_generic_plan;
PREPARE group_read(varchar, bigint, bigint, bigint, bigint) AS
SELECT m.global_position FROM `+sch+`.messages m
WHERE (`+sch+`.category(m.stream_name), m.global_position) >= ($1, $2)
  AND (`+sch+`.category(m.stream_name), m.global_position) <= ($1, 9223372036854775807)
  AND COALESCE(`+sch+`.group_hash(m.stream_name) % $4 = $5, false)
ORDER BY `+sch+`.category(m.stream_name), m.global_position LIMIT $3`)
	require.NoError(t, err)
	rows, err := conn.Query(ctx, "EXPLAIN (COSTS OFF) EXECUTE group_read('acct', 1, 100, 3, 1)")
	require.NoError(t, err)
	lines, err := pgx.CollectRows(rows, pgx.RowTo[pgtype.Text])
	require.NoError(t, err)
	var out bytes.Buffer
	for _, l := range lines {
		out.WriteString(l.String + "\n")
	}
	return out.String()
}

// A consumer group's read scans the category index only, and takes each
// message's group hash from it, never computing it: it works for a role that
// may not call md5, which computing group_hash(stream_name) needs. The
// category holds 10,000 messages, read before any statistics are gathered
// and after VACUUM ANALYZE.
func TestCompat_GroupReadTakesHashFromIndex(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	admin := openStore(t, url, &postgres.Options{MaxConns: 2})
	role, roleURL := pgtest.NewRole(t, url)
	id := newID("t")
	_, err := admin.CreateNamespace(ctx, id, domain.NamespaceOptions{Grant: []string{role}})
	require.NoError(t, err)
	ns, err := admin.Namespace(ctx, id)
	require.NoError(t, err)
	sch := ns.Schema()
	conn := sqlConn(t, url)
	_, err = conn.Exec(ctx, `INSERT INTO `+sch+`.messages (stream_name, type, position, data)
SELECT 'acct-' || (g % 200) || CASE WHEN g % 200 < 50 THEN '+x' ELSE '' END, 'A', g / 200, '{}'
FROM generate_series(0, 9999) g`)
	require.NoError(t, err)

	_, err = conn.Exec(ctx, "REVOKE EXECUTE ON FUNCTION pg_catalog.md5(text) FROM PUBLIC")
	require.NoError(t, err)
	roleConn := sqlConn(t, roleURL)
	var h int64
	err = roleConn.QueryRow(ctx, "SELECT "+sch+".group_hash('acct-1')").Scan(&h)
	require.ErrorContains(t, err, "permission denied for function md5", "the role may not compute a group hash")

	reader := openStore(t, roleURL, &postgres.Options{MaxConns: 2})
	rns, err := reader.Namespace(ctx, id)
	require.NoError(t, err)
	for _, state := range []string{"without statistics", "vacuumed and analyzed"} {
		if state != "without statistics" {
			_, err := conn.Exec(ctx, "VACUUM ANALYZE "+sch+".messages")
			require.NoError(t, err)
		}
		assert.Contains(t, groupReadPlan(t, url, sch), "Index Only Scan using messages_category", state)
		for member := range int64(3) {
			for _, from := range []int64{1, 5000, 9990} {
				g := &domain.ConsumerGroup{Member: member, Size: 3}
				msgs, err := rns.GetCategoryMessages(ctx, "acct", domain.CategoryOpts{Position: from, BatchSize: new(int64(10)), ConsumerGroup: g})
				require.NoError(t, err, "%s: member %d from %d", state, member, from)
				require.NotEmpty(t, msgs, "%s: member %d from %d", state, member, from)
				for _, m := range msgs {
					assert.True(t, domain.IsMember(m.StreamName, member, 3), "%s: %s in member %d", state, m.StreamName, member)
				}

				// The same through Message DB's function.
				var n int
				require.NoError(t, roleConn.QueryRow(ctx, fmt.Sprintf(
					"SELECT count(*) FROM %s.get_category_messages('acct', %d, 10, NULL, %d, 3)", sch, from, member)).Scan(&n),
					"%s: member %d from %d", state, member, from)
				assert.Equal(t, len(msgs), n, "%s: get_category_messages, member %d from %d", state, member, from)
			}
		}
	}
}

// A new namespace's table is planned with its indexes: sessions keep the
// plans of their first writes, made while the table is empty, so an empty
// table must not look analyzed (the planner would then take it for empty
// for good and scan it whole on every write).
func TestCompat_NewNamespaceIsPlannedWithItsIndexes(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, sharedURL(t), &postgres.Options{MaxConns: 2})
	sch := newNamespace(t, s).Schema()
	conn, err := pgx.Connect(ctx, sharedURL(t))
	require.NoError(t, err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, `SET plan_cache_mode = force_generic_plan;
PREPARE version_of(text) AS SELECT max(m.position) FROM `+sch+`.messages m WHERE m.stream_name = $1;
PREPARE by_ids(uuid[]) AS SELECT m.global_position FROM `+sch+`.messages m WHERE m.id = ANY ($1)`)
	require.NoError(t, err)
	for q, index := range map[string]string{
		"EXECUTE version_of('acct-1')":                            "messages_stream",
		"EXECUTE by_ids(ARRAY['" + uuid.NewString() + "'::uuid])": "messages_id",
	} {
		rows, err := conn.Query(ctx, "EXPLAIN (COSTS OFF) "+q)
		require.NoError(t, err)
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		assert.Contains(t, strings.Join(lines, "\n"), index, q)
	}
}

// groupFixture writes one message to each of 40 streams of acct, some with
// compound ids, and returns the stream names.
func groupFixture(t *testing.T, ns *postgres.Namespace) []string {
	t.Helper()
	var streams []string
	for i := range 40 {
		s := fmt.Sprintf("acct-%d", i)
		if i%4 == 0 {
			s = fmt.Sprintf("acct-%d+part", i/4)
		}
		streams = append(streams, s)
		write(t, ns, s, msg("A", i))
	}
	return streams
}
