package benchsuite

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/messagedb-go/messagedb/domain"
)

// The read fixture: FixtureSize messages in the category FixtureCategory,
// FixtureStreams streams of FixtureSize/FixtureStreams messages each.
const (
	FixtureCategory = "bench"
	FixtureSize     = 100_000
	FixtureStreams  = 1_000
	// fixtureRun is how many consecutive global positions one stream gets
	// before the next stream's turn.
	fixtureRun = 10
)

// Payload of every benchmark message: a realistic small event.
var (
	Data     = json.RawMessage(`{"accountId":"6d1c3b0e","amount":1250,"currency":"EUR","note":"monthly rent"}`)
	Metadata = json.RawMessage(`{"correlationStreamName":"payment-42","traceId":"c0ffee"}`)
)

// NewMessage returns the message the write benchmarks write.
func NewMessage() domain.NewMessage {
	return domain.NewMessage{Type: "Deposited", Data: Data, Metadata: Metadata}
}

// FixtureStream returns the name of the fixture's k-th stream.
func FixtureStream(k int) string {
	return fmt.Sprintf("%s-%d", FixtureCategory, k)
}

// FixtureMessages returns the fixture's messages with global positions
// first to first+n-1 (the first is 1), ready for ports.Importer. Streams
// take turns, fixtureRun messages at a time, in stream order: global
// positions 1-10 go to stream 0 at positions 0-9, 11-20 to stream 1, ...,
// then stream 0 again at positions 10-19 after the last stream's turn. So
// a category read of 100 crosses ten streams, and consumer group members
// see interleaved streams, as in a live category.
func FixtureMessages(first, n int64) []domain.Message {
	msgs := make([]domain.Message, 0, n)
	now := time.Now().UTC()
	for gp := first; gp < first+n; gp++ {
		i := gp - 1
		turn := i / fixtureRun
		stream := turn % FixtureStreams
		position := (turn/FixtureStreams)*fixtureRun + i%fixtureRun
		msgs = append(msgs, domain.Message{
			ID:             uuid.New(),
			StreamName:     FixtureStream(int(stream)),
			Type:           "Deposited",
			Position:       position,
			GlobalPosition: gp,
			Data:           Data,
			Metadata:       Metadata,
			Time:           now,
		})
	}
	return msgs
}
