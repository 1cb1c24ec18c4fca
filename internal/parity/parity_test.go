// Package parity checks that the PostgreSQL and SQLite backends behave the
// same: the same scripted scenario runs against both, and what each returns
// (positions, global positions, messages, group membership, errors) is
// compared field by field. Times are left out, and ids where the backend
// generates them.
package parity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messagedb-go/messagedb/adapters/postgres"
	"github.com/messagedb-go/messagedb/adapters/sqlite"
	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/internal/pgtest"
	"github.com/messagedb-go/messagedb/ports"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// backend is one store under comparison.
type backend struct {
	name  string
	store ports.Store
}

// backends opens a fresh PostgreSQL store (its own database) and a fresh
// in-memory SQLite store, closed when the test ends.
func backends(t *testing.T) []backend {
	t.Helper()
	ctx := context.Background()
	pg, err := postgres.Open(ctx, pgtest.NewDatabase(t), &postgres.Options{MaxConns: 8})
	require.NoError(t, err)
	t.Cleanup(func() { _ = pg.Close() })
	lite, err := sqlite.Open(ctx, sqlite.Options{InMemory: true})
	require.NoError(t, err)
	t.Cleanup(func() { _ = lite.Close() })
	return []backend{{"postgres", pg}, {"sqlite", lite}}
}

// recorder collects what a scenario observes, as lines that must be equal
// on every backend.
type recorder struct {
	mu    sync.Mutex
	lines []string
}

func (r *recorder) add(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, fmt.Sprintf(format, args...))
}

// errorClass describes an error by what callers can match: its sentinels
// and, for a version conflict, its facts.
func errorClass(err error) string {
	if err == nil {
		return "ok"
	}
	var vc *domain.VersionConflictError
	if errors.As(err, &vc) {
		return fmt.Sprintf("VersionConflict{stream=%s expected=%d actual=%d}", vc.StreamName, vc.Expected, vc.Actual)
	}
	var classes []string
	for name, s := range map[string]error{
		"NamespaceNotFound": domain.ErrNamespaceNotFound, "NamespaceExists": domain.ErrNamespaceExists,
		"InvalidNamespace": domain.ErrInvalidNamespace, "StreamNotFound": domain.ErrStreamNotFound,
		"InvalidStreamName": domain.ErrInvalidStreamName, "InvalidMessage": domain.ErrInvalidMessage,
		"DuplicateMessageID": domain.ErrDuplicateMessageID, "InvalidOptions": domain.ErrInvalidOptions,
		"InvalidPosition": domain.ErrInvalidPosition, "InvalidBatchSize": domain.ErrInvalidBatchSize,
		"InvalidConsumerGroup": domain.ErrInvalidConsumerGroup, "InvalidCorrelation": domain.ErrInvalidCorrelation,
		"InvalidExpectedVersion": domain.ErrInvalidExpectedVersion,
	} {
		if errors.Is(err, s) {
			classes = append(classes, name)
		}
	}
	if len(classes) == 0 {
		return "unexpected: " + err.Error()
	}
	sort.Strings(classes)
	return strings.Join(classes, "|")
}

// describe is a message without its time; without its id unless withID.
func describe(m domain.Message, withID bool) string {
	id := ""
	if withID {
		id = m.ID.String() + " "
	}
	meta := "<nil>"
	if m.Metadata != nil {
		meta = string(m.Metadata)
	}
	return fmt.Sprintf("%s%s %s pos=%d gp=%d data=%s meta=%s", id, m.StreamName, m.Type, m.Position, m.GlobalPosition, m.Data, meta)
}

func (r *recorder) messages(label string, msgs []domain.Message, err error, withID bool) {
	if err != nil {
		r.add("%s: %s", label, errorClass(err))
		return
	}
	r.add("%s: %d messages", label, len(msgs))
	for _, m := range msgs {
		r.add("%s:   %s", label, describe(m, withID))
	}
}

func (r *recorder) write(label string, res domain.WriteResult, err error) {
	if err != nil {
		r.add("%s: %s", label, errorClass(err))
		return
	}
	r.add("%s: pos=%d gp=%d", label, res.Position, res.GlobalPosition)
}

// scenario runs on one backend and records what it observes.
type scenario func(t *testing.T, store ports.Store, r *recorder)

// compare runs the scenario on every backend and requires the same record.
func compare(t *testing.T, run scenario) {
	t.Helper()
	var records [][]string
	bs := backends(t)
	for _, b := range bs {
		var r recorder
		run(t, b.store, &r)
		require.NotEmpty(t, r.lines, "%s recorded nothing", b.name)
		records = append(records, r.lines)
	}
	for i := 1; i < len(bs); i++ {
		assert.Equal(t, records[0], records[i], "%s (expected) and %s (actual) differ", bs[0].name, bs[i].name)
	}
}

// batch prints a batch size option.
func batch(b *int64) string {
	if b == nil {
		return "default"
	}
	return fmt.Sprint(*b)
}

func createNamespace(t *testing.T, store ports.Store, id string) ports.MessageStore {
	t.Helper()
	ctx := context.Background()
	_, err := store.CreateNamespace(ctx, id, domain.NamespaceOptions{Description: id})
	require.NoError(t, err)
	ms, err := store.MessageStore(ctx, id)
	require.NoError(t, err)
	return ms
}

// fixedID returns the same UUID for the same n on every backend.
func fixedID(n int) uuid.UUID {
	return uuid.NewSHA1(uuid.NameSpaceOID, []byte(fmt.Sprintf("parity-%d", n)))
}

func msg(n int, typ string, data, metadata string) domain.NewMessage {
	m := domain.NewMessage{ID: fixedID(n), Type: typ, Data: json.RawMessage(data)}
	if metadata != "" {
		m.Metadata = json.RawMessage(metadata)
	}
	return m
}

func TestParity_MDB001_6A_T1_NamespaceIsolation(t *testing.T) {
	ctx := context.Background()
	compare(t, func(t *testing.T, store ports.Store, r *recorder) {
		a := createNamespace(t, store, "tenant_a")
		b := createNamespace(t, store, "tenant_b")
		for i, w := range []struct {
			ms     ports.MessageStore
			label  string
			stream string
		}{{a, "a", "acct-1"}, {a, "a", "acct-1"}, {b, "b", "acct-1"}, {a, "a", "acct-2"}, {b, "b", "acct-1"}} {
			res, err := w.ms.WriteMessage(ctx, w.stream, msg(i, "Opened", fmt.Sprintf(`{"n":%d}`, i), ""), domain.AnyVersion)
			r.write(fmt.Sprintf("write %s %s", w.label, w.stream), res, err)
		}
		// The same id is free in another namespace.
		res, err := b.WriteMessage(ctx, "acct-9", msg(0, "Opened", `{}`, ""), domain.AnyVersion)
		r.write("same id in b", res, err)
		for _, ns := range []struct {
			label string
			ms    ports.MessageStore
		}{{"a", a}, {"b", b}} {
			msgs, err := ns.ms.GetAllMessages(ctx, domain.AllOpts{})
			r.messages("all "+ns.label, msgs, err, true)
		}
		list, err := store.ListNamespaces(ctx)
		require.NoError(t, err)
		for _, n := range list {
			r.add("namespace %s %q", n.ID, n.Description)
		}
		require.NoError(t, store.DeleteNamespace(ctx, "tenant_a"))
		msgs, err := b.GetAllMessages(ctx, domain.AllOpts{})
		r.messages("b after deleting a", msgs, err, true)
		_, err = a.GetAllMessages(ctx, domain.AllOpts{})
		r.add("a after delete: %s", errorClass(err))
		_, err = store.MessageStore(ctx, "tenant_a")
		r.add("store of a after delete: %s", errorClass(err))
		_, err = store.CreateNamespace(ctx, "tenant_b", domain.NamespaceOptions{})
		r.add("create b again: %s", errorClass(err))
		_, err = store.CreateNamespace(ctx, "Tenant", domain.NamespaceOptions{})
		r.add("create invalid: %s", errorClass(err))
		a = createNamespace(t, store, "tenant_a")
		res, err = a.WriteMessage(ctx, "acct-1", msg(0, "Opened", `{}`, ""), domain.ExpectVersion(domain.NoStream))
		r.write("a created again starts empty", res, err)
	})
}

func TestParity_MDB001_6A_T2_WriteReadParity(t *testing.T) {
	ctx := context.Background()
	compare(t, func(t *testing.T, store ports.Store, r *recorder) {
		ms := createNamespace(t, store, "rw")
		bodies := []struct{ data, meta string }{
			{`{"b": 2, "a": 1, "aa": [1, 2, {"z": null, "y": true}]}`, ""},
			{`{"big": 12345678901234567890, "tenth": 0.1, "exp": 1e2, "neg": -0.0, "scale": 1.50}`, `{"correlationStreamName": "other-1", "k": "v"}`},
			{`{"s": "é中😀 \" \\ \n \t \u0001 </>"}`, `{}`},
			{`[1, "two", 3.0]`, ""},
			{`"just a string"`, ""},
			{``, ""},
			{`{"dup": 1, "dup": 2}`, ""},
		}
		for i, b := range bodies {
			res, err := ms.WriteMessage(ctx, "acct-1", msg(i, "Body", b.data, b.meta), domain.AnyVersion)
			r.write(fmt.Sprintf("write %d", i), res, err)
		}
		res, err := ms.WriteMessages(ctx, "acct-2", []domain.NewMessage{msg(100, "A", `{"x":1}`, ""), msg(101, "B", `{"x":2}`, `{"m":1}`)}, domain.AnyVersion)
		r.add("batch: %v %s", res, errorClass(err))
		for _, opts := range []domain.GetOpts{{}, {Position: 2, BatchSize: new(int64(3))}, {Position: 5, BatchSize: new(domain.Unlimited)}, {BatchSize: new(int64(0))}, {Position: 99}} {
			msgs, err := ms.GetStreamMessages(ctx, "acct-1", opts)
			r.messages(fmt.Sprintf("stream pos=%d batch=%s", opts.Position, batch(opts.BatchSize)), msgs, err, true)
		}
		msgs, err := ms.GetStreamMessages(ctx, "acct-404", domain.GetOpts{})
		r.messages("missing stream", msgs, err, true)
		last, err := ms.GetLastStreamMessage(ctx, "acct-2", "")
		r.messages("last", []domain.Message{last}, err, true)
		last, err = ms.GetLastStreamMessage(ctx, "acct-2", "A")
		r.messages("last A", []domain.Message{last}, err, true)
		_, err = ms.GetLastStreamMessage(ctx, "acct-2", "Z")
		r.add("last Z: %s", errorClass(err))
		_, err = ms.GetLastStreamMessage(ctx, "acct-404", "")
		r.add("last missing: %s", errorClass(err))
		for _, s := range []string{"acct-1", "acct-2", "acct-404"} {
			v, err := ms.GetStreamVersion(ctx, s)
			r.add("version %s: %d %s", s, v, errorClass(err))
		}
		// Generated ids: compare everything else.
		res1, err := ms.WriteMessage(ctx, "gen-1", domain.NewMessage{Type: "G"}, domain.AnyVersion)
		r.write("generated id", res1, err)
		msgs, err = ms.GetStreamMessages(ctx, "gen-1", domain.GetOpts{})
		r.messages("generated", msgs, err, false)
		// Invalid input.
		for _, bad := range []struct {
			stream string
			m      domain.NewMessage
		}{
			{"acct", msg(200, "A", `{}`, "")},
			{"-1", msg(200, "A", `{}`, "")},
			{"acct-", msg(200, "A", `{}`, "")},
			{"acct-1", msg(200, "", `{}`, "")},
			{"acct-1", msg(200, "A", `{`, "")},
			{"acct-1", msg(200, "A", `{}`, `nope`)},
			{"acct-1", msg(200, "A", `{"a":"\u0000"}`, "")},
		} {
			_, err := ms.WriteMessage(ctx, bad.stream, bad.m, domain.AnyVersion)
			r.add("invalid %q %q %s: %s", bad.stream, bad.m.Type, bad.m.Data, errorClass(err))
		}
		_, err = ms.GetStreamMessages(ctx, "acct-1", domain.GetOpts{Position: -1})
		r.add("negative position: %s", errorClass(err))
	})
}

func TestParity_MDB001_6A_T3_CategoryQueries(t *testing.T) {
	ctx := context.Background()
	compare(t, func(t *testing.T, store ports.Store, r *recorder) {
		ms := createNamespace(t, store, "cat")
		streams := []string{"acct-1", "acct:command-1", "acct-2", "account-1", "acct-1+x", "acct-3", "acctx-1", "acct-2"}
		for i, s := range streams {
			meta := ""
			switch i % 3 {
			case 0:
				meta = `{"correlationStreamName":"other-` + fmt.Sprint(i) + `"}`
			case 1:
				meta = `{"correlationStreamName":"else:thing-1"}`
			}
			res, err := ms.WriteMessage(ctx, s, msg(i, "T", fmt.Sprintf(`{"i":%d}`, i), meta), domain.AnyVersion)
			r.write("write "+s, res, err)
		}
		for _, c := range []struct {
			cat  string
			opts domain.CategoryOpts
		}{
			{"acct", domain.CategoryOpts{}},
			{"acct", domain.CategoryOpts{Position: 3}},
			{"acct", domain.CategoryOpts{Position: 3, BatchSize: new(int64(2))}},
			{"acct", domain.CategoryOpts{BatchSize: new(domain.Unlimited)}},
			{"acct", domain.CategoryOpts{BatchSize: new(int64(0))}},
			{"acct", domain.CategoryOpts{Correlation: "other"}},
			{"acct", domain.CategoryOpts{Correlation: "else:thing"}},
			{"acct", domain.CategoryOpts{Correlation: "else"}},
			{"acct:command", domain.CategoryOpts{}},
			{"account", domain.CategoryOpts{}},
			{"none", domain.CategoryOpts{}},
			{"acct-1", domain.CategoryOpts{}},
			{"", domain.CategoryOpts{}},
			{"acct", domain.CategoryOpts{Correlation: "other-1"}},
			{"acct", domain.CategoryOpts{Position: -1}},
			{"acct", domain.CategoryOpts{BatchSize: new(int64(-2))}},
		} {
			msgs, err := ms.GetCategoryMessages(ctx, c.cat, c.opts)
			r.messages(fmt.Sprintf("category %q pos=%d batch=%s corr=%q", c.cat, c.opts.Position, batch(c.opts.BatchSize), c.opts.Correlation), msgs, err, true)
		}
		msgs, err := ms.GetAllMessages(ctx, domain.AllOpts{Position: 2, BatchSize: new(int64(4))})
		r.messages("all from 2", msgs, err, true)
		_, err = ms.GetAllMessages(ctx, domain.AllOpts{Position: -1})
		r.add("all from -1: %s", errorClass(err))
	})
}

func TestParity_MDB001_6A_T4_ConsumerGroupPartitioning(t *testing.T) {
	ctx := context.Background()
	compare(t, func(t *testing.T, store ports.Store, r *recorder) {
		ms := createNamespace(t, store, "groups")
		n := 0
		for i := range 60 {
			stream := fmt.Sprintf("acct-%d", i)
			switch i % 5 {
			case 1:
				stream = fmt.Sprintf("acct-%d+%d", i/5, i)
			case 2:
				stream = fmt.Sprintf("acct-%x-%d", i*7919, i)
			case 3:
				stream = fmt.Sprintf("acct-é%d", i)
			}
			for range 2 {
				meta := ""
				if n%4 == 0 {
					meta = `{"correlationStreamName":"corr-1"}`
				}
				_, err := ms.WriteMessage(ctx, stream, msg(n, "T", `{}`, meta), domain.AnyVersion)
				require.NoError(t, err)
				n++
			}
		}
		for _, size := range []int64{1, 2, 3, 4, 7} {
			for member := range size {
				for _, corr := range []string{"", "corr"} {
					msgs, err := ms.GetCategoryMessages(ctx, "acct", domain.CategoryOpts{Correlation: corr,
						ConsumerGroup: &domain.ConsumerGroup{Member: member, Size: size}, BatchSize: new(domain.Unlimited)})
					require.NoError(t, err)
					var gps []string
					for _, m := range msgs {
						gps = append(gps, fmt.Sprintf("%s@%d", m.StreamName, m.GlobalPosition))
					}
					r.add("member %d/%d corr=%q: %s", member, size, corr, strings.Join(gps, " "))
				}
			}
		}
		for _, g := range []domain.ConsumerGroup{{Member: 2, Size: 2}, {Member: -1, Size: 2}, {Member: 0, Size: 0}} {
			_, err := ms.GetCategoryMessages(ctx, "acct", domain.CategoryOpts{ConsumerGroup: &g})
			r.add("group %+v: %s", g, errorClass(err))
		}
	})
}

func TestParity_MDB001_6A_T5_OptimisticLocking(t *testing.T) {
	ctx := context.Background()
	compare(t, func(t *testing.T, store ports.Store, r *recorder) {
		ms := createNamespace(t, store, "locking")
		steps := []struct {
			stream   string
			id       int
			typ      string
			expected domain.ExpectedVersion
		}{
			{"acct-1", 1, "A", domain.ExpectVersion(domain.NoStream)},
			{"acct-1", 2, "A", domain.ExpectVersion(domain.NoStream)},
			{"acct-1", 2, "A", domain.ExpectVersion(0)},
			{"acct-1", 3, "A", domain.ExpectVersion(0)},
			{"acct-1", 3, "A", domain.ExpectVersion(5)}, // idempotent retry: no check
			{"acct-1", 3, "B", domain.AnyVersion},       // same id, other type
			{"acct-2", 3, "A", domain.AnyVersion},       // same id, other stream
			{"other-2", 3, "A", domain.AnyVersion},      // same id, other category
			{"acct-1", 4, "A", domain.ExpectVersion(3)},
			{"acct-1", 4, "A", domain.ExpectVersion(-2)},
			{"acct-3", 5, "A", domain.ExpectVersion(0)},
			{"acct-1", 6, "A", domain.AnyVersion},
		}
		for i, s := range steps {
			res, err := ms.WriteMessage(ctx, s.stream, msg(s.id, s.typ, `{}`, ""), s.expected)
			r.write(fmt.Sprintf("step %d %s id=%d %s expect=%s", i, s.stream, s.id, s.typ, s.expected), res, err)
		}
		batches := []struct {
			ids      []int
			expected domain.ExpectedVersion
		}{
			{[]int{10, 11, 12}, domain.ExpectVersion(2)},
			{[]int{13, 14}, domain.ExpectVersion(2)},
			{[]int{10, 11, 12}, domain.ExpectVersion(0)}, // retry of the whole batch
			{[]int{10, 15}, domain.AnyVersion},           // partly stored
			{[]int{16, 16}, domain.AnyVersion},           // id twice
			{nil, domain.AnyVersion},
			{[]int{17, 18}, domain.ExpectVersion(5)},
		}
		for i, b := range batches {
			var msgs []domain.NewMessage
			for _, id := range b.ids {
				msgs = append(msgs, msg(id, "A", `{}`, ""))
			}
			res, err := ms.WriteMessages(ctx, "acct-1", msgs, b.expected)
			r.add("batch %d %v expect=%s: %v %s", i, b.ids, b.expected, res, errorClass(err))
		}
		all, err := ms.GetAllMessages(ctx, domain.AllOpts{})
		r.messages("all", all, err, true)
	})
}

func TestParity_MDB001_6A_T6_ConcurrentWritesToDifferentNamespaces(t *testing.T) {
	ctx := context.Background()
	compare(t, func(t *testing.T, store ports.Store, r *recorder) {
		const namespaces, writes = 4, 10
		stores := make([]ports.MessageStore, namespaces)
		for i := range stores {
			stores[i] = createNamespace(t, store, fmt.Sprintf("conc_%d", i))
		}
		start := make(chan struct{})
		var wg sync.WaitGroup
		errs := make(chan error, namespaces*writes)
		for i, ms := range stores {
			wg.Go(func() {
				<-start
				for j := range writes {
					_, err := ms.WriteMessage(ctx, "acct-1", msg(i*100+j, "T", fmt.Sprintf(`{"j":%d}`, j), ""), domain.ExpectVersion(int64(j)-1))
					errs <- err
				}
			})
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		for i, ms := range stores {
			msgs, err := ms.GetAllMessages(ctx, domain.AllOpts{})
			r.messages(fmt.Sprintf("namespace %d", i), msgs, err, true)
		}
	})
}

func TestParity_MDB001_6A_T7_ConcurrentWritesToOneStream(t *testing.T) {
	ctx := context.Background()
	compare(t, func(t *testing.T, store ports.Store, r *recorder) {
		ms := createNamespace(t, store, "race")
		// Writers without an expected version all succeed, at distinct
		// consecutive positions.
		const writers = 12
		start := make(chan struct{})
		results := make(chan domain.WriteResult, writers)
		var wg sync.WaitGroup
		for i := range writers {
			wg.Go(func() {
				<-start
				res, err := ms.WriteMessage(ctx, "acct-1", msg(i, "Any", `{}`, ""), domain.AnyVersion)
				assert.NoError(t, err)
				results <- res
			})
		}
		close(start)
		wg.Wait()
		close(results)
		var got []string
		for res := range results {
			got = append(got, fmt.Sprintf("pos=%d gp=%d", res.Position, res.GlobalPosition))
		}
		sort.Strings(got)
		r.add("any-version results: %s", strings.Join(got, ", "))

		// Writers expecting the same version: one winner per round.
		for round := range 3 {
			expected := int64(writers - 1 + round)
			start := make(chan struct{})
			outcomes := make(chan string, writers)
			for i := range writers {
				wg.Go(func() {
					<-start
					_, err := ms.WriteMessage(ctx, "acct-1", msg(1000*(round+1)+i, "Expect", `{}`, ""), domain.ExpectVersion(expected))
					outcomes <- errorClass(err)
				})
			}
			close(start)
			wg.Wait()
			close(outcomes)
			counts := map[string]int{}
			for o := range outcomes {
				counts[o]++
			}
			r.add("round %d: %v", round, counts)
		}
		v, err := ms.GetStreamVersion(ctx, "acct-1")
		r.add("version %d %s", v, errorClass(err))
		msgs, err := ms.GetStreamMessages(ctx, "acct-1", domain.GetOpts{})
		require.NoError(t, err)
		for i, m := range msgs {
			r.add("position %d: %s gp=%d", i, m.Type, m.GlobalPosition)
			assert.Equal(t, int64(i), m.Position)
		}
	})
}
