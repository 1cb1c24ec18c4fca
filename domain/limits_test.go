package domain_test

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/messagedb-go/messagedb/domain"
)

// dataOfSize returns JSON data whose canonical form is exactly n bytes
// (n ≥ 8): {"s":"xx…"}.
func dataOfSize(n int) json.RawMessage {
	return json.RawMessage(`{"s":"` + strings.Repeat("x", n-8) + `"}`)
}

func TestLimits_MessageSizeLimit(t *testing.T) {
	for _, tc := range []struct{ given, want int64 }{
		{0, domain.DefaultMaxMessageSize},
		{-1, -1},
		{-5, -1},
		{1, 1},
		{64 << 20, 64 << 20},
	} {
		if got := (domain.Limits{MaxMessageSize: tc.given}).MessageSizeLimit(); got != tc.want {
			t.Errorf("Limits{%d}.MessageSizeLimit() = %d, want %d", tc.given, got, tc.want)
		}
	}
	// The largest limit is no limit in practice, and does not overflow.
	if _, err := (domain.Limits{MaxMessageSize: math.MaxInt64}).Prepare(domain.NewMessage{Type: "T", Data: dataOfSize(100), Metadata: dataOfSize(10)}); err != nil {
		t.Errorf("Limits{MaxInt64}: %v", err)
	}
	if domain.DefaultMaxMessageSize != 1<<20 {
		t.Errorf("DefaultMaxMessageSize = %d, want 1 MiB", domain.DefaultMaxMessageSize)
	}
}

// wantTooLarge checks that err is a *MessageTooLargeError with the given
// limit and a size above it, matching both sentinels.
func wantTooLarge(t *testing.T, err error, limit int64, how string) *domain.MessageTooLargeError {
	t.Helper()
	if !errors.Is(err, domain.ErrMessageTooLarge) || !errors.Is(err, domain.ErrInvalidMessage) {
		t.Fatalf("%s: %v, want ErrMessageTooLarge and ErrInvalidMessage", how, err)
	}
	var e *domain.MessageTooLargeError
	if !errors.As(err, &e) {
		t.Fatalf("%s: %v is not a *MessageTooLargeError", how, err)
	}
	if e.Limit != limit || e.Size <= limit {
		t.Errorf("%s: Size %d, Limit %d; want Limit %d and Size above it", how, e.Size, e.Limit, limit)
	}
	return e
}

func TestLimits_Prepare_Size(t *testing.T) {
	l := domain.Limits{MaxMessageSize: 100}

	// Exactly at the limit: data alone, and data with metadata.
	p, err := l.Prepare(domain.NewMessage{Type: "T", Data: dataOfSize(100)})
	if err != nil || len(p.Data)+len(p.Metadata) != 100 {
		t.Fatalf("Prepare(100 bytes) = %d bytes, %v; want accepted", len(p.Data), err)
	}
	p, err = l.Prepare(domain.NewMessage{Type: "T", Data: dataOfSize(87), Metadata: json.RawMessage(`{"abcdefg":1}`)})
	if err != nil || len(p.Data)+len(p.Metadata) != 100 {
		t.Fatalf("Prepare(87+13 bytes) = %d bytes, %v; want accepted", len(p.Data)+len(p.Metadata), err)
	}

	// One byte over, in data, in metadata, or in both together.
	e := wantTooLarge(t, errOf(l.Prepare(domain.NewMessage{Type: "T", Data: dataOfSize(101)})), 100, "data of 101")
	if e.Size != 101 {
		t.Errorf("Size = %d, want 101", e.Size)
	}
	e = wantTooLarge(t, errOf(l.Prepare(domain.NewMessage{Type: "T", Data: dataOfSize(88), Metadata: json.RawMessage(`{"abcdefg":1}`)})), 100, "88+13")
	if e.Size != 101 {
		t.Errorf("Size = %d, want 101", e.Size)
	}
	wantTooLarge(t, errOf(l.Prepare(domain.NewMessage{Type: "T", Metadata: dataOfSize(99)})), 100, "{} and metadata of 99")

	// The canonical form counts, not the text given: white space does not,
	// and an exponent does by its digits.
	if _, err := l.Prepare(domain.NewMessage{Type: "T", Data: json.RawMessage(`{"s":` + strings.Repeat(" ", 1000) + `1}`)}); err != nil {
		t.Errorf("white space counted: %v", err)
	}
	e = wantTooLarge(t, errOf(l.Prepare(domain.NewMessage{Type: "T", Data: json.RawMessage(`[1e1000]`)})), 100, "1e1000")
	if e.Size > 2000 {
		t.Errorf("Size %d: preparing should stop once past the limit", e.Size)
	}
	// Duplicate keys count, whichever member wins.
	wantTooLarge(t, errOf(l.Prepare(domain.NewMessage{Type: "T", Data: json.RawMessage(`{"a":` + string(dataOfSize(100)) + `,"a":1}`)})), 100, "duplicate key")

	// No limit, and the default.
	huge := domain.NewMessage{Type: "T", Data: dataOfSize(int(domain.DefaultMaxMessageSize) + 1)}
	if _, err := (domain.Limits{MaxMessageSize: -1}).Prepare(huge); err != nil {
		t.Errorf("no limit: %v", err)
	}
	wantTooLarge(t, errOf(domain.Limits{}.Prepare(huge)), domain.DefaultMaxMessageSize, "default limit")
	wantTooLarge(t, errOf(domain.Limits{}.PrepareWrite("a-1", []domain.NewMessage{huge}, domain.AnyVersion)), domain.DefaultMaxMessageSize, "PrepareWrite")
}

func TestLimits_PrepareWrite_EachMessage(t *testing.T) {
	l := domain.Limits{MaxMessageSize: 50}
	ok := domain.NewMessage{Type: "T", Data: dataOfSize(50)}
	big := domain.NewMessage{Type: "T", Data: dataOfSize(51)}
	if _, err := l.PrepareWrite("a-1", []domain.NewMessage{ok, ok, ok}, domain.AnyVersion); err != nil {
		t.Errorf("three messages at the limit: %v (each message is limited on its own)", err)
	}
	err := errOf(l.PrepareWrite("a-1", []domain.NewMessage{ok, big}, domain.AnyVersion))
	wantTooLarge(t, err, 50, "second message")
	if !strings.Contains(err.Error(), "message 1") {
		t.Errorf("error %q does not name message 1", err)
	}
}

func errOf[T any](_ T, err error) error { return err }

func TestPrepare_Depth(t *testing.T) {
	nest := func(n int) json.RawMessage {
		return json.RawMessage(strings.Repeat("[", n) + strings.Repeat("]", n))
	}
	nestObj := func(n int) json.RawMessage {
		return json.RawMessage(strings.Repeat(`{"a":`, n) + "1" + strings.Repeat("}", n))
	}
	for _, data := range []json.RawMessage{nest(domain.MaxJSONDepth), nestObj(domain.MaxJSONDepth)} {
		p, err := domain.Limits{}.Prepare(domain.NewMessage{Type: "T", Data: data})
		if err != nil || string(p.Data) != string(data) {
			t.Errorf("depth %d: %v", domain.MaxJSONDepth, err)
		}
		if _, err := (domain.Limits{}).Prepare(domain.NewMessage{Type: "T", Data: json.RawMessage("{}"), Metadata: data}); err != nil {
			t.Errorf("metadata of depth %d: %v", domain.MaxJSONDepth, err)
		}
	}
	for _, data := range []json.RawMessage{
		nest(domain.MaxJSONDepth + 1),
		nestObj(domain.MaxJSONDepth + 1),
		// A million open brackets: refused at depth 1001, without
		// recursing further or reading on.
		json.RawMessage(strings.Repeat("[", 1_000_000)),
		json.RawMessage(strings.Repeat(`{"a":[`, 500_000)),
	} {
		_, err := domain.Limits{}.Prepare(domain.NewMessage{Type: "T", Data: data})
		if !errors.Is(err, domain.ErrInvalidMessage) || !strings.Contains(err.Error(), "nested deeper than 1000") {
			t.Errorf("%.20s… (%d bytes): %v, want ErrInvalidMessage for nesting", data, len(data), err)
		}
		_, err = domain.Limits{}.Prepare(domain.NewMessage{Type: "T", Metadata: data})
		if !errors.Is(err, domain.ErrInvalidMessage) {
			t.Errorf("metadata %.20s…: %v, want ErrInvalidMessage", data, err)
		}
	}
}

// Invalid UTF-8 is refused wherever text is given, so that SQLite (which
// would store it) and PostgreSQL (which refuses it) behave alike.
func TestInvalidUTF8_Refused(t *testing.T) {
	for name, m := range map[string]domain.NewMessage{
		"Type":            {Type: "T\xff"},
		"DataString":      {Type: "T", Data: json.RawMessage("{\"a\":\"\xc3\x28\"}")},
		"DataKey":         {Type: "T", Data: json.RawMessage("{\"\xed\xa0\x80\":1}")}, // an encoded surrogate
		"MetadataString":  {Type: "T", Metadata: json.RawMessage("[\"\xff\"]")},
		"DataOverlong":    {Type: "T", Data: json.RawMessage("[\"\xc0\xaf\"]")},
		"DataOutsideText": {Type: "T", Data: json.RawMessage("[1]\xff")},
	} {
		if _, err := (domain.Limits{}).Prepare(m); !errors.Is(err, domain.ErrInvalidMessage) {
			t.Errorf("%s: %v, want ErrInvalidMessage", name, err)
		}
	}
	for _, name := range []string{"a-\xff", "\xff-1", "a-1\xc3"} {
		if _, err := (domain.Limits{}).PrepareWrite(name, []domain.NewMessage{{Type: "T"}}, domain.AnyVersion); !errors.Is(err, domain.ErrInvalidStreamName) {
			t.Errorf("stream %q: %v, want ErrInvalidStreamName", name, err)
		}
	}
	if err := (domain.CategoryOpts{Correlation: "a\xff"}).Validate(); !errors.Is(err, domain.ErrInvalidCorrelation) {
		t.Errorf("correlation: %v, want ErrInvalidCorrelation", err)
	}
}

func TestValidateTypeFilter(t *testing.T) {
	for _, typ := range []string{"", "Deposited", "a'b;--", "Ünïcødé"} {
		if err := domain.ValidateTypeFilter(typ); err != nil {
			t.Errorf("ValidateTypeFilter(%q) = %v, want nil", typ, err)
		}
	}
	for _, typ := range []string{"T\xff", "T\x00", "\xc3"} {
		if err := domain.ValidateTypeFilter(typ); !errors.Is(err, domain.ErrInvalidOptions) {
			t.Errorf("ValidateTypeFilter(%q) = %v, want ErrInvalidOptions", typ, err)
		}
	}
}

func TestErrClosed(t *testing.T) {
	if domain.ErrClosed == nil || domain.ErrClosed.Error() != "messagedb: store closed" {
		t.Errorf("ErrClosed = %v", domain.ErrClosed)
	}
}

// BenchmarkPrepare_DeepAndLarge prepares the costliest shape within the
// limits: nearly 1 MiB nested MaxJSONDepth deep in objects whose keys are
// out of order, so that every one of them is reordered.
func BenchmarkPrepare_DeepAndLarge(b *testing.B) {
	n := domain.MaxJSONDepth
	inner := `"` + strings.Repeat("x", int(domain.DefaultMaxMessageSize)-13*n-10) + `"`
	m := domain.NewMessage{Type: "T", Data: json.RawMessage(strings.Repeat(`{"bb":`, n) + inner + strings.Repeat(`,"a":1}`, n))}
	b.SetBytes(int64(len(m.Data)))
	for b.Loop() {
		if _, err := (domain.Limits{}).Prepare(m); err != nil {
			b.Fatal(err)
		}
	}
}
