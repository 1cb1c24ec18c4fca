package benchsuite_test

import (
	"testing"

	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/internal/benchsuite"
)

// TestFixtureMessages checks the layout the read benchmarks rely on: every
// stream gapless from position 0, global positions consecutive, streams
// interleaved, and chunks that continue where the previous one stopped.
func TestFixtureMessages(t *testing.T) {
	const n = 3 * 10 * benchsuite.FixtureStreams // three turns of every stream
	var all []domain.Message
	for first := int64(1); first <= n; first += 7_000 {
		all = append(all, benchsuite.FixtureMessages(first, min(7_000, n-first+1))...)
	}
	if len(all) != n {
		t.Fatalf("got %d messages, want %d", len(all), n)
	}
	next := map[string]int64{}
	ids := map[string]bool{}
	for i, m := range all {
		if m.GlobalPosition != int64(i+1) {
			t.Fatalf("message %d: global position %d, want %d", i, m.GlobalPosition, i+1)
		}
		if err := domain.ValidateStreamName(m.StreamName); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if m.Position != next[m.StreamName] {
			t.Fatalf("message %d in %s: position %d, want %d (gapless)", i, m.StreamName, m.Position, next[m.StreamName])
		}
		next[m.StreamName]++
		if ids[m.ID.String()] {
			t.Fatalf("message %d: id %s given twice", i, m.ID)
		}
		ids[m.ID.String()] = true
	}
	if len(next) != benchsuite.FixtureStreams {
		t.Errorf("got %d streams, want %d", len(next), benchsuite.FixtureStreams)
	}
	for s, v := range next {
		if v != 30 {
			t.Errorf("stream %s has %d messages, want 30", s, v)
		}
	}
	// Ten in a row per stream, then the next stream.
	if all[9].StreamName != all[0].StreamName || all[10].StreamName == all[0].StreamName {
		t.Errorf("streams %s, %s, %s at global positions 1, 10, 11: want runs of 10", all[0].StreamName, all[9].StreamName, all[10].StreamName)
	}
	if all[100].StreamName != benchsuite.FixtureStream(10) {
		t.Errorf("global position 101 is in %s, want %s", all[100].StreamName, benchsuite.FixtureStream(10))
	}
}
