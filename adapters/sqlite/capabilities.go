package sqlite

import (
	"context"

	"github.com/messagedb-go/messagedb/internal/migrate"
	"github.com/messagedb-go/messagedb/ports"
)

var (
	_ ports.LimitReporter = (*Store)(nil)
	_ ports.Migrator      = (*Store)(nil)
)

// Capabilities declares SQLite, with message stores that are Importers and
// Watchers.
func (s *Store) Capabilities() ports.Capabilities {
	return ports.Capabilities{System: ports.SystemSQLite, Importer: true, Watcher: true}
}

// Migrate brings the registry (namespaceID "") or a namespace's database
// up to date and returns what its schema_migrations table held before this
// Store first did (see ports.Migrator) and what it holds now.
func (s *Store) Migrate(ctx context.Context, namespaceID string) (before, after []ports.Migration, err error) {
	if namespaceID == "" {
		if s.isClosed() {
			return nil, nil, ErrClosed
		}
		after, err = migrate.Applied(ctx, s.registry.db, dialect{}, mainSchema)
		return s.registryBefore, after, err
	}
	n, err := s.Namespace(ctx, namespaceID)
	if err != nil {
		return nil, nil, err
	}
	// Opening the database migrates it.
	d, err := n.acquire(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer n.release()
	// On the writer's connection, the only one in memory mode.
	if err := d.lockWriter(ctx); err != nil {
		return nil, nil, dbError(ctx, "migrate namespace "+namespaceID, err)
	}
	defer d.unlock()
	after, err = migrate.Applied(ctx, d.w, dialect{}, mainSchema)
	return d.migratedFrom, after, err
}
