package postgres_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messagedb-go/messagedb/adapters/postgres"
	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/internal/pgtest"
	"github.com/messagedb-go/messagedb/migrations"
)

// grantedSetup is a fresh database whose owner created two namespaces,
// "mine" granted to a role and "other" not, and a connection as that role.
type grantedSetup struct {
	url, roleURL string
	role         string
	admin        *postgres.Store
	mine, other  *postgres.Namespace
	roleConn     *pgx.Conn
}

func newGrantedSetup(t *testing.T) grantedSetup {
	t.Helper()
	ctx := context.Background()
	g := grantedSetup{url: pgtest.NewDatabase(t)}
	g.role, g.roleURL = pgtest.NewRole(t, g.url)
	g.admin = openStore(t, g.url, &postgres.Options{MaxConns: 2})
	for _, c := range []struct {
		ns    **postgres.Namespace
		id    string
		grant []string
	}{{&g.mine, "mine", []string{g.role}}, {&g.other, "other", nil}} {
		_, err := g.admin.CreateNamespace(ctx, c.id, domain.NamespaceOptions{Grant: c.grant})
		require.NoError(t, err)
		*c.ns, err = g.admin.Namespace(ctx, c.id)
		require.NoError(t, err)
		write(t, *c.ns, "acct-1", msg("Opened", 0))
	}
	g.roleConn = sqlConn(t, g.roleURL)
	return g
}

// denied runs sql as the role and checks that PostgreSQL refuses it for
// lack of privilege (or ownership).
func (g grantedSetup) denied(t *testing.T, sql string) {
	t.Helper()
	_, err := g.roleConn.Exec(context.Background(), sql)
	require.Error(t, err, "%s: the role may not", sql)
	msg := err.Error()
	assert.True(t, strings.Contains(msg, "permission denied") || strings.Contains(msg, "must be owner"),
		"%s: %v, want a refused privilege", sql, err)
}

// A role a namespace is granted to uses it through a Store opened with its
// own credentials, with no CREATE on the database; it can neither reach
// another namespace nor change its own beyond inserting messages.
func TestGrant_RoleUsesItsNamespaceOnly(t *testing.T) {
	ctx := context.Background()
	g := newGrantedSetup(t)

	var createDB, createIn bool
	require.NoError(t, g.roleConn.QueryRow(ctx, `SELECT has_database_privilege(current_database(), 'CREATE'),
		has_schema_privilege('messagedb_mine', 'CREATE')`).Scan(&createDB, &createIn))
	require.False(t, createDB || createIn, "the role may create nothing")

	s := openStore(t, g.roleURL, &postgres.Options{MaxConns: 2})
	ns, err := s.Namespace(ctx, "mine")
	require.NoError(t, err, "opening an up-to-date namespace needs no more")
	r := write(t, ns, "acct-1", msg("Deposited", 1))
	assert.Equal(t, int64(1), r.Position)
	msgs, err := ns.GetCategoryMessages(ctx, "acct", domain.CategoryOpts{ConsumerGroup: &domain.ConsumerGroup{Member: 0, Size: 1}})
	require.NoError(t, err)
	assert.Len(t, msgs, 2)
	list, err := s.ListNamespaces(ctx)
	require.NoError(t, err, "the registry is readable")
	assert.Len(t, list, 2)

	_, err = s.Namespace(ctx, "other")
	assert.ErrorContains(t, err, "permission denied for schema messagedb_other", "another namespace")
	_, err = s.CreateNamespace(ctx, "third", domain.NamespaceOptions{})
	assert.Error(t, err, "the role may not create a namespace")
	assert.Error(t, s.DeleteNamespace(ctx, "mine"), "the role may not delete a namespace")
	_, err = g.admin.GetNamespace(ctx, "mine")
	require.NoError(t, err)
	_, err = g.admin.GetNamespace(ctx, "third")
	assert.ErrorIs(t, err, domain.ErrNamespaceNotFound)

	for _, sql := range []string{
		// Another namespace: nothing at all.
		"SELECT * FROM messagedb_other.messages",
		"INSERT INTO messagedb_other.messages (stream_name, type, position) VALUES ('acct-9', 'A', 0)",
		"SELECT messagedb_other.write_message('" + uuid.NewString() + "', 'acct-9', 'A', '{}')",
		"SELECT * FROM messagedb_other.get_stream_messages('acct-1')",
		"SELECT * FROM messagedb_other.stream_summary",
		"SELECT messagedb_other.import_lock()",
		// Its own: no change but inserting messages.
		"UPDATE messagedb_mine.messages SET type = 'X'",
		"DELETE FROM messagedb_mine.messages",
		"TRUNCATE messagedb_mine.messages",
		"DROP TABLE messagedb_mine.messages",
		"ALTER TABLE messagedb_mine.messages ADD COLUMN x int",
		"CREATE INDEX ON messagedb_mine.messages (type)",
		"CREATE TABLE messagedb_mine.x (x int)",
		"DROP SCHEMA messagedb_mine CASCADE",
		"DROP FUNCTION messagedb_mine.write_message(varchar, varchar, varchar, jsonb, jsonb, bigint)",
		"CREATE OR REPLACE FUNCTION messagedb_mine.message_store_version() RETURNS varchar LANGUAGE sql AS $$ SELECT 'x'::varchar $$",
		"DROP VIEW messagedb_mine.stream_summary",
		"SELECT setval('messagedb_mine.messages_global_position_seq', 1)",
		"DO $$ BEGIN LOCK TABLE messagedb_mine.messages IN EXCLUSIVE MODE; END $$",
		"INSERT INTO messagedb_mine.schema_migrations (version, checksum) VALUES ('999_x', 'x')",
		"DELETE FROM messagedb_mine.schema_migrations",
		// The registry: read only.
		"INSERT INTO messagedb.namespaces (id, schema_name) VALUES ('third', 'messagedb_third')",
		"UPDATE messagedb.namespaces SET description = 'x'",
		"DELETE FROM messagedb.namespaces",
		"CREATE TABLE messagedb.x (x int)",
		"CREATE SCHEMA x",
	} {
		g.denied(t, sql)
	}
	var n int
	require.NoError(t, g.roleConn.QueryRow(ctx, "SELECT count(*) FROM messagedb_mine.messages").Scan(&n))
	assert.Equal(t, 2, n, "its own messages are readable")
	other, err := g.other.GetStreamMessages(ctx, "acct-1", domain.GetOpts{})
	require.NoError(t, err)
	assert.Len(t, other, 1, "the other namespace is untouched")
}

// A Message DB client connected as the role, its search_path set to the
// namespace's schema, calls Message DB's functions and reads its views, as
// on Message DB; pointed at another namespace, it is refused.
func TestGrant_SQLAPIAsTheRole(t *testing.T) {
	ctx := context.Background()
	g := newGrantedSetup(t)
	conn := g.roleConn
	_, err := conn.Exec(ctx, "SET search_path = messagedb_mine")
	require.NoError(t, err)

	id := uuid.NewString()
	var pos int64
	require.NoError(t, conn.QueryRow(ctx, `SELECT write_message($1, 'acct-2', 'Opened', '{"a":1}', '{"correlationStreamName":"x-1"}', -1)`, id).Scan(&pos))
	assert.Equal(t, int64(0), pos)
	require.NoError(t, conn.QueryRow(ctx, `SELECT write_message($1, 'acct-2', 'Deposited', '{"a":2}', NULL, 0)`, uuid.NewString()).Scan(&pos))
	assert.Equal(t, int64(1), pos)
	assert.Contains(t, sqlError(t, conn, `SELECT write_message($1, 'acct-2', 'Late', '{}', NULL, 0)`, uuid.NewString()),
		"Wrong expected version: 0 (Stream: acct-2, Stream Version: 1)")

	stream := sqlMessages(t, conn, "SELECT * FROM get_stream_messages('acct-2')")
	require.Len(t, stream, 2)
	assert.Equal(t, id, stream[0].ID)
	assert.Len(t, sqlMessages(t, conn, "SELECT * FROM get_category_messages('acct')"), 3)
	assert.Len(t, sqlMessages(t, conn, "SELECT * FROM get_category_messages('acct', 1, 1000, 'x')"), 1)
	assert.Len(t, sqlMessages(t, conn, "SELECT * FROM get_category_messages('acct', 1, 1000, NULL, 0, 1)"), 3)
	last := sqlMessages(t, conn, "SELECT * FROM get_last_stream_message('acct-2')")
	require.Len(t, last, 1)
	assert.Equal(t, "Deposited", last[0].Type)
	var version int64
	var mdbVersion string
	require.NoError(t, conn.QueryRow(ctx, "SELECT stream_version('acct-2'), message_store_version()").Scan(&version, &mdbVersion))
	assert.Equal(t, int64(1), version)
	assert.Equal(t, "1.3.0", mdbVersion)
	var reported int64
	require.NoError(t, conn.QueryRow(ctx, "SELECT sum(message_count) FROM type_category_summary").Scan(&reported))
	assert.Equal(t, int64(3), reported)

	tx, err := conn.Begin(ctx)
	require.NoError(t, err)
	var key int64
	require.NoError(t, tx.QueryRow(ctx, "SELECT acquire_lock('acct-2')").Scan(&key))
	assert.Equal(t, domain.Hash64("messagedb_mine:acct"), key)
	require.NoError(t, tx.Rollback(ctx))

	// The raw SQL condition, when the setting allows it.
	_, err = conn.Exec(ctx, "SET message_store.sql_condition = on")
	require.NoError(t, err)
	cond := sqlMessages(t, conn, "SELECT * FROM get_category_messages('acct', 1, 1000, NULL, NULL, NULL, 'type = ''Opened''')")
	assert.Len(t, cond, 2)

	var data json.RawMessage
	require.NoError(t, conn.QueryRow(ctx, "SELECT data FROM messages WHERE id = $1", id).Scan(&data))
	assert.JSONEq(t, `{"a":1}`, string(data))

	_, err = conn.Exec(ctx, "SET search_path = messagedb_other")
	require.NoError(t, err)
	for _, sql := range []string{
		"SELECT write_message('" + uuid.NewString() + "', 'acct-2', 'Opened', '{}')",
		"SELECT * FROM get_stream_messages('acct-1')",
		"SELECT * FROM stream_summary",
	} {
		_, err := conn.Exec(ctx, sql)
		assert.Error(t, err, "%s with another namespace's schema on the search_path", sql)
	}
}

// Roles are checked before anything is made: an invalid name, or a role
// that does not exist, is an error matching domain.ErrInvalidRole and leaves
// neither schema nor registry row.
func TestGrant_InvalidOrMissingRoleCreatesNothing(t *testing.T) {
	ctx := context.Background()
	url := sharedURL(t)
	s := openStore(t, url, &postgres.Options{MaxConns: 2})
	conn := sqlConn(t, url)
	for _, grant := range [][]string{{"public"}, {"pg_monitor"}, {""}, {"no_such_role_" + randomHex(4)}} {
		id := newID("t")
		_, err := s.CreateNamespace(ctx, id, domain.NamespaceOptions{Grant: grant})
		assert.ErrorIs(t, err, domain.ErrInvalidRole, "grant %q", grant)
		assert.ErrorIs(t, err, domain.ErrInvalidOptions, "grant %q", grant)
		_, err = s.GetNamespace(ctx, id)
		assert.ErrorIs(t, err, domain.ErrNamespaceNotFound, "grant %q: no registry row", grant)
		assert.False(t, schemaExists(t, conn, postgres.SchemaName(id)), "grant %q: no schema", grant)
	}
}

// A role's name is used as it is, whatever it holds: quotes, a "?",
// capitals, spaces.
func TestGrant_RoleNameIsQuoted(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	s := openStore(t, url, &postgres.Options{MaxConns: 2})
	conn := sqlConn(t, url)
	role := `App "Role"? ` + randomHex(3)
	_, err := conn.Exec(ctx, "CREATE ROLE "+pgx.Identifier{role}.Sanitize())
	require.NoError(t, err)
	t.Cleanup(func() {
		_, _ = conn.Exec(context.Background(), "DROP OWNED BY "+pgx.Identifier{role}.Sanitize()+"; DROP ROLE "+pgx.Identifier{role}.Sanitize())
	})
	_, err = s.CreateNamespace(ctx, "quoted", domain.NamespaceOptions{Grant: []string{role, role}})
	require.NoError(t, err)
	var may bool
	require.NoError(t, conn.QueryRow(ctx, `SELECT has_table_privilege($1, 'messagedb_quoted.messages', 'INSERT')
		AND has_table_privilege($1, 'messagedb.namespaces', 'SELECT')`, role).Scan(&may))
	assert.True(t, may)
}

// A role opening a namespace that lacks migrations gets an error naming
// the role that may apply them, and changes nothing; once the owner has
// migrated it, the role opens it.
func TestGrant_PendingMigrationNamesTheOwner(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	role, roleURL := pgtest.NewRole(t, url)
	var opts postgres.Options
	opts.MaxConns = 2
	postgres.WithNamespaceMigrations(&opts, firstMigrationOnly(t))
	old := openStore(t, url, &opts)
	_, err := old.CreateNamespace(ctx, "early", domain.NamespaceOptions{Grant: []string{role}})
	require.NoError(t, err)
	conn := sqlConn(t, url)
	var owner string
	require.NoError(t, conn.QueryRow(ctx, "SELECT current_user::text").Scan(&owner))

	s := openStore(t, roleURL, &postgres.Options{MaxConns: 2})
	_, err = s.Namespace(ctx, "early")
	var pe *migrations.PendingError
	require.ErrorAs(t, err, &pe)
	assert.ErrorIs(t, err, domain.ErrMigrationPending)
	versions := namespaceVersions(t)
	assert.Equal(t, migrations.PendingError{Schema: "messagedb_early", Versions: versions[1:], Role: role, Owner: owner}, *pe)
	assert.Contains(t, err.Error(), `run "messagedb migrate" as role `+owner)
	var applied int
	require.NoError(t, conn.QueryRow(ctx, "SELECT count(*) FROM messagedb_early.schema_migrations").Scan(&applied))
	assert.Equal(t, 1, applied, "nothing was applied")

	_, err = openStore(t, url, nil).Namespace(ctx, "early")
	require.NoError(t, err, "the owner migrates")
	ns, err := s.Namespace(ctx, "early")
	require.NoError(t, err, "then the role opens it")
	write(t, ns, "acct-1", msg("Opened", 0))
}
