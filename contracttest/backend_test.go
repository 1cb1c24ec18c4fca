package contracttest_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messagedb-go/messagedb/app"
	"github.com/messagedb-go/messagedb/contracttest"
	"github.com/messagedb-go/messagedb/contracttest/internal/memstore"
	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/internal/urlparam"
	"github.com/messagedb-go/messagedb/ports"
)

// A backend outside messagedb's adapters, as a third backend would be: the
// in-memory reference store behind the URL scheme memref:, registered with
// app from this test. It owns its parameters: max_message_size, and
// plain=true, which hides the optional ports (a backend without
// ports.Importer and ports.Watcher).
type memref struct{}

func (memref) Schemes() []string { return []string{"memref"} }
func (memref) URLForms() string  { return "memref: (the reference store)" }

func (memref) ParseURL(raw string) (ports.OpenFunc, error) {
	_, rest, _ := strings.Cut(raw, ":")
	path, query, _ := strings.Cut(rest, "?")
	if path != "" {
		return nil, errors.New("memref: takes nothing after the colon but a query")
	}
	params, err := url.ParseQuery(query)
	if err != nil {
		return nil, fmt.Errorf("malformed query: %v", err)
	}
	var size int64
	plain := false
	for key, vals := range params {
		v := vals[len(vals)-1]
		switch key {
		case "plain":
			plain = v == "true"
		case urlparam.MaxMessageSize:
			if size, err = urlparam.ParseMaxMessageSize(v); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("unknown parameter %q", key)
		}
	}
	return func(_ context.Context, o ports.OpenOptions) (ports.Store, error) {
		if o.MaxMessageSize != 0 {
			size = o.MaxMessageSize
		}
		s := memstore.NewWithLimits(domain.Limits{MaxMessageSize: size})
		if plain {
			return plainStore{s}, nil
		}
		return s, nil
	}, nil
}

// plainStore is a store whose message stores are neither Importers nor
// Watchers, and says so.
type plainStore struct{ ports.Store }

func (plainStore) Capabilities() ports.Capabilities {
	return ports.Capabilities{System: ports.SystemOther}
}

func (s plainStore) MessageStore(ctx context.Context, id string) (ports.MessageStore, error) {
	ms, err := s.Store.MessageStore(ctx, id)
	if err != nil {
		return nil, err
	}
	return struct{ ports.MessageStore }{ms}, nil
}

var registered = sync.OnceValue(func() error { return app.Register(memref{}) })

// open opens url through app.Open, with an observer when observe is set,
// and closes the store at cleanup.
func open(t *testing.T, url string, opts *app.Options) *app.Store {
	t.Helper()
	require.NoError(t, registered(), "register memref")
	s, err := app.Open(t.Context(), url, opts)
	require.NoError(t, err, "open %s", url)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// appStore is an app.Store as a ports.Store: its message stores are those
// of app's namespace handles, observed when the Store has an observer.
type appStore struct{ *app.Store }

func (s appStore) MessageStore(ctx context.Context, id string) (ports.MessageStore, error) {
	ns, err := s.Namespace(ctx, id)
	if err != nil {
		return nil, err
	}
	return ns.MessageStore(), nil
}

// counter counts the calls it observes.
type counter struct{ calls atomic.Int64 }

func (c *counter) StartCall(ctx context.Context, _ *ports.Call) context.Context {
	c.calls.Add(1)
	return ctx
}
func (c *counter) EndCall(context.Context, *ports.Call, error) {}

// runThroughApp runs the suite on stores of url opened by app.Open, through
// app's namespace handles, observed.
func runThroughApp(t *testing.T, url string) {
	obs := new(counter)
	t.Cleanup(func() {
		assert.Positive(t, obs.calls.Load(), "the calls went through app's observed handles")
	})
	contracttest.Run(t, func(t *testing.T) ports.Store {
		return appStore{open(t, url, &app.Options{Observer: obs})}
	})
}

// The registered backend passes the suite through app.Open: every case,
// those of ports.Importer and ports.Watcher included.
func TestRegisteredBackend(t *testing.T) {
	runThroughApp(t, "memref:")
}

// Without the optional ports, the suite runs the other cases, and checks
// that app's handles do not claim them either.
func TestRegisteredBackend_WithoutOptionalPorts(t *testing.T) {
	runThroughApp(t, "memref:?plain=true")
}

// The backend owns its scheme, whatever its case, and its parameters; its
// form joins those an invalid URL's message lists; a scheme is registered
// once.
func TestRegisteredBackend_URLs(t *testing.T) {
	s := open(t, "MemRef:?max_message_size=64", nil)
	assert.Equal(t, domain.Limits{MaxMessageSize: 64}, s.Limits())
	assert.Equal(t, ports.Capabilities{System: ports.SystemOther, Importer: true, Watcher: true}, s.Capabilities())
	s = open(t, "memref:?max_message_size=64", &app.Options{MaxMessageSize: -1})
	assert.Equal(t, domain.Limits{MaxMessageSize: -1}, s.Limits(), "the application's option wins")

	for _, bad := range []string{"memref:x", "memref:?plain=true&colour=red", "memref:?max_message_size=lots"} {
		_, err := app.Open(t.Context(), bad, nil)
		assert.ErrorIs(t, err, app.ErrInvalidURL, bad)
		assert.ErrorContains(t, err, "or memref: (the reference store)", bad)
	}
	assert.Error(t, app.Register(memref{}), "memref is taken")
}

// A backend without the optional ports, through app: an import is
// refused with ErrUnsupported and writes nothing, a copy into it too, and
// consumers poll.
func TestRegisteredBackend_WithoutOptionalPortsThroughApp(t *testing.T) {
	for _, opts := range []*app.Options{nil, {Observer: new(counter)}} {
		t.Run(fmt.Sprintf("Observed=%t", opts != nil), func(t *testing.T) {
			ctx := t.Context()
			s := open(t, "memref:?plain=true", opts)
			assert.Equal(t, ports.Capabilities{System: ports.SystemOther}, s.Capabilities())
			ns, err := s.EnsureNamespace(ctx, "plain", domain.NamespaceOptions{})
			require.NoError(t, err)
			_, imports := ns.MessageStore().(ports.Importer)
			_, watches := ns.MessageStore().(ports.Watcher)
			assert.False(t, imports || watches, "%T declares no optional port", ns.MessageStore())

			err = ns.Import(ctx, []domain.Message{{StreamName: "acct-1", Type: "A", GlobalPosition: 1, Data: []byte(`{}`)}})
			assert.ErrorIs(t, err, app.ErrUnsupported)
			v, err := ns.Version(ctx, "acct-1")
			require.NoError(t, err)
			assert.Equal(t, domain.NoStream, v, "nothing imported")

			src, err := open(t, "memref:", nil).EnsureNamespace(ctx, "src", domain.NamespaceOptions{})
			require.NoError(t, err)
			_, err = src.Write(ctx, "acct-1", domain.NewMessage{Type: "A"}, domain.AnyVersion)
			require.NoError(t, err)
			_, err = app.CopyNamespace(ctx, src, ns, app.CopyOptions{})
			assert.ErrorIs(t, err, app.ErrUnsupported)

			testPollingConsumer(t, ns)
		})
	}
}

// testPollingConsumer runs a consumer on a namespace that cannot wake it:
// it handles what was written before it started and, by polling, what is
// written after.
func testPollingConsumer(t *testing.T, ns *app.Namespace) {
	ctx, cancel := context.WithCancel(t.Context())
	handled := make(chan int64, 10)
	c, err := ns.NewConsumer("order", func(_ context.Context, m domain.Message) error {
		handled <- m.GlobalPosition
		return nil
	}, app.ConsumerOptions{ID: "poller", PollInterval: 10 * time.Millisecond})
	require.NoError(t, err)
	write := func(n int) int64 {
		r, err := ns.Write(ctx, fmt.Sprintf("order-%d", n), domain.NewMessage{Type: "Placed"}, domain.AnyVersion)
		require.NoError(t, err)
		return r.GlobalPosition
	}
	want := []int64{write(1), write(2)}
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	receive := func(n int) []int64 {
		var got []int64
		for len(got) < n {
			select {
			case gp := <-handled:
				got = append(got, gp)
			case <-time.After(10 * time.Second): // a liveness bound
				require.FailNow(t, "the consumer did not handle the messages", "got %v", got)
			}
		}
		return got
	}
	assert.Equal(t, want, receive(2), "written before it started")
	later := write(3)
	assert.Equal(t, []int64{later}, receive(1), "written after: found by polling")
	cancel()
	require.NoError(t, <-done)
}
