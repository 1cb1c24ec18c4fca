package app_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/messagedb-go/messagedb/app"
	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/internal/migrate/migratetest"
	"github.com/messagedb-go/messagedb/internal/pgtest"
	"github.com/messagedb-go/messagedb/migrations"
	"github.com/messagedb-go/messagedb/ports"
)

// migrator returns the store's backend as a ports.Migrator, and the
// versions of its embedded registry and namespace migrations.
func migrator(t *testing.T, s *app.Store) (m ports.Migrator, registry, namespace []string) {
	t.Helper()
	m, ok := s.Backend().(ports.Migrator)
	require.True(t, ok, "%T is no ports.Migrator", s.Backend())
	folder := map[string]string{ports.SystemSQLite: "sqlite", ports.SystemPostgreSQL: "postgres"}[s.Capabilities().System]
	_, _, registry = migratetest.Embedded(t, migrations.Metadata, folder)
	_, _, namespace = migratetest.Embedded(t, migrations.Namespace, folder)
	return m, registry, namespace
}

// Every backend keeps the ports.Migrator contract alike. A new store's
// registry recorded nothing before it opened; a namespace the store created
// recorded nothing before either, however often it is migrated; a store
// opened on an existing database reports what was recorded, which is then
// everything; a namespace that does not exist is not found.
func TestStore_Migrate(t *testing.T) {
	for _, c := range []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"SQLiteMemory", func(*testing.T) string { return "memory:" }},
		{"SQLiteFile", func(t *testing.T) string { return "sqlite:" + t.TempDir() }},
		{"Postgres", func(t *testing.T) string { return pgtest.NewDatabase(t) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			url := c.url(t)
			s := openStore(t, url)
			m, registry, namespace := migrator(t, s)

			before, after, err := m.Migrate(ctx, "")
			require.NoError(t, err)
			require.Empty(t, before, "a new store's registry")
			require.Equal(t, registry, migratetest.Versions(after))

			_, err = s.CreateNamespace(ctx, "fresh", domain.NamespaceOptions{})
			require.NoError(t, err)
			for range 2 {
				before, after, err = m.Migrate(ctx, "fresh")
				require.NoError(t, err)
				require.Empty(t, before, "a namespace the store created")
				require.Equal(t, namespace, migratetest.Versions(after))
			}

			_, _, err = m.Migrate(ctx, "nope")
			require.ErrorIs(t, err, domain.ErrNamespaceNotFound)

			if url == "memory:" {
				return // nothing outlives the store
			}
			again := openStore(t, url)
			m, _, _ = migrator(t, again)
			before, after, err = m.Migrate(ctx, "")
			require.NoError(t, err)
			require.Equal(t, registry, migratetest.Versions(before), "an up-to-date registry")
			require.Equal(t, registry, migratetest.Versions(after))
			before, after, err = m.Migrate(ctx, "fresh")
			require.NoError(t, err)
			require.Equal(t, namespace, migratetest.Versions(before), "an up-to-date namespace another store created")
			require.Equal(t, namespace, migratetest.Versions(after))
		})
	}
}
