package postgres_test

import (
	"context"
	"errors"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messagedb-go/messagedb/adapters/postgres"
	"github.com/messagedb-go/messagedb/contracttest"
	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/internal/pgtest"
	"github.com/messagedb-go/messagedb/ports"
)

// standbyWait bounds, in the tests where a read must wait for a standby
// that is paused then resumed, how long it may wait: far more than the
// test needs, so that the read is served by the standby however slow the
// machine.
const standbyWait = 30 * time.Second

// TestStandbyReads runs on a private primary with two streaming standbys:
// the conformance suite with category reads routed to the first, and the
// routing rules on the second, whose replay the cases pause and resume;
// then a consumer reading from both while they lag, stop and start again.
func TestStandbyReads(t *testing.T) {
	t.Parallel() // its servers are its own
	began := time.Now()
	primary := pgtest.NewCluster(t)
	s1 := primary.NewStandby(t)
	s2 := primary.NewStandby(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.NoError(t, primary.WaitStreaming(ctx, 2, false))
	t.Logf("primary and two standbys streaming after %s", time.Since(began).Round(time.Millisecond))

	t.Run("Suites", func(t *testing.T) { standbySuites(t, primary, s1, s2) })
	t.Run("ConsumerAcrossStandbys", func(t *testing.T) { testConsumerAcrossStandbys(t, primary, s1, s2) })
}

// standbySuites runs the conformance suite on s1 and the routing cases on
// s2, in parallel.
func standbySuites(t *testing.T, primary, s1, s2 *pgtest.Cluster) {
	t.Run("Contract", func(t *testing.T) {
		t.Parallel()
		var mu sync.Mutex
		var stores []*postgres.Store
		t.Cleanup(func() {
			var standby, onPrimary int64
			for _, s := range stores {
				sb, p := s.ReadsServed()
				standby += sb
				onPrimary += p
			}
			t.Logf("category reads: %d served by the standby, %d by the primary", standby, onPrimary)
			assert.Positive(t, standby, "the suite's category reads went to the standby")
		})
		contracttest.Run(t, func(t *testing.T) ports.Store {
			s := openStore(t, primary.URL(), &postgres.Options{MaxConns: 4, Standbys: []string{s1.URL()}})
			mu.Lock()
			stores = append(stores, s)
			mu.Unlock()
			return s
		})
	})

	t.Run("Routing", func(t *testing.T) {
		t.Parallel()
		replay := func(t *testing.T, on bool) {
			t.Helper()
			stmt := "SELECT pg_catalog.pg_wal_replay_resume()"
			if !on {
				stmt = "SELECT pg_catalog.pg_wal_replay_pause()"
			}
			// Not require: it is called from goroutines too.
			if err := s2.Exec(context.Background(), stmt); err != nil {
				t.Errorf("replay %v: %v", on, err)
			}
		}
		// Every case leaves the standby replaying.
		for _, c := range []struct {
			name string
			run  func(t *testing.T, primaryURL string, standby string, replay func(*testing.T, bool))
		}{
			{"AStaleReadProvesTheStandbyServesIt", testStandbyServesCategoryReads},
			{"ReadYourWrites", testReadYourWrites},
			{"LaggingStandbyIsSkipped", testLaggingStandbySkipped},
			{"WakeUpReadSeesTheMessage", testWakeUpReadOnStandby},
			{"NamespaceNotYetReplayed", testNamespaceNotYetOnStandby},
			{"StandbyDown", testStandbyDown},
			{"StandbyInItsOwnQueryMode", testStandbyOwnMode},
		} {
			t.Run(c.name, func(t *testing.T) {
				defer replay(t, true)
				c.run(t, primary.URL(), s2.URL(), replay)
			})
		}
	})
}

// standbyStore opens a Store on primaryURL reading from the standby.
func standbyStore(t *testing.T, primaryURL, standby string, maxLag time.Duration) *postgres.Store {
	t.Helper()
	return openStore(t, primaryURL, &postgres.Options{MaxConns: 4, Standbys: []string{standby}, MaxStandbyLag: maxLag})
}

// sharedNamespace creates a namespace through writer and returns its
// handles in writer and in reader.
func sharedNamespace(t *testing.T, writer, reader *postgres.Store) (w, r *postgres.Namespace) {
	t.Helper()
	w = newNamespace(t, writer)
	r, err := reader.Namespace(t.Context(), w.ID())
	require.NoError(t, err)
	return w, r
}

func readCategory(t *testing.T, ns *postgres.Namespace, category string) []domain.Message {
	t.Helper()
	msgs, err := ns.GetCategoryMessages(t.Context(), category, domain.CategoryOpts{})
	require.NoError(t, err, "read %s", category)
	return msgs
}

func writeOne(t *testing.T, ns *postgres.Namespace, stream string) domain.WriteResult {
	t.Helper()
	r, err := ns.WriteMessage(t.Context(), stream, domain.NewMessage{Type: "Tested", Data: []byte(`{}`)}, domain.AnyVersion)
	require.NoError(t, err, "write to %s", stream)
	return r
}

// served returns the reads the Store's standbys served and those that went
// to the primary.
func served(s *postgres.Store) (standby, primary int64) { return s.ReadsServed() }

// A Store that has not written reads what the standby has replayed: with
// the standby's replay paused, it does not see a write made meanwhile
// through another Store, until the standby replays it.
func testStandbyServesCategoryReads(t *testing.T, primaryURL, standby string, replay func(*testing.T, bool)) {
	writer := openStore(t, primaryURL, nil)
	reader := standbyStore(t, primaryURL, standby, standbyWait)
	w, r := sharedNamespace(t, writer, reader)
	cat := "acct" + randomHex(4)
	writeOne(t, w, cat+"-1")
	require.Len(t, readCategory(t, r, cat), 1, "the reader's first read waits for the standby to replay the primary's position")

	replay(t, false)
	writeOne(t, w, cat+"-2")
	before, _ := served(reader)
	assert.Len(t, readCategory(t, r, cat), 1, "the standby, paused, has not replayed the second write")
	after, _ := served(reader)
	assert.Equal(t, before+1, after, "the read was served by the standby")

	replay(t, true)
	deadline := time.Now().Add(standbyWait)
	for len(readCategory(t, r, cat)) < 2 {
		require.True(t, time.Now().Before(deadline), "the standby did not replay the write within %s", standbyWait)
		time.Sleep(10 * time.Millisecond)
	}
}

// A read through a Store sees the Store's writes acknowledged before it:
// it waits for the standby to replay them, and reads the primary when the
// standby does not within MaxStandbyLag.
func testReadYourWrites(t *testing.T, primaryURL, standby string, replay func(*testing.T, bool)) {
	t.Run("StandbyTooSlow", func(t *testing.T) {
		const maxLag = 300 * time.Millisecond
		s := standbyStore(t, primaryURL, standby, maxLag)
		ns := newNamespace(t, s)
		cat := "acct" + randomHex(4)
		writeOne(t, ns, cat+"-1")
		require.Len(t, readCategory(t, ns, cat), 1)

		replay(t, false)
		defer replay(t, true)
		want := writeOne(t, ns, cat+"-2")
		_, primaryBefore := served(s)
		msgs := readCategory(t, ns, cat)
		require.Len(t, msgs, 2, "the read sees the Store's own write")
		assert.Equal(t, want.GlobalPosition, msgs[1].GlobalPosition)
		_, primaryAfter := served(s)
		assert.Equal(t, primaryBefore+1, primaryAfter, "the standby, paused, did not replay the write: the primary served the read")
	})
	t.Run("StandbyCatchesUp", func(t *testing.T) {
		s := standbyStore(t, primaryURL, standby, standbyWait)
		ns := newNamespace(t, s)
		cat := "acct" + randomHex(4)
		writeOne(t, ns, cat+"-1")
		require.Len(t, readCategory(t, ns, cat), 1)

		replay(t, false)
		want := writeOne(t, ns, cat+"-2")
		resumed := make(chan struct{})
		go func() {
			defer close(resumed)
			time.Sleep(200 * time.Millisecond)
			replay(t, true)
		}()
		standbyBefore, _ := served(s)
		msgs := readCategory(t, ns, cat)
		<-resumed
		require.Len(t, msgs, 2, "the read sees the Store's own write")
		assert.Equal(t, want.GlobalPosition, msgs[1].GlobalPosition)
		standbyAfter, _ := served(s)
		assert.Equal(t, standbyBefore+1, standbyAfter, "the read waited for the standby to replay the write, and was served by it")

		// Another Store's reads do not wait for this Store's writes.
		other := standbyStore(t, primaryURL, standby, standbyWait)
		otherNS, err := other.Namespace(t.Context(), ns.ID())
		require.NoError(t, err)
		readCategory(t, otherNS, cat) // its first read waits for the primary's position
		replay(t, false)
		writeOne(t, ns, cat+"-3")
		assert.Len(t, readCategory(t, otherNS, cat), 2, "another Store reads the paused standby")
	})
}

// A standby that has not replayed what the primary had MaxStandbyLag ago
// serves no read: they go to the primary, which sees every write.
func testLaggingStandbySkipped(t *testing.T, primaryURL, standby string, replay func(*testing.T, bool)) {
	const maxLag = 200 * time.Millisecond
	writer := openStore(t, primaryURL, nil)
	reader := standbyStore(t, primaryURL, standby, maxLag)
	w, r := sharedNamespace(t, writer, reader)
	cat := "acct" + randomHex(4)
	writeOne(t, w, cat+"-1")
	require.Len(t, readCategory(t, r, cat), 1)

	replay(t, false)
	writeOne(t, w, cat+"-2")
	// Reads come while the standby lags more and more; once it lags more
	// than the bound, they go to the primary and see the write.
	deadline := time.Now().Add(standbyWait)
	for len(readCategory(t, r, cat)) < 2 {
		require.True(t, time.Now().Before(deadline), "reads still go to a standby paused for %s", standbyWait)
		time.Sleep(20 * time.Millisecond)
	}
	_, onPrimary := served(reader)
	assert.Positive(t, onPrimary, "the reads that saw the write, the standby paused, went to the primary")
}

// A consumer woken by another Store's write reads the message even from a
// standby: the notification carries the primary's position, which the
// read after the wake-up waits for.
func testWakeUpReadOnStandby(t *testing.T, primaryURL, standby string, replay func(*testing.T, bool)) {
	writer := openStore(t, primaryURL, nil)
	reader := standbyStore(t, primaryURL, standby, standbyWait)
	w, r := sharedNamespace(t, writer, reader)
	cat := "acct" + randomHex(4)
	writeOne(t, w, cat+"-1")
	require.Len(t, readCategory(t, r, cat), 1)

	wake, err := r.WatchCategory(t.Context(), cat)
	require.NoError(t, err)
	replay(t, false)
	writeOne(t, w, cat+"-2")
	select {
	case <-wake:
	case <-time.After(standbyWait):
		t.Fatal("no wake-up")
	}
	resumed := make(chan struct{})
	go func() {
		defer close(resumed)
		time.Sleep(200 * time.Millisecond)
		replay(t, true)
	}()
	standbyBefore, _ := served(reader)
	msgs := readCategory(t, r, cat)
	<-resumed
	assert.Len(t, msgs, 2, "the read after the wake-up sees the message that woke it")
	standbyAfter, _ := served(reader)
	assert.Equal(t, standbyBefore+1, standbyAfter, "the standby served it, once it had replayed the message")
}

// A namespace created through another Store that the standby has not
// replayed yet is read on the primary.
func testNamespaceNotYetOnStandby(t *testing.T, primaryURL, standby string, replay func(*testing.T, bool)) {
	writer := openStore(t, primaryURL, nil)
	reader := standbyStore(t, primaryURL, standby, standbyWait)
	// The reader's first read waits for the primary's position.
	warm := newNamespace(t, writer)
	warmNS, err := reader.Namespace(t.Context(), warm.ID())
	require.NoError(t, err)
	readCategory(t, warmNS, "warm")

	replay(t, false)
	w, r := sharedNamespace(t, writer, reader)
	cat := "acct" + randomHex(4)
	writeOne(t, w, cat+"-1")
	assert.Len(t, readCategory(t, r, cat), 1, "the standby lacks the namespace's schema: the primary answers")
}

// Reads go to the primary when the standby cannot be reached.
func testStandbyDown(t *testing.T, primaryURL, _ string, _ func(*testing.T, bool)) {
	nowhere := "postgres://postgres@/postgres?" + url.Values{"host": {t.TempDir()}, "sslmode": {"disable"}}.Encode()
	s := standbyStore(t, primaryURL, nowhere, 0)
	ns := newNamespace(t, s)
	cat := "acct" + randomHex(4)
	for i := range 3 {
		writeOne(t, ns, cat+"-1")
		assert.Len(t, readCategory(t, ns, cat), i+1)
	}
	standby, onPrimary := served(s)
	assert.Zero(t, standby)
	assert.Equal(t, int64(3), onPrimary)
}

// A server that cannot be reached is an error matching
// domain.ErrUnavailable.
func TestOpen_ServerDownIsUnavailable(t *testing.T) {
	nowhere := "postgres://postgres@/postgres?" + url.Values{"host": {t.TempDir()}, "sslmode": {"disable"}}.Encode()
	_, err := postgres.Open(t.Context(), nowhere, nil)
	require.Error(t, err)
	assert.True(t, errors.Is(err, domain.ErrUnavailable), "want ErrUnavailable, got %v", err)
}

// A standby's URL may ask for another query execution mode than the
// primary's (a pooler in front of it): its reads use it.
func testStandbyOwnMode(t *testing.T, primaryURL, standby string, _ func(*testing.T, bool)) {
	s := standbyStore(t, primaryURL, standby+"&default_query_exec_mode=simple_protocol", standbyWait)
	ns := newNamespace(t, s)
	cat := "acct" + randomHex(4)
	want := writeOne(t, ns, cat+"-1")
	msgs := readCategory(t, ns, cat)
	require.Len(t, msgs, 1)
	assert.Equal(t, want.GlobalPosition, msgs[0].GlobalPosition)
	assert.Equal(t, cat+"-1", msgs[0].StreamName)
	assert.JSONEq(t, `{}`, string(msgs[0].Data))
	standbyServed, _ := served(s)
	assert.Equal(t, int64(1), standbyServed)
}
