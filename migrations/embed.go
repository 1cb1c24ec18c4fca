// Package migrations embeds messagedb's SQL, per backend (dialect) and per
// kind of database:
//
//   - metadata/<dialect>: the registry of namespaces (on PostgreSQL in the
//     metadata schema, on SQLite in the registry database file);
//   - namespace/<dialect>: one namespace's message store. The PostgreSQL
//     files are templates in which {{SCHEMA_NAME}} is the namespace's schema.
//
// Files are applied in name order ("001_...sql", "002_...sql") by the
// migrator in internal/migrate, which records each in a schema_migrations
// table with a checksum. An applied file must never change: add a new file.
// A PostgreSQL file whose first line is "-- messagedb:no-transaction" runs
// step by step, each step committing on its own (see internal/migrate).
//
// Roles a namespace was granted to (domain.NamespaceOptions.Grant) hold
// privileges on the objects that existed when it was created. A namespace
// migration that adds an object applications use grants it to the roles
// that hold the matching privilege on the messages table (SELECT for what
// reads, INSERT for what writes), as 005_views_and_privileges.sql does; one
// that makes a table again passes its privileges on (004).
package migrations

import (
	"embed"
	"fmt"
	"io/fs"
)

// Dialect names a backend's SQL dialect.
type Dialect string

// The dialects messagedb ships SQL for.
const (
	Postgres Dialect = "postgres"
	SQLite   Dialect = "sqlite"
)

// SchemaPlaceholder is replaced by the namespace's schema in templates.
const SchemaPlaceholder = "{{SCHEMA_NAME}}"

//go:embed metadata namespace
var files embed.FS

// Metadata returns the registry migrations of a dialect.
func Metadata(d Dialect) (fs.FS, error) { return sub("metadata", d) }

// Namespace returns the namespace migrations of a dialect.
func Namespace(d Dialect) (fs.FS, error) { return sub("namespace", d) }

func sub(kind string, d Dialect) (fs.FS, error) {
	switch d {
	case Postgres, SQLite:
		return fs.Sub(files, kind+"/"+string(d))
	}
	return nil, fmt.Errorf("messagedb: unknown SQL dialect %q", d)
}
