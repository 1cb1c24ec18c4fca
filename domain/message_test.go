package domain_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/messagedb-go/messagedb/domain"
)

func TestMDB001_1A_T6_MessageJSON(t *testing.T) {
	m := domain.Message{
		ID:             uuid.MustParse("0191e8a4-7c4e-7d2a-9f3b-6c5d4e3f2a1b"),
		StreamName:     "account-123",
		Type:           "Deposited",
		Position:       4,
		GlobalPosition: 99,
		Data:           json.RawMessage(`{"amount":12345678901234567890,"note":"日本"}`),
		Metadata:       json.RawMessage(`{"correlationStreamName":"transfer-9"}`),
		Time:           time.Date(2026, 11, 26, 5, 30, 0, 123456000, time.UTC),
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(b, &keys); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"id", "streamName", "type", "position", "globalPosition", "data", "metadata", "time"} {
		if _, ok := keys[k]; !ok {
			t.Errorf("JSON has no key %q: %s", k, b)
		}
	}
	if len(keys) != 8 {
		t.Errorf("JSON has %d keys, want 8: %s", len(keys), b)
	}
	var back domain.Message
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.ID != m.ID || back.StreamName != m.StreamName || back.Type != m.Type ||
		back.Position != m.Position || back.GlobalPosition != m.GlobalPosition || !back.Time.Equal(m.Time) ||
		!bytes.Equal(back.Data, m.Data) || !bytes.Equal(back.Metadata, m.Metadata) {
		t.Errorf("round trip:\n got %+v\nwant %+v", back, m)
	}
	if got := back.CorrelationStreamName(); got != "transfer-9" {
		t.Errorf("CorrelationStreamName() = %q", got)
	}
}

func TestMDB001_1A_T7_WriteResult(t *testing.T) {
	r := domain.WriteResult{Position: 3, GlobalPosition: 17}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"position":3,"globalPosition":17}` {
		t.Errorf("JSON = %s", b)
	}
	var back domain.WriteResult
	if err := json.Unmarshal(b, &back); err != nil || back != r {
		t.Errorf("round trip = %+v, %v", back, err)
	}
}

func TestNewMessagePrepare(t *testing.T) {
	p, err := domain.Limits{}.Prepare(domain.NewMessage{Type: "Opened", Data: json.RawMessage(" { \"a\" : [1, 2] } "), Metadata: json.RawMessage("\n")})
	if err != nil {
		t.Fatal(err)
	}
	if p.ID == uuid.Nil || p.ID.Version() != 7 {
		t.Errorf("generated id %s, want a UUIDv7", p.ID)
	}
	if string(p.Data) != `{"a":[1,2]}` || p.Metadata != nil {
		t.Errorf("Data %s, Metadata %s", p.Data, p.Metadata)
	}
	given := uuid.New()
	p, err = domain.Limits{}.Prepare(domain.NewMessage{ID: given, Type: "Opened"})
	if err != nil || p.ID != given || string(p.Data) != "{}" {
		t.Errorf("given id / empty data: %v %s %s", err, p.ID, p.Data)
	}
	bad := []domain.NewMessage{
		{Type: ""},
		{Type: "T", Data: json.RawMessage(`{"a":`)},
		{Type: "T", Data: json.RawMessage(`{} {}`)},
		{Type: "T", Metadata: json.RawMessage(`nope`)},
		{Type: "T", Data: json.RawMessage(`{"a":"\u0000"}`)},
		{Type: "T\x00"},
	}
	for _, m := range bad {
		if _, err := (domain.Limits{}).Prepare(m); !errors.Is(err, domain.ErrInvalidMessage) {
			t.Errorf("Prepare(%+v) = %v, want ErrInvalidMessage", m, err)
		}
	}
}

func TestPrepareWrite_Batch(t *testing.T) {
	if _, err := (domain.Limits{}).PrepareWrite("a-1", nil, domain.AnyVersion); !errors.Is(err, domain.ErrInvalidMessage) {
		t.Errorf("empty batch: %v", err)
	}
	id := uuid.New()
	if _, err := (domain.Limits{}).PrepareWrite("a-1", []domain.NewMessage{{ID: id, Type: "A"}, {ID: id, Type: "B"}}, domain.AnyVersion); !errors.Is(err, domain.ErrInvalidMessage) {
		t.Errorf("id twice: %v", err)
	}
	if _, err := (domain.Limits{}).PrepareWrite("a-1", []domain.NewMessage{{Type: "A"}, {Type: ""}}, domain.AnyVersion); !errors.Is(err, domain.ErrInvalidMessage) {
		t.Errorf("second invalid: %v", err)
	}
	out, err := domain.Limits{}.PrepareWrite("a-1", []domain.NewMessage{{Type: "A"}, {Type: "B"}}, domain.AnyVersion)
	if err != nil || len(out) != 2 || out[0].ID == out[1].ID || out[0].ID == uuid.Nil {
		t.Errorf("PrepareWrite = %+v, %v", out, err)
	}
}

func TestCorrelationStreamName(t *testing.T) {
	tests := map[string]string{
		``:                                   "",
		`null`:                               "",
		`[]`:                                 "",
		`{"correlationStreamName":7}`:        "",
		`{"other":"x"}`:                      "",
		`{"correlationStreamName":"acct-1"}`: "acct-1",
		`{"correlationstreamname":"acct-1"}`: "",
		`{"a":{"correlationStreamName":"x-1"},"correlationStreamName":"acct-2"}`: "acct-2",
		`{"correlationStreamName":"acct-\u0031"}`:                                "acct-1",
		`{"correlationStreamName":"a-1","correlationStreamName":"b-2"}`:          "b-2",
		`{"correlationStreamName":"a-1","correlationStreamName":7}`:              "",
		`{"correlationStreamName":"a-1","correlationStreamName":null}`:           "",
	}
	for in, want := range tests {
		if got := domain.CorrelationStreamName(json.RawMessage(in)); got != want {
			t.Errorf("CorrelationStreamName(%s) = %q, want %q", in, got, want)
		}
		// The stored (canonical) metadata names the same stream.
		if p, err := (domain.Limits{}).Prepare(domain.NewMessage{Type: "T", Metadata: json.RawMessage(in)}); err == nil {
			if got := domain.CorrelationStreamName(p.Metadata); got != want {
				t.Errorf("CorrelationStreamName(%s) = %q, want %q", p.Metadata, got, want)
			}
		}
	}
}

func BenchmarkPrepare(b *testing.B) {
	m := domain.NewMessage{
		Type:     "Deposited",
		Data:     json.RawMessage(`{"accountId":"123","amount":100,"time":"2026-11-26T05:30:00Z","note":"salary"}`),
		Metadata: json.RawMessage(`{"correlationStreamName":"transfer-9","causationMessageStreamName":"account:command-123"}`),
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := (domain.Limits{}).Prepare(m); err != nil {
			b.Fatal(err)
		}
	}
}

func TestPrepareWriteChecksInOrder(t *testing.T) {
	ok := []domain.NewMessage{{Type: "A"}}
	if _, err := (domain.Limits{}).PrepareWrite("account", ok, domain.AnyVersion); !errors.Is(err, domain.ErrInvalidStreamName) {
		t.Errorf("category as stream: %v", err)
	}
	if _, err := (domain.Limits{}).PrepareWrite("account-1", ok, domain.ExpectVersion(-2)); !errors.Is(err, domain.ErrInvalidExpectedVersion) {
		t.Errorf("expected version -2: %v", err)
	}
	if _, err := (domain.Limits{}).PrepareWrite("account-1", []domain.NewMessage{{}}, domain.AnyVersion); !errors.Is(err, domain.ErrInvalidMessage) {
		t.Errorf("empty type: %v", err)
	}
	out, err := domain.Limits{}.PrepareWrite("account-1", ok, domain.ExpectVersion(domain.NoStream))
	if err != nil || len(out) != 1 || out[0].ID.Version() != 7 {
		t.Errorf("PrepareWrite = %+v, %v", out, err)
	}
}

func TestPrepareImport(t *testing.T) {
	east := time.FixedZone("east", 3600)
	valid := func() domain.Message {
		return domain.Message{ID: uuid.New(), StreamName: "account-1", Type: "Opened", Position: 0, GlobalPosition: 5,
			Data: json.RawMessage(` {"b":1, "a":2} `), Metadata: json.RawMessage(" "),
			Time: time.Date(2024, 1, 1, 1, 0, 0, 123_456_789, east)}
	}
	in := []domain.Message{valid(), valid()}
	in[1].Position, in[1].GlobalPosition, in[1].Time = 1, 9, time.Time{}
	out, err := domain.Limits{}.PrepareImport(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 2 {
		t.Fatalf("PrepareImport returned %d messages, want 2", len(out))
	}
	got := out[0]
	if got.ID != in[0].ID || got.StreamName != "account-1" || got.Type != "Opened" || got.Position != 0 || got.GlobalPosition != 5 {
		t.Errorf("PrepareImport changed the message: %+v", got)
	}
	if string(got.Data) != `{"a":2,"b":1}` || got.Metadata != nil {
		t.Errorf("Data %s, Metadata %q, want canonical data and no metadata", got.Data, got.Metadata)
	}
	if want := time.Date(2024, 1, 1, 0, 0, 0, 123_456_000, time.UTC); got.Time != want {
		t.Errorf("Time %s, want %s (UTC, to the microsecond)", got.Time, want)
	}
	if !out[1].Time.IsZero() {
		t.Errorf("zero time became %s", out[1].Time)
	}
	if string(in[0].Data) != ` {"b":1, "a":2} ` {
		t.Errorf("PrepareImport changed its input: %s", in[0].Data)
	}

	bad := map[string]struct {
		change func(ms []domain.Message)
		want   error
	}{
		"category name":        {func(ms []domain.Message) { ms[1].StreamName = "account" }, domain.ErrInvalidStreamName},
		"no id":                {func(ms []domain.Message) { ms[1].ID = uuid.Nil }, domain.ErrInvalidMessage},
		"id twice":             {func(ms []domain.Message) { ms[1].ID = ms[0].ID }, domain.ErrInvalidMessage},
		"negative position":    {func(ms []domain.Message) { ms[0].Position = -1 }, domain.ErrInvalidMessage},
		"global position 0":    {func(ms []domain.Message) { ms[0].GlobalPosition = 0 }, domain.ErrInvalidMessage},
		"same global position": {func(ms []domain.Message) { ms[1].GlobalPosition = ms[0].GlobalPosition }, domain.ErrInvalidMessage},
		"year 10000":           {func(ms []domain.Message) { ms[1].Time = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }, domain.ErrInvalidMessage},
		"year 0":               {func(ms []domain.Message) { ms[1].Time = time.Date(0, 12, 31, 23, 59, 59, 0, time.UTC) }, domain.ErrInvalidMessage},
		"no type":              {func(ms []domain.Message) { ms[1].Type = "" }, domain.ErrInvalidMessage},
		"data not JSON":        {func(ms []domain.Message) { ms[1].Data = json.RawMessage(`{`) }, domain.ErrInvalidMessage},
		"too large":            {func(ms []domain.Message) { ms[1].Data = json.RawMessage(`"` + strings.Repeat("x", 20) + `"`) }, domain.ErrMessageTooLarge},
	}
	for name, c := range bad {
		ms := []domain.Message{valid(), valid()}
		ms[1].Position, ms[1].GlobalPosition = 1, 9
		c.change(ms)
		if _, err := (domain.Limits{MaxMessageSize: 16}).PrepareImport(ms); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
	// The edges of the years kept.
	edges := []domain.Message{valid(), valid()}
	edges[0].Time = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	edges[1].Position, edges[1].GlobalPosition = 1, 9
	edges[1].Time = time.Date(9999, 12, 31, 23, 59, 59, 999_999_999, time.UTC)
	if _, err := (domain.Limits{}).PrepareImport(edges); err != nil {
		t.Errorf("years 1 and 9999: %v", err)
	}
}
