package domain_test

import (
	"bytes"
	"encoding/json"
	"errors"
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
	p, err := domain.NewMessage{Type: "Opened", Data: json.RawMessage(" { \"a\" : [1, 2] } "), Metadata: json.RawMessage("\n")}.Prepare()
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
	p, err = domain.NewMessage{ID: given, Type: "Opened"}.Prepare()
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
		if _, err := m.Prepare(); !errors.Is(err, domain.ErrInvalidMessage) {
			t.Errorf("Prepare(%+v) = %v, want ErrInvalidMessage", m, err)
		}
	}
}

func TestPrepareBatch(t *testing.T) {
	if _, err := domain.PrepareBatch(nil); !errors.Is(err, domain.ErrInvalidMessage) {
		t.Errorf("empty batch: %v", err)
	}
	id := uuid.New()
	if _, err := domain.PrepareBatch([]domain.NewMessage{{ID: id, Type: "A"}, {ID: id, Type: "B"}}); !errors.Is(err, domain.ErrInvalidMessage) {
		t.Errorf("id twice: %v", err)
	}
	if _, err := domain.PrepareBatch([]domain.NewMessage{{Type: "A"}, {Type: ""}}); !errors.Is(err, domain.ErrInvalidMessage) {
		t.Errorf("second invalid: %v", err)
	}
	out, err := domain.PrepareBatch([]domain.NewMessage{{Type: "A"}, {Type: "B"}})
	if err != nil || len(out) != 2 || out[0].ID == out[1].ID || out[0].ID == uuid.Nil {
		t.Errorf("PrepareBatch = %+v, %v", out, err)
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
		if p, err := (domain.NewMessage{Type: "T", Metadata: json.RawMessage(in)}).Prepare(); err == nil {
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
		if _, err := m.Prepare(); err != nil {
			b.Fatal(err)
		}
	}
}

func TestPrepareWriteChecksInOrder(t *testing.T) {
	ok := []domain.NewMessage{{Type: "A"}}
	if _, err := domain.PrepareWrite("account", ok, domain.AnyVersion); !errors.Is(err, domain.ErrInvalidStreamName) {
		t.Errorf("category as stream: %v", err)
	}
	if _, err := domain.PrepareWrite("account-1", ok, domain.ExpectVersion(-2)); !errors.Is(err, domain.ErrInvalidExpectedVersion) {
		t.Errorf("expected version -2: %v", err)
	}
	if _, err := domain.PrepareWrite("account-1", []domain.NewMessage{{}}, domain.AnyVersion); !errors.Is(err, domain.ErrInvalidMessage) {
		t.Errorf("empty type: %v", err)
	}
	out, err := domain.PrepareWrite("account-1", ok, domain.ExpectVersion(domain.NoStream))
	if err != nil || len(out) != 1 || out[0].ID.Version() != 7 {
		t.Errorf("PrepareWrite = %+v, %v", out, err)
	}
}
