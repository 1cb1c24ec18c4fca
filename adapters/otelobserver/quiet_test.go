package otelobserver_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/messagedb-go/messagedb/app"
	"github.com/messagedb-go/messagedb/domain"
)

// TestNothingWithoutObserver installs OpenTelemetry globally and uses
// stores with no observer on every backend, under a context that carries a
// span: no span, no metric, and the messages are stored as written.
func TestNothingWithoutObserver(t *testing.T) {
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	otel.SetTracerProvider(tp)
	otel.SetMeterProvider(mp)
	t.Cleanup(func() {
		_ = tp.Shutdown(context.Background())
		_ = mp.Shutdown(context.Background())
	})
	ctx, parent := tp.Tracer("test").Start(context.Background(), "application")

	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			s := open(t, be.url(t), nil)
			ns := namespace(t, s, "quiet")
			_, err := ns.Write(ctx, "order-1", event("Placed"), domain.AnyVersion)
			require.NoError(t, err)
			_, err = ns.WriteBatch(ctx, "order-1", []domain.NewMessage{event("Paid"), event("Shipped")}, domain.ExpectVersion(0))
			require.NoError(t, err)
			_, err = ns.Write(ctx, "order-1", event("Lost"), domain.ExpectVersion(0))
			require.ErrorIs(t, err, domain.ErrVersionConflict)
			msgs, err := ns.Read(ctx, "order-1", domain.GetOpts{})
			require.NoError(t, err)
			for _, m := range msgs {
				assert.Empty(t, m.Metadata, "stored as written")
			}
			_, err = ns.ReadCategory(ctx, "order", domain.CategoryOpts{})
			require.NoError(t, err)
			_, err = ns.Version(ctx, "order-1")
			require.NoError(t, err)
			other := namespace(t, s, "quietcopy")
			require.NoError(t, other.Import(ctx, msgs))
			require.NoError(t, s.DeleteNamespace(ctx, "quietcopy"))

			caughtUp := make(chan int64, 8)
			c, err := ns.NewConsumer("order", func(context.Context, domain.Message) error { return nil },
				app.ConsumerOptions{ID: "quiet", PollInterval: 10 * time.Millisecond, OnCaughtUp: func(gp int64) { caughtUp <- gp }})
			require.NoError(t, err)
			stop := runConsumer(t, c)
			select {
			case <-caughtUp:
			case <-time.After(waitTimeout):
				t.Fatal("the consumer did not catch up")
			}
			stop()
		})
	}
	parent.End()

	got := spans.GetSpans()
	require.Len(t, got, 1, "only the test's own span")
	assert.Equal(t, "application", got[0].Name)
	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(context.Background(), &rm))
	assert.Empty(t, rm.ScopeMetrics, "no metric")
}
