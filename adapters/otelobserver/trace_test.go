package otelobserver_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/messagedb-go/messagedb/adapters/otelobserver"
	"github.com/messagedb-go/messagedb/app"
	"github.com/messagedb-go/messagedb/domain"
)

// handled is what a test's handler saw.
type handled struct {
	msg  domain.Message
	span trace.SpanContext // of the handler's context
}

// consume runs a consumer of the category on ns until it has handled n
// messages, handing each to also (when not nil) under the handler's
// context, and returns what it saw.
func consume(t *testing.T, ns *app.Namespace, category string, n int, also func(ctx context.Context, msg domain.Message) error) []handled {
	t.Helper()
	seen := make(chan handled, n)
	c, err := ns.NewConsumer(category, func(ctx context.Context, msg domain.Message) error {
		if also != nil {
			if err := also(ctx, msg); err != nil {
				return err
			}
		}
		seen <- handled{msg, trace.SpanContextFromContext(ctx)}
		return nil
	}, app.ConsumerOptions{ID: "reader", PollInterval: 10 * time.Millisecond})
	require.NoError(t, err)
	stop := runConsumer(t, c)
	var out []handled
	for len(out) < n {
		select {
		case h := <-seen:
			out = append(out, h)
		case <-time.After(waitTimeout):
			t.Fatalf("the consumer handled %d of %d messages", len(out), n)
		}
	}
	stop()
	return out
}

// writeSpan returns the span of the write of the message at global
// position gp.
func writeSpan(t *testing.T, tel *telemetry, gp int64) tracetest.SpanStub {
	t.Helper()
	for _, s := range tel.spans.GetSpans() {
		if a := attrs(s); a["db.operation.name"].AsString() == "write_message" && a["messagedb.global_position"].AsInt64() == gp {
			return s
		}
	}
	t.Fatalf("no span of the write at global position %d", gp)
	return tracetest.SpanStub{}
}

// handlerSpans returns the handler spans, in the order they ended.
func handlerSpans(tel *telemetry, category string) []tracetest.SpanStub {
	var out []tracetest.SpanStub
	for _, s := range tel.spans.GetSpans() {
		if s.Name == "process "+category {
			out = append(out, s)
		}
	}
	return out
}

// assertContinues checks that handler continues the trace of write: one
// trace, the write's span its parent, and a link to it.
func assertContinues(t *testing.T, write, handler tracetest.SpanStub) {
	t.Helper()
	assert.Equal(t, trace.SpanKindConsumer, handler.SpanKind)
	assert.Equal(t, write.SpanContext.TraceID(), handler.SpanContext.TraceID(), "one trace")
	assert.Equal(t, write.SpanContext.SpanID(), handler.Parent.SpanID(), "the write's span is the handler's parent")
	assert.True(t, handler.Parent.IsRemote(), "the parent comes from the message")
	require.Len(t, handler.Links, 1)
	assert.Equal(t, write.SpanContext.SpanID(), handler.Links[0].SpanContext.SpanID())
}

// TestTrace_WriterToConsumer writes in one store and consumes in another
// on the same data, each with its own OpenTelemetry (as two processes
// would): the handler's span continues the trace of the write, and so do
// the writes the handler makes.
func TestTrace_WriterToConsumer(t *testing.T) {
	for _, be := range backends() {
		if !be.shared {
			continue
		}
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			url := be.url(t)
			writer := newTelemetry(t, otelobserver.Options{Propagate: true})
			reader := newTelemetry(t, otelobserver.Options{Propagate: true})
			wns := namespace(t, open(t, url, &app.Options{Observer: writer.obs}), "trace")
			rns := namespace(t, open(t, url, &app.Options{Observer: reader.obs}), "trace")

			res, err := wns.Write(ctx, "order-1", event("Placed"), domain.AnyVersion)
			require.NoError(t, err)
			stored, err := wns.Last(ctx, "order-1", "")
			require.NoError(t, err)
			tc := domain.TraceContext(stored.Metadata)
			require.Contains(t, tc, "traceparent", "the message carries its write's trace context under %q", domain.TraceContextKey)

			got := consume(t, rns, "order", 1, func(ctx context.Context, msg domain.Message) error {
				_, err := rns.Write(ctx, "invoice-1", event("Invoiced"), domain.AnyVersion)
				return err
			})
			write := writeSpan(t, writer, res.GlobalPosition)
			assert.Contains(t, tc["traceparent"], write.SpanContext.TraceID().String())
			hs := handlerSpans(reader, "order")
			require.Len(t, hs, 1)
			assertContinues(t, write, hs[0])
			a := attrs(hs[0])
			assert.Equal(t, "reader", a["messagedb.consumer.id"].AsString())
			assert.Equal(t, "order-1", a["messagedb.stream.name"].AsString())
			assert.Equal(t, res.GlobalPosition, a["messagedb.global_position"].AsInt64())
			assert.Equal(t, stored.ID.String(), a["messagedb.message.id"].AsString())
			assert.Equal(t, be.system, a["db.system.name"].AsString())
			assert.Equal(t, hs[0].SpanContext.SpanID(), got[0].span.SpanID(), "the handler runs under its span")

			// The handler's own write continues the trace.
			var follow tracetest.SpanStub
			for _, s := range reader.spans.GetSpans() {
				if attrs(s)["messagedb.stream.name"].AsString() == "invoice-1" {
					follow = s
				}
			}
			require.True(t, follow.SpanContext.IsValid(), "the handler's write has a span")
			assert.Equal(t, write.SpanContext.TraceID(), follow.SpanContext.TraceID())
			assert.Equal(t, hs[0].SpanContext.SpanID(), follow.Parent.SpanID())

			// The consumer's own calls are measured, not traced.
			for _, s := range reader.spans.GetSpans() {
				assert.NotEqual(t, "get_category_messages order", s.Name, "a consumer's poll is not traced by default")
			}
		})
	}
}

// TestTrace_AcrossBackends writes on SQLite in memory, copies the
// namespace to SQLite files and to PostgreSQL, and consumes there: each
// handler continues the trace of the write made on the other backend.
func TestTrace_AcrossBackends(t *testing.T) {
	ctx := context.Background()
	writer := newTelemetry(t, otelobserver.Options{Propagate: true})
	src := namespace(t, open(t, "memory:", &app.Options{Observer: writer.obs}), "across")
	var results []domain.WriteResult
	for _, stream := range []string{"payment-1", "payment-2"} {
		res, err := src.Write(ctx, stream, event("Captured"), domain.AnyVersion)
		require.NoError(t, err)
		results = append(results, res)
	}
	for _, be := range backends()[1:] {
		t.Run(be.name, func(t *testing.T) {
			reader := newTelemetry(t, otelobserver.Options{})
			dst := namespace(t, open(t, be.url(t), &app.Options{Observer: reader.obs}), "across")
			_, err := app.CopyNamespace(ctx, src, dst, app.CopyOptions{})
			require.NoError(t, err)
			consume(t, dst, "payment", 2, nil)
			hs := handlerSpans(reader, "payment")
			require.Len(t, hs, 2)
			for i, res := range results {
				assertContinues(t, writeSpan(t, writer, res.GlobalPosition), hs[i])
			}
		})
	}
}

// TestTrace_NotPropagated: without Options.Propagate the messages are
// stored as written, and a handler starts a trace of its own.
func TestTrace_NotPropagated(t *testing.T) {
	ctx := context.Background()
	tel := newTelemetry(t, otelobserver.Options{})
	ns := namespace(t, open(t, "memory:", &app.Options{Observer: tel.obs}), "plain")
	meta := []byte(`{"correlationStreamName":"flow-1"}`)
	res, err := ns.Write(ctx, "order-1", domain.NewMessage{Type: "Placed", Data: []byte(`{}`), Metadata: meta}, domain.AnyVersion)
	require.NoError(t, err)
	stored, err := ns.Last(ctx, "order-1", "")
	require.NoError(t, err)
	assert.JSONEq(t, string(meta), string(stored.Metadata), "metadata stored as written")
	consume(t, ns, "order", 1, nil)
	hs := handlerSpans(tel, "order")
	require.Len(t, hs, 1)
	assert.NotEqual(t, writeSpan(t, tel, res.GlobalPosition).SpanContext.TraceID(), hs[0].SpanContext.TraceID())
	assert.False(t, hs[0].Parent.IsValid(), "a root span")
	assert.Empty(t, hs[0].Links)
}
