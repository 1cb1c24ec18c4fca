package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/messagedb-go/messagedb/adapters/postgres"
	"github.com/messagedb-go/messagedb/domain"
)

// Benchmarks report speed; they assert only that operations succeed. They
// run against the throwaway cluster (fsync on) or MESSAGEDB_TEST_POSTGRES_URL:
//
//	go test -run '^$' -bench . -benchtime 5s ./adapters/postgres

var (
	benchData     = json.RawMessage(`{"accountId":"6d1c3b0e","amount":1250,"currency":"EUR","note":"monthly rent"}`)
	benchMetadata = json.RawMessage(`{"correlationStreamName":"payment-42","traceId":"c0ffee"}`)
)

func benchMessage() domain.NewMessage {
	return domain.NewMessage{Type: "Deposited", Data: benchData, Metadata: benchMetadata}
}

func benchStore(b *testing.B, maxConns int) *postgres.Store {
	b.Helper()
	return openStore(b, sharedURL(b), &postgres.Options{MaxConns: maxConns})
}

func BenchmarkWriteMessage(b *testing.B) {
	ctx := context.Background()
	ns := newNamespace(b, benchStore(b, 1))
	i := 0
	for b.Loop() {
		if _, err := ns.WriteMessage(ctx, fmt.Sprintf("account-%d", i%100), benchMessage(), domain.AnyVersion); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkWriteMessageParallel writes from 4 goroutines on 4 connections:
// to streams of one category (writes serialise on its lock, as in Message
// DB), and to 4 categories.
func BenchmarkWriteMessageParallel(b *testing.B) {
	ctx := context.Background()
	for _, categories := range []int{1, 4} {
		b.Run(fmt.Sprintf("4-conns-%d-categories", categories), func(b *testing.B) {
			ns := newNamespace(b, benchStore(b, 4))
			var next atomic.Int64
			b.SetParallelism(max(1, 4/runtimeProcs()))
			b.RunParallel(func(pb *testing.PB) {
				g := next.Add(1)
				i := 0
				for pb.Next() {
					stream := fmt.Sprintf("account%d-%d", int(g)%categories, i%100)
					if _, err := ns.WriteMessage(ctx, stream, benchMessage(), domain.AnyVersion); err != nil {
						b.Error(err)
						return
					}
					i++
				}
			})
		})
	}
}

func BenchmarkWriteMessages(b *testing.B) {
	ctx := context.Background()
	const batch = 100
	ns := newNamespace(b, benchStore(b, 1))
	msgs := make([]domain.NewMessage, batch)
	i := 0
	start := time.Now()
	for b.Loop() {
		for j := range msgs {
			msgs[j] = benchMessage()
		}
		if _, err := ns.WriteMessages(ctx, fmt.Sprintf("account-%d", i), msgs, domain.AnyVersion); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(batch*i)/time.Since(start).Seconds(), "msgs/s")
}

// fixture is a namespace whose category "bench" holds 100,000 messages:
// 1,000 streams of 100, written 10 at a time round the streams so that they
// interleave. It is made once per test binary, then vacuumed and analyzed
// (as autovacuum would by then).
var fixture struct {
	once sync.Once
	s    *postgres.Store
	ns   *postgres.Namespace
	err  error
}

func benchFixture(b *testing.B) *postgres.Namespace {
	b.Helper()
	url := sharedURL(b)
	fixture.once.Do(func() {
		ctx := context.Background()
		s, err := postgres.Open(ctx, url, &postgres.Options{MaxConns: 4})
		if err != nil {
			fixture.err = err
			return
		}
		fixture.s = s // closed with the shared database at the end
		id := newID("benchfix")
		if _, err := s.CreateNamespace(ctx, id, domain.NamespaceOptions{}); err != nil {
			fixture.err = err
			return
		}
		ns, err := s.Namespace(ctx, id)
		if err != nil {
			fixture.err = err
			return
		}
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for w := range 4 {
			wg.Go(func() {
				msgs := make([]domain.NewMessage, 10)
				for round := range 10 {
					for k := w; k < 1000; k += 4 {
						for j := range msgs {
							msgs[j] = benchMessage()
						}
						if _, err := ns.WriteMessages(ctx, fmt.Sprintf("bench-%d", k), msgs, domain.AnyVersion); err != nil {
							errs <- fmt.Errorf("round %d: %w", round, err)
							return
						}
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		if err := <-errs; err != nil {
			fixture.err = err
			return
		}
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			fixture.err = err
			return
		}
		defer conn.Close(ctx)
		_, fixture.err = conn.Exec(ctx, "VACUUM ANALYZE "+ns.Schema()+".messages")
		fixture.ns = ns
	})
	if fixture.err != nil {
		b.Fatal(fixture.err)
	}
	return fixture.ns
}

func BenchmarkGetStreamMessages(b *testing.B) {
	ctx := context.Background()
	ns := benchFixture(b)
	i := 0
	for b.Loop() {
		msgs, err := ns.GetStreamMessages(ctx, fmt.Sprintf("bench-%d", i%1000),
			domain.GetOpts{Position: int64(i % 90), BatchSize: new(int64(10))})
		if err != nil || len(msgs) != 10 {
			b.Fatal(len(msgs), err)
		}
		i++
	}
}

func BenchmarkGetCategoryMessages(b *testing.B) {
	ctx := context.Background()
	for _, group := range []*domain.ConsumerGroup{nil, {Member: 0, Size: 4}} {
		name := "all"
		if group != nil {
			name = "group-0-of-4"
		}
		b.Run(name, func(b *testing.B) {
			ns := benchFixture(b)
			first := firstGlobalPosition(b, ns)
			i := 0
			for b.Loop() {
				pos := first + int64(i*7919)%90_000
				msgs, err := ns.GetCategoryMessages(ctx, "bench",
					domain.CategoryOpts{Position: pos, BatchSize: new(int64(100)), ConsumerGroup: group})
				if err != nil || len(msgs) != 100 {
					b.Fatal(len(msgs), err)
				}
				i++
			}
		})
	}
}

func firstGlobalPosition(b *testing.B, ns *postgres.Namespace) int64 {
	b.Helper()
	msgs, err := ns.GetCategoryMessages(context.Background(), "bench", domain.CategoryOpts{BatchSize: new(int64(1))})
	if err != nil || len(msgs) != 1 {
		b.Fatal(len(msgs), err)
	}
	return msgs[0].GlobalPosition
}

func BenchmarkGetLastStreamMessage(b *testing.B) {
	ctx := context.Background()
	ns := benchFixture(b)
	i := 0
	for b.Loop() {
		if _, err := ns.GetLastStreamMessage(ctx, fmt.Sprintf("bench-%d", i%1000), ""); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkCreateNamespace(b *testing.B) {
	ctx := context.Background()
	s := benchStore(b, 2)
	prefix := newID("bc")
	i := 0
	for b.Loop() {
		id := fmt.Sprintf("%s_%d", prefix, i)
		if _, err := s.CreateNamespace(ctx, id, domain.NamespaceOptions{}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := s.DeleteNamespace(ctx, id); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		i++
	}
}

func BenchmarkDeleteNamespace(b *testing.B) {
	ctx := context.Background()
	s := benchStore(b, 2)
	prefix := newID("bd")
	i := 0
	for b.Loop() {
		id := fmt.Sprintf("%s_%d", prefix, i)
		b.StopTimer()
		if _, err := s.CreateNamespace(ctx, id, domain.NamespaceOptions{}); err != nil {
			b.Fatal(err)
		}
		ns, err := s.Namespace(ctx, id)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := ns.WriteMessage(ctx, "account-1", benchMessage(), domain.AnyVersion); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := s.DeleteNamespace(ctx, id); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
