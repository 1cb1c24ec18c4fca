package ports

import (
	"context"
	"time"

	"github.com/messagedb-go/messagedb/domain"
)

// Capabilities describe a backend (Store.Capabilities): its database
// system, and the optional ports that every message store it hands out
// implements. A port it does not declare, none of them implements:
// callers then do without (app returns an error matching
// app.ErrUnsupported for an import, consumers poll).
type Capabilities struct {
	// System names the backend's database as OpenTelemetry does:
	// SystemPostgreSQL, SystemSQLite or SystemOther.
	System string
	// Importer: message stores implement Importer.
	Importer bool
	// Watcher: message stores implement Watcher.
	Watcher bool
}

// LimitReporter is a Store that reports the limits it applies to every
// write (its largest message), so that a caller can check a message as the
// store will before doing anything else. A Store that is not one applies
// domain.Limits{}, the defaults.
type LimitReporter interface {
	Limits() domain.Limits
}

// Migration is one migration recorded in a database's schema_migrations
// table.
type Migration struct {
	Version   string    // the file name without ".sql", e.g. "001_message_db"
	Checksum  string    // hex SHA-256 of the file as shipped
	AppliedAt time.Time // in UTC
}

// Migrator is a Store whose databases (the registry, and each namespace's)
// record the migrations applied to them. Opening a store migrates its
// registry, and a namespace is migrated when the store first opens it
// (messagedb migrate calls Migrate for each).
type Migrator interface {
	// Migrate brings a database up to date, the registry's when
	// namespaceID is "", else the namespace's (one that does not exist
	// matches domain.ErrNamespaceNotFound), and returns what its
	// schema_migrations table held before this Store first brought it up
	// to date (when the Store opened it, or in this call; nothing for a
	// namespace the Store created) and what it holds now, in version
	// order.
	Migrate(ctx context.Context, namespaceID string) (before, after []Migration, err error)
}
