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
	assert.ErrorIs(t, err, domain.ErrVersionConflict)
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
	all, err := ns.GetAllMessages(ctx, domain.CategoryOpts{Position: 3, BatchSize: new(int64(5))})
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
	all, err := migrations.Namespace(migrations.Postgres)
	require.NoError(t, err)
	first, err := fs.ReadFile(all, "001_message_db.sql")
	require.NoError(t, err)
	return fstest.MapFS{"001_message_db.sql": {Data: first}}
}

// A namespace created before 002_faster_writes.sql is brought up to date
// when a Store first opens it, and then reads and writes as a new one: its
// messages keep their group hash, and one that holds messages keeps its
// group_hash column (no table rewrite) while an empty one gets the column
// that inlines nothing.
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

	// Messages written through SQL by a client of the first version.
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
	hashes := func(ns *postgres.Namespace) map[string]int64 {
		rows, err := conn.Query(ctx, "SELECT stream_name, group_hash FROM "+ns.Schema()+".messages")
		require.NoError(t, err)
		defer rows.Close()
		out := map[string]int64{}
		for rows.Next() {
			var name string
			var h int64
			require.NoError(t, rows.Scan(&name, &h))
			out[name] = h
		}
		require.NoError(t, rows.Err())
		return out
	}
	generation := func(ns *postgres.Namespace) string {
		var expr string
		require.NoError(t, conn.QueryRow(ctx, `SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d
JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
WHERE d.adrelid = $1::regclass AND a.attname = 'group_hash'`, ns.Schema()+".messages").Scan(&expr))
		return expr
	}
	applied := func(ns *postgres.Namespace) []string {
		rows, err := conn.Query(ctx, "SELECT version FROM "+ns.Schema()+".schema_migrations ORDER BY version")
		require.NoError(t, err)
		versions, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		return versions
	}
	before := hashes(full)
	require.Len(t, before, len(streams))
	assert.Equal(t, []string{"001_message_db"}, applied(full))

	// s did not create these namespaces: opening them migrates them.
	fullNow, err := s.Namespace(ctx, full.ID())
	require.NoError(t, err)
	_, err = s.Namespace(ctx, empty.ID())
	require.NoError(t, err)
	all, err := migrations.Namespace(migrations.Postgres)
	require.NoError(t, err)
	files, err := fs.Glob(all, "*.sql")
	require.NoError(t, err)
	var latest []string
	for _, f := range files {
		latest = append(latest, strings.TrimSuffix(f, ".sql"))
	}
	require.Greater(t, len(latest), 2)
	for _, ns := range []*postgres.Namespace{full, empty} {
		assert.Equal(t, latest, applied(ns), "%s: every migration applied", ns.ID())
	}
	assert.Equal(t, before, hashes(full), "group hashes unchanged")
	for _, name := range streams {
		h, ok := domain.GroupHash(name)
		require.True(t, ok, name)
		assert.Equal(t, h, before[name], "%s: the domain's group hash", name)
	}
	assert.Contains(t, generation(full), "group_hash(", "a namespace with messages keeps its column")
	assert.NotContains(t, generation(empty), "group_hash(", "an empty namespace's column inlines nothing")

	write(t, fullNow, "acct-99", msg("A", 99))
	h, _ := domain.GroupHash("acct-99")
	assert.Equal(t, h, hashes(full)["acct-99"], "a new message's group hash")
	for member := range int64(3) {
		msgs, err := fullNow.GetCategoryMessages(ctx, "acct", domain.CategoryOpts{ConsumerGroup: &domain.ConsumerGroup{Member: member, Size: 3}})
		require.NoError(t, err)
		for _, m := range msgs {
			assert.True(t, domain.IsMember(m.StreamName, member, 3), "%s in member %d", m.StreamName, member)
		}
	}
	newNS := newNamespace(t, s)
	assert.NotContains(t, generation(newNS), "group_hash(", "a new namespace's column inlines nothing")
}
