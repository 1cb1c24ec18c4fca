package app_test

import (
	"context"
	"testing"

	"github.com/messagedb-go/messagedb/app"
	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/ports"
)

// benchStore is a backend whose calls do nothing: the benchmarks below
// measure what app.Namespace adds to a backend's call, and nothing else
// (compare across commits with benchstat; internal/benchsuite measures the
// calls on real backends).
type benchStore struct {
	ports.Store // nil: only MessageStore and Close are called
	ms          benchMessages
}

func (s *benchStore) MessageStore(context.Context, string) (ports.MessageStore, error) {
	return &s.ms, nil
}

func (s *benchStore) Close() error { return nil }

func (s *benchStore) Capabilities() ports.Capabilities {
	return ports.Capabilities{System: ports.SystemOther}
}

type benchMessages struct {
	ports.MessageStore // nil: only the methods below are called
	msgs               []domain.Message
}

func (m *benchMessages) WriteMessage(context.Context, string, domain.NewMessage, domain.ExpectedVersion) (domain.WriteResult, error) {
	return domain.WriteResult{Position: 1, GlobalPosition: 2}, nil
}

func (m *benchMessages) GetStreamMessages(context.Context, string, domain.GetOpts) ([]domain.Message, error) {
	return m.msgs, nil
}

func (m *benchMessages) GetCategoryMessages(context.Context, string, domain.CategoryOpts) ([]domain.Message, error) {
	return m.msgs, nil
}

func benchNamespace(b *testing.B) *app.Namespace {
	b.Helper()
	s := &benchStore{ms: benchMessages{msgs: make([]domain.Message, 10)}}
	ns, err := app.NewStore(s).Namespace(context.Background(), "bench")
	if err != nil {
		b.Fatal(err)
	}
	return ns
}

// BenchmarkNamespaceOverhead measures app.Namespace's own cost per call,
// with no observer: the calls forwarded to a backend that does nothing.
func BenchmarkNamespaceOverhead(b *testing.B) {
	ctx := context.Background()
	msg := domain.NewMessage{Type: "Happened"}
	b.Run("Write", func(b *testing.B) {
		ns := benchNamespace(b)
		for b.Loop() {
			if _, err := ns.Write(ctx, "account-1", msg, domain.AnyVersion); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Read", func(b *testing.B) {
		ns := benchNamespace(b)
		for b.Loop() {
			if msgs, err := ns.Read(ctx, "account-1", domain.GetOpts{}); err != nil || len(msgs) != 10 {
				b.Fatal(len(msgs), err)
			}
		}
	})
	b.Run("ReadCategory", func(b *testing.B) {
		ns := benchNamespace(b)
		for b.Loop() {
			if msgs, err := ns.ReadCategory(ctx, "account", domain.CategoryOpts{}); err != nil || len(msgs) != 10 {
				b.Fatal(len(msgs), err)
			}
		}
	})
}
