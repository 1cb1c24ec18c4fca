package benchsuite_test

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/messagedb-go/messagedb/adapters/postgres"
	"github.com/messagedb-go/messagedb/app"
	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/internal/benchsuite"
	"github.com/messagedb-go/messagedb/ports"
)

// The PostgreSQL settings the scaling benchmarks run under: the server's
// (fsync on, synchronous_commit on: every commit waits for its flush), and
// synchronous_commit off for the Store's and the floor's connections, which
// takes the flush out and leaves what the server's CPUs can do.
var pgSettings = []struct {
	name   string
	params map[string]string
	commit string // synchronous_commit on the connections
}{
	{"postgres", nil, "on"},
	{"postgres-async", map[string]string{"synchronous_commit": "off"}, "off"},
}

// withParams returns u with runtime parameters added (u is a URL, or a
// keyword/value DSN).
func withParams(tb testing.TB, u string, params map[string]string) string {
	tb.Helper()
	if len(params) == 0 {
		return u
	}
	if strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://") {
		pu, err := url.Parse(u)
		if err != nil {
			tb.Fatal(err)
		}
		q := pu.Query()
		for k, v := range params {
			q.Set(k, v)
		}
		pu.RawQuery = q.Encode()
		return pu.String()
	}
	for k, v := range params {
		u += " " + k + "=" + v
	}
	return u
}

// setting returns the value of a setting on connections to u.
func setting(b *testing.B, u, name string) string {
	b.Helper()
	conn, err := pgx.Connect(context.Background(), u)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(context.Background())
	var v string
	if err := conn.QueryRow(context.Background(), "SELECT current_setting($1)", name).Scan(&v); err != nil {
		b.Fatal(err)
	}
	return v
}

// shape is how concurrent writers spread over namespaces and categories.
type shape struct {
	name       string
	writers    int
	namespaces int  // writer g writes to namespace g % namespaces
	oneCat     bool // every writer writes to one category; else writer g to its own
}

var shapes = []shape{
	{"categories-w1", 1, 1, false},
	{"categories-w4", 4, 1, false},
	{"categories-w16", 16, 1, false},
	{"categories-w64", 64, 1, false},
	{"namespaces-w16", 16, 16, false},
	{"one-category-w16", 16, 1, true},
}

// history is how many messages each writer's streams hold before the
// clock starts: writers append to streams that exist, as an application's
// entities do, in tables that are not tiny.
const history = 10

// category returns the category writer g writes to.
func (sh shape) category(g int) string {
	if sh.oneCat {
		return "acct"
	}
	return fmt.Sprintf("acct%d", g)
}

// stream returns writer g's i-th stream: 100 streams per writer, none
// shared with another writer, each holding history messages at first.
func (sh shape) stream(g, i int) string {
	return fmt.Sprintf("%s-%d.%d", sh.category(g), g, i%100)
}

// BenchmarkWriteScaling measures PostgreSQL's write throughput with many
// writers at once, each beside its floor. "store" writes one message per
// call through the Store (WriteMessage: the namespace's write_messages
// function, its category lock, id and version checks, and the wake-up after
// commit); "insert" is the cheapest way the database can store the same
// rows: a plain INSERT of each message into the same messages table (same
// indexes, same commit, same synchronous setting, same number of
// connections and writers), with positions counted by the writer, no
// function, no lock and no check. Shapes: 1, 4, 16 and 64 writers each
// writing to a category of its own ("categories/wN"), 16 writers in 16
// namespaces ("namespaces/w16") and 16 writers in one category
// ("one-category/w16": the Store's writes serialise on the category's lock,
// on purpose, so that a category reader never skips a message; the floor's
// do not). ns/op is the wall time per message of all writers together, so
// 1e9/(ns/op) is the throughput; msg/s reports it.
func BenchmarkWriteScaling(b *testing.B) {
	for _, set := range pgSettings {
		b.Run(set.name, func(b *testing.B) {
			u := withParams(b, sharedURL(b), set.params)
			if got := setting(b, u, "synchronous_commit"); got != set.commit {
				b.Fatalf("synchronous_commit is %s on connections to %s, want %s", got, u, set.commit)
			}
			for _, sh := range shapes {
				b.Run(sh.name, func(b *testing.B) {
					for _, impl := range []string{"store", "insert"} {
						b.Run(impl, func(b *testing.B) { writeScaling(b, u, sh, impl) })
					}
				})
			}
		})
	}
}

// writeScaling runs one shape through impl, "store" or "insert".
func writeScaling(b *testing.B, u string, sh shape, impl string) {
	s, err := postgres.Open(context.Background(), u, &postgres.Options{MaxConns: sh.writers})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	nss := make([]*postgres.Namespace, sh.namespaces)
	for k := range nss {
		nss[k] = scratchNamespace(b, s)
	}
	prefill(b, u, sh, nss)
	write := floorWriter(b, u, sh, nss)
	if impl == "store" {
		write = func(ctx context.Context, g, i int) error {
			_, err := nss[g%len(nss)].WriteMessage(ctx, sh.stream(g, i), benchsuite.NewMessage(), domain.AnyVersion)
			return err
		}
	}
	concurrently(b, sh.writers, write)
}

// scratchNamespace creates an empty namespace in s, deleted when b ends.
func scratchNamespace(b *testing.B, s *postgres.Store) *postgres.Namespace {
	b.Helper()
	ctx := context.Background()
	id := newID("w")
	if _, err := s.CreateNamespace(ctx, id, domain.NamespaceOptions{}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.DeleteNamespace(context.Background(), id) })
	ns, err := s.Namespace(ctx, id)
	if err != nil {
		b.Fatal(err)
	}
	return ns
}

// prefill imports history messages into each stream of each writer, then
// vacuums and analyzes the tables, as autovacuum would have.
func prefill(b *testing.B, u string, sh shape, nss []*postgres.Namespace) {
	b.Helper()
	ctx := context.Background()
	batches := make([][]domain.Message, len(nss))
	for g := range sh.writers {
		k := g % len(nss)
		for i := range 100 {
			for p := range int64(history) {
				batches[k] = append(batches[k], domain.Message{
					ID: uuid.New(), StreamName: sh.stream(g, i), Type: "Deposited", Position: p,
					GlobalPosition: int64(len(batches[k]) + 1), Data: benchsuite.Data, Metadata: benchsuite.Metadata,
					Time: time.Now().UTC(),
				})
			}
		}
	}
	for k, ns := range nss {
		msgs := batches[k]
		for start := 0; start < len(msgs); start += importChunk {
			if err := ns.ImportMessages(ctx, msgs[start:min(start+importChunk, len(msgs))]); err != nil {
				b.Fatal(err)
			}
		}
		if err := execOn(u, "VACUUM ANALYZE "+pgx.Identifier{ns.Schema(), "messages"}.Sanitize()); err != nil {
			b.Fatal(err)
		}
	}
}

// floorWriter returns the floor's write: a plain INSERT of the message
// into the namespace's messages table, on a pool of its own with as many
// connections as writers, in pgx's default mode (a statement prepared once
// per connection), as the Store's writes are.
func floorWriter(b *testing.B, u string, sh shape, nss []*postgres.Namespace) func(ctx context.Context, g, i int) error {
	cfg, err := pgxpool.ParseConfig(u)
	if err != nil {
		b.Fatal(err)
	}
	cfg.MaxConns = int32(sh.writers)
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	inserts := make([]string, len(nss))
	for k, ns := range nss {
		inserts[k] = "INSERT INTO " + pgx.Identifier{ns.Schema(), "messages"}.Sanitize() +
			" (id, stream_name, position, type, data, metadata) VALUES ($1, $2, $3, $4, $5, $6)"
	}
	// positions[g][i%100] is the next position of writer g's stream i%100.
	positions := make([][100]int64, sh.writers)
	for g := range positions {
		for k := range positions[g] {
			positions[g][k] = history
		}
	}
	data, meta := string(benchsuite.Data), string(benchsuite.Metadata)
	return func(ctx context.Context, g, i int) error {
		p := &positions[g][i%100]
		_, err := pool.Exec(ctx, inserts[g%len(inserts)], uuid.New(), sh.stream(g, i), *p, "Deposited", data, meta)
		*p++
		return err
	}
}

// concurrently runs b.N writes from n writers released at once (writer g
// makes its i-th write with write(ctx, g, i)), after one untimed write each
// (i = 0) so that every connection is open before the clock starts.
func concurrently(b *testing.B, n int, write func(ctx context.Context, g, i int) error) {
	ctx := context.Background()
	start := make(chan struct{})
	errs := make(chan error, n)
	var ready, done sync.WaitGroup
	for g := range n {
		count := b.N / n
		if g < b.N%n {
			count++
		}
		ready.Add(1)
		done.Go(func() {
			err := write(ctx, g, 0)
			ready.Done()
			<-start
			for i := 0; i < count && err == nil; i++ {
				err = write(ctx, g, i)
			}
			if err != nil {
				errs <- err
			}
		})
	}
	ready.Wait()
	b.ResetTimer()
	began := time.Now()
	close(start)
	done.Wait()
	elapsed := time.Since(began)
	b.StopTimer()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msg/s")
}

// BenchmarkWakeLatency measures how long a message takes from its writer to
// the handler of a consumer running on another Store (as in another
// process), while 16 writers write through one Store, each to a category of
// its own. The consumer (package app, default options: a 100 ms poll
// interval) consumes writer 0's category. Every message of that category is
// timed from the start of its write call ("e2e", which includes the write)
// and from its acknowledgement ("wake": after the write returned); the
// benchmark reports their 50th and 99th percentiles and maximum in
// milliseconds. b.N is the number of messages writer 0 writes.
//
// Two loads: "w16", the writers writing as fast as they can, which
// saturates the server, so that a write waits behind the others and e2e is
// mostly that queue; and "w16-paced", each writer writing one message every
// 8 ms (2,000 messages a second in all, a busy but not saturated server).
func BenchmarkWakeLatency(b *testing.B) {
	b.Run("postgres", func(b *testing.B) {
		b.Run("w16", func(b *testing.B) { wakeLatency(b, 0) })
		b.Run("w16-paced", func(b *testing.B) { wakeLatency(b, 8*time.Millisecond) })
	})
}

// wakeLatency runs BenchmarkWakeLatency with 16 writers, each writing one
// message every interval (0: as fast as it can).
func wakeLatency(b *testing.B, interval time.Duration) {
	const writers = 16
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	u := sharedURL(b)
	w, err := postgres.Open(ctx, u, &postgres.Options{MaxConns: writers})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	ns := scratchNamespace(b, w)
	r, err := app.Open(ctx, u, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	rns, err := r.Namespace(ctx, ns.ID())
	if err != nil {
		b.Fatal(err)
	}

	var started, acked sync.Map // message id → time.Time
	var mu sync.Mutex
	var e2e, wake, write []time.Duration
	handled := make(chan struct{}, b.N+1)
	c, err := rns.NewConsumer("load0", func(_ context.Context, m domain.Message) error {
		now := time.Now()
		t0, ok := started.Load(m.ID)
		if !ok {
			return fmt.Errorf("message %s was not written by the benchmark", m.ID)
		}
		mu.Lock()
		e2e = append(e2e, now.Sub(t0.(time.Time)))
		if t1, ok := acked.Load(m.ID); ok {
			wake = append(wake, max(0, now.Sub(t1.(time.Time))))
		}
		mu.Unlock()
		handled <- struct{}{}
		return nil
	}, app.ConsumerOptions{ID: "latency"})
	if err != nil {
		b.Fatal(err)
	}
	caughtUp := make(chan error, 1)
	go func() { caughtUp <- c.Run(ctx) }()

	var stop atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	b.ResetTimer()
	for g := range writers {
		wg.Go(func() {
			// Paced writers take turns, spread over the interval.
			next := time.Now().Add(time.Duration(g) * interval / writers)
			for i := 0; g != 0 || i < b.N; i++ {
				if g != 0 && stop.Load() {
					return
				}
				if interval > 0 {
					next = next.Add(interval)
					time.Sleep(time.Until(next))
				}
				m := benchsuite.NewMessage()
				m.ID = uuid.New()
				if g == 0 {
					started.Store(m.ID, time.Now())
				}
				if _, err := ns.WriteMessage(ctx, fmt.Sprintf("load%d-%d", g, i%100), m, domain.AnyVersion); err != nil {
					errs <- err
					return
				}
				if g == 0 {
					now := time.Now()
					acked.Store(m.ID, now)
					t0, _ := started.Load(m.ID)
					mu.Lock()
					write = append(write, now.Sub(t0.(time.Time)))
					mu.Unlock()
				}
			}
		})
	}
	for range b.N {
		select {
		case <-handled:
		case err := <-errs:
			b.Fatal(err)
		case err := <-caughtUp:
			b.Fatalf("the consumer stopped: %v", err)
		}
	}
	stop.Store(true)
	wg.Wait()
	b.StopTimer()
	cancel()
	<-caughtUp
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	reportLatency(b, "e2e", e2e)
	reportLatency(b, "wake", wake)
	reportLatency(b, "write", write)
}

// reportLatency reports the 50th and 99th percentiles and the maximum of
// ds in milliseconds, as <name>-p50-ms and so on.
func reportLatency(b *testing.B, name string, ds []time.Duration) {
	if len(ds) == 0 {
		b.Fatalf("no %s latency measured", name)
	}
	slices.Sort(ds)
	at := func(q float64) float64 {
		return float64(ds[min(len(ds)-1, int(q*float64(len(ds))))]) / 1e6
	}
	b.ReportMetric(at(0.5), name+"-p50-ms")
	b.ReportMetric(at(0.99), name+"-p99-ms")
	b.ReportMetric(float64(ds[len(ds)-1])/1e6, name+"-max-ms")
}

// BenchmarkCategoryFloor is the floor of GetCategoryMessages/all on
// PostgreSQL: a plain SELECT of the same 100 messages of the read fixture,
// with the category index, on a pool of its own in pgx's default mode, the
// rows scanned by pgx into the columns' Go types.
func BenchmarkCategoryFloor(b *testing.B) {
	benchFloor(b, func(s string) string {
		return "SELECT id, stream_name, type, position, global_position, data, metadata, time FROM " + s + ".messages" +
			" WHERE " + s + ".category(stream_name) = $1 AND global_position >= $2 ORDER BY global_position LIMIT 100"
	}, 100, func(ctx context.Context, ns *postgres.Namespace) ([]domain.Message, []any, error) {
		msgs, err := ns.GetCategoryMessages(ctx, benchsuite.FixtureCategory, domain.CategoryOpts{Position: 1001, BatchSize: new(int64(100))})
		return msgs, []any{benchsuite.FixtureCategory, int64(1001)}, err
	}, func(i int) []any {
		return []any{benchsuite.FixtureCategory, 1 + int64(i*7919)%(benchsuite.FixtureSize*9/10)}
	})
}

// BenchmarkStreamFloor is the floor of GetStreamMessages on PostgreSQL: a
// plain SELECT of the same 10 messages of one stream, with the stream
// index (stream_name, position), read as BenchmarkCategoryFloor reads.
func BenchmarkStreamFloor(b *testing.B) {
	benchFloor(b, func(s string) string {
		return "SELECT id, stream_name, type, position, global_position, data, metadata, time FROM " + s + ".messages" +
			" WHERE stream_name = $1 AND position >= $2 ORDER BY position LIMIT 10"
	}, 10, func(ctx context.Context, ns *postgres.Namespace) ([]domain.Message, []any, error) {
		stream := benchsuite.FixtureStream(7)
		msgs, err := ns.GetStreamMessages(ctx, stream, domain.GetOpts{Position: 5, BatchSize: new(int64(10))})
		return msgs, []any{stream, int64(5)}, err
	}, func(i int) []any {
		return []any{benchsuite.FixtureStream(i % benchsuite.FixtureStreams), int64(i % 90)}
	})
}

// benchFloor benchmarks a plain SELECT of n messages of the PostgreSQL read
// fixture, query(schema) with the arguments args(i), on a pool of its own in
// pgx's default mode, the rows scanned by pgx into the columns' Go types.
// Once, untimed, it checks that the query returns the messages the Store's
// read of want returns, with want's arguments.
func benchFloor(b *testing.B, query func(schema string) string, n int,
	want func(context.Context, *postgres.Namespace) ([]domain.Message, []any, error), args func(i int) []any) {
	b.Run("postgres", func(b *testing.B) {
		ctx := context.Background()
		ns, ok := readFixture(b, pgBackend).(*postgres.Namespace)
		if !ok {
			b.Fatal("the PostgreSQL fixture is not a *postgres.Namespace")
		}
		pool, err := pgxpool.New(ctx, sharedURL(b))
		if err != nil {
			b.Fatal(err)
		}
		defer pool.Close()
		q := query(ns.Schema())
		type row struct {
			ID             uuid.UUID
			StreamName     string
			Type           string
			Position       int64
			GlobalPosition int64
			Data, Metadata []byte
			Time           time.Time
		}
		read := func(args []any) ([]row, error) {
			rows, err := pool.Query(ctx, q, args...)
			if err != nil {
				return nil, err
			}
			return pgx.CollectRows(rows, pgx.RowToStructByPos[row])
		}
		// Once, untimed: the same messages as the Store's read.
		msgs, wantArgs, err := want(ctx, ns)
		if err != nil || len(msgs) != n {
			b.Fatal(len(msgs), err)
		}
		got, err := read(wantArgs)
		if err != nil || len(got) != len(msgs) {
			b.Fatal(len(got), err)
		}
		for k := range got {
			if got[k].GlobalPosition != msgs[k].GlobalPosition || got[k].ID != msgs[k].ID {
				b.Fatalf("row %d: the floor read %d, the Store %d", k, got[k].GlobalPosition, msgs[k].GlobalPosition)
			}
		}
		i := 0
		for b.Loop() {
			rows, err := read(args(i))
			if err != nil || len(rows) != n {
				b.Fatal(len(rows), err)
			}
			i++
		}
	})
}

var _ ports.MessageStore = (*postgres.Namespace)(nil)
