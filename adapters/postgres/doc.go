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
// is, opening the namespace fails with a *domain.MigrationPendingError that
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
// views and the import's functions.
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
// outside any write's transaction, the channels of the writes that
// committed meanwhile gathering into the next statement. Such a
// transaction writes nothing but its commit record, so it commits without
// waiting for a flush and holds the notification lock only briefly. Close
// sends what is pending (waiting at most a second).
//
// A channel is "mdb_" and 24 hex digits of the MD5 of "<schema>:<category>"
// (NotifyChannel; the schema's notify_channel function); the payload is the
// sending Store's token, by which a Store's listener skips its own
// notifications. WatchCategory registers with the Store's listener, one
// dedicated connection that LISTENs to the channels that have watchers,
// reconnects with backoff when the connection drops and then wakes every
// watcher, since notifications sent meanwhile are lost. Message DB clients
// writing through SQL notify nobody: consumers find their messages at the
// next poll, or at once if the client calls pg_notify on the schema's
// notify_channel(category) after its commit. Wake-ups are hints: consumers
// also poll.
package postgres
