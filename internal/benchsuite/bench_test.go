package benchsuite_test

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	_ "modernc.org/sqlite" // the "sqlite" driver, for BenchmarkRawInsert

	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/internal/benchsuite"
	"github.com/messagedb-go/messagedb/migrations"
	"github.com/messagedb-go/messagedb/ports"
)

// Seed scenario ids: the benchmark of MDB001_7A_T1 is
// BenchmarkWriteMessage/postgres/MDB001_7A_T1, and so on.
const (
	seedWritePostgres = "MDB001_7A_T1"
	seedWriteFile     = "MDB001_7A_T2"
	seedWriteMemory   = "MDB001_7A_T3"
	seedStreamRead    = "MDB001_7A_T4"
	seedCategoryRead  = "MDB001_7A_T5"
)

// run runs body as the sub-benchmark <backend>[/<path>...] for each backend;
// path gives the elements after the backend's name (variant, seed id), empty
// ones left out.
func run(b *testing.B, backends []*backend, path func(be *backend) []string, body func(b *testing.B, be *backend)) {
	for _, be := range backends {
		var elems []string
		if path != nil {
			for _, e := range path(be) {
				if e != "" {
					elems = append(elems, e)
				}
			}
		}
		b.Run(be.name, func(b *testing.B) { nest(b, elems, func(b *testing.B) { body(b, be) }) })
	}
}

func nest(b *testing.B, elems []string, body func(b *testing.B)) {
	if len(elems) == 0 {
		body(b)
		return
	}
	b.Run(elems[0], func(b *testing.B) { nest(b, elems[1:], body) })
}

func seed(id string) func(*backend) []string {
	return func(*backend) []string { return []string{id} }
}

func BenchmarkWriteMessage(b *testing.B) {
	ids := map[*backend]string{pgBackend: seedWritePostgres, fileBackend: seedWriteFile, memoryBackend: seedWriteMemory}
	run(b, writeBackends, func(be *backend) []string { return []string{ids[be]} }, func(b *testing.B, be *backend) {
		ctx := context.Background()
		ms := newNamespace(b, be, 1)
		i := 0
		for b.Loop() {
			if _, err := ms.WriteMessage(ctx, fmt.Sprintf("account-%d", i%100), benchsuite.NewMessage(), domain.AnyVersion); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

// BenchmarkRawInsert is the baseline of SQLite file writes: one INSERT of a
// message row into the same table (the namespace migration), with the
// modernc driver directly, in WAL mode with the same synchronous setting, in
// its own (autocommit) transaction. It tells what messagedb adds to the
// cost of a commit. It runs right after BenchmarkWriteMessage so that the
// two are measured under the same load.
func BenchmarkRawInsert(b *testing.B) {
	syncs := map[*backend]string{fileBackend: "FULL", fileNormalBackend: "NORMAL"}
	run(b, []*backend{fileBackend, fileNormalBackend}, nil, func(b *testing.B, be *backend) {
		ctx := context.Background()
		ddl, err := migrations.Namespace("sqlite")
		if err != nil {
			b.Fatal(err)
		}
		schema, err := fs.ReadFile(ddl, "001_message_db.sql")
		if err != nil {
			b.Fatal(err)
		}
		path := filepath.Join(b.TempDir(), "raw.db")
		db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=synchronous("+syncs[be]+")&_pragma=busy_timeout(5000)")
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		db.SetMaxOpenConns(1)
		var version string
		if err := db.QueryRowContext(ctx, "SELECT sqlite_version()").Scan(&version); err != nil {
			b.Fatal(err)
		}
		b.Logf("sqlite: SQLite %s (modernc.org/sqlite), WAL, synchronous %s", version, syncs[be])
		if _, err := db.ExecContext(ctx, string(schema)); err != nil {
			b.Fatal(err)
		}
		st, err := db.PrepareContext(ctx, "INSERT INTO messages (position, time, stream_name, type, data, metadata, id, category, group_hash, correlation_category) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		data, meta := string(benchsuite.Data), string(benchsuite.Metadata)
		i := 0
		for b.Loop() {
			if _, err := st.ExecContext(ctx, i, time.Now().UTC().Format(time.RFC3339Nano), "account-1", "Deposited",
				data, meta, uuid.NewString(), "account", int64(i), "payment"); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

// BenchmarkWriteMessages writes batches of 100 to new streams; ns/op is per
// batch.
func BenchmarkWriteMessages(b *testing.B) {
	const batch = 100
	run(b, writeBackends, nil, func(b *testing.B, be *backend) {
		ctx := context.Background()
		ms := newNamespace(b, be, 1)
		msgs := make([]domain.NewMessage, batch)
		i := 0
		for b.Loop() {
			for j := range msgs {
				msgs[j] = benchsuite.NewMessage()
			}
			res, err := ms.WriteMessages(ctx, fmt.Sprintf("account-%d", i), msgs, domain.AnyVersion)
			if err != nil || len(res) != batch {
				b.Fatal(len(res), err)
			}
			i++
		}
	})
}

// BenchmarkWriteMessageConcurrent writes from 4 goroutines at once, each to
// a category of its own (on PostgreSQL with 4 connections); ns/op is the
// wall time per message of all of them, so 1e9/(ns/op) is the throughput.
func BenchmarkWriteMessageConcurrent(b *testing.B) {
	const writers = 4
	run(b, writeBackends, func(*backend) []string { return []string{"4-writers"} }, func(b *testing.B, be *backend) {
		ctx := context.Background()
		ms := newNamespace(b, be, writers)
		start := make(chan struct{})
		errs := make(chan error, writers)
		var ready, done sync.WaitGroup
		for g := range writers {
			n := b.N / writers
			if g < b.N%writers {
				n++
			}
			ready.Add(1)
			done.Go(func() {
				// One untimed write each first, so that every connection
				// is open before the clock starts.
				_, err := ms.WriteMessage(ctx, fmt.Sprintf("warmup%d-1", g), benchsuite.NewMessage(), domain.AnyVersion)
				ready.Done()
				<-start
				for i := 0; i < n && err == nil; i++ {
					_, err = ms.WriteMessage(ctx, fmt.Sprintf("account%d-%d", g, i%100), benchsuite.NewMessage(), domain.AnyVersion)
				}
				if err != nil {
					errs <- err
				}
			})
		}
		ready.Wait()
		b.ResetTimer()
		close(start) // all writers at once
		done.Wait()
		b.StopTimer()
		close(errs)
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
	})
}

func BenchmarkGetStreamMessages(b *testing.B) {
	run(b, readBackends, seed(seedStreamRead), func(b *testing.B, be *backend) {
		ctx := context.Background()
		ms := readFixture(b, be)
		// Once, untimed: the read returns the stream's messages from the
		// position asked for.
		stream := benchsuite.FixtureStream(7)
		msgs, err := ms.GetStreamMessages(ctx, stream, domain.GetOpts{Position: 5, BatchSize: new(int64(10))})
		if err != nil || len(msgs) != 10 {
			b.Fatal(len(msgs), err)
		}
		for k, m := range msgs {
			if m.StreamName != stream || m.Position != int64(5+k) {
				b.Fatalf("message %d of %s from position 5: %s at position %d", k, stream, m.StreamName, m.Position)
			}
		}
		i := 0
		for b.Loop() {
			msgs, err := ms.GetStreamMessages(ctx, benchsuite.FixtureStream(i%benchsuite.FixtureStreams),
				domain.GetOpts{Position: int64(i % 90), BatchSize: new(int64(10))})
			if err != nil || len(msgs) != 10 {
				b.Fatal(len(msgs), err)
			}
			i++
		}
	})
}

// BenchmarkGetCategoryMessages reads 100 messages of the fixture's category
// from positions spread over it: all of them ("all"), and those of member 0
// of a consumer group of 4 ("group").
func BenchmarkGetCategoryMessages(b *testing.B) {
	variants := []struct {
		name  string
		group *domain.ConsumerGroup
	}{{"all", nil}, {"group", &domain.ConsumerGroup{Member: 0, Size: 4}}}
	for _, be := range readBackends {
		b.Run(be.name, func(b *testing.B) {
			for _, variant := range variants {
				nest(b, []string{variant.name, seedCategoryRead}, func(b *testing.B) {
					ctx := context.Background()
					ms := readFixture(b, be)
					checkCategoryRead(b, ms, variant.group)
					i := 0
					for b.Loop() {
						// Positions spread over the first 90%, so that 100
						// messages (400 with the group) follow each.
						pos := 1 + int64(i*7919)%(benchsuite.FixtureSize*9/10)
						msgs, err := ms.GetCategoryMessages(ctx, benchsuite.FixtureCategory,
							domain.CategoryOpts{Position: pos, BatchSize: new(int64(100)), ConsumerGroup: variant.group})
						if err != nil || len(msgs) != 100 {
							b.Fatal(len(msgs), err)
						}
						i++
					}
				})
			}
		})
	}
}

// checkCategoryRead reads 100 messages of the fixture's category once,
// untimed, and checks that they are what the benchmark means to measure:
// the next 100 global positions, or with group, the next 100 messages of
// the group's member, in global position order.
func checkCategoryRead(b *testing.B, ms ports.MessageStore, group *domain.ConsumerGroup) {
	b.Helper()
	const from = 1001
	msgs, err := ms.GetCategoryMessages(context.Background(), benchsuite.FixtureCategory,
		domain.CategoryOpts{Position: from, BatchSize: new(int64(100)), ConsumerGroup: group})
	if err != nil || len(msgs) != 100 {
		b.Fatal(len(msgs), err)
	}
	last := int64(from - 1)
	for _, m := range msgs {
		switch {
		case domain.Category(m.StreamName) != benchsuite.FixtureCategory:
			b.Fatalf("category read of %s returned %s", benchsuite.FixtureCategory, m.StreamName)
		case group == nil && m.GlobalPosition != last+1:
			b.Fatalf("category read from %d: global position %d after %d, want consecutive", from, m.GlobalPosition, last)
		case group != nil && m.GlobalPosition <= last:
			b.Fatalf("group read from %d: global position %d after %d, want increasing", from, m.GlobalPosition, last)
		case group != nil && !domain.IsMember(m.StreamName, group.Member, group.Size):
			b.Fatalf("read of member %d of %d returned %s, which belongs to another member", group.Member, group.Size, m.StreamName)
		}
		last = m.GlobalPosition
	}
}

func BenchmarkGetLastStreamMessage(b *testing.B) {
	run(b, readBackends, nil, func(b *testing.B, be *backend) {
		ctx := context.Background()
		ms := readFixture(b, be)
		want := int64(benchsuite.FixtureSize/benchsuite.FixtureStreams - 1)
		i := 0
		for b.Loop() {
			m, err := ms.GetLastStreamMessage(ctx, benchsuite.FixtureStream(i%benchsuite.FixtureStreams), "")
			if err != nil || m.Position != want {
				b.Fatal(m.Position, err)
			}
			i++
		}
	})
}

func BenchmarkGetStreamVersion(b *testing.B) {
	run(b, readBackends, nil, func(b *testing.B, be *backend) {
		ctx := context.Background()
		ms := readFixture(b, be)
		want := int64(benchsuite.FixtureSize/benchsuite.FixtureStreams - 1)
		i := 0
		for b.Loop() {
			v, err := ms.GetStreamVersion(ctx, benchsuite.FixtureStream(i%benchsuite.FixtureStreams))
			if err != nil || v != want {
				b.Fatal(v, err)
			}
			i++
		}
	})
}

// BenchmarkCreateNamespace times creations only; each namespace is deleted
// with the timer stopped.
func BenchmarkCreateNamespace(b *testing.B) {
	run(b, writeBackends, nil, func(b *testing.B, be *backend) {
		ctx := context.Background()
		s := newStore(b, be, 2)
		prefix := newID("c")
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
	})
}

// BenchmarkDeleteNamespace times deletions only of namespaces that were used
// (a message written, so their database or schema is open and not empty).
func BenchmarkDeleteNamespace(b *testing.B) {
	run(b, writeBackends, nil, func(b *testing.B, be *backend) {
		ctx := context.Background()
		s := newStore(b, be, 2)
		prefix := newID("d")
		i := 0
		for b.Loop() {
			id := fmt.Sprintf("%s_%d", prefix, i)
			b.StopTimer()
			if _, err := s.CreateNamespace(ctx, id, domain.NamespaceOptions{}); err != nil {
				b.Fatal(err)
			}
			ms, err := s.MessageStore(ctx, id)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := ms.WriteMessage(ctx, "account-1", benchsuite.NewMessage(), domain.AnyVersion); err != nil {
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
