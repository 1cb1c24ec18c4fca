package otelobserver_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"

	"github.com/messagedb-go/messagedb/adapters/otelobserver"
	"github.com/messagedb-go/messagedb/app"
	"github.com/messagedb-go/messagedb/domain"
)

// TestConcurrentWrites releases many writers at once on one observed
// store: each write has its span, each message the trace context of its
// own write's span, and the counters add up.
func TestConcurrentWrites(t *testing.T) {
	const writers, each = 16, 10
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			tel := newTelemetry(t, otelobserver.Options{Propagate: true})
			ns := namespace(t, open(t, be.url(t), &app.Options{Observer: tel.obs}), "many")
			start := make(chan struct{})
			var wg sync.WaitGroup
			errs := make(chan error, writers*each)
			for w := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					for i := range each {
						if _, err := ns.Write(ctx, fmt.Sprintf("load-%d", w), event(fmt.Sprint("E", i)), domain.AnyVersion); err != nil {
							errs <- err
						}
					}
				}()
			}
			close(start)
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}

			msgs, err := ns.ReadCategory(ctx, "load", domain.CategoryOpts{})
			require.NoError(t, err)
			require.Len(t, msgs, writers*each)
			spans := map[string]string{} // trace id → span id of each write
			for _, s := range tel.spans.GetSpans() {
				if s.Name == "write_message load" {
					spans[s.SpanContext.TraceID().String()] = s.SpanContext.SpanID().String()
				}
			}
			require.Len(t, spans, writers*each, "one trace per write")
			for _, m := range msgs {
				// traceparent: version-traceid-spanid-flags
				parts := strings.Split(domain.TraceContext(m.Metadata)["traceparent"], "-")
				require.Len(t, parts, 4)
				assert.Equal(t, spans[parts[1]], parts[2], "message at %d carries its own write's span", m.GlobalPosition)
			}
			rm := tel.collect(t)
			assert.Equal(t, int64(writers*each), sum(rm, otelobserver.MetricMessagesWritten, attribute.String("db.collection.name", "load")))
			assert.Equal(t, uint64(writers*each), count(rm, otelobserver.MetricOperationDuration, attribute.String("db.operation.name", "write_message")))
		})
	}
}
