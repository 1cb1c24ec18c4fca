package postgres

import (
	"context"

	"github.com/messagedb-go/messagedb/internal/migrate"
	"github.com/messagedb-go/messagedb/ports"
)

var (
	_ ports.LimitReporter = (*Store)(nil)
	_ ports.Migrator      = (*Store)(nil)
)

// Capabilities declares PostgreSQL, with message stores that are Importers
// and Watchers.
func (s *Store) Capabilities() ports.Capabilities {
	return ports.Capabilities{System: ports.SystemPostgreSQL, Importer: true, Watcher: true}
}

// Migrate brings the registry (namespaceID "") or a namespace's schema up
// to date and returns what its schema_migrations table held before this
// Store first did (see ports.Migrator) and what it holds now.
func (s *Store) Migrate(ctx context.Context, namespaceID string) (before, after []ports.Migration, err error) {
	schema := s.mdSchema
	if namespaceID == "" {
		before = s.registryBefore
	} else {
		// The first look-up of a namespace in this Store migrates it.
		n, err := s.Namespace(ctx, namespaceID)
		if err != nil {
			return nil, nil, err
		}
		schema = n.Schema()
		v, _ := s.migrated.Load(namespaceID)
		before, _ = v.([]migrate.Migration)
	}
	if s.closed.Load() {
		return nil, nil, ErrClosed
	}
	after, err = s.migrator.Applied(ctx, schema)
	if err != nil {
		return nil, nil, s.closedOr(err)
	}
	return before, after, nil
}
