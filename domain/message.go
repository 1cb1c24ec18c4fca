package domain

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Message is a message as stored: what reads return.
type Message struct {
	// ID is unique in a namespace.
	ID uuid.UUID `json:"id"`
	// StreamName is the stream the message was written to.
	StreamName string `json:"streamName"`
	// Type is the message's type, e.g. "Deposited".
	Type string `json:"type"`
	// Position is the message's position in its stream: 0, 1, 2... without gaps.
	Position int64 `json:"position"`
	// GlobalPosition is the message's position in its namespace: increasing
	// across all streams, starting at 1.
	GlobalPosition int64 `json:"globalPosition"`
	// Data is the message's JSON body.
	Data json.RawMessage `json:"data"`
	// Metadata is the message's JSON metadata, nil when it has none.
	Metadata json.RawMessage `json:"metadata"`
	// Time is when the message was written, in UTC.
	Time time.Time `json:"time"`
}

// CorrelationStreamName returns the metadata's correlationStreamName, the
// field that category reads filter on, or "" when there is none.
func (m Message) CorrelationStreamName() string {
	return CorrelationStreamName(m.Metadata)
}

// CorrelationStreamName returns the correlationStreamName field of JSON
// metadata (the key matched exactly, as PostgreSQL's ->> does), or "" when it
// is absent, not a string, or metadata is not an object.
func CorrelationStreamName(metadata json.RawMessage) string {
	return topLevelString(metadata, "correlationStreamName")
}

// NewMessage is a message to write.
type NewMessage struct {
	// ID identifies the message; the zero UUID means "generate one" (a UUIDv7,
	// whose time order keeps the id index compact). An id names one
	// message: writing it again with the same stream, type, data and
	// metadata is an idempotent retry, with anything else a
	// *DuplicateMessageIDError (see ResolveStoredIDs).
	ID uuid.UUID
	// Type is required.
	Type string
	// Data is the JSON body; empty means {}. It is stored in canonical form:
	// object keys ordered shorter first then bytewise (as PostgreSQL's jsonb
	// orders them), no white space, numbers in plain notation.
	Data json.RawMessage
	// Metadata is optional JSON metadata; empty means none.
	Metadata json.RawMessage
}

// DefaultMaxMessageSize is the largest message a store accepts unless it is
// configured otherwise: 1 MiB of data and metadata together, counted in
// canonical form (the bytes stored and read back).
//
// A message is a fact about one thing, rarely more than a few kilobytes; 1
// MiB leaves room for the odd large one while bounding what one write, and
// one read of a default batch, can make a store and its readers hold in
// memory. It is the default of common brokers and event stores too (NATS'
// max_payload, Kafka's message.max.bytes, EventStoreDB's largest append).
// A store may raise it (see Limits), up to what jsonb holds: PostgreSQL
// refuses a jsonb value above 255 MiB.
const DefaultMaxMessageSize int64 = 1 << 20

// Limits bound what a store accepts to write. Every backend applies them
// through the same functions (Limits.PrepareWrite, Limits.Prepare), so that
// a message refused by one is refused by all. The zero value is the
// defaults.
type Limits struct {
	// MaxMessageSize is the most bytes of data and metadata one message may
	// hold together, in canonical form (what is stored and read back): 0
	// means DefaultMaxMessageSize, a negative value means no limit. A larger
	// message is refused with a *MessageTooLargeError (matching
	// ErrMessageTooLarge and ErrInvalidMessage) and nothing is written.
	// Members of an object that are dropped because a later member has the
	// same key are counted too: the size does not depend on which member
	// wins.
	MaxMessageSize int64
}

// MessageSizeLimit returns the largest message size to accept:
// DefaultMaxMessageSize when MaxMessageSize is 0, -1 for no limit.
func (l Limits) MessageSizeLimit() int64 {
	switch {
	case l.MaxMessageSize == 0:
		return DefaultMaxMessageSize
	case l.MaxMessageSize < 0:
		return -1
	}
	return l.MaxMessageSize
}

// ValidateMessageType checks a message type, as written or as given to
// filter a read: non-empty, valid UTF-8, without NUL. The error matches
// ErrInvalidMessage.
func ValidateMessageType(typ string) error {
	if typ == "" {
		return fmt.Errorf("%w: empty type", ErrInvalidMessage)
	}
	if err := validateName(typ); err != nil {
		return fmt.Errorf("%w: type: %w", ErrInvalidMessage, err)
	}
	return nil
}

// Prepare validates the message and returns it ready to store: an id
// generated when absent, data and metadata in canonical form (the form
// PostgreSQL's jsonb gives back, without white space, so that every backend
// returns the same bytes), empty data as {}, empty metadata as none. The
// error matches ErrInvalidMessage. A message whose canonical data and
// metadata together are larger than MessageSizeLimit is refused with a
// *MessageTooLargeError. Preparing stops as soon as the limit is passed, so
// a huge input costs no more memory than the limit (and what follows,
// metadata included, is not checked).
func (l Limits) Prepare(m NewMessage) (NewMessage, error) {
	if err := ValidateMessageType(m.Type); err != nil {
		return m, err
	}
	if m.ID == uuid.Nil {
		id, err := uuid.NewV7()
		if err != nil {
			return m, fmt.Errorf("%sgenerate message id: %w", errorPrefix, err)
		}
		m.ID = id
	}
	limit := l.MessageSizeLimit()
	tooLarge := func(size int64) error {
		return &MessageTooLargeError{Size: size, Limit: limit}
	}
	var err error
	var dataSize, metaSize int64
	if len(bytes.TrimSpace(m.Data)) == 0 {
		m.Data = json.RawMessage("{}")
		dataSize = 2
	} else if m.Data, dataSize, err = canonicalJSON(m.Data, limit); err != nil {
		if big, ok := err.(sizeError); ok {
			return m, tooLarge(int64(big))
		}
		return m, fmt.Errorf("%w: data is not valid JSON: %w", ErrInvalidMessage, err)
	}
	if limit >= 0 && dataSize > limit {
		return m, tooLarge(dataSize)
	}
	if len(bytes.TrimSpace(m.Metadata)) == 0 {
		m.Metadata = nil
	} else {
		rest := int64(-1)
		if limit >= 0 {
			rest = limit - dataSize
		}
		if m.Metadata, metaSize, err = canonicalJSON(m.Metadata, rest); err != nil {
			if big, ok := err.(sizeError); ok {
				return m, tooLarge(dataSize + int64(big))
			}
			return m, fmt.Errorf("%w: metadata is not valid JSON: %w", ErrInvalidMessage, err)
		}
	}
	if limit >= 0 && dataSize+metaSize > limit {
		return m, tooLarge(dataSize + metaSize)
	}
	return m, nil
}

// PrepareWrite checks everything a write is given, before anything is
// stored: the stream name (ErrInvalidStreamName), the expected version
// (ErrInvalidExpectedVersion), then the messages, each prepared (see
// Prepare) and limited on its own: at least one, no id twice
// (ErrInvalidMessage). It returns the messages ready to store.
func (l Limits) PrepareWrite(streamName string, msgs []NewMessage, expected ExpectedVersion) ([]NewMessage, error) {
	if err := ValidateStreamName(streamName); err != nil {
		return nil, err
	}
	if err := expected.Validate(); err != nil {
		return nil, err
	}
	return l.prepareBatch(msgs)
}

// prepareBatch prepares the messages of one write.
func (l Limits) prepareBatch(msgs []NewMessage) ([]NewMessage, error) {
	if len(msgs) == 0 {
		return nil, fmt.Errorf("%w: no messages", ErrInvalidMessage)
	}
	if len(msgs) == 1 {
		p, err := l.Prepare(msgs[0])
		if err != nil {
			return nil, err
		}
		return []NewMessage{p}, nil
	}
	out := make([]NewMessage, len(msgs))
	seen := make(map[uuid.UUID]struct{}, len(msgs))
	for i, m := range msgs {
		p, err := l.Prepare(m)
		if err != nil {
			return nil, Wrapf(err, "message %d", i)
		}
		if _, dup := seen[p.ID]; dup {
			return nil, fmt.Errorf("%w: message %d: id %s given twice", ErrInvalidMessage, i, p.ID)
		}
		seen[p.ID] = struct{}{}
		out[i] = p
	}
	return out, nil
}

// Times that every backend stores and reads back as they are: years 1 to
// 9999, to the microsecond.
var (
	minImportTime = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	maxImportTime = time.Date(9999, 12, 31, 23, 59, 59, 999_999_000, time.UTC)
)

// PrepareImport checks messages given to import (see ports.Importer)
// before anything is stored, and returns copies ready to store: type, data
// and metadata as Prepare makes them, time in UTC truncated to the
// microsecond. Each message needs a stream name (else the error matches
// ErrInvalidStreamName), an id of its own in the call (none is generated), a
// position not below 0, a global position from FirstGlobalPosition and
// above the previous message's, and a time within years 1 to 9999 (the zero
// time is one); otherwise the error matches ErrInvalidMessage.
func (l Limits) PrepareImport(msgs []Message) ([]Message, error) {
	out := make([]Message, len(msgs))
	seen := make(map[uuid.UUID]struct{}, len(msgs))
	for i, m := range msgs {
		if err := ValidateStreamName(m.StreamName); err != nil {
			return nil, Wrapf(err, "import message %d", i)
		}
		bad := func(format string, args ...any) error {
			return fmt.Errorf("%w: import message %d (%s): %s", ErrInvalidMessage, i, m.ID, fmt.Sprintf(format, args...))
		}
		if m.ID == uuid.Nil {
			return nil, bad("no id")
		}
		if _, dup := seen[m.ID]; dup {
			return nil, bad("id given twice")
		}
		seen[m.ID] = struct{}{}
		if m.Position < 0 {
			return nil, bad("position %d", m.Position)
		}
		if m.GlobalPosition < FirstGlobalPosition || i > 0 && m.GlobalPosition <= msgs[i-1].GlobalPosition {
			return nil, bad("global position %d is not above the previous one", m.GlobalPosition)
		}
		t := m.Time.UTC().Truncate(time.Microsecond)
		if t.Before(minImportTime) || t.After(maxImportTime) {
			return nil, bad("time %s is not within years 1 to 9999", m.Time)
		}
		p, err := l.Prepare(NewMessage{ID: m.ID, Type: m.Type, Data: m.Data, Metadata: m.Metadata})
		if err != nil {
			return nil, Wrapf(err, "import message %d", i)
		}
		m.Type, m.Data, m.Metadata, m.Time = p.Type, p.Data, p.Metadata, t
		out[i] = m
	}
	return out, nil
}

// WriteResult is where a written message was stored.
type WriteResult struct {
	Position       int64 `json:"position"`
	GlobalPosition int64 `json:"globalPosition"`
}
