package domain_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/messagedb-go/messagedb/domain"
)

// Fuzz targets of the rules that guard the stores against hostile input.
// Each checks properties that hold for any input; the seeds below and in
// testdata/fuzz/<target> hold hostile cases. CI runs each target for a few
// seconds (.ci/run); run one longer with, e.g.,
//
//	go test -run '^$' -fuzz '^FuzzNamespaceID$' -fuzztime 1m ./domain

// namespaceIDRule is ValidateNamespaceID's rule, written independently.
var namespaceIDRule = regexp.MustCompile(`^[a-z][a-z0-9_]{0,49}$`)

func FuzzNamespaceID(f *testing.F) {
	for _, s := range []string{
		"a", "account_1", "t" + strings.Repeat("x", 49), "t" + strings.Repeat("x", 50),
		"", " ", "A", "a-b", "1a", "_a", "a'b", `a"b`, "a;drop schema public", "a--", "a/*x*/",
		"../x", "/tmp/x", "x/../y", "a\x00", "\x00", "а", "ａ", "aа", "ǅ", "a\u200b", "a.db",
		"a\\b", "a%b", "a b", "a\n", "a\xff", "pg_catalog", "information_schema",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		err := domain.ValidateNamespaceID(id)
		if ok := namespaceIDRule.MatchString(id); ok != (err == nil) {
			t.Fatalf("ValidateNamespaceID(%q) = %v; the rule says valid = %v", id, err, ok)
		}
		if err != nil {
			if !errors.Is(err, domain.ErrInvalidNamespace) {
				t.Fatalf("ValidateNamespaceID(%q) = %v, not ErrInvalidNamespace", id, err)
			}
			return
		}
		// A valid id is used as it is in a schema and a file name: nothing
		// in it can quote, comment, separate paths or case-fold.
		if strings.ContainsAny(id, `'";-/\.* `+"\x00") || strings.ToLower(id) != id || len(id) > domain.MaxNamespaceIDLength {
			t.Fatalf("valid id %q holds a character unsafe in SQL or a path", id)
		}
	})
}

func FuzzOptions(f *testing.F) {
	f.Add(int64(0), int64(0), false, "", int64(0), int64(0), false)
	f.Add(int64(-1), int64(-2), true, "a-b", int64(3), int64(3), true)
	f.Add(int64(5), int64(-1), true, "account", int64(0), int64(1), true)
	f.Add(int64(1<<62), int64(1<<62), true, "x\x00", int64(-1), int64(-9), true)
	f.Add(int64(1), int64(10), true, "'; --", int64(1), int64(2), true)
	f.Add(int64(1), int64(10), true, "\xff", int64(0), int64(0), false)
	f.Fuzz(func(t *testing.T, pos, batch int64, hasBatch bool, corr string, member, size int64, hasGroup bool) {
		var b *int64
		if hasBatch {
			b = &batch
		}
		var g *domain.ConsumerGroup
		if hasGroup {
			g = &domain.ConsumerGroup{Member: member, Size: size}
		}

		// GetOpts: the position, then the batch size.
		gerr := domain.GetOpts{Position: pos, BatchSize: b}.Validate()
		switch {
		case pos < 0:
			wantErr(t, gerr, domain.ErrInvalidPosition, "GetOpts position %d", pos)
		case hasBatch && batch < -1:
			wantErr(t, gerr, domain.ErrInvalidBatchSize, "GetOpts batch %d", batch)
		default:
			wantErr(t, gerr, nil, "GetOpts{%d, %v}", pos, b)
		}

		// CategoryOpts: position, batch size, correlation, group, in order.
		o := domain.CategoryOpts{Position: pos, BatchSize: b, Correlation: corr, ConsumerGroup: g}
		err := o.Validate()
		corrBad := corr != "" && (strings.Contains(corr, "-") || !utf8.ValidString(corr) || strings.Contains(corr, "\x00"))
		groupBad := hasGroup && (size < 1 || member < 0 || member >= size)
		switch {
		case pos < 0:
			wantErr(t, err, domain.ErrInvalidPosition, "position %d", pos)
		case hasBatch && batch < -1:
			wantErr(t, err, domain.ErrInvalidBatchSize, "batch %d", batch)
		case corrBad:
			wantErr(t, err, domain.ErrInvalidCorrelation, "correlation %q", corr)
		case groupBad:
			wantErr(t, err, domain.ErrInvalidConsumerGroup, "group %d/%d", member, size)
		default:
			wantErr(t, err, nil, "%+v", o)
			if o.StartPosition() < domain.FirstGlobalPosition || (pos > 0 && o.StartPosition() != pos) {
				t.Fatalf("StartPosition() = %d for position %d", o.StartPosition(), pos)
			}
			if l := o.Limit(); (!hasBatch && l != domain.DefaultBatchSize) || (hasBatch && l != batch) {
				t.Fatalf("Limit() = %d for batch %v", l, b)
			}
		}
		// AllOpts: the same checks of a position and a batch size.
		all := domain.AllOpts{Position: pos, BatchSize: b}
		allErr := all.Validate()
		for _, sentinel := range []error{domain.ErrInvalidPosition, domain.ErrInvalidBatchSize} {
			if errors.Is(err, sentinel) != errors.Is(allErr, sentinel) {
				t.Fatalf("AllOpts.Validate = %v, CategoryOpts.Validate = %v: not the same error", allErr, err)
			}
		}
		if allErr == nil && (all.StartPosition() != o.StartPosition() || all.Limit() != o.Limit()) {
			t.Fatalf("AllOpts %+v: start %d, limit %d", all, all.StartPosition(), all.Limit())
		}
	})
}

// wantErr fails unless err matches want (nil: unless err is nil). Every
// options error also matches ErrInvalidOptions.
func wantErr(t *testing.T, err, want error, format string, args ...any) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf(format+": unexpected error %v", append(args, err)...)
		}
		return
	}
	if !errors.Is(err, want) || !errors.Is(err, domain.ErrInvalidOptions) {
		t.Fatalf(format+": error %v, want %v", append(args, err, want)...)
	}
}

// FuzzPrepareWrite checks payload handling with a size limit: whatever the
// data, metadata, type and limit, a write is either refused with a typed
// error or prepared into canonical JSON within the limit, and the limit
// changes only whether a message is too large.
func FuzzPrepareWrite(f *testing.F) {
	f.Add("a-1", "T", []byte(`{"a":1}`), []byte(``), int64(0))
	f.Add("a-1", "T", []byte(`{"b":1,"a":[1e3,"x"]}`), []byte(`{"correlationStreamName":"c-1"}`), int64(30))
	f.Add("a-1", "T", []byte(`[1e1000]`), []byte(`null`), int64(100))
	f.Add("a-1", "T\xff", []byte(`{}`), []byte(`{}`), int64(-1))
	f.Add("a-1", "T", []byte("{\"a\":\"\xff\"}"), []byte(``), int64(-1))
	f.Add("a-1", "T", []byte(strings.Repeat("[", 1001)+strings.Repeat("]", 1001)), []byte(``), int64(-1))
	f.Add("a-1", "T", []byte(`{"a":"x","a":"yyyyyyyyyyyy"}`), []byte(`{}`), int64(20))
	f.Add("a-'; --", "x'\"", []byte(`"\u0000"`), []byte(`{"\ud800":1}`), int64(8))
	f.Add("a-1", "T", []byte(`{"a":1}`), []byte(`[2]`), int64(math.MaxInt64))
	f.Add("a-1", "T", []byte(`{"a":1}`), []byte(`[2]`), int64(math.MinInt64))
	f.Fuzz(func(t *testing.T, stream, typ string, data, meta []byte, max int64) {
		msg := domain.NewMessage{Type: typ, Data: data, Metadata: meta}
		limited := domain.Limits{MaxMessageSize: max}
		got, err := limited.PrepareWrite(stream, []domain.NewMessage{msg}, domain.AnyVersion)
		free, freeErr := domain.Limits{MaxMessageSize: -1}.PrepareWrite(stream, []domain.NewMessage{msg}, domain.AnyVersion)

		if errors.Is(err, domain.ErrMessageTooLarge) {
			var e *domain.MessageTooLargeError
			if !errors.As(err, &e) || e.Limit != limited.MessageSizeLimit() || e.Size <= e.Limit {
				t.Fatalf("too large: %v (limit %d)", err, limited.MessageSizeLimit())
			}
			// Without a limit it is accepted, or refused for another fault
			// that preparing did not reach once the limit was passed.
			if freeErr != nil && (!errors.Is(freeErr, domain.ErrInvalidMessage) || errors.Is(freeErr, domain.ErrMessageTooLarge)) {
				t.Fatalf("too large under %d; without a limit: %v", max, freeErr)
			}
			return
		}
		// Apart from size, the limit changes nothing.
		if (err == nil) != (freeErr == nil) {
			t.Fatalf("limit %d: %v; no limit: %v", max, err, freeErr)
		}
		if err != nil {
			if !errors.Is(err, domain.ErrInvalidStreamName) && !errors.Is(err, domain.ErrInvalidMessage) {
				t.Fatalf("refused with an untyped error: %v", err)
			}
			if errors.Is(err, domain.ErrInvalidMessage) && !errors.Is(freeErr, domain.ErrInvalidMessage) {
				t.Fatalf("errors differ: %v / %v", err, freeErr)
			}
			return
		}
		p := got[0]
		if !bytes.Equal(p.Data, free[0].Data) || !bytes.Equal(p.Metadata, free[0].Metadata) {
			t.Fatalf("the limit changed the prepared message: %q/%q vs %q/%q", p.Data, p.Metadata, free[0].Data, free[0].Metadata)
		}
		if l := limited.MessageSizeLimit(); l >= 0 && int64(len(p.Data)+len(p.Metadata)) > l {
			t.Fatalf("accepted %d bytes above the limit %d", len(p.Data)+len(p.Metadata), l)
		}
		if !json.Valid(p.Data) || (p.Metadata != nil && !json.Valid(p.Metadata)) {
			t.Fatalf("prepared data %q / metadata %q is not JSON", p.Data, p.Metadata)
		}
		if !utf8.ValidString(p.Type) || !utf8.Valid(p.Data) || !utf8.Valid(p.Metadata) || strings.Contains(p.Type, "\x00") {
			t.Fatalf("prepared message holds invalid UTF-8 or NUL: %q %q %q", p.Type, p.Data, p.Metadata)
		}
		checkCanonicalOrder(t, p.Data)
		if p.Metadata != nil {
			checkCanonicalOrder(t, p.Metadata)
		}
	})
}
