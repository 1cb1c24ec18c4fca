package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"go.opentelemetry.io/otel/exporters/stdout/stdoutmetric"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/messagedb-go/messagedb/adapters/otelobserver"
	"github.com/messagedb-go/messagedb/app"
)

// envOTel names the environment variable that wires OpenTelemetry:
// "stdout" writes the spans, the metrics and the store's logs to w as
// JSON (w must take concurrent writes, as os.Stderr does); empty wires
// nothing.
const envOTel = "MESSAGEDB_OTEL"

// telemetry returns the store options that $MESSAGEDB_OTEL asks for, and
// the function that flushes and stops what it started.
func telemetry(getenv func(string) string, w io.Writer) (*app.Options, func(context.Context) error, error) {
	switch v := getenv(envOTel); v {
	case "":
		return nil, func(context.Context) error { return nil }, nil
	case "stdout":
		traces, err := stdouttrace.New(stdouttrace.WithWriter(w))
		if err != nil {
			return nil, nil, err
		}
		metrics, err := stdoutmetric.New(stdoutmetric.WithWriter(w))
		if err != nil {
			return nil, nil, err
		}
		tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(traces))
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewPeriodicReader(metrics)))
		obs, err := otelobserver.New(otelobserver.Options{TracerProvider: tp, MeterProvider: mp, Propagate: true})
		if err != nil {
			return nil, nil, err
		}
		shutdown := func(ctx context.Context) error {
			// The observer first: it stops reading the consumers' lag.
			return errors.Join(obs.Close(), mp.Shutdown(ctx), tp.Shutdown(ctx))
		}
		return &app.Options{Observer: obs, Logger: slog.New(slog.NewJSONHandler(w, nil))}, shutdown, nil
	default:
		return nil, nil, fmt.Errorf("%s=%q: want stdout or nothing", envOTel, v)
	}
}
