// Package stress checks messagedb's guarantees under load and between
// tenants, on every backend (SQLite in memory, SQLite in files, PostgreSQL),
// through the public API as an application uses it: app.Open with a URL,
// namespaces, and app consumers. It has no exported API; its tests are what
// it is for.
//
// # Concurrency at scale
//
// TestStress_ConcurrentWritersReadersAndGroups releases 16 writers at once
// (a closed channel) over 128 streams in 4 categories. They write a fixed
// number of messages, singly and in batches, half of the writes with an
// expected version (re-reading the version and retrying on
// domain.ErrVersionConflict) and half with domain.AnyVersion. Meanwhile two
// readers per category page through it with GetCategoryMessages from the
// last global position they saw, and a consumer group of three app
// consumers per category handles it. When every writer is done and every
// reader and consumer has caught up, the test proves:
//
//   - every stream's positions are exactly 0..N-1: no gap, no duplicate;
//   - the namespace holds exactly the acknowledged writes, each at the
//     position and global position its write reported;
//   - every reader saw strictly increasing global positions and, in the end,
//     the category's full list: a message that commits after one with a
//     higher global position is never skipped (on PostgreSQL, the
//     per-category lock taken before drawing global positions guarantees it;
//     on SQLite, the write lock);
//   - every message was handled by exactly one member of its group, the one
//     its stream's cardinal id hashes to (domain.GroupMember), and none twice.
//
// The work is a fixed count, not a duration, so what is checked does not
// depend on the machine's speed; a context timeout bounds the wait.
//
// # Isolation
//
// TestIsolation_SQLiteFilesStayInDataDirectory checks that a SQLite store in
// files, however hostile the stream and category names it is given, creates
// nothing outside its data directory, and inside it only the registry and
// one database per namespace. Reads and writes through one namespace never
// reaching another's data is part of the contract suite (contracttest), run
// on every adapter; the PostgreSQL catalog check (objects only in the
// namespace's and the metadata schema) is in adapters/postgres.
package stress
