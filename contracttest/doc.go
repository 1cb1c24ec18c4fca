// Package contracttest is messagedb's conformance suite: the executable form
// of the contracts in package ports. Every adapter runs it, so that every
// backend behaves the same (Message DB 1.3.0's semantics), and a new backend
// is done when it passes.
//
// An adapter calls [Run] from a test with a [Factory] that returns a fresh
// store and registers its Close with t.Cleanup:
//
//	func TestContract(t *testing.T) {
//		contracttest.Run(t, func(t *testing.T) ports.Store {
//			store, err := mybackend.Open(t.Context(), testConfig(t))
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { store.Close() })
//			return store
//		})
//	}
//
// # What it checks
//
// Writes (positions, global positions, expected versions and conflicts,
// all-or-nothing batches), message ids (generated UUIDv7s, idempotent
// retries of the same message, duplicates: an id stored with another
// stream, type, data or metadata), error texts (each failure's Error() is
// that of the in-memory reference store in contracttest/internal/memstore,
// with one "messagedb:" prefix), invalid input (typed errors, nothing
// written), stream, category and namespace-wide reads (inclusive
// positions, batch sizes, JSON kept exact, UTC times), correlation filters,
// consumer groups (partitioned as Message DB's hash_64 does, compound ids
// with their cardinal id), last messages and versions, a category's last
// global position, namespaces (create, get, list, delete, isolation),
// ports.Importer, ports.Watcher, concurrency (one winner per expected
// version, readers that never skip a message committing late), hostile input
// (namespace ids built to escape SQL or a directory, refused and never
// rewritten; names with SQL and LIKE metacharacters stored and matched as
// data; JSON nested too deep, invalid UTF-8, messages beyond
// domain.DefaultMaxMessageSize; writes whose context is cancelled before or
// during the call, all or nothing) and closing (every call after Close fails
// with domain.ErrClosed; Close again, or concurrently with reads and writes,
// is safe). Case names carry the seed scenario ids they cover (MDB001_6A_T1
// ... T7, MDB001_5A_T10); the per-backend scenarios MDB001_3A (PostgreSQL)
// and MDB001_5A (SQLite), whose shared parts the suite holds, are named in
// comments beside the cases that cover them.
//
// The factory's stores must keep the default size limit; the suite writes a
// message of exactly domain.DefaultMaxMessageSize bytes.
//
// # Running in parallel on one database
//
// The cases call t.Parallel and each works in its own namespaces, with ids
// "t" followed by 10 random hex characters, deleted when the case ends. A
// factory may therefore hand out stores over one shared database (one
// PostgreSQL database for the whole run, say). Run returns before the
// parallel cases finish: release shared resources with t.Cleanup, not after
// Run returns.
//
// Each case calls the factory at least once; a few call it twice. Some cases
// close a store themselves to check that calls fail afterwards, so the
// factory's cleanup closes that store a second time: Close must tolerate it.
//
// Waits in the suite (a watcher's wake-up, a reader catching up with writers)
// are liveness bounds of seconds, not speed requirements.
package contracttest
