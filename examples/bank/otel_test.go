package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// lockedBuffer takes the concurrent writes of the exporters and the logger.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// With MESSAGEDB_OTEL=stdout the story is the same, and the spans, metrics
// and logs of its store and consumer are written as JSON.
func TestRun_OpenTelemetryToStdout(t *testing.T) {
	ctx := context.Background()
	var telemetryOut lockedBuffer
	opts, shutdown, err := telemetry(func(k string) string {
		if k == envOTel {
			return "stdout"
		}
		return ""
	}, &telemetryOut)
	require.NoError(t, err)
	var out bytes.Buffer
	require.NoError(t, run(ctx, &out, "memory:", opts))
	require.NoError(t, shutdown(ctx))

	want, err := os.ReadFile("testdata/output.txt")
	require.NoError(t, err)
	assert.Equal(t, string(want), out.String(), "the same story")
	got := telemetryOut.buf.String()
	for _, s := range []string{
		`"Name":"write_message account"`,
		`"Name":"process account"`,
		`"Key":"messagedb.consumer.id"`,
		`"Name":"db.client.operation.duration"`,
		`"Name":"messagedb.consumer.handler.duration"`,
		`"msg":"consumer started"`,
		`"msg":"consumer stopped"`,
	} {
		assert.Contains(t, got, s)
	}
	assert.Greater(t, strings.Count(got, `"Name":"process account"`), 5, "a handler span per message")
}

func TestTelemetry_UnknownValue(t *testing.T) {
	_, _, err := telemetry(func(string) string { return "jaeger" }, &bytes.Buffer{})
	assert.ErrorContains(t, err, `MESSAGEDB_OTEL="jaeger"`)
}
