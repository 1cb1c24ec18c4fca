// Package app is what an application imports to use messagedb: it opens a
// store from a URL, hands out handles bound to one namespace, runs consumers
// and copies namespaces between backends.
//
// # Opening a store
//
// Open picks the backend from a URL and migrates what it opens:
//
//	sqlite:./data           SQLite, one file per namespace in ./data (the embedded default)
//	memory:                 SQLite in memory, for tests (also sqlite::memory:)
//	postgres://u@h/db       PostgreSQL, one schema per namespace (also postgresql://)
//
// With an empty URL, Open reads the MESSAGEDB_URL environment variable
// (EnvURL). Anything else is an error matching ErrInvalidURL.
//
// Each backend owns its URL schemes and their parameters (a
// ports.URLOpener: sqlite.URLOpener, postgres.URLOpener); this package
// registers the built-in ones in one place (backends.go) and reads no
// backend's parameters itself. Register adds another backend, as
// database/sql.Register adds a driver.
//
// # Namespaces
//
// A namespace is an isolated tenant with its own streams and global
// positions. An application calls Store.EnsureNamespace at start-up and keeps
// the *Namespace it returns: Write, WriteBatch, Read, ReadCategory, Last and
// Version are Message DB's operations on it.
//
// # Names
//
// A Namespace's methods are short names for what application code calls
// often; the port they call (ports.MessageStore, which backends implement)
// keeps the names of Message DB's SQL functions, so that an adapter reads
// as the schema it implements. Each operation has one name per side:
//
//	Namespace            ports.MessageStore / ports.Importer   Message DB function
//	Write                WriteMessage                          write_message
//	WriteBatch           WriteMessages                         (a batch in one transaction)
//	Read                 GetStreamMessages                     get_stream_messages
//	ReadCategory         GetCategoryMessages                   get_category_messages
//	ReadAll              GetAllMessages                        (every stream)
//	Last                 GetLastStreamMessage                  get_last_stream_message
//	Version              GetStreamVersion                      stream_version
//	LastGlobalPosition   GetLastGlobalPosition                 (a category's last global position)
//	Import               ImportMessages                        (copying between backends)
//
// Store's namespace methods (CreateNamespace, DeleteNamespace,
// GetNamespace, ListNamespaces) have the names of ports.NamespaceRegistry's;
// Store.Namespace and EnsureNamespace return handles, which the registry's
// MessageStore does not. Renaming either side would change every
// application, or every adapter, for no change in behaviour.
//
// # Consumers
//
// Namespace.NewConsumer returns a Consumer that hands every message of a
// category to a handler in global position order, optionally as one member
// of a consumer group or filtered by correlation, and stores its position in
// a position stream named as Eventide does. Delivery is at least once; a
// consumer woken by writes does not wait out its poll interval. See Consumer.
//
// # Copying
//
// CopyNamespace copies a namespace to another one, on the same backend or
// another, keeping ids, positions, global positions and times.
//
// # Observability
//
// Options.Observer takes a ports.StoreObserver told of every call on the
// store and its namespaces (adapters/otelobserver turns it into
// OpenTelemetry spans and metrics), and Options.Logger a *slog.Logger for
// the store's and its consumers' records; ConsumerOptions override both per
// consumer. Unset, they cost nothing: a namespace handle of a Store without
// observer calls the backend directly, and nothing is logged.
//
// # Errors
//
// Errors from the store match the sentinels of the domain package
// (domain.ErrVersionConflict, domain.ErrNamespaceNotFound,
// domain.ErrStreamNotFound, ...); this package's own are in errors.go.
package app
