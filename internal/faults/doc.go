// Package faults holds messagedb's crash and restart tests; it has no code
// of its own. Each test would fail if a store lost an acknowledged message
// through a fault:
//
//   - SQLite, process crash: a child process writes to a namespace file
//     without pause (single messages and batches, with and without expected
//     versions, preset ids, several goroutines) and reports each write that
//     returned; the test kills it with SIGKILL at a random moment, in
//     several rounds on the same files, with synchronous FULL and NORMAL.
//     After each crash: PRAGMA integrity_check is ok on the registry and the
//     namespace file; every acknowledged message is stored at the position
//     and global position it was acknowledged with; positions are gapless
//     per stream, global positions increase, no id is stored twice; what
//     was stored without being acknowledged is at most the write each
//     goroutine was making, whole (batches are all or nothing).
//   - SQLite, crash while creating namespaces: after the kill every
//     namespace whose creation returned is listed and usable, and the one
//     being created is either listed and usable or absent and can be
//     created again.
//   - PostgreSQL, server crash: writers and a consumer run while the
//     server is stopped with an immediate shutdown (as a crash: no
//     checkpoint, WAL replay at start) and started again. The same Store
//     recovers without being reopened; writes made while the server is down
//     return errors within their context's deadline instead of hanging;
//     every acknowledged write is stored where it was acknowledged; a write
//     that returned an error is stored once or not at all, and writing it
//     again with the same id is an idempotent retry; positions are gapless;
//     the consumer rides out the outage (app.StoreRetry) and handles every
//     message of its category.
//
// The PostgreSQL test runs its own server (pgtest.NewCluster), so that
// stopping it disturbs no other test; like every test that needs
// PostgreSQL, it is skipped when no server binaries are installed, unless
// MESSAGEDB_REQUIRE_POSTGRES=1.
package faults
