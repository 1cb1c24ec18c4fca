package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messagedb-go/messagedb/adapters/postgres"
	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/internal/pgtest"
	"github.com/messagedb-go/messagedb/migrations"
)

// withParam adds a connection parameter to a URL or keyword/value DSN.
func withParam(u, key, value string) string {
	if strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://") {
		sep := "?"
		if strings.Contains(u, "?") {
			sep = "&"
		}
		return u + sep + key + "=" + value
	}
	return u + " " + key + "=" + value
}

// scenario writes a fixed set of messages to ns and returns everything the
// reads return, with the times checked and cleared, so that the results of
// two namespaces can be compared.
func scenario(t *testing.T, ns *postgres.Namespace) map[string]any {
	t.Helper()
	ctx := context.Background()
	out := map[string]any{}
	start := time.Now().UTC().Add(-time.Minute)
	clear := func(msgs []domain.Message) []domain.Message {
		for i := range msgs {
			m := &msgs[i]
			assert.Equal(t, time.UTC, m.Time.Location(), "time in UTC")
			assert.True(t, m.Time.After(start) && m.Time.Before(start.Add(time.Hour)), "time %v near now", m.Time)
			m.Time = time.Time{}
			m.ID = uuid.Nil
		}
		return msgs
	}

	var results []domain.WriteResult
	for i := range 12 {
		stream := fmt.Sprintf("acct-%d", i%5)
		if i%4 == 0 {
			stream = fmt.Sprintf("acct-%d+part", i%3)
		}
		m := domain.NewMessage{
			Type: fmt.Sprintf("T%d", i%3),
			Data: json.RawMessage(fmt.Sprintf(`{"n": %d, "s": "a \"quoted\", \\ and ünïcode: %d"}`, i, i)),
		}
		if i%2 == 0 {
			m.Metadata = json.RawMessage(fmt.Sprintf(`{"correlationStreamName": "corr-%d"}`, i))
		}
		r, err := ns.WriteMessage(ctx, stream, m, domain.AnyVersion)
		require.NoError(t, err)
		results = append(results, r)
	}
	batch := []domain.NewMessage{
		{ID: uuid.New(), Type: "B", Data: json.RawMessage(`{}`)},
		{ID: uuid.New(), Type: "B", Data: json.RawMessage(`[1, 2]`), Metadata: json.RawMessage(`{}`)},
	}
	rs, err := ns.WriteMessages(ctx, "acct-9", batch, domain.ExpectVersion(domain.NoStream))
	require.NoError(t, err)
	results = append(results, rs...)
	again, err := ns.WriteMessages(ctx, "acct-9", batch, domain.ExpectVersion(domain.NoStream))
	require.NoError(t, err, "an idempotent retry")
	assert.Equal(t, rs, again, "a retry returns the stored results")
	_, err = ns.WriteMessage(ctx, "acct-9", domain.NewMessage{Type: "B"}, domain.ExpectVersion(0))
	var vc *domain.VersionConflictError
	require.ErrorAs(t, err, &vc)
	assert.Equal(t, domain.VersionConflictError{StreamName: "acct-9", Expected: 0, Actual: 1}, *vc)
	out["writes"] = results

	stream, err := ns.GetStreamMessages(ctx, "acct-1", domain.GetOpts{})
	require.NoError(t, err)
	out["stream"] = clear(stream)
	batchRead, err := ns.GetStreamMessages(ctx, "acct-9", domain.GetOpts{Position: 1, BatchSize: new(int64(1))})
	require.NoError(t, err)
	require.Len(t, batchRead, 1)
	assert.Equal(t, batch[1].ID, batchRead[0].ID, "the id reads back")
	out["batch"] = clear(batchRead)
	cat, err := ns.GetCategoryMessages(ctx, "acct", domain.CategoryOpts{})
	require.NoError(t, err)
	require.Len(t, cat, 14)
	out["category"] = clear(cat)
	for member := range int64(2) {
		g, err := ns.GetCategoryMessages(ctx, "acct", domain.CategoryOpts{Position: 2, ConsumerGroup: &domain.ConsumerGroup{Member: member, Size: 2}})
		require.NoError(t, err)
		out[fmt.Sprint("group", member)] = clear(g)
	}
	corr, err := ns.GetCategoryMessages(ctx, "acct", domain.CategoryOpts{Correlation: "corr"})
	require.NoError(t, err)
	require.Len(t, corr, 6)
	out["correlated"] = clear(corr)
	corrGroup, err := ns.GetCategoryMessages(ctx, "acct", domain.CategoryOpts{Correlation: "corr", ConsumerGroup: &domain.ConsumerGroup{Member: 1, Size: 2}})
	require.NoError(t, err)
	out["correlatedGroup"] = clear(corrGroup)
	all, err := ns.GetAllMessages(ctx, domain.AllOpts{Position: 3, BatchSize: new(int64(5))})
	require.NoError(t, err)
	out["all"] = clear(all)
	last, err := ns.GetLastStreamMessage(ctx, "acct-1", "")
	require.NoError(t, err)
	out["last"] = clear([]domain.Message{last})
	lastOfType, err := ns.GetLastStreamMessage(ctx, "acct-1", "T0")
	require.NoError(t, err)
	out["lastOfType"] = clear([]domain.Message{lastOfType})
	_, err = ns.GetLastStreamMessage(ctx, "acct-7", "")
	assert.ErrorIs(t, err, domain.ErrStreamNotFound)
	v, err := ns.GetStreamVersion(ctx, "acct-9")
	require.NoError(t, err)
	out["version"] = v
	none, err := ns.GetStreamVersion(ctx, "acct-7")
	require.NoError(t, err)
	assert.Equal(t, domain.NoStream, none)

	// An import's times go to the database as time.Time and read back
	// exactly, in UTC.
	at := time.Date(2019, 3, 4, 5, 6, 7, 123456000, time.UTC)
	imported := domain.Message{ID: uuid.New(), StreamName: "imp-1", Type: "I", GlobalPosition: 100, Time: at,
		Data: json.RawMessage(`{"a": [1, "b"]}`), Metadata: json.RawMessage(`{"x": null}`)}
	require.NoError(t, ns.ImportMessages(ctx, []domain.Message{imported}))
	got, err := ns.GetLastStreamMessage(ctx, "imp-1", "")
	require.NoError(t, err)
	assert.Equal(t, time.UTC, got.Time.Location())
	imported.Data, imported.Metadata = json.RawMessage(`{"a":[1,"b"]}`), json.RawMessage(`{"x":null}`)
	assert.Equal(t, imported, got, "the imported message reads back, its JSON compact")
	return out
}

// Writes and reads run in the URL's default_query_exec_mode: prepared and
// cached (binary uuid, bigint and timestamp columns) by default, or not at
// all for connection poolers in transaction mode (simple_protocol, exec).
// Every mode reads back the same messages.
func TestStore_QueryExecModes(t *testing.T) {
	var want map[string]any
	for _, mode := range []string{"cache_statement", "cache_describe", "describe_exec", "exec", "simple_protocol"} {
		t.Run(mode, func(t *testing.T) {
			s := openStore(t, withParam(sharedURL(t), "default_query_exec_mode", mode), &postgres.Options{MaxConns: 2})
			got := scenario(t, newNamespace(t, s))
			if want == nil {
				want = got
				return
			}
			for k, v := range want {
				assert.Equal(t, v, got[k], "%s reads as in cache_statement mode", k)
			}
		})
	}
}

// A connection keeps the statements it prepared for a namespace. When the
// namespace is deleted and created again (the same schema name, new
// tables), its statements are planned again: writes and reads on the one
// connection see the new namespace only.
func TestStore_CachedStatementsAfterNamespaceCreatedAgain(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, sharedURL(t), &postgres.Options{MaxConns: 1})
	id := newID("again")
	for round := range 3 {
		_, err := s.CreateNamespace(ctx, id, domain.NamespaceOptions{})
		require.NoError(t, err)
		ns, err := s.Namespace(ctx, id)
		require.NoError(t, err)
		for i := range 7 { // past PostgreSQL's five custom plans
			r, err := ns.WriteMessage(ctx, "acct-1", msg("A", round*10+i), domain.AnyVersion)
			require.NoError(t, err, "round %d", round)
			assert.Equal(t, wr(int64(i), int64(i+1)), r, "round %d: positions start again", round)
			msgs, err := ns.GetStreamMessages(ctx, "acct-1", domain.GetOpts{})
			require.NoError(t, err)
			require.Len(t, msgs, i+1, "round %d", round)
			assert.JSONEq(t, fmt.Sprintf(`{"n": %d}`, round*10), string(msgs[0].Data), "round %d: this namespace's message", round)
			g, err := ns.GetCategoryMessages(ctx, "acct", domain.CategoryOpts{ConsumerGroup: &domain.ConsumerGroup{Member: 0, Size: 1}})
			require.NoError(t, err)
			assert.Len(t, g, i+1, "round %d", round)
		}
		require.NoError(t, s.DeleteNamespace(ctx, id))
		_, err = ns.GetStreamMessages(ctx, "acct-1", domain.GetOpts{})
		assert.ErrorIs(t, err, domain.ErrNamespaceNotFound, "round %d", round)
	}
}

// firstMigrationOnly is the namespace migrations as they were before
// 002_faster_writes.sql.
func firstMigrationOnly(t *testing.T) fs.FS {
	t.Helper()
	all, err := migrations.Namespace("postgres")
	require.NoError(t, err)
	first, err := fs.ReadFile(all, "001_message_db.sql")
	require.NoError(t, err)
	return fstest.MapFS{"001_message_db.sql": {Data: first}}
}

// A namespace created by the first migration, holding messages or none, is
// brought up to date when a Store first opens it: its messages are kept
// exactly, now in Message DB's columns; its global position sequence goes
// on; privileges granted on its table pass to the new one and to the report
// views; and reads, consumer groups and writes work as in a new namespace.
func TestStore_NamespaceOfTheFirstMigration(t *testing.T) {
	ctx := context.Background()
	var opts postgres.Options
	opts.MaxConns = 2
	postgres.WithNamespaceMigrations(&opts, firstMigrationOnly(t))
	oldStore := openStore(t, sharedURL(t), &opts)
	s := openStore(t, sharedURL(t), &postgres.Options{MaxConns: 2})
	upgraded, err := s.Namespace(ctx, newNamespace(t, oldStore).ID())
	require.NoError(t, err)
	assert.Equal(t, scenario(t, upgraded), scenario(t, newNamespace(t, s)), "an upgraded namespace and a new one read the same")

	// Messages written through SQL by a client of the first version (this
	// package's writes need the functions of later migrations).
	conn := sqlConn(t, sharedURL(t))
	full := newNamespace(t, oldStore)
	var streams []string
	for i := range 40 {
		name := fmt.Sprintf("acct-%d", i)
		if i%4 == 0 {
			name = fmt.Sprintf("acct-%d+part", i/4)
		}
		streams = append(streams, name)
		_, err := conn.Exec(ctx, "SELECT "+full.Schema()+".write_message($1, $2, 'A', '{}')", uuid.NewString(), name)
		require.NoError(t, err)
	}
	empty := newNamespace(t, oldStore)
	role, roleURL := pgtest.NewRole(t, sharedURL(t))
	_, err = conn.Exec(ctx, "GRANT USAGE ON SCHEMA "+full.Schema()+" TO "+role+"; GRANT SELECT ON "+full.Schema()+".messages TO "+role)
	require.NoError(t, err)

	// Every column of every message, by name, as text.
	rowsOf := func(ns *postgres.Namespace) []string {
		rows, err := conn.Query(ctx, `SELECT concat_ws('|', id, stream_name, type, position, global_position, data, metadata, time)
FROM `+ns.Schema()+`.messages ORDER BY global_position`)
		require.NoError(t, err)
		out, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		return out
	}
	applied := func(ns *postgres.Namespace) []string {
		rows, err := conn.Query(ctx, "SELECT version FROM "+ns.Schema()+".schema_migrations ORDER BY version")
		require.NoError(t, err)
		versions, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		return versions
	}
	tables := func(ns *postgres.Namespace) []string {
		rows, err := conn.Query(ctx, "SELECT table_name::text FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1", ns.Schema())
		require.NoError(t, err)
		names, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		return names
	}
	before := rowsOf(full)
	require.Len(t, before, len(streams))
	assert.Equal(t, []string{"001_message_db"}, applied(full))

	// s did not create these namespaces: opening them migrates them.
	fullNow, err := s.Namespace(ctx, full.ID())
	require.NoError(t, err)
	emptyNow, err := s.Namespace(ctx, empty.ID())
	require.NoError(t, err)
	for _, ns := range []*postgres.Namespace{full, empty} {
		assert.Equal(t, namespaceVersions(t), applied(ns), ns.ID())
		assert.Equal(t, []string{"category_type_summary", "messages", "schema_migrations", "stream_summary", "stream_type_summary",
			"type_category_summary", "type_stream_summary", "type_summary"}, tables(ns), "%s: nothing left of the rebuild", ns.ID())
		assertMessageDBColumns(t, conn, ns.Schema())
	}
	assert.Equal(t, before, rowsOf(full), "every message kept as it was")

	r := write(t, fullNow, "acct-99", msg("A", 99))
	assert.Equal(t, int64(len(streams)+1), r.GlobalPosition, "the global position goes on")
	assert.Equal(t, int64(1), write(t, emptyNow, "acct-1", msg("A", 1)).GlobalPosition)
	seen := map[int64]int64{}
	for member := range int64(3) {
		msgs, err := fullNow.GetCategoryMessages(ctx, "acct", domain.CategoryOpts{ConsumerGroup: &domain.ConsumerGroup{Member: member, Size: 3}})
		require.NoError(t, err)
		for _, m := range msgs {
			assert.True(t, domain.IsMember(m.StreamName, member, 3), "%s in member %d", m.StreamName, member)
			seen[m.GlobalPosition] = member
		}
	}
	assert.Len(t, seen, len(streams)+1, "the members share every message")

	// The role granted SELECT on the old table reads the new one, and the
	// reports; it was granted nothing else.
	roleConn := sqlConn(t, roleURL)
	var n, reported int64
	require.NoError(t, roleConn.QueryRow(ctx, "SELECT count(*) FROM "+full.Schema()+".messages").Scan(&n))
	assert.Equal(t, int64(len(streams)+1), n)
	require.NoError(t, roleConn.QueryRow(ctx, "SELECT sum(message_count) FROM "+full.Schema()+".category_type_summary").Scan(&reported))
	assert.Equal(t, n, reported)
	_, err = roleConn.Exec(ctx, "INSERT INTO "+full.Schema()+".messages (stream_name, type, position) VALUES ('acct-1000', 'A', 0)")
	assert.ErrorContains(t, err, "permission denied", "a privilege the role did not have")
}

// namespaceVersions lists the embedded namespace migrations.
func namespaceVersions(t *testing.T) []string {
	t.Helper()
	fsys, err := migrations.Namespace("postgres")
	require.NoError(t, err)
	names, err := fs.Glob(fsys, "*.sql") // sorted
	require.NoError(t, err)
	for i, n := range names {
		names[i] = strings.TrimSuffix(n, ".sql")
	}
	return names
}
