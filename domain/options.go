package domain

import "fmt"

// Read defaults, as in Message DB.
const (
	// DefaultBatchSize is the number of messages a read returns when no
	// batch size is given.
	DefaultBatchSize int64 = 1000
	// Unlimited as a batch size returns every message from the position on.
	Unlimited int64 = -1
	// FirstGlobalPosition is where a category read starts by default.
	FirstGlobalPosition int64 = 1
)

// GetOpts are the options of a stream read. The zero value reads from
// position 0, DefaultBatchSize messages.
type GetOpts struct {
	// Position is the first stream position to return (inclusive).
	Position int64
	// BatchSize is the most messages to return: nil means DefaultBatchSize,
	// Unlimited (-1) means no limit, 0 means no messages. Set it with
	// new(int64(10)).
	BatchSize *int64
}

// Validate reports a negative position (ErrInvalidPosition) or a batch size
// below -1 (ErrInvalidBatchSize).
func (o GetOpts) Validate() error {
	if o.Position < 0 {
		return fmt.Errorf("%w: %d (must be 0 or more)", ErrInvalidPosition, o.Position)
	}
	return validateBatchSize(o.BatchSize)
}

// Limit returns the batch size to apply: DefaultBatchSize when none was given,
// Unlimited (-1) for no limit.
func (o GetOpts) Limit() int64 { return limit(o.BatchSize) }

// ConsumerGroup selects the streams of one member of a consumer group: a
// stream belongs to member abs(Hash64(CardinalID(stream))) % Size.
type ConsumerGroup struct {
	Member int64 // 0 ≤ Member < Size
	Size   int64 // 1 or more
}

// Validate reports a size below 1 or a member outside [0, Size), matching
// ErrInvalidConsumerGroup.
func (g ConsumerGroup) Validate() error {
	if g.Size < 1 {
		return fmt.Errorf("%w: size %d (must be 1 or more)", ErrInvalidConsumerGroup, g.Size)
	}
	if g.Member < 0 || g.Member >= g.Size {
		return fmt.Errorf("%w: member %d (must be from 0 to size-1, %d)", ErrInvalidConsumerGroup, g.Member, g.Size-1)
	}
	return nil
}

// CategoryOpts are the options of a category read. The zero value reads from
// global position 1, DefaultBatchSize messages, every stream, no correlation
// filter.
type CategoryOpts struct {
	// Position is the first global position to return (inclusive); 0 means
	// FirstGlobalPosition.
	Position int64
	// BatchSize is as in GetOpts: nil means DefaultBatchSize, Unlimited (-1)
	// no limit, 0 no messages.
	BatchSize *int64
	// Correlation keeps only messages whose metadata's correlationStreamName
	// is in this category. It must be a category (no "-"). Empty means no
	// filter.
	Correlation string
	// ConsumerGroup keeps only the streams of one member; nil means all.
	ConsumerGroup *ConsumerGroup
}

// Validate reports a negative position, a batch size below -1, an invalid
// consumer group or a correlation that is not a category. Each error matches
// ErrInvalidOptions and its finer sentinel.
func (o CategoryOpts) Validate() error {
	if o.Position < 0 {
		return fmt.Errorf("%w: %d (must be 0 or more)", ErrInvalidPosition, o.Position)
	}
	if err := validateBatchSize(o.BatchSize); err != nil {
		return err
	}
	if o.Correlation != "" {
		if err := validateName(o.Correlation); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidCorrelation, err)
		}
		if !IsCategory(o.Correlation) {
			return fmt.Errorf("%w: must be a category: %q", ErrInvalidCorrelation, o.Correlation)
		}
	}
	if o.ConsumerGroup != nil {
		return o.ConsumerGroup.Validate()
	}
	return nil
}

// AllOpts are the options of a read of every stream of a namespace
// (ports.MessageStore.GetAllMessages). The zero value reads from global
// position 1, DefaultBatchSize messages.
type AllOpts struct {
	// Position is the first global position to return (inclusive); 0 means
	// FirstGlobalPosition.
	Position int64
	// BatchSize is as in GetOpts: nil means DefaultBatchSize, Unlimited (-1)
	// no limit, 0 no messages.
	BatchSize *int64
}

// Validate reports a negative position (ErrInvalidPosition) or a batch size
// below -1 (ErrInvalidBatchSize).
func (o AllOpts) Validate() error {
	return CategoryOpts{Position: o.Position, BatchSize: o.BatchSize}.Validate()
}

// StartPosition returns the first global position to read: Position, or
// FirstGlobalPosition when Position is 0.
func (o AllOpts) StartPosition() int64 {
	return CategoryOpts{Position: o.Position}.StartPosition()
}

// Limit returns the batch size to apply: DefaultBatchSize when none was given,
// Unlimited (-1) for no limit.
func (o AllOpts) Limit() int64 { return limit(o.BatchSize) }

// ValidateTypeFilter checks the message type a read of the last message
// filters on: "" (no filter) or a name that is valid UTF-8 without NUL, as
// every written type is. Checking it here keeps backends alike: PostgreSQL
// refuses such text, SQLite would only find no message. The error matches
// ErrInvalidOptions.
func ValidateTypeFilter(messageType string) error {
	if messageType == "" {
		return nil
	}
	if err := validateName(messageType); err != nil {
		return fmt.Errorf("%w: message type: %w", ErrInvalidOptions, err)
	}
	return nil
}

// StartPosition returns the first global position to read: Position, or
// FirstGlobalPosition when Position is 0.
func (o CategoryOpts) StartPosition() int64 {
	if o.Position < FirstGlobalPosition {
		return FirstGlobalPosition
	}
	return o.Position
}

// Limit returns the batch size to apply: DefaultBatchSize when none was given,
// Unlimited (-1) for no limit.
func (o CategoryOpts) Limit() int64 { return limit(o.BatchSize) }

func validateBatchSize(b *int64) error {
	if b != nil && *b < Unlimited {
		return fmt.Errorf("%w: %d (must be -1 for no limit, or 0 or more)", ErrInvalidBatchSize, *b)
	}
	return nil
}

func limit(b *int64) int64 {
	if b == nil {
		return DefaultBatchSize
	}
	return *b
}
