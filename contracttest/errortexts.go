package contracttest

import (
	"context"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messagedb-go/messagedb/contracttest/internal/memstore"
	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/ports"
)

func errorTextCases() []testCase {
	return []testCase{
		{"SameAsTheReference", testErrorTextsSameAsReference},
		{"AfterDeleteAndClose", testErrorTextsAfterDeleteAndClose},
	}
}

// failure is a call that fails in the same way on every backend.
type failure struct {
	name string
	call func(ctx context.Context, s ports.Store, ms ports.MessageStore) error
}

// compareFailures makes each call on the store under test and on the
// in-memory reference store, both in a namespace with the same id and the
// same messages, and compares the errors' texts: the same failure reads the
// same on every backend, with one "messagedb:" prefix.
func compareFailures(t *testing.T, store, ref ports.Store, ms, refMS ports.MessageStore, failures []failure) {
	t.Helper()
	ctx := t.Context()
	for _, f := range failures {
		want := f.call(ctx, ref, refMS)
		require.Error(t, want, "%s: the reference store must fail", f.name)
		got := f.call(ctx, store, ms)
		if !assert.Error(t, got, f.name) {
			continue
		}
		assert.Equal(t, want.Error(), got.Error(), "%s: the error text of the reference store", f.name)
		assert.Equal(t, 1, strings.Count(got.Error(), "messagedb:"), "%s: one prefix in %q", f.name, got)
	}
}

// twin creates a namespace on store and one with the same id on the
// reference store, and returns their message stores.
func twin(t *testing.T, store, ref ports.Store) (ms, refMS ports.MessageStore, id string) {
	t.Helper()
	ms, id = newNamespaceWithID(t, store)
	_, err := ref.CreateNamespace(t.Context(), id, domain.NamespaceOptions{})
	require.NoError(t, err)
	refMS, err = ref.MessageStore(t.Context(), id)
	require.NoError(t, err)
	return ms, refMS, id
}

func newReference(t *testing.T) ports.Store {
	t.Helper()
	ref := memstore.New()
	t.Cleanup(func() { _ = ref.Close() })
	return ref
}

func testErrorTextsSameAsReference(t *testing.T, newStore Factory) {
	store, ref := newStore(t), newReference(t)
	ms, refMS, id := twin(t, store, ref)
	cat := category(t, "acct")
	stream := cat + "-1"
	ids := []uuid.UUID{uuid.MustParse("0196f0a8-0000-7000-8000-000000000001"), uuid.MustParse("0196f0a8-0000-7000-8000-000000000002")}
	setupMsgs := []domain.NewMessage{
		{ID: ids[0], Type: "Opened", Data: []byte(`{"owner":"ada"}`)},
		{ID: ids[1], Type: "Deposited", Data: []byte(`{"amount":5}`), Metadata: []byte(`{"correlationStreamName":"x-1"}`)},
	}
	for _, s := range []ports.MessageStore{ms, refMS} {
		_, err := s.WriteMessages(t.Context(), stream, setupMsgs, domain.ExpectVersion(domain.NoStream))
		require.NoError(t, err)
	}
	newID := uuid.MustParse("0196f0a8-0000-7000-8000-0000000000ff")
	writeOne := func(stream string, m domain.NewMessage, ev domain.ExpectedVersion) func(context.Context, ports.Store, ports.MessageStore) error {
		return func(ctx context.Context, _ ports.Store, ms ports.MessageStore) error {
			_, err := ms.WriteMessage(ctx, stream, m, ev)
			return err
		}
	}
	with := func(m domain.NewMessage, f func(*domain.NewMessage)) domain.NewMessage { f(&m); return m }
	big := domain.NewMessage{Type: "Big", Data: []byte(`"` + strings.Repeat("x", int(domain.DefaultMaxMessageSize)) + `"`)}
	bad := int64(-2)
	imp := func(msgs ...domain.Message) func(context.Context, ports.Store, ports.MessageStore) error {
		return func(ctx context.Context, _ ports.Store, ms ports.MessageStore) error {
			im, ok := ms.(ports.Importer)
			if !ok {
				return nil // compared only where both import
			}
			return im.ImportMessages(ctx, msgs)
		}
	}

	failures := []failure{
		{"VersionConflict", writeOne(stream, domain.NewMessage{Type: "X"}, domain.ExpectVersion(0))},
		{"VersionConflictNoStream", writeOne(cat+"-2", domain.NewMessage{Type: "X"}, domain.ExpectVersion(3))},
		{"DuplicateIDOtherStream", writeOne(cat+"-2", setupMsgs[0], domain.AnyVersion)},
		{"DuplicateIDOtherType", writeOne(stream, with(setupMsgs[0], func(m *domain.NewMessage) { m.Type = "Closed" }), domain.AnyVersion)},
		{"DuplicateIDOtherData", writeOne(stream, with(setupMsgs[0], func(m *domain.NewMessage) { m.Data = []byte(`{"owner":"bob"}`) }), domain.AnyVersion)},
		{"DuplicateIDOtherMetadata", writeOne(stream, with(setupMsgs[1], func(m *domain.NewMessage) { m.Metadata = nil }), domain.AnyVersion)},
		{"DuplicateIDPartBatch", func(ctx context.Context, _ ports.Store, ms ports.MessageStore) error {
			_, err := ms.WriteMessages(ctx, stream, []domain.NewMessage{{ID: newID, Type: "X"}, setupMsgs[1]}, domain.AnyVersion)
			return err
		}},
		{"InvalidStreamName", writeOne(cat, domain.NewMessage{Type: "X"}, domain.AnyVersion)},
		{"InvalidJSON", writeOne(stream, domain.NewMessage{Type: "X", Data: []byte(`{"a":`)}, domain.AnyVersion)},
		{"InvalidJSONInBatch", func(ctx context.Context, _ ports.Store, ms ports.MessageStore) error {
			_, err := ms.WriteMessages(ctx, stream, []domain.NewMessage{{Type: "X"}, {Type: "X", Metadata: []byte(`[`)}}, domain.AnyVersion)
			return err
		}},
		{"EmptyType", writeOne(stream, domain.NewMessage{}, domain.AnyVersion)},
		{"TooLarge", writeOne(stream, big, domain.AnyVersion)},
		{"InvalidExpectedVersion", writeOne(stream, domain.NewMessage{Type: "X"}, domain.ExpectVersion(-2))},
		{"InvalidBatchSize", func(ctx context.Context, _ ports.Store, ms ports.MessageStore) error {
			_, err := ms.GetStreamMessages(ctx, stream, domain.GetOpts{BatchSize: &bad})
			return err
		}},
		{"InvalidStreamPosition", func(ctx context.Context, _ ports.Store, ms ports.MessageStore) error {
			_, err := ms.GetStreamMessages(ctx, stream, domain.GetOpts{Position: -1})
			return err
		}},
		{"InvalidAllPosition", func(ctx context.Context, _ ports.Store, ms ports.MessageStore) error {
			_, err := ms.GetAllMessages(ctx, domain.AllOpts{Position: -1})
			return err
		}},
		{"InvalidAllBatchSize", func(ctx context.Context, _ ports.Store, ms ports.MessageStore) error {
			_, err := ms.GetAllMessages(ctx, domain.AllOpts{BatchSize: &bad})
			return err
		}},
		{"StreamNotCategory", func(ctx context.Context, _ ports.Store, ms ports.MessageStore) error {
			_, err := ms.GetCategoryMessages(ctx, stream, domain.CategoryOpts{})
			return err
		}},
		{"InvalidConsumerGroup", func(ctx context.Context, _ ports.Store, ms ports.MessageStore) error {
			_, err := ms.GetCategoryMessages(ctx, cat, domain.CategoryOpts{ConsumerGroup: &domain.ConsumerGroup{Member: 2, Size: 2}})
			return err
		}},
		{"InvalidCorrelation", func(ctx context.Context, _ ports.Store, ms ports.MessageStore) error {
			_, err := ms.GetCategoryMessages(ctx, cat, domain.CategoryOpts{Correlation: "x-1"})
			return err
		}},
		{"CategoryNotStream", func(ctx context.Context, _ ports.Store, ms ports.MessageStore) error {
			_, err := ms.GetLastGlobalPosition(ctx, stream)
			return err
		}},
		{"StreamNotFound", func(ctx context.Context, _ ports.Store, ms ports.MessageStore) error {
			_, err := ms.GetLastStreamMessage(ctx, cat+"-9", "")
			return err
		}},
		{"StreamNotFoundOfType", func(ctx context.Context, _ ports.Store, ms ports.MessageStore) error {
			_, err := ms.GetLastStreamMessage(ctx, stream, "Closed")
			return err
		}},
		{"NamespaceNotFound", func(ctx context.Context, s ports.Store, _ ports.MessageStore) error {
			_, err := s.MessageStore(ctx, id+"x")
			return err
		}},
		{"GetNamespaceNotFound", func(ctx context.Context, s ports.Store, _ ports.MessageStore) error {
			_, err := s.GetNamespace(ctx, id+"x")
			return err
		}},
		{"DeleteNamespaceNotFound", func(ctx context.Context, s ports.Store, _ ports.MessageStore) error {
			return s.DeleteNamespace(ctx, id+"x")
		}},
		{"NamespaceExists", func(ctx context.Context, s ports.Store, _ ports.MessageStore) error {
			_, err := s.CreateNamespace(ctx, id, domain.NamespaceOptions{})
			return err
		}},
		{"InvalidNamespace", func(ctx context.Context, s ports.Store, _ ports.MessageStore) error {
			_, err := s.MessageStore(ctx, "Bad-Id")
			return err
		}},
		{"ImportGlobalPosition", imp(domain.Message{ID: newID, StreamName: cat + "-5", Type: "X", GlobalPosition: 2, Data: []byte(`{}`)})},
		{"ImportPosition", imp(domain.Message{ID: newID, StreamName: stream, Type: "X", Position: 5, GlobalPosition: 10, Data: []byte(`{}`)})},
		{"ImportDuplicateID", imp(domain.Message{ID: ids[1], StreamName: cat + "-5", Type: "X", GlobalPosition: 10, Data: []byte(`{}`)})},
		{"ImportInvalid", imp(domain.Message{ID: newID, StreamName: stream, Type: "X", Position: 2, GlobalPosition: 10, Data: []byte(`nope`)})},
	}
	if _, ok := ms.(ports.Importer); !ok {
		failures = failures[:len(failures)-4]
	}
	if _, ok := ms.(ports.Watcher); ok {
		failures = append(failures, failure{"WatchInvalidCategory", watchFailure(stream)})
	}
	compareFailures(t, store, ref, ms, refMS, failures)
}

// testErrorTextsAfterDeleteAndClose compares the errors of a namespace's
// message store once the namespace is deleted, and of a closed store.
func testErrorTextsAfterDeleteAndClose(t *testing.T, newStore Factory) {
	store, ref := newStore(t), newReference(t)
	ms, refMS, id := twin(t, store, ref)
	require.NoError(t, store.DeleteNamespace(t.Context(), id))
	require.NoError(t, ref.DeleteNamespace(t.Context(), id))
	stream := category(t, "acct") + "-1"
	failures := []failure{
		{"WriteAfterDelete", func(ctx context.Context, _ ports.Store, ms ports.MessageStore) error {
			_, err := ms.WriteMessage(ctx, stream, domain.NewMessage{Type: "X"}, domain.AnyVersion)
			return err
		}},
		{"ReadAfterDelete", func(ctx context.Context, _ ports.Store, ms ports.MessageStore) error {
			_, err := ms.GetStreamMessages(ctx, stream, domain.GetOpts{})
			return err
		}},
		{"LastGlobalPositionAfterDelete", func(ctx context.Context, _ ports.Store, ms ports.MessageStore) error {
			_, err := ms.GetLastGlobalPosition(ctx, domain.Category(stream))
			return err
		}},
		{"AllAfterDelete", func(ctx context.Context, _ ports.Store, ms ports.MessageStore) error {
			_, err := ms.GetAllMessages(ctx, domain.AllOpts{})
			return err
		}},
		{"VersionAfterDelete", func(ctx context.Context, _ ports.Store, ms ports.MessageStore) error {
			_, err := ms.GetStreamVersion(ctx, stream)
			return err
		}},
		{"MessageStoreAfterDelete", func(ctx context.Context, s ports.Store, _ ports.MessageStore) error {
			_, err := s.MessageStore(ctx, id)
			return err
		}},
	}
	if _, ok := ms.(ports.Watcher); ok {
		failures = append(failures, failure{"WatchAfterDelete", watchFailure(domain.Category(stream))})
	}
	compareFailures(t, store, ref, ms, refMS, failures)

	closed, cms, _, _ := closedStore(t, newStore)
	closedRef := newReference(t)
	_, err := closedRef.CreateNamespace(t.Context(), "closing", domain.NamespaceOptions{})
	require.NoError(t, err)
	crefMS, err := closedRef.MessageStore(t.Context(), "closing")
	require.NoError(t, err)
	require.NoError(t, closed.Close())
	require.NoError(t, closedRef.Close())
	compareFailures(t, closed, closedRef, cms, crefMS, []failure{
		{"WriteAfterClose", func(ctx context.Context, _ ports.Store, ms ports.MessageStore) error {
			_, err := ms.WriteMessage(ctx, stream, domain.NewMessage{Type: "X"}, domain.AnyVersion)
			return err
		}},
		{"ListAfterClose", func(ctx context.Context, s ports.Store, _ ports.MessageStore) error {
			_, err := s.ListNamespaces(ctx)
			return err
		}},
	})
}

// watchFailure watches category, on a message store that is a Watcher (as
// the reference store's are).
func watchFailure(category string) func(context.Context, ports.Store, ports.MessageStore) error {
	return func(ctx context.Context, _ ports.Store, ms ports.MessageStore) error {
		_, err := ms.(ports.Watcher).WatchCategory(ctx, category)
		return err
	}
}
