package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/messagedb-go/messagedb/adapters/postgres"
	"github.com/messagedb-go/messagedb/domain"
)

// The benchmarks of every operation, on every backend, are in
// internal/benchsuite. This one is particular to PostgreSQL: how concurrent
// writers fare when they serialise on one category's lock, as in Message DB,
// against writers to four categories. It runs against the throwaway cluster
// (fsync on) or MESSAGEDB_TEST_POSTGRES_URL:
//
//	go test -run '^$' -bench . -benchtime 5s ./adapters/postgres

var (
	benchData     = json.RawMessage(`{"accountId":"6d1c3b0e","amount":1250,"currency":"EUR","note":"monthly rent"}`)
	benchMetadata = json.RawMessage(`{"correlationStreamName":"payment-42","traceId":"c0ffee"}`)
)

func benchMessage() domain.NewMessage {
	return domain.NewMessage{Type: "Deposited", Data: benchData, Metadata: benchMetadata}
}

// BenchmarkWriteMessageParallel writes from 4 goroutines on 4 connections:
// to streams of one category, and to 4 categories.
func BenchmarkWriteMessageParallel(b *testing.B) {
	ctx := context.Background()
	for _, categories := range []int{1, 4} {
		b.Run(fmt.Sprintf("4-conns-%d-categories", categories), func(b *testing.B) {
			ns := newNamespace(b, openStore(b, sharedURL(b), &postgres.Options{MaxConns: 4}))
			var next atomic.Int64
			b.SetParallelism(max(1, 4/runtime.GOMAXPROCS(0)))
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
