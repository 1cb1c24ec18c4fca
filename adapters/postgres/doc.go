// Package postgres is messagedb's PostgreSQL backend: a ports.Store whose
// namespaces are schemas that speak Message DB 1.3.0's SQL API.
//
// # Connecting
//
// Open takes a PostgreSQL URL or keyword/value DSN, as pgx accepts, e.g.
//
//	postgres://app:secret@db.example.com:5432/events?sslmode=verify-full
//	postgres://app@/events?host=/var/run/postgresql
//
// The role that creates namespaces needs CREATE on the database (to create
// the metadata schema and one schema per namespace). Open migrates the
// registry of namespaces, a table in the metadata schema ("messagedb" unless
// Options.MetadataSchema says otherwise); when the registry is up to date it
// only reads it, so an application may connect as a role that namespaces are
// granted to (see Roles).
//
// # Queries and connection poolers
//
// The Store has one pgxpool pool (Options.MaxConns connections). The hot
// paths, writes and reads of messages, use it directly, one round trip
// each, in the URL's default_query_exec_mode: by default pgx's
// cache_statement, where each connection prepares each statement once and
// then only binds and executes it, and uuid, bigint and timestamp columns
// come back in binary. These connections also start with plan_cache_mode
// force_generic_plan (unless the URL sets it): the statements are this
// package's own, each with one good plan, and PostgreSQL would otherwise plan
// the category reads on every call. A connection keeps its statements when
// a namespace is deleted; if the namespace is created again, PostgreSQL
// plans them again for the new tables.
//
// Everything else (the registry, migrations, imports) runs through bun over
// pgx's database/sql driver on the same pool, with pgx's simple protocol, as
// bun documents for pgx: bun inlines its arguments, so caching statements
// would prepare one per query text.
//
// Behind a connection pooler in transaction mode (PgBouncer), where named
// prepared statements and startup parameters may not be supported, add
// default_query_exec_mode=exec (or simple_protocol, or cache_describe) to
// the URL: then no statement is prepared by name and no plan_cache_mode is
// sent. In simple_protocol mode pgx quotes the parameters itself, and
// insists on UTF-8 and standard_conforming_strings for that.
// WatchCategory's listener needs a session of its own, so point it at the
// server or a session-mode pool.
//
// # What a namespace becomes
//
// A namespace "shop" is the schema messagedb_shop, created with its registry
// row in one transaction. It holds Message DB 1.3.0's messages table, its
// indexes, the message type and its server functions, with Message DB's
// signatures, defaults and exception texts:
//
//	messagedb_shop.write_message(id, stream_name, type, data, metadata, expected_version)
//	messagedb_shop.get_stream_messages(stream_name, position, batch_size, condition)
//	messagedb_shop.get_category_messages(category, position, batch_size, correlation,
//	    consumer_group_member, consumer_group_size, condition)
//	messagedb_shop.get_last_stream_message(stream_name, type)
//	messagedb_shop.stream_version(stream_name)
//	messagedb_shop.id, cardinal_id, category, is_category, acquire_lock, hash_64,
//	    message_store_version
//
// An existing Message DB client uses a namespace by calling these
// schema-qualified functions (or by setting its search_path to the schema).
// Nothing in the schema depends on the search_path: every object is
// referenced with its schema. Messages written through SQL and through this
// package are the same messages; the Go adapter reads the table with static
// SQL and writes through the schema's write_messages function, which applies
// write_message's rules to a batch in one round trip. The raw SQL condition
// parameter of the read functions is Message DB's (off unless
// message_store.sql_condition is on) and is never passed from Go.
//
// The schema also holds Message DB's messages table (its 1.3.0 columns, in
// its order, with its types, and nothing else) and its six report views
// (stream_summary, type_summary, stream_type_summary, type_stream_summary,
// category_type_summary, type_category_summary).
//
// Beyond Message DB, the category index holds each message's consumer-group
// hash (group_hash(stream_name), domain.GroupHash of its cardinal id) as its
// last key, with the stream name included: a consumer group's read scans
// that index only, and PostgreSQL takes the hash from the index entry
// instead of computing MD5 for every message of the category. Reads are
// static queries (Message DB builds a query string on every call).
//
// # Roles
//
// The role that creates namespaces owns their schemas and applies their
// migrations. domain.NamespaceOptions.Grant names roles that may use a
// namespace as an application does, granted in the transaction that creates
// it (see the field's documentation): such a role opens a Store with its own
// credentials, needing nothing more while no migration is pending; when one
// is, opening the namespace fails with a *migrations.PendingError that
// names the schema's owner. Imports lock the table and advance the global
// position through two functions of the schema that run with its owner's
// privileges (import_lock, import_advance), so that a granted role imports
// too, without UPDATE on the table or the sequence.
//
// DeleteNamespace drops the schema with everything in it.
//
// The namespace migrations (migrations/namespace/postgres) are applied when
// a namespace is created, and the first time a Store opens a namespace that
// it did not create (so "messagedb migrate" brings every namespace up to
// date). 002_faster_writes makes writes cheaper on the server without
// changing any result: group_hash is computed by built-in functions only,
// write_messages takes the category lock inline, and the write functions use
// generic plans. Its SQL-standard function body needs PostgreSQL 14 or
// later. 004_message_db_columns makes the messages table again without the
// group_hash column that earlier namespaces stored, step by step while
// writes go on (see the file). 005_views_and_privileges adds the report
// views and the import's functions. 006_version_conflict_as_data makes
// write_messages return a wrong expected version as a row (the stream's
// version) rather than raise Message DB's exception, which write_message
// still raises for SQL clients.
//
// # Locking
//
// Writes to a category serialise on a transaction-scoped advisory lock
// (acquire_lock) taken before the global position is drawn and held to
// commit, so writes to one category commit in global position order and a
// reader paging a category by global position never skips a message that
// commits late. The lock key is hash_64 of "<schema>:<category>": writers in
// different namespaces never wait on each other. Writes to different
// categories do not serialise; GetAllMessages, which reads across
// categories, may therefore miss a message that commits after a later one.
//
// # Notifications
//
// No write's transaction calls NOTIFY. PostgreSQL makes a transaction that
// has notified take, as it commits, one lock for the whole cluster and hold
// it until its commit record is flushed: notifying writers of every
// namespace and database would commit one at a time, and group commit
// could not share a flush between them. Instead a write through a Store
// wakes that Store's watchers as soon as it has committed, and queues its
// category's channel with the Store's notifier: one goroutine and one
// dedicated connection that send the pending channels in one statement,
// outside any write's transaction, with the payload "<token> <LSN>": the
// Store's random token, by which the Store's own listener skips them, and
// the primary's WAL insert position, after the commit of every write it
// announces. The channels of the writes that commit while a statement is
// under way gather into the next statement. Such a transaction writes nothing but its commit record, so it
// commits without waiting for a flush and holds the notification lock only
// briefly. Close sends what is pending (waiting at most a second).
//
// A channel is "mdb_" and 24 hex digits of the MD5 of "<schema>:<category>"
// (NotifyChannel; the schema's notify_channel function). WatchCategory
// registers with the Store's listener, one dedicated connection that
// LISTENs to the channels that have watchers, reconnects with backoff when
// the connection drops and then wakes every watcher, since notifications
// sent meanwhile are lost. Message DB clients writing through SQL notify
// nobody: consumers find their messages at the next poll, or at once if the
// client calls pg_notify on the schema's notify_channel(category) after its
// commit. Wake-ups are hints: consumers also poll.
//
// # Reads from standbys
//
// Given hot standbys (Options.Standbys, or the URL's standby_hosts
// parameter: "postgres://app@primary/events?standby_hosts=replica1,replica2:5433"),
// a Store sends category reads (GetCategoryMessages, the reads of
// consumers) and GetAllMessages to them. Writes, imports, namespace changes,
// stream reads (GetStreamMessages, GetLastStreamMessage, which a consumer
// reads its position with), GetStreamVersion and GetLastGlobalPosition go to
// the primary: they precede writes with an expected version, or measure how
// far readers have to go.
//
// A standby serves a read only when it has replayed what the read must
// see, as pg_last_wal_replay_lsn says:
//
//   - Read your writes: every write (and namespace creation or deletion)
//     acknowledged through the Store before the read started. The first
//     read after such writes asks the primary for its WAL insert position
//     (pg_current_wal_insert_lsn, one round trip shared by concurrent
//     reads), which is past their commits.
//   - Wake-ups: the primary's position a notification carried, so that the
//     read a wake-up causes finds the message announced. NOTIFY is not
//     replicated: the listener stays on the primary (and follows it on
//     failover), whatever the reads do.
//   - Bounded lag: what the primary had MaxStandbyLag ago (default
//     DefaultMaxStandbyLag, or the URL's max_standby_lag): the Store learns
//     the primary's position at least every half MaxStandbyLag while it
//     reads, and a standby that has not replayed a position learned
//     MaxStandbyLag ago or earlier serves no read until it has. Until a
//     position is that old (the first reads, and the first after an idle
//     spell), reads wait for the newest instead.
//
// A read waits for a standby to replay the first two at most until
// MaxStandbyLag after the position was learned, then reads the primary.
// Standbys are tried in turn; one that fails to answer (down, restarting)
// is left alone for a while (half a second, doubling up to ten), and a read
// that fails on a standby for any reason (a recovery conflict cancelled it,
// the namespace's schema is not replayed yet) is made on the primary. A
// standby that is not in recovery (promoted) serves as a primary would.
//
// Consumers read a standby without skipping or repeating a message: a
// standby shows a prefix of the primary's commits, and writes to one
// category commit in global position order (see Locking), so what a
// standby shows of a category is a prefix of it in global position order,
// as on the primary. A consumer keeps the global position it has reached
// and reads on from it, wherever the next read goes: a standby further
// behind returns fewer messages, never other ones.
//
// # Failover
//
// A multi-host URL with target_session_attrs=read-write, as pgx reads it
// ("postgres://app@db1,db2/events?target_session_attrs=read-write&connect_timeout=2"),
// makes every new connection of the pool, the listener and the notifier go
// to the server that accepts writes. When the primary dies and a standby is
// promoted, calls fail with an error matching domain.ErrUnavailable until
// the new primary accepts connections (broken connections are dropped from
// the pool; a write that failed may have been committed: retry it with the
// same ids), then succeed, without reopening the Store; the listener
// reconnects and wakes every watcher; consumers retry (app.StoreRetry) from
// where they were. With synchronous replication (synchronous_standby_names
// naming the standby, synchronous_commit on) an acknowledged write is on
// the standby before it is acknowledged, so its promotion loses none; with
// asynchronous replication the last acknowledged writes may be lost.
package postgres
