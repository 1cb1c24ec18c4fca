package postgres_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messagedb-go/messagedb/adapters/postgres"
	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/internal/pgtest"
)

// schemas returns every schema of the database.
func schemas(t *testing.T, conn *pgx.Conn) []string {
	t.Helper()
	rows, err := conn.Query(context.Background(), "SELECT nspname FROM pg_namespace ORDER BY nspname")
	require.NoError(t, err)
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	return names
}

// Hostile namespace ids create no schema, registry row or table anywhere,
// and the database's schemas are unchanged.
func TestStore_HostileNamespaceIDsCreateNoSchema(t *testing.T) {
	url := pgtest.NewDatabase(t)
	s := openStore(t, url, nil)
	conn := sqlConn(t, url)
	ctx := context.Background()
	before := schemas(t, conn)

	hostile := []string{
		"x'; CREATE SCHEMA pwned; --", `x"; CREATE SCHEMA pwned; --`, `pwned" CASCADE; --`,
		"x; CREATE SCHEMA pwned", "pwned/**/", "pwned--", "../pwned", "/tmp/pwned", "x/../pwned",
		"pwned\x00", "\u0440wned", "ｐwned", "Pwned", "PWNED", "pwned" + strings.Repeat("d", domain.MaxNamespaceIDLength),
		"", " ", "pwned ",
	}
	for _, id := range hostile {
		_, err := s.CreateNamespace(ctx, id, domain.NamespaceOptions{Description: "x'); DROP TABLE messagedb.namespaces; --"})
		assert.ErrorIs(t, err, domain.ErrInvalidNamespace, "CreateNamespace(%q)", id)
		_, err = s.Namespace(ctx, id)
		assert.ErrorIs(t, err, domain.ErrInvalidNamespace, "Namespace(%q)", id)
		assert.ErrorIs(t, s.DeleteNamespace(ctx, id), domain.ErrInvalidNamespace, "DeleteNamespace(%q)", id)
	}
	assert.Equal(t, before, schemas(t, conn), "no schema was created or dropped")
	assert.Empty(t, registryIDs(t, conn, "messagedb"), "no namespace was registered")

	// A valid id that names a system schema once prefixed stays apart
	// from it: "public" lives in messagedb_public.
	_, err := s.CreateNamespace(ctx, "public", domain.NamespaceOptions{Description: "x'); DROP TABLE messagedb.namespaces; --"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.DeleteNamespace(context.Background(), "public") })
	assert.True(t, schemaExists(t, conn, postgres.SchemaName("public")))
	assert.Equal(t, "messagedb_public", postgres.SchemaName("public"))
	got, err := s.GetNamespace(ctx, "public")
	require.NoError(t, err)
	assert.Equal(t, "x'); DROP TABLE messagedb.namespaces; --", got.Description, "a description is data")
}

// Distinct valid ids map to distinct schemas: SchemaName is injective and
// each namespace's schema holds only its own messages.
func TestStore_NamespaceSchemasAreDistinct(t *testing.T) {
	url := pgtest.NewDatabase(t)
	s := openStore(t, url, nil)
	conn := sqlConn(t, url)
	ctx := context.Background()
	base := newID("i")
	ids := []string{base, base + "_", base + "__", base + "_0", base + "0"}
	seen := map[string]string{}
	for _, id := range ids {
		schema := postgres.SchemaName(id)
		if prev, dup := seen[schema]; dup {
			t.Fatalf("ids %q and %q share schema %q", prev, id, schema)
		}
		seen[schema] = id
		_, err := s.CreateNamespace(ctx, id, domain.NamespaceOptions{})
		require.NoError(t, err, "create %q", id)
		t.Cleanup(func() { _ = s.DeleteNamespace(context.Background(), id) })
		ns, err := s.Namespace(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, schema, ns.Schema())
		_, err = ns.WriteMessage(ctx, "acct-1", domain.NewMessage{Type: "T", Data: []byte(`{"id":"` + id + `"}`)}, domain.AnyVersion)
		require.NoError(t, err)
	}
	for _, id := range ids {
		var data []string
		rows, err := conn.Query(ctx, "SELECT data::text FROM "+pgx.Identifier{postgres.SchemaName(id), "messages"}.Sanitize())
		require.NoError(t, err)
		data, err = pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		assert.Equal(t, []string{`{"id": "` + id + `"}`}, data, "schema of %q holds only its own message", id)
	}
}

// The size limit comes from Options and is the same as on every backend.
func TestStore_MaxMessageSize(t *testing.T) {
	url := sharedURL(t)
	for _, tc := range []struct {
		max, accepted, refused int64
	}{
		{0, domain.DefaultMaxMessageSize, domain.DefaultMaxMessageSize + 1},
		{64, 64, 65},
		{-1, 2 * domain.DefaultMaxMessageSize, 0},
	} {
		s := openStore(t, url, &postgres.Options{MaxMessageSize: tc.max})
		ns := newNamespace(t, s)
		ctx := context.Background()
		_, err := ns.WriteMessage(ctx, "acct-1", sizedMessage(tc.accepted), domain.AnyVersion)
		assert.NoError(t, err, "MaxMessageSize %d: %d bytes", tc.max, tc.accepted)
		if tc.refused > 0 {
			_, err = ns.WriteMessage(ctx, "acct-1", sizedMessage(tc.refused), domain.AnyVersion)
			var e *domain.MessageTooLargeError
			if assert.True(t, errors.As(err, &e), "MaxMessageSize %d: %d bytes: %v", tc.max, tc.refused, err) {
				assert.Equal(t, tc.refused, e.Size)
			}
		}
	}
}

// sizedMessage returns a message whose canonical data is n bytes (n ≥ 8).
func sizedMessage(n int64) domain.NewMessage {
	return domain.NewMessage{Type: "Sized", Data: []byte(`{"s":"` + strings.Repeat("x", int(n)-8) + `"}`)}
}
