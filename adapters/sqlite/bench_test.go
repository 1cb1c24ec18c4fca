package sqlite_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io/fs"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	_ "modernc.org/sqlite" // the "sqlite" driver, for BenchmarkRawInsert

	"github.com/messagedb-go/messagedb/adapters/sqlite"
	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/migrations"
)

// Benchmarks report speed; they assert only that operations succeed. Run:
//
//	go test -run '^$' -bench . -benchtime 2s ./adapters/sqlite

type benchMode struct {
	name string
	opts func(b *testing.B) sqlite.Options
}

func fileMode(sync sqlite.Synchronous) benchMode {
	return benchMode{"file-" + string(sync), func(b *testing.B) sqlite.Options {
		return sqlite.Options{Dir: b.TempDir(), Synchronous: sync}
	}}
}

var memoryMode = benchMode{"memory", func(*testing.B) sqlite.Options { return sqlite.Options{InMemory: true} }}

// writeModes compare durability settings; reads do not depend on them.
var (
	writeModes = []benchMode{fileMode(sqlite.SynchronousFull), fileMode(sqlite.SynchronousNormal), memoryMode}
	readModes  = []benchMode{fileMode(sqlite.SynchronousNormal), memoryMode}
)

var (
	benchData     = json.RawMessage(`{"accountId":"6d1c3b0e","amount":1250,"currency":"EUR","note":"monthly rent"}`)
	benchMetadata = json.RawMessage(`{"correlationStreamName":"payment-42","traceId":"c0ffee"}`)
)

// cpuTime returns the CPU time used by the process so far (every thread,
// user and system).
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loop runs body b.N times (b.Loop) and also reports the process's CPU time
// per operation, which is steadier than wall time on a shared machine.
func loop(b *testing.B, body func(i int)) {
	b.Helper()
	i := 0
	var start time.Duration
	for b.Loop() {
		if i == 0 {
			start = cpuTime(b)
		}
		body(i)
		i++
	}
	if i > 0 {
		b.ReportMetric(float64((cpuTime(b)-start).Nanoseconds())/float64(i), "cpu-ns/op")
	}
}

func benchNamespace(b *testing.B, mode benchMode) (*sqlite.Store, *sqlite.Namespace) {
	b.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, mode.opts(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	if _, err := s.CreateNamespace(ctx, "bench", domain.NamespaceOptions{}); err != nil {
		b.Fatal(err)
	}
	ns, err := s.Namespace(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	return s, ns
}

func benchMessage() domain.NewMessage {
	return domain.NewMessage{Type: "Deposited", Data: benchData, Metadata: benchMetadata}
}

func BenchmarkWriteMessage(b *testing.B) {
	ctx := context.Background()
	for _, mode := range writeModes {
		b.Run(mode.name, func(b *testing.B) {
			_, ns := benchNamespace(b, mode)
			loop(b, func(i int) {
				if _, err := ns.WriteMessage(ctx, fmt.Sprintf("account-%d", i%100), benchMessage(), domain.AnyVersion); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

func BenchmarkWriteMessages(b *testing.B) {
	ctx := context.Background()
	const batch = 100
	for _, mode := range writeModes {
		b.Run(mode.name, func(b *testing.B) {
			_, ns := benchNamespace(b, mode)
			msgs := make([]domain.NewMessage, batch)
			calls := 0
			start := time.Now()
			loop(b, func(i int) {
				for j := range msgs {
					msgs[j] = benchMessage()
				}
				if _, err := ns.WriteMessages(ctx, fmt.Sprintf("account-%d", i), msgs, domain.AnyVersion); err != nil {
					b.Fatal(err)
				}
				calls++
			})
			b.ReportMetric(float64(batch*calls)/time.Since(start).Seconds(), "msgs/s")
		})
	}
}

// fixture writes the category "bench" of 100,000 messages: 1,000 streams of
// 100, written 10 at a time round the streams so that they interleave.
func fixture(b *testing.B, ns *sqlite.Namespace) {
	b.Helper()
	ctx := context.Background()
	msgs := make([]domain.NewMessage, 10)
	for round := 0; round < 10; round++ {
		for k := 0; k < 1000; k++ {
			for j := range msgs {
				msgs[j] = benchMessage()
			}
			if _, err := ns.WriteMessages(ctx, fmt.Sprintf("bench-%d", k), msgs, domain.AnyVersion); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkGetStreamMessages(b *testing.B) {
	ctx := context.Background()
	for _, mode := range readModes {
		b.Run(mode.name, func(b *testing.B) {
			_, ns := benchNamespace(b, mode)
			fixture(b, ns)
			loop(b, func(i int) {
				msgs, err := ns.GetStreamMessages(ctx, fmt.Sprintf("bench-%d", i%1000),
					domain.GetOpts{Position: int64(i % 90), BatchSize: new(int64(10))})
				if err != nil || len(msgs) != 10 {
					b.Fatal(len(msgs), err)
				}
			})
		})
	}
}

func BenchmarkGetCategoryMessages(b *testing.B) {
	ctx := context.Background()
	for _, mode := range readModes {
		for _, group := range []*domain.ConsumerGroup{nil, {Member: 0, Size: 4}} {
			name := mode.name
			if group != nil {
				name += "-group-0-of-4"
			}
			b.Run(name, func(b *testing.B) {
				_, ns := benchNamespace(b, mode)
				fixture(b, ns)
				loop(b, func(i int) {
					pos := 1 + int64(i*7919)%90_000
					msgs, err := ns.GetCategoryMessages(ctx, "bench",
						domain.CategoryOpts{Position: pos, BatchSize: new(int64(100)), ConsumerGroup: group})
					if err != nil || len(msgs) != 100 {
						b.Fatal(len(msgs), err)
					}
				})
			})
		}
	}
}

func BenchmarkGetLastStreamMessage(b *testing.B) {
	ctx := context.Background()
	for _, mode := range readModes {
		b.Run(mode.name, func(b *testing.B) {
			_, ns := benchNamespace(b, mode)
			fixture(b, ns)
			loop(b, func(i int) {
				if _, err := ns.GetLastStreamMessage(ctx, fmt.Sprintf("bench-%d", i%1000), ""); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

func BenchmarkCreateNamespace(b *testing.B) {
	ctx := context.Background()
	for _, mode := range writeModes {
		b.Run(mode.name, func(b *testing.B) {
			s, err := sqlite.Open(ctx, mode.opts(b))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			i := 0
			for b.Loop() {
				id := fmt.Sprintf("ns%d", i)
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
		})
	}
}

func BenchmarkDeleteNamespace(b *testing.B) {
	ctx := context.Background()
	for _, mode := range writeModes {
		b.Run(mode.name, func(b *testing.B) {
			s, err := sqlite.Open(ctx, mode.opts(b))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			i := 0
			for b.Loop() {
				id := fmt.Sprintf("ns%d", i)
				b.StopTimer()
				if _, err := s.CreateNamespace(ctx, id, domain.NamespaceOptions{}); err != nil {
					b.Fatal(err)
				}
				// A namespace that was used: its database is open.
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
		})
	}
}

// BenchmarkRawInsert is the baseline of file writes: one INSERT of a message
// row into the same table (the namespace migration), with modernc directly,
// in WAL mode with the same synchronous setting, in its own (autocommit)
// transaction.
func BenchmarkRawInsert(b *testing.B) {
	ctx := context.Background()
	ddl, err := migrations.Namespace(migrations.SQLite)
	if err != nil {
		b.Fatal(err)
	}
	schema, err := fs.ReadFile(ddl, "001_message_db.sql")
	if err != nil {
		b.Fatal(err)
	}
	for _, sync := range []sqlite.Synchronous{sqlite.SynchronousFull, sqlite.SynchronousNormal} {
		b.Run("file-"+string(sync), func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "raw.db")
			db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=synchronous("+string(sync)+")&_pragma=busy_timeout(5000)")
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			db.SetMaxOpenConns(1)
			if _, err := db.ExecContext(ctx, string(schema)); err != nil {
				b.Fatal(err)
			}
			st, err := db.PrepareContext(ctx, "INSERT INTO messages (position, time, stream_name, type, data, metadata, id, category, group_hash, correlation_category) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			data, meta := string(benchData), string(benchMetadata)
			loop(b, func(i int) {
				if _, err := st.ExecContext(ctx, i, time.Now().UTC().Format(time.RFC3339Nano), "account-1", "Deposited",
					data, meta, uuid.NewString(), "account", int64(i), "payment"); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}
