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
//   - PostgreSQL, failover: a primary and its streaming standby
//     (synchronous, then asynchronous replication), one Store on a
//     multi-host URL (target_session_attrs=read-write) reading categories
//     from the standby, four writers and a consumer; the primary and all
//     its processes are killed with SIGKILL under load and the standby
//     promoted. On the new primary: every acknowledged message is stored
//     once where it was acknowledged (synchronous: none lost; asynchronous:
//     the losses are reported, not failed); writes in doubt at the kill
//     are stored whole or not at all and a retry with the same ids stores
//     them once; writes failed during the switch with
//     domain.ErrUnavailable; wake-ups cross Stores again; the consumer
//     handled every message once, in order, and resumes from its stored
//     position.
//
// The PostgreSQL tests run their own servers (pgtest.NewCluster,
// NewStandby), so that stopping them disturbs no other test; like every
// test that needs PostgreSQL, they are skipped when no server binaries are
// installed, unless MESSAGEDB_REQUIRE_POSTGRES=1.
package faults
