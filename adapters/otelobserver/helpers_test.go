package otelobserver_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/messagedb-go/messagedb/adapters/otelobserver"
	"github.com/messagedb-go/messagedb/app"
	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// waitTimeout bounds the waits for a consumer; not a timing assertion, it
// only keeps a broken consumer from hanging the run.
const waitTimeout = 30 * time.Second

// telemetry is one process's OpenTelemetry: spans kept in memory, metrics
// read on demand, and the Observer that feeds them.
type telemetry struct {
	spans  *tracetest.InMemoryExporter
	reader *sdkmetric.ManualReader
	obs    *otelobserver.Observer
}

func newTelemetry(t *testing.T, opts otelobserver.Options) *telemetry {
	t.Helper()
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	opts.TracerProvider, opts.MeterProvider = tp, mp
	obs, err := otelobserver.New(opts)
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = obs.Close()
		_ = tp.Shutdown(context.Background())
		_ = mp.Shutdown(context.Background())
	})
	return &telemetry{spans: spans, reader: reader, obs: obs}
}

// collect reads the metrics.
func (tel *telemetry) collect(t *testing.T) metricdata.ResourceMetrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, tel.reader.Collect(context.Background(), &rm))
	return rm
}

// span returns the one ended span named name.
func (tel *telemetry) span(t *testing.T, name string) tracetest.SpanStub {
	t.Helper()
	var found []tracetest.SpanStub
	for _, s := range tel.spans.GetSpans() {
		if s.Name == name {
			found = append(found, s)
		}
	}
	require.Len(t, found, 1, "spans named %q", name)
	return found[0]
}

// attrs returns a span's attributes by key.
func attrs(s tracetest.SpanStub) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes {
		m[kv.Key] = kv.Value
	}
	return m
}

// metric returns the data of the metric named name, nil when it has none.
func metric(rm metricdata.ResourceMetrics, name string) metricdata.Aggregation {
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == name {
				return m.Data
			}
		}
	}
	return nil
}

// matches reports whether set has every attribute of want.
func matches(set attribute.Set, want []attribute.KeyValue) bool {
	for _, kv := range want {
		if v, ok := set.Value(kv.Key); !ok || v != kv.Value {
			return false
		}
	}
	return true
}

// sum adds up the points of the counter name whose attributes match want.
func sum(rm metricdata.ResourceMetrics, name string, want ...attribute.KeyValue) int64 {
	data, _ := metric(rm, name).(metricdata.Sum[int64])
	var n int64
	for _, p := range data.DataPoints {
		if matches(p.Attributes, want) {
			n += p.Value
		}
	}
	return n
}

// count adds up the counts of the histogram name whose attributes match
// want.
func count(rm metricdata.ResourceMetrics, name string, want ...attribute.KeyValue) uint64 {
	data, _ := metric(rm, name).(metricdata.Histogram[float64])
	var n uint64
	for _, p := range data.DataPoints {
		if matches(p.Attributes, want) {
			n += p.Count
		}
	}
	return n
}

// gauge returns the points of the gauge name whose attributes match want.
func gauge(rm metricdata.ResourceMetrics, name string, want ...attribute.KeyValue) []metricdata.DataPoint[int64] {
	data, _ := metric(rm, name).(metricdata.Gauge[int64])
	var out []metricdata.DataPoint[int64]
	for _, p := range data.DataPoints {
		if matches(p.Attributes, want) {
			out = append(out, p)
		}
	}
	return out
}

// backend is where a test's stores live. url returns a new location for
// one test; stores opened on the same url share their data (as processes
// do), except in memory.
type backend struct {
	name   string
	system string
	url    func(t *testing.T) string
	shared bool // two stores on one url see the same messages
}

func backends() []backend {
	return []backend{
		{"SQLiteMemory", "sqlite", func(*testing.T) string { return "memory:" }, false},
		{"SQLiteFile", "sqlite", func(t *testing.T) string { return "sqlite:" + t.TempDir() + "?synchronous=normal" }, true},
		{"Postgres", "postgresql", func(t *testing.T) string { return pgtest.NewDatabase(t) }, true},
	}
}

// open opens url with opts and closes the store at cleanup.
func open(t *testing.T, url string, opts *app.Options) *app.Store {
	t.Helper()
	s, err := app.Open(context.Background(), url, opts)
	require.NoError(t, err, "open %s", url)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// namespace returns the namespace id of s, created if need be.
func namespace(t *testing.T, s *app.Store, id string) *app.Namespace {
	t.Helper()
	ns, err := s.EnsureNamespace(context.Background(), id, domain.NamespaceOptions{})
	require.NoError(t, err)
	return ns
}

// event returns a message to write.
func event(typ string) domain.NewMessage {
	return domain.NewMessage{Type: typ, Data: []byte(`{"amount":1}`)}
}

// runConsumer runs c until the test ends, and checks that it stops
// cleanly.
func runConsumer(t *testing.T, c *app.Consumer) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("consumer: %v", err)
			}
		case <-time.After(waitTimeout):
			t.Errorf("consumer did not stop")
		}
	}
	t.Cleanup(stop)
	return stop
}
