// Package sqlite is messagedb's SQLite backend: Message DB's semantics in
// one SQLite database per namespace, through bun and the pure-Go
// modernc.org/sqlite driver (no cgo).
//
// Open a store in files, the embedded default:
//
//	store, err := sqlite.Open(ctx, sqlite.Options{Dir: "/var/lib/myapp/messagedb"})
//
// or in memory, for tests:
//
//	store, err := sqlite.Open(ctx, sqlite.Options{InMemory: true})
//
// A *Store implements ports.Store; the message store of a namespace, a
// *Namespace, also implements ports.Importer and ports.Watcher.
//
// # Two modes
//
// In file mode the data directory holds the registry of namespaces and one
// database file per namespace:
//
//	<Dir>/registry.db            the namespaces: id, description, creation time
//	<Dir>/namespaces/<id>.db     one namespace's messages (with -wal and -shm while open)
//
// Namespace ids are validated (domain.ValidateNamespaceID), never rewritten,
// so each id has its own file and none can be taken for the registry.
// Deleting a namespace closes its database and removes its files.
//
// In memory mode the registry and every namespace are in-memory databases
// of their own (SQLite's memdb VFS), private to the Store and gone when it
// is closed. Namespaces are as isolated as in files, and creating one takes
// about a millisecond, so a test can make one per case. An in-memory
// namespace holds at most 1 GiB (SQLite's memdb limit).
//
// Each database is migrated with the embedded SQL (package migrations):
// the registry when the Store opens, a namespace when it is created or,
// for one that exists, on its first use in the Store: namespace databases
// open lazily, once, however many goroutines ask at once.
//
// # Durability
//
// Files are in WAL mode. Options.Synchronous chooses what a commit waits
// for: with SynchronousFull (the default) the write-ahead log is synced on
// every commit, so a write that returned survives a power loss, as on
// PostgreSQL; with SynchronousNormal it is synced at checkpoints only, so a
// power loss or an operating system crash may take back the last writes
// that returned, without corrupting anything, in exchange for writes several
// times faster. A crash of the process alone loses nothing in either mode.
// Times are stored in UTC with microseconds, as on PostgreSQL.
//
// # Concurrency
//
// A Store and its message stores are safe for concurrent use. Each write is
// one immediate transaction (BEGIN IMMEDIATE, which takes the database's
// write lock first): idempotency check by id, the stream's version,
// the expected version check, inserts at version+1. Unique indexes on
// (stream, position) and on the id are a backstop; their violations become
// domain errors. The consumer-group hash, the category and the correlation
// category are computed in Go when a message is written and stored, so that
// category reads, with or without a consumer group or correlation, filter
// in SQL through the (category, global position, group hash) index.
//
// Writers of one Store queue in the Store for a namespace's write lock and
// write on one connection held for them. Readers do not wait for writers in
// file mode (WAL), where an open namespace has up to four more connections
// for them; in memory mode they share the writers' connection. Since the write lock is held from
// drawing a global position to commit, a reader paging a category by
// global position never misses a message that commits late.
//
// Several processes (or Stores) may use one data directory. Their writers
// wait for each other's write lock up to Options.BusyTimeout (default 5s)
// instead of failing with SQLITE_BUSY; positions stay gapless. SQLite's lock
// is not fair: a process writing without pause can keep another's writer
// waiting until its busy timeout runs out, so give writers that compete for
// long a longer timeout. Namespaces are created and deleted under the
// registry's write lock, so two processes creating the same id race safely
// (one gets domain.ErrNamespaceExists), but a process does not learn that
// another deleted a namespace it has open: delete namespaces from one place.
//
// # Wake-ups
//
// WatchCategory channels are woken after a write through the same Store
// commits to the category: in-process, at no cost to writers when nobody
// watches. Writes from other processes do not wake them, which is why
// readers still poll.
package sqlite
