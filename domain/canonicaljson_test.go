package domain_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/messagedb-go/messagedb/domain"
)

// jsonbCases are JSON inputs and the text PostgreSQL 15 gives back for
// them as jsonb, without white space outside strings. The PostgreSQL
// adapter's tests check the same cases against a live server.
var jsonbCases = []struct{ in, want string }{
	{`{"b":1,"a":2,"aa":3,"A":4}`, `{"A":4,"a":2,"b":1,"aa":3}`},
	{`{"a":1,"a":2}`, `{"a":2}`},
	{`[1.0,1.50,1e2,1E+2,1.5e3,1e-2,1.50e1,-0,-0.0,0.000,12345678901234567890,-1.2e-3,0e10,100e-2]`,
		`[1.0,1.50,100,100,1500,0.01,15.0,0,0.0,0.000,12345678901234567890,-0.0012,0,1.00]`},
	{`{"s":"\u00e9\/\"\\\b\f\n\r\t\u0001\u001f\u007f\ud83d\ude00 ü"}`, "{\"s\":\"é/\\\"\\\\\\b\\f\\n\\r\\t\\u0001\\u001f\x7f😀 ü\"}"},
	{`{"nested":{"z":[{"y":1,"x":2}],"é":true,"e":false,"n":null}}`, `{"nested":{"e":false,"n":null,"z":[{"x":2,"y":1}],"é":true}}`},
	{`1e3`, `1000`},
	{` "just a string" `, `"just a string"`},
	{`[ ]`, `[]`},
	{"{\n}", `{}`},
	{`{"ab":1,"b":2,"ba":3,"é":4,"z":5}`, `{"b":2,"z":5,"ab":1,"ba":3,"é":4}`},
}

func TestPrepareCanonicalJSON(t *testing.T) {
	for _, tc := range jsonbCases {
		m, err := domain.Limits{}.Prepare(domain.NewMessage{Type: "T", Data: json.RawMessage(tc.in), Metadata: json.RawMessage(tc.in)})
		if err != nil {
			t.Errorf("Prepare(%s) = %v", tc.in, err)
			continue
		}
		if string(m.Data) != tc.want || string(m.Metadata) != tc.want {
			t.Errorf("Prepare(%s):\n got %s\nwant %s", tc.in, m.Data, tc.want)
		}
		// Canonical form is a fixed point.
		again, err := domain.Limits{}.Prepare(domain.NewMessage{Type: "T", Data: m.Data})
		if err != nil || string(again.Data) != tc.want {
			t.Errorf("Prepare is not idempotent on %s: %s, %v", tc.want, again.Data, err)
		}
	}
}

func TestPrepareRefusesWhatJSONBRefuses(t *testing.T) {
	for _, in := range []string{
		`{"a":"\u0000"}`, `"\ud800"`, `"\udc00x"`, `1e1001`, `1e-1001`, `1e99999999999`,
		"\"\xff\"", `{"a":1`, `[1,]`, `{} {}`, `nan`, `01`, `{"a" 1}`,
	} {
		_, err := domain.Limits{}.Prepare(domain.NewMessage{Type: "T", Data: json.RawMessage(in)})
		if !errors.Is(err, domain.ErrInvalidMessage) {
			t.Errorf("Prepare(%q) = %v, want ErrInvalidMessage", in, err)
		}
	}
	big := `1e1000`
	m, err := domain.Limits{}.Prepare(domain.NewMessage{Type: "T", Data: json.RawMessage(big)})
	if err != nil || string(m.Data) != "1"+strings.Repeat("0", 1000) {
		t.Errorf("Prepare(1e1000) = %.20s…, %v", m.Data, err)
	}
}

var jsonbRefusal = regexp.MustCompile(`u0000|surrogate|exponent|nested|UTF-8`)

func TestPrepareAcceptsReplacementCharacter(t *testing.T) {
	m, err := domain.Limits{}.Prepare(domain.NewMessage{Type: "T", Data: json.RawMessage(`["\ufffd","�"]`)})
	if err != nil || string(m.Data) != "[\"\uFFFD\",\"\uFFFD\"]" {
		t.Errorf("Prepare = %s, %v", m.Data, err)
	}
}

func FuzzCanonicalJSON(f *testing.F) {
	for _, tc := range jsonbCases {
		f.Add([]byte(tc.in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(bytes.TrimSpace(b)) == 0 {
			return // empty data means {}
		}
		m, err := domain.Limits{}.Prepare(domain.NewMessage{Type: "T", Data: b})
		if err != nil {
			if !errors.Is(err, domain.ErrInvalidMessage) {
				t.Fatalf("%q refused with %v, not ErrInvalidMessage", b, err)
			}
			// Refuse only what encoding/json refuses, or what jsonb does,
			// or what is larger than the default limit.
			if json.Valid(b) && !jsonbRefusal.MatchString(err.Error()) && !errors.Is(err, domain.ErrMessageTooLarge) {
				t.Fatalf("valid JSON %q refused: %v", b, err)
			}
			return
		}
		if !json.Valid(b) {
			t.Fatalf("invalid JSON %q accepted as %q", b, m.Data)
		}
		if !json.Valid(m.Data) {
			t.Fatalf("canonical form of %q is not JSON: %q", b, m.Data)
		}
		again, err := domain.Limits{}.Prepare(domain.NewMessage{Type: "T", Data: m.Data})
		if err != nil || string(again.Data) != string(m.Data) {
			t.Fatalf("not a fixed point: %q -> %q -> %q (%v)", b, m.Data, again.Data, err)
		}
		// The same value: compared through encoding/json (numbers as
		// float64, the last of duplicate keys kept, as jsonb keeps it).
		var in, out any
		if json.Unmarshal(b, &in) == nil {
			if err := json.Unmarshal(m.Data, &out); err != nil || !reflect.DeepEqual(in, out) {
				t.Fatalf("%q -> %q: not the same value (%v)", b, m.Data, err)
			}
		}
		// Keys in jsonb's order, each once; no white space outside strings.
		checkCanonicalOrder(t, m.Data)
	})
}

// checkCanonicalOrder checks that every object of the JSON text b has its
// keys shorter first then bytewise, none twice, and that b has no white
// space between tokens and is nested at most MaxJSONDepth deep.
func checkCanonicalOrder(t *testing.T, b []byte) {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	type frame struct {
		object  bool
		lastKey *string
		wantKey bool
	}
	var stack []frame
	for {
		tok, err := d.Token()
		if err != nil {
			break
		}
		if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].wantKey {
			if k, ok := tok.(string); ok {
				top := &stack[n-1]
				if top.lastKey != nil {
					prev := *top.lastKey
					if len(prev) > len(k) || len(prev) == len(k) && prev >= k {
						t.Fatalf("%q: key %q after %q", b, k, prev)
					}
				}
				top.lastKey, top.wantKey = &k, false
				continue
			}
		}
		if n := len(stack); n > 0 && stack[n-1].object {
			stack[n-1].wantKey = true
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, frame{object: true, wantKey: true})
		case json.Delim('['):
			stack = append(stack, frame{})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			if n := len(stack); n > 0 && stack[n-1].object {
				stack[n-1].wantKey = true
			}
		}
		if len(stack) > domain.MaxJSONDepth {
			t.Fatalf("%.40q…: nested deeper than %d", b, domain.MaxJSONDepth)
		}
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, b); err != nil || compact.String() != string(b) {
		t.Fatalf("%q is not compact (%v)", b, err)
	}
}
