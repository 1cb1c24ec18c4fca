// Package migrations embeds messagedb's SQL, per backend and per kind of
// database, and declares the errors of applying it:
//
//   - metadata/<backend>: the registry of namespaces (on PostgreSQL in the
//     metadata schema, on SQLite in the registry database file);
//   - namespace/<backend>: one namespace's message store. The PostgreSQL
//     files are templates in which {{SCHEMA_NAME}} is the namespace's schema.
//
// Each backend names its own folders (Metadata("postgres"),
// Namespace("sqlite")): a new backend adds metadata/<name> and
// namespace/<name>, and nothing here changes.
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
//
// The registry's token_hash column (metadata 001) is no longer read or
// written: it stays, with its default (the empty string), because dropping
// it would break the processes of an earlier version that share the
// database, and would make every role that may not migrate the registry
// wait for "messagedb migrate" to open a store.
package migrations

import (
	"embed"
	"fmt"
	"io/fs"
	"strings"
)

// SchemaPlaceholder is replaced by the namespace's schema in templates.
const SchemaPlaceholder = "{{SCHEMA_NAME}}"

//go:embed metadata namespace
var files embed.FS

// Metadata returns the registry migrations of a backend, the files of
// folder metadata/<backend>. A backend without that folder is an error.
func Metadata(backend string) (fs.FS, error) { return dir("metadata", backend) }

// Namespace returns the namespace migrations of a backend, the files of
// folder namespace/<backend>. A backend without that folder is an error.
func Namespace(backend string) (fs.FS, error) { return dir("namespace", backend) }

func dir(kind, backend string) (fs.FS, error) {
	if backend == "" || backend == "." || backend == ".." || strings.ContainsAny(backend, `/\`) {
		return nil, fmt.Errorf("messagedb: migrations: %q is not a backend's folder name", backend)
	}
	name := kind + "/" + backend
	if info, err := fs.Stat(files, name); err != nil || !info.IsDir() {
		return nil, fmt.Errorf("messagedb: migrations: no folder %s for backend %q", name, backend)
	}
	return fs.Sub(files, name)
}
