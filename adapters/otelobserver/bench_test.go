package otelobserver_test

import (
	"context"
	"fmt"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/messagedb-go/messagedb/adapters/otelobserver"
	"github.com/messagedb-go/messagedb/app"
	"github.com/messagedb-go/messagedb/domain"
)

// BenchmarkWrite measures a write to SQLite in memory through app with no
// observer, and with this package's observer over the SDK (every span
// sampled, metrics aggregated), with and without trace
// context in the messages: what observing costs, for the README.
func BenchmarkWrite(b *testing.B) {
	for _, v := range []struct {
		name      string
		observe   bool
		propagate bool
	}{{"none", false, false}, {"otel", true, false}, {"otel-propagate", true, true}} {
		b.Run(v.name, func(b *testing.B) {
			ctx := context.Background()
			var opts app.Options
			if v.observe {
				tp := sdktrace.NewTracerProvider() // every span sampled, then dropped
				mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
				b.Cleanup(func() {
					_ = tp.Shutdown(ctx)
					_ = mp.Shutdown(ctx)
				})
				obs, err := otelobserver.New(otelobserver.Options{TracerProvider: tp, MeterProvider: mp, Propagate: v.propagate})
				if err != nil {
					b.Fatal(err)
				}
				opts.Observer = obs
			}
			s, err := app.Open(ctx, "memory:", &opts)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = s.Close() })
			ns, err := s.EnsureNamespace(ctx, "bench", domain.NamespaceOptions{})
			if err != nil {
				b.Fatal(err)
			}
			i := 0
			for b.Loop() {
				if _, err := ns.Write(ctx, fmt.Sprintf("account-%d", i%100), domain.NewMessage{Type: "Deposited", Data: []byte(`{"amount":10}`)}, domain.AnyVersion); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
