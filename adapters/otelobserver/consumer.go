package otelobserver

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/ports"
)

// consumerAttributes identify a consumer in its metrics.
func consumerAttributes(info *ports.ConsumerInfo) []attribute.KeyValue {
	a := []attribute.KeyValue{
		semconv.DBSystemNameKey.String(info.System),
		semconv.DBNamespaceKey.String(info.Namespace),
		semconv.DBCollectionNameKey.String(info.Category),
		AttrConsumerID.String(info.ID),
	}
	if g := info.Group; g != nil {
		a = append(a, AttrGroupMember.Int64(g.Member), AttrGroupSize.Int64(g.Size))
	}
	return a
}

// ConsumerStarted adds the consumer to those whose lag is reported.
func (o *Observer) ConsumerStarted(_ context.Context, info *ports.ConsumerInfo) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.consumers[info] = attribute.NewSet(consumerAttributes(info)...)
}

// ConsumerStopped removes the consumer from those whose lag is reported.
func (o *Observer) ConsumerStopped(_ context.Context, info *ports.ConsumerInfo, _ error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.consumers, info)
}

// observeLag reports the lag of each running consumer (see
// app.Consumer.Lag). A consumer whose lag cannot be read is left out.
func (o *Observer) observeLag(ctx context.Context, obs metric.Observer) error {
	type running struct {
		info  *ports.ConsumerInfo
		attrs attribute.Set
	}
	o.mu.Lock()
	list := make([]running, 0, len(o.consumers))
	for info, attrs := range o.consumers {
		list = append(list, running{info, attrs})
	}
	o.mu.Unlock()
	for _, c := range list {
		if c.info.Lag == nil {
			continue
		}
		lag, err := c.info.Lag(ctx)
		if err != nil {
			continue
		}
		obs.ObserveInt64(o.lag, lag, metric.WithAttributeSet(c.attrs))
	}
	return nil
}

// handleKey is the context key of a handler call's state.
type handleKey struct{}

type handleState struct {
	start time.Time
	span  trace.Span
}

// StartHandle starts the handler's span: a child of the span of the write
// that produced the message, when the message carries its trace context
// (see Options.Propagate), and linked to it; else a child of ctx's.
func (o *Observer) StartHandle(ctx context.Context, h *ports.Handling) context.Context {
	info, msg := h.Consumer, h.Message
	attrs := consumerAttributes(info)
	if h.Attempt > 1 {
		o.handlerRetries.Add(ctx, 1, metric.WithAttributes(attrs...))
	}
	attrs = append(attrs,
		AttrStreamName.String(msg.StreamName),
		AttrMessageType.String(msg.Type),
		AttrMessageID.String(msg.ID.String()),
		AttrPosition.Int64(msg.Position),
		AttrGlobalPosition.Int64(msg.GlobalPosition),
		AttrAttempt.Int(h.Attempt),
	)
	opts := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(attrs...)}
	if tc := domain.TraceContext(msg.Metadata); tc != nil {
		written := o.prop.Extract(ctx, propagation.MapCarrier(tc))
		if sc := trace.SpanContextFromContext(written); sc.IsValid() {
			ctx = written
			opts = append(opts, trace.WithLinks(trace.Link{SpanContext: sc}))
		}
	}
	st := &handleState{start: time.Now()}
	ctx, st.span = o.tracer.Start(ctx, "process "+info.Category, opts...)
	return context.WithValue(ctx, handleKey{}, st)
}

// EndHandle ends the handler's span and records its duration and error.
func (o *Observer) EndHandle(ctx context.Context, h *ports.Handling, err error) {
	st, _ := ctx.Value(handleKey{}).(*handleState)
	if st == nil {
		return
	}
	endWith(st.span, err)
	attrs := consumerAttributes(h.Consumer)
	if err != nil {
		attrs = append(attrs, semconv.ErrorTypeKey.String(ErrorType(err)))
		o.handlerErrors.Add(ctx, 1, metric.WithAttributes(attrs...))
	}
	o.handlerDuration.Record(ctx, time.Since(st.start).Seconds(), metric.WithAttributes(attrs...))
}

// StoreCallRetry counts a store call of the consumer that is retried.
func (o *Observer) StoreCallRetry(ctx context.Context, info *ports.ConsumerInfo, _ int, _ time.Duration, err error) {
	attrs := append(consumerAttributes(info), semconv.ErrorTypeKey.String(ErrorType(err)))
	o.storeRetries.Add(ctx, 1, metric.WithAttributes(attrs...))
}
