package domain

import (
	"bytes"
	"encoding/json"
)

// TraceContextKey is the metadata key under which a message carries the
// context of the write that produced it, when the store's observer carries
// context (see ports.ContextInjector): an object of strings, for W3C trace
// context {"traceparent": "00-...", "tracestate": "..."}. Message DB and
// its clients ignore keys they do not know (Eventide's Metadata reads its
// own attributes only), so the key travels with the message, across
// processes and backends, without changing what they see.
const TraceContextKey = "traceContext"

// TraceContext returns the object of strings stored under TraceContextKey
// in JSON metadata, or nil when there is none (no key, a value that is not
// an object of strings, metadata that is not an object).
func TraceContext(metadata json.RawMessage) map[string]string {
	if !bytes.Contains(metadata, []byte(`"`+TraceContextKey+`"`)) {
		return nil // the common case, without decoding
	}
	var m struct {
		TC map[string]string `json:"traceContext"`
	}
	if err := json.Unmarshal(metadata, &m); err != nil || len(m.TC) == 0 {
		return nil
	}
	return m.TC
}

// WithTraceContext returns metadata with tc stored under TraceContextKey,
// and true; or metadata as it is and false when tc is empty, when metadata
// has the key already, or when it is not a JSON object (or empty).
func WithTraceContext(metadata json.RawMessage, tc map[string]string) (json.RawMessage, bool) {
	if len(tc) == 0 {
		return metadata, false
	}
	value, err := json.Marshal(tc)
	if err != nil {
		return metadata, false
	}
	if len(bytes.TrimSpace(metadata)) == 0 {
		out := make([]byte, 0, len(TraceContextKey)+len(value)+5)
		out = append(out, `{"`+TraceContextKey+`":`...)
		return append(append(out, value...), '}'), true
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(metadata, &fields); err != nil || fields == nil {
		return metadata, false
	}
	if _, ok := fields[TraceContextKey]; ok {
		return metadata, false
	}
	fields[TraceContextKey] = value
	out, err := json.Marshal(fields)
	if err != nil {
		return metadata, false
	}
	return out, true
}
