package otelobserver

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/ports"
)

// ScopeName is the instrumentation scope of the Observer's tracer and meter.
const ScopeName = "github.com/messagedb-go/messagedb/adapters/otelobserver"

// Names of the metrics (see the package documentation).
const (
	MetricOperationDuration = "db.client.operation.duration"
	MetricMessagesWritten   = "messagedb.messages.written"
	MetricMessagesRead      = "messagedb.messages.read"
	MetricConsumerLag       = "messagedb.consumer.lag"
	MetricHandlerDuration   = "messagedb.consumer.handler.duration"
	MetricHandlerErrors     = "messagedb.consumer.handler.errors"
	MetricHandlerRetries    = "messagedb.consumer.handler.retries"
	MetricStoreRetries      = "messagedb.consumer.store.retries"
	MetricReconnects        = "messagedb.connection.reconnects"
)

// Attributes of messagedb's own (the others are OpenTelemetry's: see the
// package documentation).
const (
	AttrStreamName      = attribute.Key("messagedb.stream.name")
	AttrExpectedVersion = attribute.Key("messagedb.expected_version")
	AttrGlobalPosition  = attribute.Key("messagedb.global_position")
	AttrPosition        = attribute.Key("messagedb.position")
	AttrMessageID       = attribute.Key("messagedb.message.id")
	AttrMessageType     = attribute.Key("messagedb.message.type")
	AttrConsumerID      = attribute.Key("messagedb.consumer.id")
	AttrGroupMember     = attribute.Key("messagedb.consumer.group.member")
	AttrGroupSize       = attribute.Key("messagedb.consumer.group.size")
	AttrAttempt         = attribute.Key("messagedb.consumer.attempt")
	AttrConnection      = attribute.Key("messagedb.connection.name")
)

// durationBuckets are the bounds, in seconds, of the duration histograms:
// OpenTelemetry's advice for database calls, below a millisecond too (an
// embedded SQLite call takes microseconds).
var durationBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// Options configure an Observer. The zero value uses the global providers
// and records no trace context in messages.
type Options struct {
	// TracerProvider makes the spans; nil means otel.GetTracerProvider().
	TracerProvider trace.TracerProvider
	// MeterProvider makes the metrics; nil means otel.GetMeterProvider().
	MeterProvider metric.MeterProvider
	// Propagator encodes trace context in messages and decodes it from
	// them; nil means W3C trace context (propagation.TraceContext).
	Propagator propagation.TextMapPropagator
	// Propagate makes the store record, in the metadata of each message
	// written, the trace context of its write's span, under
	// domain.TraceContextKey, so that the span of the handler that handles
	// it, in any process and on any backend, continues that trace. Off by
	// default: the messages are then stored exactly as written.
	Propagate bool
	// ConsumerCallSpans makes a span of each store call consumers make for
	// themselves too (reading their category, reading and writing their
	// position, computing their lag). By default these calls are measured
	// but not traced: an idle consumer polls several times a second.
	ConsumerCallSpans bool
}

// Observer turns what a store and its consumers report into OpenTelemetry
// spans and metrics. It implements ports.StoreObserver,
// ports.ContextInjector, ports.ConsumerObserver and
// ports.ConnectionObserver; set it as app.Options.Observer. It is safe for
// concurrent use, and may serve several stores.
type Observer struct {
	tracer        trace.Tracer
	prop          propagation.TextMapPropagator
	propagate     bool
	consumerSpans bool

	duration        metric.Float64Histogram
	written         metric.Int64Counter
	read            metric.Int64Counter
	lag             metric.Int64ObservableGauge
	handlerDuration metric.Float64Histogram
	handlerErrors   metric.Int64Counter
	handlerRetries  metric.Int64Counter
	storeRetries    metric.Int64Counter
	reconnects      metric.Int64Counter
	registration    metric.Registration

	mu        sync.Mutex
	consumers map[*ports.ConsumerInfo]attribute.Set // running, for the lag
}

var (
	_ ports.StoreObserver      = (*Observer)(nil)
	_ ports.ContextInjector    = (*Observer)(nil)
	_ ports.ConsumerObserver   = (*Observer)(nil)
	_ ports.ConnectionObserver = (*Observer)(nil)
)

// New returns an Observer that makes its spans and metrics with the
// providers of opts. The error is the meter's, when it refuses an
// instrument.
func New(opts Options) (*Observer, error) {
	tp, mp, prop := opts.TracerProvider, opts.MeterProvider, opts.Propagator
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	if prop == nil {
		prop = propagation.TraceContext{}
	}
	o := &Observer{
		tracer:        tp.Tracer(ScopeName),
		prop:          prop,
		propagate:     opts.Propagate,
		consumerSpans: opts.ConsumerCallSpans,
		consumers:     map[*ports.ConsumerInfo]attribute.Set{},
	}
	m := mp.Meter(ScopeName)
	var errs []error
	check := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	var err error
	o.duration, err = m.Float64Histogram(MetricOperationDuration, metric.WithUnit("s"),
		metric.WithDescription("Duration of the store's operations."), metric.WithExplicitBucketBoundaries(durationBuckets...))
	check(err)
	o.written, err = m.Int64Counter(MetricMessagesWritten, metric.WithUnit("{message}"),
		metric.WithDescription("Messages written (or imported), idempotent retries included."))
	check(err)
	o.read, err = m.Int64Counter(MetricMessagesRead, metric.WithUnit("{message}"),
		metric.WithDescription("Messages returned by reads."))
	check(err)
	o.lag, err = m.Int64ObservableGauge(MetricConsumerLag, metric.WithUnit("{message}"),
		metric.WithDescription("Global position of the category's last message less that of the last message the consumer handled."))
	check(err)
	o.handlerDuration, err = m.Float64Histogram(MetricHandlerDuration, metric.WithUnit("s"),
		metric.WithDescription("Duration of the consumers' handler calls."), metric.WithExplicitBucketBoundaries(durationBuckets...))
	check(err)
	o.handlerErrors, err = m.Int64Counter(MetricHandlerErrors, metric.WithUnit("{error}"),
		metric.WithDescription("Handler calls that returned an error."))
	check(err)
	o.handlerRetries, err = m.Int64Counter(MetricHandlerRetries, metric.WithUnit("{retry}"),
		metric.WithDescription("Messages handed to a handler again after it failed."))
	check(err)
	o.storeRetries, err = m.Int64Counter(MetricStoreRetries, metric.WithUnit("{retry}"),
		metric.WithDescription("Store calls of consumers that failed and are tried again."))
	check(err)
	o.reconnects, err = m.Int64Counter(MetricReconnects, metric.WithUnit("{reconnect}"),
		metric.WithDescription("Long-lived connections (PostgreSQL's listener) made again after they were lost."))
	check(err)
	if o.lag != nil {
		o.registration, err = m.RegisterCallback(o.observeLag, o.lag)
		check(err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return o, nil
}

// Close stops reporting the consumers' lag (the gauge's callback reads the
// store). It does not shut the providers down: they are the caller's.
func (o *Observer) Close() error {
	if o.registration == nil {
		return nil
	}
	return o.registration.Unregister()
}

// callKey is the context key of a call's state, from StartCall to EndCall.
type callKey struct{}

type callState struct {
	start time.Time
	span  trace.Span // nil when the call is not traced
}

// StartCall starts the call's span (unless a consumer makes it, see
// Options.ConsumerCallSpans) and its clock.
func (o *Observer) StartCall(ctx context.Context, c *ports.Call) context.Context {
	st := &callState{start: time.Now()}
	if c.Consumer == "" || o.consumerSpans {
		ctx, st.span = o.tracer.Start(ctx, spanName(c), trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(callAttributes(c)...))
	}
	return context.WithValue(ctx, callKey{}, st)
}

func spanName(c *ports.Call) string {
	if c.Category != "" {
		return string(c.Operation) + " " + c.Category
	}
	return string(c.Operation) + " " + c.Namespace
}

// callAttributes are the span attributes known when a call starts.
func callAttributes(c *ports.Call) []attribute.KeyValue {
	a := make([]attribute.KeyValue, 0, 8)
	a = append(a, semconv.DBSystemNameKey.String(c.System), semconv.DBOperationNameKey.String(string(c.Operation)),
		semconv.DBNamespaceKey.String(c.Namespace))
	if c.Category != "" {
		a = append(a, semconv.DBCollectionNameKey.String(c.Category))
	}
	if c.Stream != "" {
		a = append(a, AttrStreamName.String(c.Stream))
	}
	if c.Messages > 1 {
		a = append(a, semconv.DBOperationBatchSizeKey.Int(c.Messages))
	}
	if v, ok := c.Expected.Value(); ok {
		a = append(a, AttrExpectedVersion.Int64(v))
	}
	if c.Consumer != "" {
		a = append(a, AttrConsumerID.String(c.Consumer))
	}
	return a
}

// EndCall ends the call's span and records its metrics.
func (o *Observer) EndCall(ctx context.Context, c *ports.Call, err error) {
	st, _ := ctx.Value(callKey{}).(*callState)
	if st == nil {
		return // not started here
	}
	elapsed := time.Since(st.start).Seconds()
	reads := isRead(c.Operation)
	if st.span != nil {
		if reads {
			st.span.SetAttributes(semconv.DBResponseReturnedRowsKey.Int(c.Returned))
		}
		if c.GlobalPosition > 0 {
			st.span.SetAttributes(AttrGlobalPosition.Int64(c.GlobalPosition))
		}
		endWith(st.span, err)
	}
	a := make([]attribute.KeyValue, 0, 5)
	a = append(a, semconv.DBSystemNameKey.String(c.System), semconv.DBOperationNameKey.String(string(c.Operation)),
		semconv.DBNamespaceKey.String(c.Namespace))
	if c.Category != "" {
		a = append(a, semconv.DBCollectionNameKey.String(c.Category))
	}
	if err != nil {
		o.duration.Record(ctx, elapsed, metric.WithAttributes(append(a, semconv.ErrorTypeKey.String(ErrorType(err)))...))
		return
	}
	set := metric.WithAttributeSet(attribute.NewSet(a...))
	o.duration.Record(ctx, elapsed, set)
	switch {
	case isWrite(c.Operation):
		o.written.Add(ctx, int64(c.Messages), set)
	case reads && c.Returned > 0:
		o.read.Add(ctx, int64(c.Returned), set)
	}
}

func isRead(op ports.Operation) bool {
	switch op {
	case ports.OpGetStreamMessages, ports.OpGetCategoryMessages, ports.OpGetAllMessages, ports.OpGetLastStreamMessage:
		return true
	}
	return false
}

func isWrite(op ports.Operation) bool {
	switch op {
	case ports.OpWriteMessage, ports.OpWriteMessages, ports.OpImportMessages:
		return true
	}
	return false
}

// endWith ends span, marking it failed with err's type when err is not
// nil.
func endWith(span trace.Span, err error) {
	if err != nil {
		span.SetAttributes(semconv.ErrorTypeKey.String(ErrorType(err)))
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// InjectContext returns the trace context of the write's span to carry in
// the messages, when Options.Propagate is set.
func (o *Observer) InjectContext(ctx context.Context) map[string]string {
	if !o.propagate {
		return nil
	}
	carrier := propagation.MapCarrier{}
	o.prop.Inject(ctx, carrier)
	if len(carrier) == 0 {
		return nil
	}
	return carrier
}

// ConnectionLost records nothing: the reconnection, if any, is counted.
func (o *Observer) ConnectionLost(string, int, time.Duration, error) {}

// ConnectionRestored counts a reconnection.
func (o *Observer) ConnectionRestored(conn string, _ int) {
	o.reconnects.Add(context.Background(), 1, metric.WithAttributes(AttrConnection.String(conn)))
}

// ErrorType returns the error.type of err: the kind of a messagedb error
// ("version_conflict", "namespace_not_found", ... see the package
// documentation), "canceled" or "deadline_exceeded" for a context's, and
// "_OTHER" for any other (a lost connection, a handler's own error).
func ErrorType(err error) string {
	if k := domain.ErrorKind(err); k != "" {
		return k
	}
	switch {
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "deadline_exceeded"
	}
	return semconv.ErrorTypeOther.Value.AsString()
}
