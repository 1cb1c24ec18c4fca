package domain

import (
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
)

// errorPrefix starts the text of every error of messagedb, once.
const errorPrefix = "messagedb: "

// Sentinel errors. Every error returned by messagedb that a caller may want to
// act on matches one of these with errors.Is. Errors that carry facts are
// types (VersionConflictError, DuplicateMessageIDError) that match their
// sentinel; the migration errors are in package migrations.
var (
	// ErrVersionConflict is returned when a write's expected version is not
	// the stream's version. The error is a *VersionConflictError.
	ErrVersionConflict = errors.New("messagedb: wrong expected version")

	// ErrNamespaceNotFound is returned when a namespace does not exist.
	ErrNamespaceNotFound = errors.New("messagedb: namespace not found")

	// ErrNamespaceExists is returned when creating a namespace whose id is
	// already taken.
	ErrNamespaceExists = errors.New("messagedb: namespace already exists")

	// ErrInvalidNamespace is returned when a namespace id is not valid (see
	// ValidateNamespaceID). Invalid ids are refused, never rewritten.
	ErrInvalidNamespace = errors.New("messagedb: invalid namespace id")

	// ErrStreamNotFound is returned by GetLastStreamMessage when the stream
	// holds no message (of the requested type). Reads of a stream that does
	// not exist are not an error: they return no messages, and its version
	// is NoStream.
	ErrStreamNotFound = errors.New("messagedb: stream not found")

	// ErrInvalidStreamName is returned when a stream or category name is
	// empty or malformed, or when a category is given where a stream is
	// needed (or the reverse).
	ErrInvalidStreamName = errors.New("messagedb: invalid stream name")

	// ErrInvalidMessage is returned when a message to write is not valid:
	// empty type, a type or data or metadata that is not valid UTF-8, data or
	// metadata that is not JSON or is nested deeper than MaxJSONDepth, a
	// message larger than the store's limit (ErrMessageTooLarge), the same
	// id twice in one batch, an empty batch.
	ErrInvalidMessage = errors.New("messagedb: invalid message")

	// ErrMessageTooLarge is returned when a message's data and metadata
	// together, in canonical form, are larger than the store's limit (see
	// DefaultMaxMessageSize). The error is a *MessageTooLargeError. It wraps
	// ErrInvalidMessage, so errors.Is(err, ErrInvalidMessage) holds too.
	ErrMessageTooLarge = fmt.Errorf("%w: too large", ErrInvalidMessage)

	// ErrDuplicateMessageID is returned when a message id is already used by
	// another message: one of another stream, or with another type, data or
	// metadata. Writing a message whose id is stored already with the same
	// stream, type, data and metadata is not an error: it is an idempotent
	// retry (see ResolveStoredIDs). A write's error is a
	// *DuplicateMessageIDError.
	ErrDuplicateMessageID = errors.New("messagedb: duplicate message id")

	// ErrInvalidOptions is returned when read or write options are not valid.
	// The finer errors below wrap it, so errors.Is(err, ErrInvalidOptions)
	// holds for each of them.
	ErrInvalidOptions = errors.New("messagedb: invalid options")

	// ErrInvalidPosition is returned for a negative read position.
	ErrInvalidPosition = fmt.Errorf("%w: position", ErrInvalidOptions)

	// ErrInvalidBatchSize is returned for a batch size below -1.
	ErrInvalidBatchSize = fmt.Errorf("%w: batch size", ErrInvalidOptions)

	// ErrInvalidConsumerGroup is returned when a consumer group's size is
	// below 1 or its member is not in [0, size).
	ErrInvalidConsumerGroup = fmt.Errorf("%w: consumer group", ErrInvalidOptions)

	// ErrInvalidCorrelation is returned when a correlation filter is not a
	// category (it contains a "-").
	ErrInvalidCorrelation = fmt.Errorf("%w: correlation", ErrInvalidOptions)

	// ErrInvalidExpectedVersion is returned when an expected version is below
	// NoStream (-1).
	ErrInvalidExpectedVersion = fmt.Errorf("%w: expected version", ErrInvalidOptions)

	// ErrInvalidRole is returned when a role to grant a namespace to is not
	// a valid role name (see ValidateRoleName), or, on PostgreSQL, names no
	// existing role.
	ErrInvalidRole = fmt.Errorf("%w: role", ErrInvalidOptions)

	// ErrClosed is returned by every call on a store, or on a message store
	// it handed out, after the store is closed. Every backend returns this
	// one value.
	ErrClosed = errors.New("messagedb: store closed")

	// ErrStoreNotFound is returned when opening a store that must exist
	// (for reading) finds none where its URL points, such as a SQLite data
	// directory that does not exist. Nothing is created.
	ErrStoreNotFound = errors.New("messagedb: store not found")

	// ErrMigrationFailed is returned when a migration cannot be applied, or
	// when an applied migration's file has changed since. The error is a
	// *migrations.Error naming the file.
	ErrMigrationFailed = errors.New("messagedb: migration failed")

	// ErrMigrationPending is returned when a database (the registry or a
	// namespace) lacks migrations that the connected role may not apply,
	// such as a role that may only use a namespace. The error is a
	// *migrations.PendingError naming the role that may.
	ErrMigrationPending = errors.New("messagedb: migration pending")
	// ErrUnavailable is returned when a store's server cannot be reached,
	// or the connection to it breaks during the call: the server is down,
	// restarting, or failing over to a standby. The call may succeed when
	// made again. A write that fails with it may or may not have been
	// committed: retry it with the same message ids, which stores it once
	// (see ResolveStoredIDs).
	ErrUnavailable = errors.New("messagedb: store unavailable")
)

// errorKinds name this package's errors, finer ones first (a
// message_too_large is also an invalid_message).
var errorKinds = []struct {
	err  error
	kind string
}{
	{ErrVersionConflict, "version_conflict"},
	{ErrDuplicateMessageID, "duplicate_message_id"},
	{ErrMessageTooLarge, "message_too_large"},
	{ErrInvalidMessage, "invalid_message"},
	{ErrInvalidStreamName, "invalid_stream_name"},
	{ErrInvalidNamespace, "invalid_namespace"},
	{ErrInvalidOptions, "invalid_options"},
	{ErrNamespaceNotFound, "namespace_not_found"},
	{ErrNamespaceExists, "namespace_exists"},
	{ErrStreamNotFound, "stream_not_found"},
	{ErrStoreNotFound, "store_not_found"},
	{ErrMigrationFailed, "migration_failed"},
	{ErrMigrationPending, "migration_pending"},
	{ErrUnavailable, "unavailable"},
	{ErrClosed, "closed"},
}

// ErrorKind names the failure err matches, in snake case
// ("version_conflict", "message_too_large", "namespace_not_found", ...;
// the finest when it matches several), or "" when it matches none of this
// package's errors. The messagedb command's --json errors and OpenTelemetry's
// error.type use these names.
func ErrorKind(err error) string {
	for _, k := range errorKinds {
		if errors.Is(err, k.err) {
			return k.kind
		}
	}
	return ""
}

// VersionConflictError reports a write whose expected version did not match
// the stream's version. It matches ErrVersionConflict.
type VersionConflictError struct {
	StreamName string
	Expected   int64
	Actual     int64 // NoStream (-1) when the stream has no message
}

func (e *VersionConflictError) Error() string {
	return fmt.Sprintf("messagedb: wrong expected version: %d (stream: %s, stream version: %d)",
		e.Expected, e.StreamName, e.Actual)
}

// Is reports whether target is ErrVersionConflict.
func (e *VersionConflictError) Is(target error) bool { return target == ErrVersionConflict }

// MessageTooLargeError reports a message whose data and metadata, in
// canonical form, are larger than the store's limit. It matches
// ErrMessageTooLarge and ErrInvalidMessage.
type MessageTooLargeError struct {
	// Size is the message's size in bytes: its canonical data and metadata
	// together. When preparing stopped as soon as the limit was passed, it
	// is the size reached then: a lower bound, still above Limit.
	Size int64
	// Limit is the largest size the store accepts.
	Limit int64
}

func (e *MessageTooLargeError) Error() string {
	return fmt.Sprintf("messagedb: invalid message: too large: %d bytes of data and metadata, above the limit of %d",
		e.Size, e.Limit)
}

// Is reports whether target is ErrMessageTooLarge.
func (e *MessageTooLargeError) Is(target error) bool { return target == ErrMessageTooLarge }

// Unwrap returns ErrMessageTooLarge, so that the error also matches
// ErrInvalidMessage.
func (e *MessageTooLargeError) Unwrap() error { return ErrMessageTooLarge }

// NamespaceNotFound returns the error every backend returns for a namespace
// that does not exist (or no longer does): it matches ErrNamespaceNotFound
// and names the namespace.
func NamespaceNotFound(id string) error {
	return fmt.Errorf("%w: %s", ErrNamespaceNotFound, id)
}

// NamespaceExists returns the error every backend returns when creating a
// namespace whose id is taken: it matches ErrNamespaceExists and names the
// namespace.
func NamespaceExists(id string) error {
	return fmt.Errorf("%w: %s", ErrNamespaceExists, id)
}

// StreamNotFound returns the error every backend's GetLastStreamMessage
// returns when the stream holds no message (of messageType, when not
// empty): it matches ErrStreamNotFound.
func StreamNotFound(streamName, messageType string) error {
	if messageType != "" {
		return fmt.Errorf("%w: %s has no message of type %s", ErrStreamNotFound, streamName, messageType)
	}
	return fmt.Errorf("%w: %s has no message", ErrStreamNotFound, streamName)
}

// DuplicateMessageIDError reports a write of a message whose id is already
// stored for another message: in another stream, or with another type,
// data or metadata (see ResolveStoredIDs). It matches ErrDuplicateMessageID.
// Nothing of the write was stored.
type DuplicateMessageIDError struct {
	// ID is the message id, stored already.
	ID uuid.UUID
	// StreamName is the stream the write was to.
	StreamName string
	// Index is the message's index in the write's batch (0 for a single
	// message), and Type its type.
	Index int
	Type  string
	// Differs says how the write differs from the stored message: "stream",
	// "type", "data", "metadata", or "batch" when the id is stored as
	// written but the message at NewIndex of the same batch is not stored:
	// a retry repeats a whole write or nothing of it.
	Differs  string
	NewIndex int
	// The message stored under ID: its stream, type, position and global
	// position.
	StoredStreamName     string
	StoredType           string
	StoredPosition       int64
	StoredGlobalPosition int64
}

func (e *DuplicateMessageIDError) Error() string {
	stored := fmt.Sprintf("id %s is stored at %s/%d (global position %d, type %s)",
		e.ID, e.StoredStreamName, e.StoredPosition, e.StoredGlobalPosition, e.StoredType)
	var why string
	switch e.Differs {
	case "stream":
		why = "not in " + e.StreamName
	case "type":
		why = "not of type " + e.Type
	case "batch":
		return fmt.Sprintf("%s: %s, but message %d of this write to %s is new: a retry repeats a whole write",
			ErrDuplicateMessageID.Error(), stored, e.NewIndex, e.StreamName)
	default:
		why = "with other " + e.Differs
	}
	msg := fmt.Sprintf("%s: %s, %s: the write", ErrDuplicateMessageID.Error(), stored, why)
	if e.Index > 0 {
		msg += fmt.Sprintf(" (message %d)", e.Index)
	}
	return msg + " to " + e.StreamName + " is not a retry of it"
}

// Is reports whether target is ErrDuplicateMessageID.
func (e *DuplicateMessageIDError) Is(target error) bool { return target == ErrDuplicateMessageID }

// Wrapf returns err with context: its text is err's after the "messagedb: "
// prefix and the context, "messagedb: CONTEXT: rest of err", so that one
// prefix starts it however deep the wrapping. It matches what err matches
// (errors.Is, errors.As). A nil err gives nil.
func Wrapf(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return &wrapped{msg: errorPrefix + fmt.Sprintf(format, args...) + ": " + strings.TrimPrefix(err.Error(), errorPrefix), err: err}
}

// WrapAs returns err as an error that matches sentinel too, reading as
// sentinel's text followed by err's without its "messagedb: " prefix:
// "messagedb: invalid consumer: invalid options: consumer group: ...".
func WrapAs(sentinel, err error) error {
	if err == nil {
		return nil
	}
	return &wrapped{msg: sentinel.Error() + ": " + strings.TrimPrefix(err.Error(), errorPrefix), err: err, also: sentinel}
}

// wrapped is an error with context, built by Wrapf and WrapAs.
type wrapped struct {
	msg  string
	err  error
	also error // a sentinel it matches besides err's, or nil
}

func (e *wrapped) Error() string { return e.msg }

func (e *wrapped) Unwrap() error { return e.err }

func (e *wrapped) Is(target error) bool { return e.also != nil && target == e.also }
