package domain_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/messagedb-go/messagedb/domain"
)

func TestWithTraceContext(t *testing.T) {
	tc := map[string]string{"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
	for _, c := range []struct {
		name, in, want string
		ok             bool
	}{
		{"None", ``, `{"traceContext":{"traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}}`, true},
		{"Blank", "  \n", `{"traceContext":{"traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}}`, true},
		{"Object", `{"correlationStreamName":"flow-1","n":1.50}`, `{"correlationStreamName":"flow-1","n":1.50,"traceContext":{"traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}}`, true},
		{"HasKey", `{"traceContext":{"traceparent":"other"}}`, `{"traceContext":{"traceparent":"other"}}`, false},
		{"Array", `[1]`, `[1]`, false},
		{"Null", `null`, `null`, false},
		{"NotJSON", `{"a":`, `{"a":`, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, ok := domain.WithTraceContext(json.RawMessage(c.in), tc)
			assert.Equal(t, c.ok, ok)
			if ok {
				assert.JSONEq(t, c.want, string(got))
				assert.Equal(t, tc, domain.TraceContext(got), "read back")
			} else {
				assert.Equal(t, c.want, string(got), "unchanged")
			}
		})
	}
	got, ok := domain.WithTraceContext(json.RawMessage(`{"a":1}`), nil)
	assert.False(t, ok, "nothing to add")
	assert.Equal(t, `{"a":1}`, string(got))
}

func TestTraceContext(t *testing.T) {
	for in, want := range map[string]map[string]string{
		``:                                   nil,
		`{"a":1}`:                            nil,
		`{"traceContext":1}`:                 nil,
		`{"traceContext":{"traceparent":1}}`: nil,
		`{"traceContext":{}}`:                nil,
		`["traceContext"]`:                   nil,
		`{"traceContext":{"traceparent":"x","tracestate":"y"}}`: {"traceparent": "x", "tracestate": "y"},
	} {
		assert.Equal(t, want, domain.TraceContext(json.RawMessage(in)), in)
	}
}
