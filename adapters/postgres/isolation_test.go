package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messagedb-go/messagedb/adapters/postgres"
	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/internal/pgtest"
)

// catalogObjects lists the database's objects as "kind schema.name" keyed
// by that text, with the schema each lives in ("" for objects that belong to
// no schema: roles, event triggers, publications). A TOAST table or index
// counts as in the schema of the table it serves, and a trigger, rule or
// policy in the schema of its table.
const catalogObjects = `
SELECT 'schema'::text, n.nspname::text, n.nspname::text FROM pg_catalog.pg_namespace n
UNION ALL
SELECT 'relation/' || c.relkind::text, COALESCE(otn.nspname, n.nspname), c.relname
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_index ti ON ti.indexrelid = c.oid
LEFT JOIN pg_catalog.pg_class o ON o.reltoastrelid IN (c.oid, ti.indrelid)
LEFT JOIN pg_catalog.pg_namespace otn ON otn.oid = o.relnamespace
UNION ALL
SELECT 'function', n.nspname, p.proname || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')'
FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
UNION ALL
SELECT 'type', n.nspname, t.typname
FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
UNION ALL
SELECT 'constraint', n.nspname, c.conname || ' on ' || c.conrelid::regclass::text
FROM pg_catalog.pg_constraint c JOIN pg_catalog.pg_namespace n ON n.oid = c.connamespace
UNION ALL
SELECT 'trigger', n.nspname, t.tgname || ' on ' || c.relname
FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
UNION ALL
SELECT 'rule', n.nspname, r.rulename || ' on ' || c.relname
FROM pg_catalog.pg_rewrite r JOIN pg_catalog.pg_class c ON c.oid = r.ev_class
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
UNION ALL
SELECT 'policy', n.nspname, p.polname || ' on ' || c.relname
FROM pg_catalog.pg_policy p JOIN pg_catalog.pg_class c ON c.oid = p.polrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
UNION ALL
SELECT 'operator', n.nspname, o.oprname || '(' || o.oprleft::regtype::text || ',' || o.oprright::regtype::text || ')'
FROM pg_catalog.pg_operator o JOIN pg_catalog.pg_namespace n ON n.oid = o.oprnamespace
UNION ALL
SELECT 'collation', n.nspname, c.collname
FROM pg_catalog.pg_collation c JOIN pg_catalog.pg_namespace n ON n.oid = c.collnamespace
UNION ALL
SELECT 'statistics', n.nspname, s.stxname
FROM pg_catalog.pg_statistic_ext s JOIN pg_catalog.pg_namespace n ON n.oid = s.stxnamespace
UNION ALL
SELECT 'extension', n.nspname, e.extname
FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
UNION ALL
SELECT 'event trigger', '', e.evtname FROM pg_catalog.pg_event_trigger e
UNION ALL
SELECT 'publication', '', p.pubname FROM pg_catalog.pg_publication p
UNION ALL
SELECT 'role', '', r.rolname FROM pg_catalog.pg_roles r`

// catalog is a snapshot of a database's objects: "kind schema.name" → schema.
type catalog map[string]string

func snapshotCatalog(t *testing.T, conn *pgx.Conn) catalog {
	t.Helper()
	rows, err := conn.Query(context.Background(), catalogObjects)
	require.NoError(t, err, "read the catalog")
	out := catalog{}
	for rows.Next() {
		var kind, schema, name string
		require.NoError(t, rows.Scan(&kind, &schema, &name))
		out[fmt.Sprintf("%s %s.%s", kind, schema, name)] = schema
	}
	require.NoError(t, rows.Err())
	require.NotEmpty(t, out)
	return out
}

// minus returns the objects of c that are not in other, sorted.
func (c catalog) minus(other catalog) []string {
	var out []string
	for k := range c {
		if _, ok := other[k]; !ok {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// inSchema returns the objects of c in schema, sorted.
func (c catalog) inSchema(schema string) []string {
	var out []string
	for k, s := range c {
		if s == schema {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// TestStore_NamespaceObjectsStayInTheirSchemas snapshots the catalog of a
// fresh database before a Store opens, after namespaces are created and
// used, and after each is deleted: every object the Store creates is in
// the metadata schema or in the schema of a namespace, nothing outside
// them changes, and deleting a namespace removes every object of its
// schema and no other.
func TestStore_NamespaceObjectsStayInTheirSchemas(t *testing.T) {
	for _, mdSchema := range []string{"", "tenants"} {
		name := "DefaultMetadataSchema"
		if mdSchema != "" {
			name = "MetadataSchema_" + mdSchema
		}
		t.Run(name, func(t *testing.T) {
			testNamespaceObjects(t, mdSchema)
		})
	}
}

func testNamespaceObjects(t *testing.T, mdSchema string) {
	ctx := t.Context()
	url := pgtest.NewDatabase(t)
	conn := sqlConn(t, url)
	before := snapshotCatalog(t, conn)
	require.Empty(t, before.inSchema("messagedb"), "a fresh database")

	s := openStore(t, url, &postgres.Options{MetadataSchema: mdSchema, MaxConns: 4})
	if mdSchema == "" {
		mdSchema = "messagedb"
	}
	ids := []string{"iso_a", "iso_b"}
	for _, id := range ids {
		_, err := s.CreateNamespace(ctx, id, domain.NamespaceOptions{Description: "isolation"})
		require.NoError(t, err)
		useNamespace(t, s, id)
	}
	after := snapshotCatalog(t, conn)

	allowed := map[string]bool{mdSchema: true}
	for _, id := range ids {
		allowed[postgres.SchemaName(id)] = true
	}
	added := after.minus(before)
	for _, obj := range added {
		assert.True(t, allowed[after[obj]], "%s was created outside the metadata and namespace schemas", obj)
	}
	assert.Empty(t, before.minus(after), "objects that existed before the Store were dropped or changed")
	assert.Contains(t, added, "schema "+mdSchema+"."+mdSchema)
	assert.Contains(t, added, "relation/r "+mdSchema+".namespaces")
	for _, id := range ids {
		schema := postgres.SchemaName(id)
		assert.Contains(t, added, "schema "+schema+"."+schema)
		assert.Contains(t, added, "relation/r "+schema+".messages", "namespace %s has its table in its schema", id)
		assert.True(t, slices.ContainsFunc(added, func(obj string) bool {
			return strings.HasPrefix(obj, "function "+schema+".get_category_messages(")
		}), "namespace %s has Message DB's functions in its schema", id)
	}
	t.Logf("%d objects created, all in %v", len(added), allowed)

	// Deleting a namespace removes every object of its schema, and only
	// those.
	wantAfterDelete := after
	for _, id := range ids {
		schema := postgres.SchemaName(id)
		mine := wantAfterDelete.inSchema(schema)
		require.NotEmpty(t, mine)
		require.NoError(t, s.DeleteNamespace(ctx, id))
		got := snapshotCatalog(t, conn)
		assert.Empty(t, got.inSchema(schema), "delete namespace %s: objects of its schema are left", id)
		next := catalog{}
		for k, v := range wantAfterDelete {
			if v != schema {
				next[k] = v
			}
		}
		assert.Empty(t, next.minus(got), "delete namespace %s removed objects of other schemas", id)
		assert.Empty(t, got.minus(next), "delete namespace %s created objects", id)
		wantAfterDelete = next
	}
	// What is left is the metadata schema.
	for _, obj := range wantAfterDelete.minus(before) {
		assert.Equal(t, mdSchema, wantAfterDelete[obj], "%s is left after every namespace is deleted", obj)
	}
}

// useNamespace exercises the namespace the ways that could create objects:
// writes (single, batch, expected version), every kind of read, a watch
// (LISTEN), and an import.
func useNamespace(t *testing.T, s *postgres.Store, id string) {
	t.Helper()
	ctx := t.Context()
	ns, err := s.Namespace(ctx, id)
	require.NoError(t, err)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wake, err := ns.WatchCategory(wctx, "acct")
	require.NoError(t, err)

	msg := func(n int) domain.NewMessage {
		return domain.NewMessage{Type: "Tested", Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, n)),
			Metadata: json.RawMessage(`{"correlationStreamName":"corr-1"}`)}
	}
	_, err = ns.WriteMessage(ctx, "acct-1", msg(0), domain.ExpectVersion(domain.NoStream))
	require.NoError(t, err)
	_, err = ns.WriteMessages(ctx, "acct-2+x", []domain.NewMessage{msg(1), msg(2)}, domain.AnyVersion)
	require.NoError(t, err)
	_, err = ns.WriteMessage(ctx, "acct-1", msg(3), domain.ExpectVersion(5))
	require.ErrorIs(t, err, domain.ErrVersionConflict)
	<-wake

	_, err = ns.GetStreamMessages(ctx, "acct-1", domain.GetOpts{})
	require.NoError(t, err)
	for _, opts := range []domain.CategoryOpts{
		{}, {Correlation: "corr"}, {ConsumerGroup: &domain.ConsumerGroup{Member: 0, Size: 2}},
		{Correlation: "corr", ConsumerGroup: &domain.ConsumerGroup{Member: 1, Size: 2}},
	} {
		_, err = ns.GetCategoryMessages(ctx, "acct", opts)
		require.NoError(t, err)
	}
	_, err = ns.GetLastStreamMessage(ctx, "acct-1", "Tested")
	require.NoError(t, err)
	_, err = ns.GetStreamVersion(ctx, "acct-2+x")
	require.NoError(t, err)
	all, err := ns.GetAllMessages(ctx, domain.AllOpts{})
	require.NoError(t, err)
	require.Len(t, all, 3)

	imported := all[0]
	imported.ID[0] ^= 0xff
	imported.StreamName, imported.Position, imported.GlobalPosition = "other-1", 0, all[2].GlobalPosition+1
	require.NoError(t, ns.ImportMessages(ctx, []domain.Message{imported}))
}
