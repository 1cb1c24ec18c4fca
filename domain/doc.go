// Package domain holds messagedb's rules, free of any database: stream names
// and categories, versions and expected versions, consumer-group membership,
// read options with their defaults and checks, the message types and every
// error a caller can match.
//
// The rules are Message DB 1.3.0's, so that every backend behaves the same:
// the adapters only store and fetch, and call into this package for every
// decision.
//
// # Streams and categories
//
// A stream name is a category, a "-" and an id ("account-123"). The category
// is everything before the first "-" (Category), including any ":" type
// ("account:command-123" is in "account:command"). A compound id
// ("account-123+abc") has a cardinal id ("123", CardinalID) that consumer
// groups use, so that related streams go to the same member.
//
// # Positions and versions
//
// Messages in a stream have positions 0, 1, 2... without gaps; a stream's
// version is the position of its last message, NoStream (-1) when it has
// none. Every message also has a global position, increasing across all the
// streams of a namespace from 1, which is what category reads page by.
// A write may give an ExpectedVersion; when the stream's version differs,
// nothing is written and the error is a *VersionConflictError.
//
// # Consumer groups
//
// A category can be read by a group of Size members: member M sees the
// streams whose abs(Hash64(CardinalID(stream))) % Size is M. Hash64 is Message
// DB's hash_64 (MD5-based), so a namespace on either backend partitions the
// same way as Message DB.
//
// # Message ids
//
// An id names one message in a namespace. ResolveStoredIDs is the rule
// every backend applies when ids of a write are stored already: the same
// messages again (stream, type, and canonical data and metadata) are an
// idempotent retry; anything else is a *DuplicateMessageIDError.
//
// # Errors
//
// Every error starts with one "messagedb: " prefix and reads the same on
// every backend for the same failure (NamespaceNotFound, StreamNotFound,
// ... build the common ones); Wrapf adds context after the prefix.
//
// # Bad input
//
// Everything a store is given is checked here before anything is stored, so
// that every backend refuses the same input with the same error: stream and
// category names and message types must be valid UTF-8 without NUL
// (ErrInvalidStreamName, ErrInvalidMessage); namespace ids are refused, never
// rewritten, unless they match ^[a-z][a-z0-9_]{0,49}$ (ErrInvalidNamespace);
// data and metadata must be one JSON value, valid UTF-8, nested at most
// MaxJSONDepth deep (ErrInvalidMessage); and a message's canonical data and
// metadata together must fit the store's Limits, DefaultMaxMessageSize (1
// MiB) unless configured otherwise (*MessageTooLargeError, matching
// ErrMessageTooLarge and ErrInvalidMessage). Names are data: quotes,
// semicolons, comments, backslashes and "%" or "_" are stored and matched
// as they are. A closed store fails every call with ErrClosed.
package domain
