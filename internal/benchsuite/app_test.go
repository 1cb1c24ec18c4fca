package benchsuite_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/messagedb-go/messagedb/app"
	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/internal/benchsuite"
)

// The benchmarks of this file measure what BenchmarkWriteMessage,
// BenchmarkGetStreamMessages and BenchmarkGetCategoryMessages (all) do,
// through app.Namespace: the layer applications and consumers call, where
// observers and loggers are attached (see app.Options.Observer). With none
// attached, as here, they cost what the backend's calls cost; compare them
// with those benchmarks, or across commits with benchstat. They run on
// SQLite in memory, whose calls are the cheapest, so that what app adds
// shows most there.
var appBackends = []*backend{memoryBackend}

// appNamespace returns a handle on a new, empty namespace of a new Store on
// be, with no observer.
func appNamespace(b *testing.B, be *backend) *app.Namespace {
	b.Helper()
	ctx := context.Background()
	s := app.NewStore(newStore(b, be, 1))
	id := newID("b")
	ns, err := s.EnsureNamespace(ctx, id, domain.NamespaceOptions{})
	if err != nil {
		b.Fatalf("create namespace: %v", err)
	}
	b.Cleanup(func() { _ = s.DeleteNamespace(context.Background(), id) })
	return ns
}

// appFixture returns a handle on be's read fixture.
func appFixture(b *testing.B, be *backend) *app.Namespace {
	b.Helper()
	readFixture(b, be)
	fixtures.mu.Lock()
	f := fixtures.m[be.name]
	fixtures.mu.Unlock()
	ns, err := app.NewStore(f.store).Namespace(context.Background(), f.id)
	if err != nil {
		b.Fatal(err)
	}
	return ns
}

func BenchmarkNamespaceWrite(b *testing.B) {
	run(b, appBackends, nil, func(b *testing.B, be *backend) {
		ctx := context.Background()
		ns := appNamespace(b, be)
		i := 0
		for b.Loop() {
			if _, err := ns.Write(ctx, fmt.Sprintf("account-%d", i%100), benchsuite.NewMessage(), domain.AnyVersion); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

func BenchmarkNamespaceRead(b *testing.B) {
	run(b, appBackends, nil, func(b *testing.B, be *backend) {
		ctx := context.Background()
		ns := appFixture(b, be)
		i := 0
		for b.Loop() {
			msgs, err := ns.Read(ctx, benchsuite.FixtureStream(i%benchsuite.FixtureStreams),
				domain.GetOpts{Position: int64(i % 90), BatchSize: new(int64(10))})
			if err != nil || len(msgs) != 10 {
				b.Fatal(len(msgs), err)
			}
			i++
		}
	})
}

func BenchmarkNamespaceReadCategory(b *testing.B) {
	run(b, appBackends, nil, func(b *testing.B, be *backend) {
		ctx := context.Background()
		ns := appFixture(b, be)
		checkCategoryRead(b, ns.MessageStore(), nil)
		i := 0
		for b.Loop() {
			pos := 1 + int64(i*7919)%(benchsuite.FixtureSize*9/10)
			msgs, err := ns.ReadCategory(ctx, benchsuite.FixtureCategory,
				domain.CategoryOpts{Position: pos, BatchSize: new(int64(100))})
			if err != nil || len(msgs) != 100 {
				b.Fatal(len(msgs), err)
			}
			i++
		}
	})
}
