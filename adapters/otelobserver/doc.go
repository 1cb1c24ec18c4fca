// Package otelobserver reports what a messagedb store and its consumers do
// to OpenTelemetry: a span per store call and per message handled, and
// metrics of the calls, the messages written and read, and each consumer's
// lag. It uses only OpenTelemetry's API; the application brings the SDK and
// its exporters.
//
// Wire it with app.Options.Observer; the store's consumers report to it
// too:
//
//	obs, err := otelobserver.New(otelobserver.Options{TracerProvider: tp, MeterProvider: mp, Propagate: true})
//	store, err := app.Open(ctx, url, &app.Options{Observer: obs})
//
// With no observer a store makes no call into this package, or any other.
//
// # Spans
//
// Each store call is a client span named "<operation> <category>" (or
// "<operation> <namespace>" for the calls on a whole namespace), with
// OpenTelemetry's database attributes: db.system.name ("postgresql",
// "sqlite"), db.operation.name (Message DB's function: write_message,
// write_messages, get_stream_messages, get_category_messages,
// get_last_stream_message, stream_version, get_last_global_position,
// get_all_messages, import_messages, create_namespace, delete_namespace),
// db.namespace (the namespace's id), db.collection.name (the category),
// db.operation.batch.size (a batch of 2 or more), db.response.returned_rows
// (reads) and error.type (see ErrorType) on failure; and messagedb's own:
// messagedb.stream.name, messagedb.expected_version,
// messagedb.global_position (of the last message written) and
// messagedb.consumer.id (a consumer's own call).
//
// The store calls a consumer makes for itself (reading its category, its
// position, its lag) are measured but not traced, unless
// Options.ConsumerCallSpans: an idle consumer polls several times a
// second.
//
// Each message handed to a consumer's handler is a consumer span named
// "process <category>", with the consumer's id and group, the message's
// stream, type, id, position and global position, and the attempt; the
// handler runs under it.
//
// # Trace context in messages
//
// With Options.Propagate, each message written carries the trace context
// of its write's span (W3C traceparent and tracestate, or what
// Options.Propagator encodes) in its metadata, under the key
// "traceContext" (domain.TraceContextKey). The handler span of a consumer
// that reads the message, in any process and on any backend (a namespace
// copied from SQLite to PostgreSQL keeps its metadata), is a child of that
// span and links to it: the write and the work it caused are one trace.
// Message DB and its clients ignore the key. A consumer decodes it whatever
// its own Propagate says. A retried write (the same ids) stays an
// idempotent retry, and a message that the key would make too large is
// written without it (see app.Namespace.Write).
//
// # Metrics
//
//	db.client.operation.duration        histogram, s   store calls: db.system.name, db.operation.name, db.namespace, db.collection.name, error.type
//	messagedb.messages.written          counter        messages written and imported (same attributes, no error.type)
//	messagedb.messages.read             counter        messages returned by reads (same attributes)
//	messagedb.consumer.lag              gauge          per running consumer: the category's last global position less the consumer's (app.Consumer.Lag)
//	messagedb.consumer.handler.duration histogram, s   handler calls, with error.type on failure
//	messagedb.consumer.handler.errors   counter        handler calls that failed, with error.type
//	messagedb.consumer.handler.retries  counter        messages handed again after a failure
//	messagedb.consumer.store.retries    counter        consumers' store calls retried (StoreRetry), with error.type
//	messagedb.connection.reconnects     counter        PostgreSQL's listener connection made again: messagedb.connection.name
//
// The consumer metrics have db.system.name, db.namespace,
// db.collection.name (the category), messagedb.consumer.id and, for a
// member of a group, messagedb.consumer.group.member and
// messagedb.consumer.group.size. The lag is read from the store when the
// metrics are collected, once per running consumer; Close stops it.
package otelobserver
