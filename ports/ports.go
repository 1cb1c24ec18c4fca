// Package ports declares what messagedb needs from a storage backend: a
// registry of namespaces and, for each namespace, a message store with
// Message DB's operations. The adapters in messagedb/adapters implement them;
// the contracttest package is the executable form of the contracts written
// here. It also declares the observers a store and its consumers report to
// (observe.go), so that backends and telemetry can share them.
//
// Every method is safe for concurrent use by many goroutines. Every method
// that takes options validates them and its names before touching storage:
// bad input returns an error matching a domain sentinel and writes nothing.
package ports

import (
	"context"

	"github.com/messagedb-go/messagedb/domain"
)

// MessageStore is the message store of one namespace.
type MessageStore interface {
	// WriteMessage appends msg to the stream at the stream's version + 1 and
	// returns its position and global position.
	//
	// When expected is not domain.AnyVersion and differs from the stream's
	// version, nothing is written and the error is a
	// *domain.VersionConflictError (matching domain.ErrVersionConflict).
	//
	// An id names one message. If msg.ID is already stored in the same
	// stream with the same type, data and metadata (in canonical form), the
	// write is an idempotent retry: nothing is written, no version check is
	// made, and the first write's result is returned. The same id stored in
	// another stream, or with another type, data or metadata, is a
	// *domain.DuplicateMessageIDError (matching
	// domain.ErrDuplicateMessageID) that names the stored message and its
	// positions. domain.ResolveStoredIDs is the rule.
	//
	// A name that is not a stream name (see domain.ValidateStreamName)
	// matches domain.ErrInvalidStreamName; an invalid message
	// domain.ErrInvalidMessage (and domain.ErrMessageTooLarge when its data
	// and metadata pass the store's size limit, see domain.Limits); an
	// invalid expected version domain.ErrInvalidExpectedVersion.
	//
	// A write stays all or nothing when ctx ends during the call; when ctx
	// has ended before the call, nothing is written and the error matches
	// ctx's error.
	WriteMessage(ctx context.Context, streamName string, msg domain.NewMessage, expected domain.ExpectedVersion) (domain.WriteResult, error)

	// WriteMessages appends msgs to one stream, all or nothing, at
	// consecutive positions, and returns one result per message. expected is
	// checked against the stream's version before the first message.
	//
	// If every id is already stored in this stream as the same message, the
	// call is an idempotent retry and returns the stored results. If only
	// some are, or one is stored as another message, nothing is written and
	// the error is a *domain.DuplicateMessageIDError. An empty batch, or an id given
	// twice, matches domain.ErrInvalidMessage.
	WriteMessages(ctx context.Context, streamName string, msgs []domain.NewMessage, expected domain.ExpectedVersion) ([]domain.WriteResult, error)

	// GetStreamMessages returns the stream's messages from opts.Position
	// (inclusive) in position order, at most opts.Limit() of them. A stream
	// that does not exist has no messages (no error). A category name
	// matches domain.ErrInvalidStreamName.
	GetStreamMessages(ctx context.Context, streamName string, opts domain.GetOpts) ([]domain.Message, error)

	// GetCategoryMessages returns the messages of every stream in the
	// category from global position opts.StartPosition() (inclusive) in
	// global position order, at most opts.Limit() of them, filtered by
	// correlation and consumer group. A name with a "-" matches
	// domain.ErrInvalidStreamName.
	//
	// A reader that pages by global position never misses a message that
	// commits later with a lower global position than one it has read:
	// writes to one category are serialised from drawing their global
	// position to commit.
	GetCategoryMessages(ctx context.Context, category string, opts domain.CategoryOpts) ([]domain.Message, error)

	// GetLastStreamMessage returns the message with the highest position in
	// the stream, or of those of messageType when it is not empty. When there
	// is none the error matches domain.ErrStreamNotFound. A messageType that
	// no message can have (see domain.ValidateTypeFilter) matches
	// domain.ErrInvalidOptions.
	GetLastStreamMessage(ctx context.Context, streamName string, messageType string) (domain.Message, error)

	// GetStreamVersion returns the position of the stream's last message, or
	// domain.NoStream (-1) when it has none.
	GetStreamVersion(ctx context.Context, streamName string) (int64, error)

	// GetLastGlobalPosition returns the global position of the last
	// message of the category's streams, or 0 when it has none: how far a
	// reader of the category has to go (see app.Consumer.Lag). A name with
	// a "-" matches domain.ErrInvalidStreamName.
	GetLastGlobalPosition(ctx context.Context, category string) (int64, error)

	// GetAllMessages returns the messages of every stream of the namespace
	// from global position opts.StartPosition() (inclusive) in global
	// position order, at most opts.Limit() of them. It serves export, copy
	// and summaries.
	GetAllMessages(ctx context.Context, opts domain.AllOpts) ([]domain.Message, error)
}

// Importer is a MessageStore that can take messages as they are, keeping
// their ids, positions, global positions and times: it is how a namespace is
// copied to another backend. It is optional: a backend declares it
// (Capabilities.Importer), and the message stores of one that does not are
// not Importers.
type Importer interface {
	// ImportMessages stores msgs, in global position order, into an empty
	// or partially imported namespace, all or nothing. It checks and stores
	// them as domain.Limits.PrepareImport returns them (canonical JSON,
	// times in UTC to the microsecond, years 1 to 9999; an error matches
	// domain.ErrInvalidStreamName or domain.ErrInvalidMessage). Each
	// message's position must be its stream's version + 1 (else
	// domain.ErrVersionConflict) and its global position above every global
	// position stored (else domain.ErrInvalidMessage); an id stored already
	// matches domain.ErrDuplicateMessageID. On error nothing is written.
	ImportMessages(ctx context.Context, msgs []domain.Message) error
}

// Watcher is a MessageStore that can wake readers of a category when a
// message is written to it, so that they need not wait out a poll interval.
// It is optional: a backend declares it (Capabilities.Watcher); readers of
// the message stores of one that does not only poll.
type Watcher interface {
	// WatchCategory returns a channel that receives a value (coalesced: at
	// most one pending) after messages written to the category have
	// committed. The channel is closed when ctx is done, or when the
	// namespace is deleted through the same Store. A wake-up is a hint:
	// readers still poll, because a notification can be lost (a dropped
	// connection) and writes from other processes may not notify.
	WatchCategory(ctx context.Context, category string) (<-chan struct{}, error)
}

// NamespaceRegistry creates, finds and deletes namespaces, and hands out the
// message store of each. Every method that takes a namespace id refuses an
// invalid one (see domain.ValidateNamespaceID) with an error matching
// domain.ErrInvalidNamespace, before touching storage: ids are never
// rewritten, so two ids never share a namespace's schema or file.
type NamespaceRegistry interface {
	// CreateNamespace creates an empty namespace. An id that is taken
	// matches domain.ErrNamespaceExists; an invalid id (see
	// domain.ValidateNamespaceID) domain.ErrInvalidNamespace; invalid
	// options (see domain.NamespaceOptions.Validate)
	// domain.ErrInvalidOptions. It is all or
	// nothing: on error no trace of the namespace is left.
	CreateNamespace(ctx context.Context, id string, opts domain.NamespaceOptions) (domain.Namespace, error)

	// DeleteNamespace deletes the namespace and every message in it. A
	// namespace that does not exist matches domain.ErrNamespaceNotFound.
	// Message stores handed out for it fail afterwards with an error
	// matching domain.ErrNamespaceNotFound, even once a namespace with the
	// same id is created again; that one starts empty, positions from the
	// start. (A Store learns of deletes made through itself; one deleted by
	// another process is seen as each backend can: see its documentation.)
	DeleteNamespace(ctx context.Context, id string) error

	// GetNamespace returns the namespace, or an error matching
	// domain.ErrNamespaceNotFound.
	GetNamespace(ctx context.Context, id string) (domain.Namespace, error)

	// ListNamespaces returns every namespace, ordered by id.
	ListNamespaces(ctx context.Context) ([]domain.Namespace, error)

	// MessageStore returns the message store of the namespace, or an error
	// matching domain.ErrNamespaceNotFound. The store stays valid until the
	// namespace is deleted or the registry closed.
	MessageStore(ctx context.Context, namespaceID string) (MessageStore, error)
}

// Store is a backend: a namespace registry that owns its connections.
type Store interface {
	NamespaceRegistry
	// Capabilities declares what the backend is and which optional ports
	// its message stores implement. It is the same on every call, and
	// honest: contracttest checks every message store against it.
	Capabilities() Capabilities
	// Close releases what the store opened. Afterwards every call on the
	// store, and on the message stores it handed out, returns an error
	// matching domain.ErrClosed. Close may be called again, and concurrently
	// with other calls: each of those either completes or fails with
	// domain.ErrClosed.
	Close() error
}
