package domain_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messagedb-go/messagedb/domain"
)

// readDataCases are inputs for ReadData, valid and not.
var readDataCases = []string{
	`{}`, ` { "b" : 1 , "a" : [ 1 , 2.50 , -0 , 1e3 , 1.000E3 , 0.00E5 , -1.5e-3 ] } `,
	"{\n  \"owner\": \"ada\",\n  \"note\": \"\\u00e9 \\u2713 \\ud83d\\ude00 \\/ \\\" \\\\ \\n \\u0001 \\u001f\"\n}\n",
	`"\u0041\u0022\u005c"`, `[true, false, null]`, `12`, `-0.0`, `"é ✓"`,
	// Not valid: each must stay refused.
	`[1 2]`, `- 1`, `1 e5`, `tru e`, `{"a":1} x`, `"\x"`, `"\u12"`, `"\ud800"`, `"\udc00"`,
	`"\ud800\u0041"`, `"\u0000"`, "\"a\x01\"", "\"\xff\"", `01`, `1e1001`, `{"a" 1}`, `[`, `"abc`,
	`"\`, `"\u`, `1.`, `.5`, `{} {}`,
}

// ReadData keeps what Prepare makes of the input: the same canonical data
// for valid input, a refusal for invalid input.
func TestLimits_ReadData_SameAsPrepare(t *testing.T) {
	for _, in := range readDataCases {
		checkReadData(t, domain.Limits{}, []byte(in))
	}
}

func checkReadData(t *testing.T, l domain.Limits, in []byte) {
	t.Helper()
	want, wantErr := l.Prepare(domain.NewMessage{Type: "T", Data: in})
	read, err := l.ReadData(bytes.NewReader(in))
	if err != nil {
		if !errors.Is(err, domain.ErrMessageTooLarge) || wantErr == nil {
			t.Fatalf("ReadData(%q) = %v; Prepare says %v", in, err, wantErr)
		}
		return
	}
	got, gotErr := l.Prepare(domain.NewMessage{Type: "T", Data: read})
	switch {
	case wantErr == nil && gotErr != nil:
		t.Fatalf("ReadData(%q) = %q, which Prepare refuses (%v); the input itself it takes", in, read, gotErr)
	case wantErr != nil && gotErr == nil:
		t.Fatalf("ReadData(%q) = %q, which Prepare takes; the input itself it refuses (%v)", in, read, wantErr)
	case wantErr != nil:
		if errors.Is(wantErr, domain.ErrMessageTooLarge) != errors.Is(gotErr, domain.ErrMessageTooLarge) {
			t.Fatalf("ReadData(%q): Prepare's error %v, on the input %v", in, gotErr, wantErr)
		}
	case !bytes.Equal(want.Data, got.Data):
		t.Fatalf("ReadData(%q) prepares to %s, the input to %s", in, got.Data, want.Data)
	}
}

// A message exactly at the limit is read; one byte more is refused by
// ReadData itself.
func TestLimits_ReadData_AtTheLimit(t *testing.T) {
	l := domain.Limits{MaxMessageSize: 100}
	at := `"` + strings.Repeat("\\u0041", 98) + `"` // 588 bytes of text, 100 in canonical form
	data, err := l.ReadData(strings.NewReader(at))
	require.NoError(t, err)
	assert.Equal(t, `"`+strings.Repeat("A", 98)+`"`, string(data))
	p, err := l.Prepare(domain.NewMessage{Type: "T", Data: data})
	require.NoError(t, err)
	assert.Len(t, p.Data, 100)

	_, err = l.ReadData(strings.NewReader(`"` + strings.Repeat("\\u0041", 99) + `"`))
	var big *domain.MessageTooLargeError
	require.ErrorAs(t, err, &big)
	assert.Equal(t, int64(100), big.Limit)
	assert.Equal(t, int64(101), big.Size)
}

// endless is a reader that never ends: an array of ones.
type endless struct{ read int64 }

func (e *endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ",1"[i%2]
	}
	if e.read == 0 && len(p) > 0 {
		p[0] = '['
	}
	e.read += int64(len(p))
	return len(p), nil
}

// An endless input is refused once the limit is passed: what ReadData
// reads (and so holds) is bounded by the limit, not by the input.
func TestLimits_ReadData_StopsAtTheLimit(t *testing.T) {
	for _, limit := range []int64{1 << 10, 1 << 20} {
		in := &endless{}
		_, err := domain.Limits{MaxMessageSize: limit}.ReadData(in)
		var big *domain.MessageTooLargeError
		require.ErrorAs(t, err, &big, "limit %d", limit)
		assert.Equal(t, limit+1, big.Size)
		assert.LessOrEqual(t, in.read, limit+128<<10, "limit %d: read %d bytes", limit, in.read)
	}
	// A number's text counts as it is read, less what canonical form may
	// drop.
	in := io.MultiReader(strings.NewReader("1"), &zeros{})
	_, err := domain.Limits{MaxMessageSize: 1 << 10}.ReadData(in)
	assert.ErrorIs(t, err, domain.ErrMessageTooLarge)
}

// zeros never ends either: digits of one number.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = '0'
	}
	return len(p), nil
}

// White space costs nothing: a small message padded with far more white
// space than the limit is read whole.
func TestLimits_ReadData_WhiteSpaceIsFree(t *testing.T) {
	l := domain.Limits{MaxMessageSize: 64}
	in := strings.Repeat(" \n\t\r", 1<<16) + `{"a": 1}` + strings.Repeat(" ", 1<<16)
	data, err := l.ReadData(strings.NewReader(in))
	require.NoError(t, err)
	assert.Equal(t, `{"a":1}`, string(data))
	data, err = l.ReadData(strings.NewReader(" \n "))
	require.NoError(t, err)
	assert.Empty(t, data, "white space only reads as nothing")
}

func FuzzReadData(f *testing.F) {
	for _, in := range readDataCases {
		f.Add([]byte(in), int64(-1))
		f.Add([]byte(in), int64(8))
	}
	f.Fuzz(func(t *testing.T, in []byte, limit int64) {
		if limit == 0 {
			limit = -1
		}
		checkReadData(t, domain.Limits{MaxMessageSize: limit}, in)
	})
}
