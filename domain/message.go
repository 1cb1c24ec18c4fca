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
	// whose time order keeps the id index compact). Writing the same ID to
	// the same stream with the same type again is an idempotent retry.
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

// Prepare validates the message and returns it ready to store: an id
// generated when absent, data and metadata in canonical form (the form
// PostgreSQL's jsonb gives back, without white space, so that every backend
// returns the same bytes), empty data as {}, empty metadata as none.
// The error matches ErrInvalidMessage.
func (m NewMessage) Prepare() (NewMessage, error) {
	if m.Type == "" {
		return m, fmt.Errorf("%w: empty type", ErrInvalidMessage)
	}
	if err := validateName(m.Type); err != nil {
		return m, fmt.Errorf("%w: type: %w", ErrInvalidMessage, err)
	}
	if m.ID == uuid.Nil {
		id, err := uuid.NewV7()
		if err != nil {
			return m, fmt.Errorf("messagedb: generate message id: %w", err)
		}
		m.ID = id
	}
	var err error
	if len(bytes.TrimSpace(m.Data)) == 0 {
		m.Data = json.RawMessage("{}")
	} else if m.Data, err = canonicalJSON(m.Data); err != nil {
		return m, fmt.Errorf("%w: data is not valid JSON: %w", ErrInvalidMessage, err)
	}
	if len(bytes.TrimSpace(m.Metadata)) == 0 {
		m.Metadata = nil
	} else if m.Metadata, err = canonicalJSON(m.Metadata); err != nil {
		return m, fmt.Errorf("%w: metadata is not valid JSON: %w", ErrInvalidMessage, err)
	}
	return m, nil
}

// PrepareWrite checks everything a write is given, before anything is
// stored: the stream name (ErrInvalidStreamName), the expected version
// (ErrInvalidExpectedVersion), then the messages (see PrepareBatch). It
// returns the messages ready to store.
func PrepareWrite(streamName string, msgs []NewMessage, expected ExpectedVersion) ([]NewMessage, error) {
	if err := ValidateStreamName(streamName); err != nil {
		return nil, err
	}
	if err := expected.Validate(); err != nil {
		return nil, err
	}
	return PrepareBatch(msgs)
}

// PrepareBatch prepares the messages of one write: at least one, no id twice.
func PrepareBatch(msgs []NewMessage) ([]NewMessage, error) {
	if len(msgs) == 0 {
		return nil, fmt.Errorf("%w: no messages", ErrInvalidMessage)
	}
	if len(msgs) == 1 {
		p, err := msgs[0].Prepare()
		if err != nil {
			return nil, err
		}
		return []NewMessage{p}, nil
	}
	out := make([]NewMessage, len(msgs))
	seen := make(map[uuid.UUID]struct{}, len(msgs))
	for i, m := range msgs {
		p, err := m.Prepare()
		if err != nil {
			return nil, fmt.Errorf("message %d: %w", i, err)
		}
		if _, dup := seen[p.ID]; dup {
			return nil, fmt.Errorf("%w: message %d: id %s given twice", ErrInvalidMessage, i, p.ID)
		}
		seen[p.ID] = struct{}{}
		out[i] = p
	}
	return out, nil
}

// WriteResult is where a written message was stored.
type WriteResult struct {
	Position       int64 `json:"position"`
	GlobalPosition int64 `json:"globalPosition"`
}
