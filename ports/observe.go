package ports

import (
	"context"
	"time"

	"github.com/messagedb-go/messagedb/domain"
)

// Observers see inside a store without being part of it: the store calls
// them, and they turn what they see into traces, metrics or whatever they
// like (adapters/otelobserver turns it into OpenTelemetry). They follow
// pgx's tracers: a Start call before the work returns the context the work
// runs under, and an End call after it gets that context back, so that an
// observer can keep what it started (a span, a clock) in it.
//
// An observer is called on the caller's goroutine, from many goroutines at
// once, and must be quick: it sits on the path of every call. It must not
// modify what it is given unless its documentation says it may. A store
// with no observer makes none of these calls and builds none of their
// arguments.

// Operation names a call on a store. The names are Message DB's functions
// where it has one.
type Operation string

// Operations that a StoreObserver sees.
const (
	OpWriteMessage          Operation = "write_message"
	OpWriteMessages         Operation = "write_messages"
	OpGetStreamMessages     Operation = "get_stream_messages"
	OpGetCategoryMessages   Operation = "get_category_messages"
	OpGetLastStreamMessage  Operation = "get_last_stream_message"
	OpStreamVersion         Operation = "stream_version"
	OpGetLastGlobalPosition Operation = "get_last_global_position"
	OpGetAllMessages        Operation = "get_all_messages"
	OpImportMessages        Operation = "import_messages"
	OpCreateNamespace       Operation = "create_namespace"
	OpDeleteNamespace       Operation = "delete_namespace"
)

// Database systems, as OpenTelemetry names them (db.system.name).
const (
	SystemPostgreSQL = "postgresql"
	SystemSQLite     = "sqlite"
	SystemOther      = "other_sql"
)

// Call describes one call on a store to a StoreObserver. The store fills
// in what the call is before StartCall, and its outcome before EndCall.
type Call struct {
	Operation Operation
	// System is the backend: SystemPostgreSQL, SystemSQLite or SystemOther.
	System string
	// Namespace is the namespace's id.
	Namespace string
	// Stream is the stream written or read; empty for a category read and
	// for the namespace's operations.
	Stream string
	// Category is the category read, or that of Stream.
	Category string
	// Messages is how many messages a write or an import carries.
	Messages int
	// Expected is a write's expected version.
	Expected domain.ExpectedVersion
	// Consumer is the id of the consumer that makes the call (reading its
	// category, its position, writing its position), empty for a call of
	// the application's own.
	Consumer string

	// Returned is how many messages a read returned.
	Returned int
	// GlobalPosition is the global position of the last message a write
	// wrote (or found written, for an idempotent retry).
	GlobalPosition int64
}

// StoreObserver is told of every call on a store and its namespaces: the
// operations of Message DB, imports, namespaces created and deleted.
type StoreObserver interface {
	// StartCall is called before the call; the call runs under the
	// context it returns.
	StartCall(ctx context.Context, call *Call) context.Context
	// EndCall is called after the call, with the context StartCall
	// returned and the call's error (nil on success).
	EndCall(ctx context.Context, call *Call, err error)
}

// ContextInjector is a StoreObserver that carries context (a trace, say) in
// the messages written while it observes: their metadata holds what
// InjectContext returns under domain.TraceContextKey, so that whoever
// handles a message, in any process, can continue from there (see
// ConsumerObserver and domain.TraceContext).
type ContextInjector interface {
	// InjectContext returns the entries to store for the messages of a
	// write made under ctx, the context StartCall returned: for W3C trace
	// context, "traceparent" and "tracestate". Nil stores nothing.
	InjectContext(ctx context.Context) map[string]string
}

// ConsumerInfo describes a running consumer to a ConsumerObserver.
type ConsumerInfo struct {
	// ID is the consumer's id, Category the category it consumes.
	ID       string
	Category string
	// Namespace is the namespace's id, System the backend (see Call).
	Namespace string
	System    string
	// Group is the consumer group the consumer is a member of, nil when
	// none.
	Group *domain.ConsumerGroup
	// Lag returns how far the consumer is behind its category, in global
	// positions (see app.Consumer.Lag). It reads the store.
	Lag func(ctx context.Context) (int64, error)
}

// Handling describes a message handed to a consumer's handler.
type Handling struct {
	Consumer *ConsumerInfo
	Message  domain.Message
	// Attempt counts the times the message has been handed to the
	// handler: 1, then 2 and on when the handler failed and the consumer
	// retries it.
	Attempt int
}

// ConsumerObserver is told what a consumer does: when it starts and stops,
// each message it hands to its handler, and each store call that failed and
// is to be tried again.
type ConsumerObserver interface {
	// ConsumerStarted is called when the consumer starts running, and
	// ConsumerStopped when it has stopped (err is what Run returns). The
	// info is the same value for both.
	ConsumerStarted(ctx context.Context, info *ConsumerInfo)
	ConsumerStopped(ctx context.Context, info *ConsumerInfo, err error)
	// StartHandle is called before the handler gets a message; the
	// handler runs under the context it returns. EndHandle is called
	// after, with that context and the handler's error.
	StartHandle(ctx context.Context, h *Handling) context.Context
	EndHandle(ctx context.Context, h *Handling, err error)
	// StoreCallRetry is called when a store call of the consumer failed
	// with err and is to be tried again after backoff; attempt counts the
	// calls failed in a row.
	StoreCallRetry(ctx context.Context, info *ConsumerInfo, attempt int, backoff time.Duration, err error)
}

// ConnectionObserver is told when a long-lived connection of a store is
// lost and when it is back: on PostgreSQL, the connection that LISTENs for
// the notifications that wake consumers (named "listener").
type ConnectionObserver interface {
	// ConnectionLost is called when the connection failed, with attempt
	// 0 (the store connects again at once), and when an attempt to
	// connect failed, with attempt counting the failed attempts in a row
	// and backoff the wait before the next one. err says why.
	ConnectionLost(conn string, attempt int, backoff time.Duration, err error)
	// ConnectionRestored is called when the connection is made after a
	// ConnectionLost (it was lost, or a first attempt failed), attempts
	// being the attempts that failed between.
	ConnectionRestored(conn string, attempts int)
}
