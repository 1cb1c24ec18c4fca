package otelobserver_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/messagedb-go/messagedb/adapters/otelobserver"
	"github.com/messagedb-go/messagedb/app"
	"github.com/messagedb-go/messagedb/domain"
)

// TestSpans makes each operation once on every backend and checks its
// span: name, kind, the database conventions' attributes, messagedb's own,
// and on failure the error's kind.
func TestSpans(t *testing.T) {
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			tel := newTelemetry(t, otelobserver.Options{})
			s := open(t, be.url(t), &app.Options{Observer: tel.obs})
			ns := namespace(t, s, "spans")

			_, err := ns.Write(ctx, "account-1", event("Opened"), domain.ExpectVersion(domain.NoStream))
			require.NoError(t, err)
			_, err = ns.WriteBatch(ctx, "account-1", []domain.NewMessage{event("Deposited"), event("Deposited"), event("Withdrawn")}, domain.ExpectVersion(0))
			require.NoError(t, err)
			msgs, err := ns.Read(ctx, "account-1", domain.GetOpts{})
			require.NoError(t, err)
			require.Len(t, msgs, 4)
			got, err := ns.ReadCategory(ctx, "account", domain.CategoryOpts{Position: 2})
			require.NoError(t, err)
			require.Len(t, got, 3)
			_, err = ns.Last(ctx, "account-1", "Deposited")
			require.NoError(t, err)
			v, err := ns.Version(ctx, "account-1")
			require.NoError(t, err)
			require.Equal(t, int64(3), v)
			_, err = ns.Write(ctx, "account-1", event("Closed"), domain.ExpectVersion(1))
			require.ErrorIs(t, err, domain.ErrVersionConflict)
			_, err = ns.Last(ctx, "account-2", "")
			require.ErrorIs(t, err, domain.ErrStreamNotFound)

			dst := namespace(t, s, "spanscopy")
			require.NoError(t, dst.Import(ctx, msgs))
			require.NoError(t, s.DeleteNamespace(ctx, "spanscopy"))

			common := func(t *testing.T, span string, op string) map[attribute.Key]attribute.Value {
				t.Helper()
				sp := tel.span(t, span)
				assert.Equal(t, trace.SpanKindClient, sp.SpanKind, span)
				a := attrs(sp)
				assert.Equal(t, be.system, a["db.system.name"].AsString(), span)
				assert.Equal(t, op, a["db.operation.name"].AsString(), span)
				return a
			}

			// The failed write and the stream that is not found have spans
			// of their own, named as the successful ones: tell them apart
			// by status.
			var writes, lasts []map[attribute.Key]attribute.Value
			var failedWrite, missing map[attribute.Key]attribute.Value
			for _, sp := range tel.spans.GetSpans() {
				a := attrs(sp)
				switch sp.Name {
				case "write_message account":
					if sp.Status.Code == codes.Error {
						failedWrite = a
						assert.NotEmpty(t, sp.Events, "the error is recorded as an event")
					} else {
						writes = append(writes, a)
					}
				case "get_last_stream_message account":
					if sp.Status.Code == codes.Error {
						missing = a
					} else {
						lasts = append(lasts, a)
					}
				}
			}
			require.Len(t, writes, 1)
			w := writes[0]
			assert.Equal(t, "spans", w["db.namespace"].AsString())
			assert.Equal(t, "account", w["db.collection.name"].AsString())
			assert.Equal(t, "account-1", w["messagedb.stream.name"].AsString())
			assert.Equal(t, int64(-1), w["messagedb.expected_version"].AsInt64())
			assert.Equal(t, int64(1), w["messagedb.global_position"].AsInt64())
			assert.Equal(t, "write_message", w["db.operation.name"].AsString())
			assert.NotContains(t, w, attribute.Key("db.operation.batch.size"), "a single write is no batch")

			require.NotNil(t, failedWrite, "the failed write has a span")
			assert.Equal(t, "version_conflict", failedWrite["error.type"].AsString())
			assert.Equal(t, int64(1), failedWrite["messagedb.expected_version"].AsInt64())
			require.NotNil(t, missing)
			assert.Equal(t, "stream_not_found", missing["error.type"].AsString())
			assert.Equal(t, "account-2", missing["messagedb.stream.name"].AsString())
			require.Len(t, lasts, 1)
			assert.Equal(t, int64(1), lasts[0]["db.response.returned_rows"].AsInt64())

			a := common(t, "write_messages account", "write_messages")
			assert.Equal(t, int64(3), a["db.operation.batch.size"].AsInt64())
			assert.Equal(t, int64(0), a["messagedb.expected_version"].AsInt64())
			assert.Equal(t, int64(4), a["messagedb.global_position"].AsInt64())
			assert.NotContains(t, a, attribute.Key("error.type"))

			a = common(t, "get_stream_messages account", "get_stream_messages")
			assert.Equal(t, "account-1", a["messagedb.stream.name"].AsString())
			assert.Equal(t, int64(4), a["db.response.returned_rows"].AsInt64())

			a = common(t, "get_category_messages account", "get_category_messages")
			assert.Equal(t, "account", a["db.collection.name"].AsString())
			assert.NotContains(t, a, attribute.Key("messagedb.stream.name"))
			assert.Equal(t, int64(3), a["db.response.returned_rows"].AsInt64())

			a = common(t, "stream_version account", "stream_version")
			assert.Equal(t, "account-1", a["messagedb.stream.name"].AsString())

			for _, id := range []string{"spans", "spanscopy"} {
				a = common(t, "create_namespace "+id, "create_namespace")
				assert.Equal(t, id, a["db.namespace"].AsString())
			}
			a = common(t, "import_messages spanscopy", "import_messages")
			assert.Equal(t, int64(4), a["db.operation.batch.size"].AsInt64())
			a = common(t, "delete_namespace spanscopy", "delete_namespace")
			assert.Equal(t, "spanscopy", a["db.namespace"].AsString())

			// The metrics of the same calls.
			rm := tel.collect(t)
			sys := attribute.String("db.system.name", be.system)
			assert.Equal(t, int64(1+3+4), sum(rm, otelobserver.MetricMessagesWritten, sys), "messages written and imported")
			assert.Equal(t, int64(1+3), sum(rm, otelobserver.MetricMessagesWritten, sys, attribute.String("db.collection.name", "account")))
			assert.Equal(t, int64(4+3+1), sum(rm, otelobserver.MetricMessagesRead, sys, attribute.String("db.namespace", "spans")))
			assert.Equal(t, uint64(2), count(rm, otelobserver.MetricOperationDuration, sys, attribute.String("db.operation.name", "write_message")))
			assert.Equal(t, uint64(1), count(rm, otelobserver.MetricOperationDuration, attribute.String("error.type", "version_conflict")))
			assert.Equal(t, uint64(1), count(rm, otelobserver.MetricOperationDuration, attribute.String("db.operation.name", "delete_namespace")))
		})
	}
}

// TestErrorType checks the kinds of error.type.
func TestErrorType(t *testing.T) {
	for err, want := range map[error]string{
		&domain.VersionConflictError{StreamName: "a-1", Expected: 1, Actual: 2}: "version_conflict",
		domain.NamespaceNotFound("x"):                                           "namespace_not_found",
		&domain.MessageTooLargeError{}:                                          "message_too_large",
		domain.ErrInvalidMessage:                                                "invalid_message",
		domain.ErrInvalidBatchSize:                                              "invalid_options",
		domain.ErrClosed:                                                        "closed",
		fmt.Errorf("connect: %w", domain.ErrUnavailable):                        "unavailable",
		domain.ErrMigrationPending:                                              "migration_pending",
		context.DeadlineExceeded:                                                "deadline_exceeded",
		context.Canceled:                                                        "canceled",
		assert.AnError:                                                          "_OTHER",
	} {
		assert.Equal(t, want, otelobserver.ErrorType(err), "%v", err)
	}
}
