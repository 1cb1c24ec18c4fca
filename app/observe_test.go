package app_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messagedb-go/messagedb/app"
	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/ports"
)

// callsSeen is a StoreObserver that records every call as it ends, and
// checks that EndCall gets the context StartCall returned.
type callsSeen struct {
	mu    sync.Mutex
	calls []ports.Call
	errs  []error
	lost  atomic.Int32 // EndCalls without StartCall's context
}

type callMark struct{}

func (o *callsSeen) StartCall(ctx context.Context, c *ports.Call) context.Context {
	return context.WithValue(ctx, callMark{}, c)
}

func (o *callsSeen) EndCall(ctx context.Context, c *ports.Call, err error) {
	if ctx.Value(callMark{}) != c {
		o.lost.Add(1)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.calls = append(o.calls, *c)
	o.errs = append(o.errs, err)
}

// of returns the calls of op.
func (o *callsSeen) of(op ports.Operation) []ports.Call {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []ports.Call
	for _, c := range o.calls {
		if c.Operation == op {
			out = append(out, c)
		}
	}
	return out
}

func openObserved(t *testing.T, url string, obs ports.StoreObserver) *app.Store {
	t.Helper()
	s, err := app.Open(context.Background(), url, &app.Options{Observer: obs})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// Every call through a Store and its namespaces is described to the
// observer, with what it did; a consumer's own calls carry its id.
func TestObserver_DescribesEveryCall(t *testing.T) {
	for _, b := range []struct{ name, url, system string }{
		{"SQLiteMemory", "memory:", ports.SystemSQLite},
	} {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			obs := &callsSeen{}
			s := openObserved(t, b.url, obs)
			ns, err := s.EnsureNamespace(ctx, "seen", domain.NamespaceOptions{})
			require.NoError(t, err)
			_, err = ns.Write(ctx, "item-1", domain.NewMessage{Type: "Added"}, domain.ExpectVersion(domain.NoStream))
			require.NoError(t, err)
			_, err = ns.WriteBatch(ctx, "item-1", []domain.NewMessage{{Type: "Added"}, {Type: "Removed"}}, domain.AnyVersion)
			require.NoError(t, err)
			_, err = ns.Write(ctx, "item-1", domain.NewMessage{Type: "Added"}, domain.ExpectVersion(0))
			require.ErrorIs(t, err, domain.ErrVersionConflict)
			msgs, err := ns.Read(ctx, "item-1", domain.GetOpts{})
			require.NoError(t, err)
			_, err = ns.ReadCategory(ctx, "item", domain.CategoryOpts{})
			require.NoError(t, err)
			_, err = ns.ReadAll(ctx, domain.AllOpts{})
			require.NoError(t, err)
			_, err = ns.Last(ctx, "item-1", "")
			require.NoError(t, err)
			_, err = ns.Version(ctx, "item-1")
			require.NoError(t, err)
			_, err = ns.MessageStore().GetStreamVersion(ctx, "item-1")
			require.NoError(t, err, "the namespace's message store is observed too")
			_, err = ns.LastGlobalPosition(ctx, "item")
			require.NoError(t, err)
			cp, err := s.EnsureNamespace(ctx, "seencopy", domain.NamespaceOptions{})
			require.NoError(t, err)
			require.NoError(t, cp.Import(ctx, msgs))
			require.NoError(t, s.DeleteNamespace(ctx, "seencopy"))

			onCaughtUp, caught := caughtUpAt()
			c, err := ns.NewConsumer("item", func(context.Context, domain.Message) error { return nil },
				app.ConsumerOptions{ID: "c1", PollInterval: time.Millisecond, PositionUpdateInterval: 1, OnCaughtUp: onCaughtUp})
			require.NoError(t, err)
			stop := runConsumer(t, c)
			waitCaughtUp(t, caught, 3)
			require.NoError(t, stop())

			assert.Zero(t, obs.lost.Load(), "EndCall gets StartCall's context")
			w := obs.of(ports.OpWriteMessage)
			require.GreaterOrEqual(t, len(w), 2)
			assert.Equal(t, ports.Call{Operation: ports.OpWriteMessage, System: b.system, Namespace: "seen", Stream: "item-1", Category: "item",
				Messages: 1, Expected: domain.ExpectVersion(domain.NoStream), GlobalPosition: 1}, w[0])
			assert.Equal(t, int64(0), w[1].GlobalPosition, "the failed write wrote nothing")
			var positions int
			for _, c := range w[2:] {
				assert.Equal(t, "c1", c.Consumer, "a position update is the consumer's")
				assert.Equal(t, "item:position-c1", c.Stream)
				positions++
			}
			assert.Equal(t, 3, positions, "one position update per message")
			assert.Equal(t, []ports.Call{{Operation: ports.OpWriteMessages, System: b.system, Namespace: "seen", Stream: "item-1", Category: "item",
				Messages: 2, GlobalPosition: 3}}, obs.of(ports.OpWriteMessages))
			reads := obs.of(ports.OpGetStreamMessages)
			require.Len(t, reads, 1)
			assert.Equal(t, 3, reads[0].Returned)
			cats := obs.of(ports.OpGetCategoryMessages)
			require.GreaterOrEqual(t, len(cats), 2)
			assert.Equal(t, ports.Call{Operation: ports.OpGetCategoryMessages, System: b.system, Namespace: "seen", Category: "item", Returned: 3}, cats[0])
			for _, c := range cats[1:] {
				assert.Equal(t, "c1", c.Consumer, "the consumer's reads")
			}
			assert.Equal(t, 3, obs.of(ports.OpGetAllMessages)[0].Returned)
			lasts := obs.of(ports.OpGetLastStreamMessage)
			require.Len(t, lasts, 2, "the application's, and the consumer's stored position")
			assert.Equal(t, 1, lasts[0].Returned)
			assert.Equal(t, "item:position-c1", lasts[1].Stream)
			assert.Equal(t, "c1", lasts[1].Consumer)
			assert.Len(t, obs.of(ports.OpStreamVersion), 2)
			assert.Len(t, obs.of(ports.OpGetLastGlobalPosition), 1)
			assert.Equal(t, []ports.Call{{Operation: ports.OpImportMessages, System: b.system, Namespace: "seencopy", Messages: 3, GlobalPosition: 3}},
				obs.of(ports.OpImportMessages))
			assert.Len(t, obs.of(ports.OpCreateNamespace), 2)
			assert.Equal(t, []ports.Call{{Operation: ports.OpDeleteNamespace, System: b.system, Namespace: "seencopy"}}, obs.of(ports.OpDeleteNamespace))
		})
	}
}

// injector is a StoreObserver that carries a new context in each write:
// "traceparent" is a counter, as a span id would differ.
type injector struct {
	callsSeen
	n atomic.Int64
}

type injectMark struct{}

func (o *injector) StartCall(ctx context.Context, c *ports.Call) context.Context {
	return context.WithValue(o.callsSeen.StartCall(ctx, c), injectMark{}, fmt.Sprint(o.n.Add(1)))
}

func (o *injector) InjectContext(ctx context.Context) map[string]string {
	return map[string]string{"traceparent": ctx.Value(injectMark{}).(string)}
}

// A write carries the observer's context in its messages' metadata, without
// changing what it does: a retry made under another context is still an
// idempotent retry, a different message with a stored id still a
// duplicate, a message the context would make too large is written
// without it, and metadata that has the key or is no object is left as
// it is.
func TestObserver_CarriesContext(t *testing.T) {
	eachStore(t, func(t *testing.T, plain *app.Store) {
		ctx := context.Background()
		obs := &injector{}
		s := app.NewStoreWith(plain.Backend(), &app.Options{Observer: obs})
		ns, err := s.EnsureNamespace(ctx, "carry", domain.NamespaceOptions{})
		require.NoError(t, err)

		msg := domain.NewMessage{ID: uuid.New(), Type: "Opened", Data: []byte(`{"a":1}`), Metadata: []byte(`{"correlationStreamName":"flow-1"}`)}
		first, err := ns.Write(ctx, "acct-1", msg, domain.ExpectVersion(domain.NoStream))
		require.NoError(t, err)
		stored, err := ns.Last(ctx, "acct-1", "")
		require.NoError(t, err)
		tc := domain.TraceContext(stored.Metadata)
		assert.Equal(t, map[string]string{"traceparent": "2"}, tc, "the write's context (the create namespace call was 1)")
		assert.Equal(t, "flow-1", stored.CorrelationStreamName(), "the caller's metadata kept")
		assert.Equal(t, `{"correlationStreamName":"flow-1"}`, string(msg.Metadata), "the caller's message is not modified")

		again, err := ns.Write(ctx, "acct-1", msg, domain.ExpectVersion(domain.NoStream))
		require.NoError(t, err, "a retry under another context is an idempotent retry")
		assert.Equal(t, first, again)

		batch := []domain.NewMessage{
			{ID: uuid.New(), Type: "Deposited", Data: []byte(`{"n":1}`)},
			{ID: uuid.New(), Type: "Deposited", Data: []byte(`{"n":2}`), Metadata: []byte(`{"traceContext":{"traceparent":"mine"}}`)},
			{ID: uuid.New(), Type: "Deposited", Data: []byte(`{"n":3}`)},
		}
		res, err := ns.WriteBatch(ctx, "acct-1", batch, domain.ExpectVersion(0))
		require.NoError(t, err)
		res2, err := ns.WriteBatch(ctx, "acct-1", batch, domain.ExpectVersion(0))
		require.NoError(t, err, "a batch retried under another context is an idempotent retry")
		assert.Equal(t, res, res2)
		msgs, err := ns.Read(ctx, "acct-1", domain.GetOpts{})
		require.NoError(t, err)
		require.Len(t, msgs, 4, "nothing written twice")
		assert.Equal(t, map[string]string{"traceparent": "mine"}, domain.TraceContext(msgs[2].Metadata), "a context of the caller's own is kept")
		assert.NotNil(t, domain.TraceContext(msgs[3].Metadata))

		other := msg
		other.Metadata = []byte(`{"correlationStreamName":"flow-2"}`)
		_, err = ns.Write(ctx, "acct-1", other, domain.AnyVersion)
		var dup *domain.DuplicateMessageIDError
		require.ErrorAs(t, err, &dup, "other metadata under a stored id is no retry")
		assert.Equal(t, "metadata", dup.Differs)

		mine := batch[1]
		mine.Metadata = []byte(`{"traceContext":{"traceparent":"not mine"}}`)
		_, err = ns.WriteBatch(ctx, "acct-1", []domain.NewMessage{batch[0], mine, batch[2]}, domain.AnyVersion)
		require.ErrorAs(t, err, &dup, "another context of the caller's own is no retry")

		// Metadata that is no object is stored as it is.
		_, err = ns.Write(ctx, "acct-2", domain.NewMessage{Type: "Listed", Metadata: []byte(`[1,2]`)}, domain.AnyVersion)
		require.NoError(t, err)
		last, err := ns.Last(ctx, "acct-2", "")
		require.NoError(t, err)
		assert.JSONEq(t, `[1,2]`, string(last.Metadata))
	})
}

// A message that fits the store's limit but not with the observer's
// context is written without it.
func TestObserver_CarriedContextNeverMakesAMessageTooLarge(t *testing.T) {
	ctx := context.Background()
	obs := &injector{}
	s, err := app.Open(ctx, "memory:", &app.Options{Observer: obs, MaxMessageSize: 64})
	require.NoError(t, err)
	defer s.Close()
	ns, err := s.EnsureNamespace(ctx, "limit", domain.NamespaceOptions{})
	require.NoError(t, err)
	data := []byte(`{"text":"` + strings.Repeat("x", 64-len(`{"text":""}`)) + `"}`)
	_, err = ns.Write(ctx, "note-1", domain.NewMessage{Type: "Noted", Data: data}, domain.AnyVersion)
	require.NoError(t, err, "exactly at the limit")
	stored, err := ns.Last(ctx, "note-1", "")
	require.NoError(t, err)
	assert.Empty(t, stored.Metadata, "written without the context")
	_, err = ns.Write(ctx, "note-1", domain.NewMessage{Type: "Noted", Data: append(data[:len(data)-2:len(data)-2], `x"}`...)}, domain.AnyVersion)
	require.ErrorIs(t, err, domain.ErrMessageTooLarge, "too large on its own")
}

// consumerSeen is a ConsumerObserver that records what it is told.
type consumerSeen struct {
	mu      sync.Mutex
	events  []string
	handled []ports.Handling
}

type handleMark struct{}

func (o *consumerSeen) add(e string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.events = append(o.events, e)
}

func (o *consumerSeen) ConsumerStarted(_ context.Context, info *ports.ConsumerInfo) {
	o.add("started " + info.ID + " " + info.Category + " " + info.Namespace + " " + info.System)
}

func (o *consumerSeen) ConsumerStopped(_ context.Context, info *ports.ConsumerInfo, err error) {
	o.add(fmt.Sprintf("stopped %s %v", info.ID, err))
}

func (o *consumerSeen) StartHandle(ctx context.Context, h *ports.Handling) context.Context {
	return context.WithValue(ctx, handleMark{}, h.Message.GlobalPosition)
}

func (o *consumerSeen) EndHandle(_ context.Context, h *ports.Handling, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.handled = append(o.handled, *h)
	o.events = append(o.events, fmt.Sprintf("handled %d attempt %d: %v", h.Message.GlobalPosition, h.Attempt, err))
}

func (o *consumerSeen) StoreCallRetry(_ context.Context, info *ports.ConsumerInfo, attempt int, backoff time.Duration, err error) {
	o.add(fmt.Sprintf("store retry %s attempt %d backoff %s: %v", info.ID, attempt, backoff, errors.Is(err, errConnection)))
}

// A consumer tells its observer when it starts and stops, each handler
// call (whose context is the observer's), and each store call retried.
func TestObserver_Consumer(t *testing.T) {
	ns, plain, _ := faultyNamespace(t, failing(map[string][]int{callRead: {1}}))
	writeN(t, plain, "job", 1, 2)
	obs := &consumerSeen{}
	failures := 0
	onCaughtUp, caught := caughtUpAt()
	c, err := ns.NewConsumer("job", func(ctx context.Context, msg domain.Message) error {
		if ctx.Value(handleMark{}) != msg.GlobalPosition {
			return errors.New("not the observer's context")
		}
		if msg.GlobalPosition == 2 && failures == 0 {
			failures++
			return errors.New("flaky")
		}
		return nil
	}, app.ConsumerOptions{ID: "w", Observer: obs, PollInterval: time.Millisecond, OnCaughtUp: onCaughtUp,
		OnError:    app.RetryOnError{MinBackoff: time.Millisecond},
		StoreRetry: app.StoreRetry{MinBackoff: time.Millisecond}})
	require.NoError(t, err)
	stop := runConsumer(t, c)
	waitCaughtUp(t, caught, 2)
	require.NoError(t, stop())
	assert.Equal(t, []string{
		"started w job test other_sql",
		"store retry w attempt 1 backoff 1ms: true",
		"handled 1 attempt 1: <nil>",
		"handled 2 attempt 1: flaky",
		"handled 2 attempt 2: <nil>",
		"stopped w <nil>",
	}, obs.events)
}

// A store's observer that is also a ConsumerObserver watches the store's
// consumers unless they name their own.
func TestObserver_ConsumersInheritTheStoresObserver(t *testing.T) {
	type both struct {
		callsSeen
		consumerSeen
	}
	obs := &both{}
	s := openObserved(t, "memory:", obs)
	ns, err := s.EnsureNamespace(context.Background(), "inherit", domain.NamespaceOptions{})
	require.NoError(t, err)
	writeN(t, ns, "job", 1, 1)
	onCaughtUp, caught := caughtUpAt()
	c, err := ns.NewConsumer("job", func(context.Context, domain.Message) error { return nil },
		app.ConsumerOptions{ID: "w", PollInterval: time.Millisecond, OnCaughtUp: onCaughtUp})
	require.NoError(t, err)
	stop := runConsumer(t, c)
	waitCaughtUp(t, caught, 1)
	require.NoError(t, stop())
	assert.Equal(t, []string{"started w job inherit sqlite", "handled 1 attempt 1: <nil>", "stopped w <nil>"}, obs.consumerSeen.events)

	own := &consumerSeen{}
	c, err = ns.NewConsumer("job", func(context.Context, domain.Message) error { return nil },
		app.ConsumerOptions{ID: "v", Observer: own, PollInterval: time.Millisecond, OnCaughtUp: onCaughtUp})
	require.NoError(t, err)
	stop = runConsumer(t, c)
	waitCaughtUp(t, caught, 1)
	require.NoError(t, stop())
	assert.Len(t, own.events, 3, "its own observer")
	assert.Len(t, obs.consumerSeen.events, 3, "not the store's")
}
