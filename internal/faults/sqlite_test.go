package faults_test

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun/driver/sqliteshim"

	"github.com/messagedb-go/messagedb/adapters/sqlite"
	"github.com/messagedb-go/messagedb/app"
	"github.com/messagedb-go/messagedb/domain"
)

// The child processes of the SQLite crash tests are this test binary, run
// again with these variables set.
const (
	envChildDir   = "MESSAGEDB_FAULTS_CHILD_DIR"
	envChildMode  = "MESSAGEDB_FAULTS_CHILD_MODE" // "write" or "create"
	envChildRound = "MESSAGEDB_FAULTS_CHILD_ROUND"
	envChildSync  = "MESSAGEDB_FAULTS_CHILD_SYNC" // sqlite.Synchronous
)

const (
	crashNamespace = "crash"
	crashCategory  = "crash"
	childWriters   = 3 // goroutines writing in the child
	writerStreams  = 4 // streams each writer owns
	batchLen       = 3 // messages of a batch write
	// childLifetime bounds a child the parent failed to kill.
	childLifetime = time.Minute
)

// messageData is what the child writes in each message, so that the parent
// can tell which write of which child made it.
type messageData struct {
	Round int `json:"round"`
	W     int `json:"w"`   // writer
	Seq   int `json:"seq"` // the writer's write number in its round
	I     int `json:"i"`   // index in the write (a batch has several)
	N     int `json:"n"`   // messages in the write
}

// ack is one acknowledged message, as the child reports it:
//
//	ack <round> <w> <seq> <i> <stream> <id> <position> <global position>
type ack struct {
	messageData
	Stream         string
	ID             string
	Position       int64
	GlobalPosition int64
}

func parseAck(line string) (ack, error) {
	var a ack
	_, err := fmt.Sscanf(line, "ack %d %d %d %d %s %s %d %d",
		&a.Round, &a.W, &a.Seq, &a.I, &a.Stream, &a.ID, &a.Position, &a.GlobalPosition)
	return a, err
}

// TestSQLite_KillDuringWrites runs a child process that writes to a
// namespace file without pause (single messages and batches, with and
// without expected versions, preset ids) and reports each acknowledged
// write; the parent kills it with SIGKILL at a random moment, checks the
// files and what they hold, and starts the next child on the same files.
func TestSQLite_KillDuringWrites(t *testing.T) {
	t.Parallel()
	const rounds = 6
	ctx := t.Context()
	dir := t.TempDir()
	s, err := app.Open(ctx, "sqlite:"+dir, nil)
	require.NoError(t, err)
	_, err = s.CreateNamespace(ctx, crashNamespace, domain.NamespaceOptions{})
	require.NoError(t, err)
	require.NoError(t, s.Close())

	var acked []ack
	inFlight := map[writeKey]bool{} // writes in flight at a kill that had committed
	for round := 1; round <= rounds; round++ {
		syncMode := sqlite.SynchronousFull
		if round%2 == 0 {
			syncMode = sqlite.SynchronousNormal
		}
		// Kill after a random number of acknowledged messages, or after a
		// random delay once the child is ready.
		kill := killPlan{acks: 1 + rand.IntN(400)}
		if round%3 == 0 {
			kill = killPlan{delay: time.Duration(1+rand.IntN(150)) * time.Millisecond}
		}
		lines := runAndKill(t, dir, "write", round, syncMode, kill)
		var got []ack
		for _, l := range lines {
			a, err := parseAck(l)
			require.NoError(t, err, "child line %q", l)
			require.Equal(t, round, a.Round, "child line %q", l)
			got = append(got, a)
		}
		acked = append(acked, got...)

		checkIntegrity(t, filepath.Join(dir, "registry.db"))
		checkIntegrity(t, filepath.Join(dir, "namespaces", crashNamespace+".db"))

		// Reopen, alternately through the adapter and through app.Open.
		var ns *app.Namespace
		if round%2 == 1 {
			b, err := sqlite.Open(ctx, sqlite.Options{Dir: dir})
			require.NoError(t, err)
			s = app.NewStore(b)
		} else {
			s, err = app.Open(ctx, "sqlite:"+dir, nil)
			require.NoError(t, err)
		}
		ns, err = s.Namespace(ctx, crashNamespace)
		require.NoError(t, err)
		all, err := ns.ReadAll(ctx, domain.AllOpts{BatchSize: new(domain.Unlimited)})
		require.NoError(t, err)
		require.NoError(t, s.Close())

		checkStored(t, round, all, acked, inFlight)
		t.Logf("round %d (%s, %s): %d messages acknowledged, %d stored in all", round, syncMode, kill, len(got), len(all))
		if t.Failed() {
			return
		}
	}
	t.Logf("%d writes in flight at a kill had committed", len(inFlight))
	assert.NotEmpty(t, acked, "no write was acknowledged in any round: the test proved nothing")
}

// writeKey identifies a write of a child: its round, writer and number.
type writeKey struct{ round, w, seq int }

// checkStored checks the messages of the namespace, in global position
// order, against every message acknowledged so far, and the writes that
// committed without being acknowledged: those in flight at this round's
// kill, which it adds to inFlight, and those of earlier rounds in inFlight.
func checkStored(t *testing.T, round int, all []domain.Message, acked []ack, inFlight map[writeKey]bool) {
	t.Helper()
	byID := map[string]domain.Message{}
	versions := map[string]int64{}
	var lastGP int64
	writes := map[writeKey]int{} // messages stored per write
	sizes := map[writeKey]int{}  // messages the write had
	for _, m := range all {
		if m.GlobalPosition <= lastGP {
			t.Errorf("global position %d after %d: not increasing", m.GlobalPosition, lastGP)
		}
		lastGP = m.GlobalPosition
		if _, dup := byID[m.ID.String()]; dup {
			t.Errorf("message id %s stored twice", m.ID)
		}
		byID[m.ID.String()] = m
		v, ok := versions[m.StreamName]
		if !ok {
			v = -1
		}
		if m.Position != v+1 {
			t.Errorf("stream %s: position %d after %d: not gapless", m.StreamName, m.Position, v)
		}
		versions[m.StreamName] = m.Position
		var d messageData
		if err := json.Unmarshal(m.Data, &d); err != nil {
			t.Errorf("message %s: data %s: %v", m.ID, m.Data, err)
			continue
		}
		writes[writeKey{d.Round, d.W, d.Seq}]++
		sizes[writeKey{d.Round, d.W, d.Seq}] = d.N
	}

	for _, a := range acked {
		m, ok := byID[a.ID]
		if !ok {
			t.Errorf("acknowledged message %s (round %d, writer %d, write %d) is missing", a.ID, a.Round, a.W, a.Seq)
			continue
		}
		if m.StreamName != a.Stream || m.Position != a.Position || m.GlobalPosition != a.GlobalPosition {
			t.Errorf("acknowledged message %s: stored at %s/%d global %d, acknowledged at %s/%d global %d",
				a.ID, m.StreamName, m.Position, m.GlobalPosition, a.Stream, a.Position, a.GlobalPosition)
		}
	}

	// Each writer writes one thing at a time: what is stored of its writes
	// in this round is what it reported, plus at most the write it was
	// making when killed, whole.
	ackedWrites := map[writeKey]int{}
	for _, a := range acked {
		ackedWrites[writeKey{a.Round, a.W, a.Seq}]++
	}
	for k, n := range writes {
		if n != sizes[k] {
			t.Errorf("write %v: %d of its %d messages stored: a batch is all or nothing", k, n, sizes[k])
		}
		if _, ok := ackedWrites[k]; ok || k.round < round && inFlight[k] {
			continue
		}
		next := 0
		for ak := range ackedWrites {
			if ak.round == k.round && ak.w == k.w && ak.seq+1 > next {
				next = ak.seq + 1
			}
		}
		if k.round != round || k.seq != next {
			t.Errorf("write %v is stored but was not acknowledged, and is not the one writer %d was making when killed (write %d of round %d)",
				k, k.w, next, round)
			continue
		}
		inFlight[k] = true
	}
	for k := range inFlight {
		if writes[k] == 0 {
			t.Errorf("write %v, stored after the crash of round %d, is gone", k, k.round)
		}
	}
}

// killPlan is when the parent kills a child: after acks acknowledged
// messages, or delay after it is ready.
type killPlan struct {
	acks  int
	delay time.Duration
}

func (k killPlan) String() string {
	if k.delay > 0 {
		return fmt.Sprintf("killed %s after start", k.delay)
	}
	return fmt.Sprintf("killed after %d acks", k.acks)
}

// runAndKill runs a child in mode on dir, kills it with SIGKILL as the plan
// says and returns the complete lines it printed, "ready" excepted: each one
// reports something that was acknowledged before the kill.
func runAndKill(t *testing.T, dir, mode string, round int, syncMode sqlite.Synchronous, kill killPlan) []string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestSQLite_CrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(),
		envChildDir+"="+dir, envChildMode+"="+mode,
		envChildRound+"="+strconv.Itoa(round), envChildSync+"="+string(syncMode))
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())

	out := bufio.NewReader(stdout)
	var lines []string
	killed := false
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	var once sync.Once
	killNow := func() { once.Do(func() { _ = cmd.Process.Kill() }) }
	for {
		line, err := out.ReadString('\n')
		if err == io.EOF {
			break // a line cut by the kill is not complete: not acknowledged
		}
		require.NoError(t, err)
		line = strings.TrimSuffix(line, "\n")
		if line == "ready" {
			if kill.delay > 0 {
				timer = time.AfterFunc(kill.delay, killNow)
				killed = true
			}
			continue
		}
		lines = append(lines, line)
		if kill.delay == 0 && len(lines) >= kill.acks && !killed {
			killNow()
			killed = true
		}
	}
	werr := cmd.Wait()
	if !killed || werr == nil || !strings.Contains(werr.Error(), "killed") {
		t.Fatalf("child ended before it was killed (%v); stderr:\n%s", werr, stderr.String())
	}
	return lines
}

// checkIntegrity runs PRAGMA integrity_check on the database file as a
// crash left it (opening it replays its write-ahead log).
func checkIntegrity(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open(sqliteshim.ShimName, "file:"+path)
	require.NoError(t, err)
	defer db.Close()
	var res string
	require.NoError(t, db.QueryRow("PRAGMA integrity_check").Scan(&res), path)
	assert.Equal(t, "ok", res, "integrity_check of %s", path)
}

// TestSQLite_CrashChild is the child process of the SQLite crash tests;
// run on its own it does nothing.
func TestSQLite_CrashChild(t *testing.T) {
	dir := os.Getenv(envChildDir)
	if dir == "" {
		return // not a child process
	}
	round, err := strconv.Atoi(os.Getenv(envChildRound))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), childLifetime)
	defer cancel()
	s, err := sqlite.Open(ctx, sqlite.Options{Dir: dir, Synchronous: sqlite.Synchronous(os.Getenv(envChildSync))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var mu sync.Mutex // one line (or one batch of lines) at a time
	report := func(b []byte) {
		mu.Lock()
		defer mu.Unlock()
		if _, err := os.Stdout.Write(b); err != nil {
			panic(err)
		}
	}
	switch os.Getenv(envChildMode) {
	case "write":
		childWrite(ctx, t, s, round, report)
	case "create":
		childCreate(ctx, t, s, round, report)
	default:
		t.Fatalf("unknown mode %q", os.Getenv(envChildMode))
	}
}

// childWrite writes until it is killed (or childLifetime ends).
func childWrite(ctx context.Context, t *testing.T, s *sqlite.Store, round int, report func([]byte)) {
	ns, err := s.Namespace(ctx, crashNamespace)
	if err != nil {
		t.Fatal(err)
	}
	report([]byte("ready\n"))
	var wg sync.WaitGroup
	errs := make(chan error, childWriters)
	for w := range childWriters {
		wg.Go(func() {
			if err := childWriter(ctx, ns, round, w, report); err != nil {
				errs <- fmt.Errorf("writer %d: %w", w, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	t.Fatal("the child was not killed")
}

// childWriter is writer w of a child: it owns its streams, so that its
// expected versions hold, and learns their versions from the store first,
// since the last child may have committed a write it did not report.
func childWriter(ctx context.Context, ns *sqlite.Namespace, round, w int, report func([]byte)) error {
	streams := make([]string, writerStreams)
	versions := make([]int64, writerStreams)
	for k := range streams {
		streams[k] = fmt.Sprintf("%s-w%ds%d", crashCategory, w, k)
		v, err := ns.GetStreamVersion(ctx, streams[k])
		if err != nil {
			return err
		}
		versions[k] = v
	}
	for seq := 0; ctx.Err() == nil; seq++ {
		k := seq % writerStreams
		n := 1
		expected := domain.AnyVersion
		switch seq % 3 {
		case 1:
			expected = domain.ExpectVersion(versions[k])
		case 2:
			n = batchLen
			expected = domain.ExpectVersion(versions[k])
		}
		msgs := make([]domain.NewMessage, n)
		for i := range msgs {
			data, _ := json.Marshal(messageData{Round: round, W: w, Seq: seq, I: i, N: n})
			msgs[i] = domain.NewMessage{ID: uuid.New(), Type: "Written", Data: data}
		}
		var results []domain.WriteResult
		if n == 1 {
			res, err := ns.WriteMessage(ctx, streams[k], msgs[0], expected)
			if err != nil {
				return err
			}
			results = []domain.WriteResult{res}
		} else {
			res, err := ns.WriteMessages(ctx, streams[k], msgs, expected)
			if err != nil {
				return err
			}
			results = res
		}
		var b []byte
		for i, r := range results {
			b = fmt.Appendf(b, "ack %d %d %d %d %s %s %d %d\n", round, w, seq, i, streams[k], msgs[i].ID, r.Position, r.GlobalPosition)
		}
		report(b)
		versions[k] = results[len(results)-1].Position
	}
	return ctx.Err()
}

// TestSQLite_KillDuringNamespaceCreation kills a child that creates
// namespaces one after the other: a namespace is in the registry and in a
// file of its own, and the crash must leave either both, usable, or
// neither.
func TestSQLite_KillDuringNamespaceCreation(t *testing.T) {
	t.Parallel()
	const rounds = 3
	ctx := t.Context()
	dir := t.TempDir()
	created := map[string]bool{} // acknowledged, over all rounds
	checks := map[string]int64{} // messages checkUsable wrote, per namespace
	for round := 1; round <= rounds; round++ {
		kill := killPlan{acks: 1 + rand.IntN(8)}
		if round%2 == 0 {
			kill = killPlan{delay: time.Duration(1+rand.IntN(100)) * time.Millisecond}
		}
		lines := runAndKill(t, dir, "create", round, sqlite.SynchronousFull, kill)
		for _, l := range lines {
			id, ok := strings.CutPrefix(l, "created ")
			require.True(t, ok, "child line %q", l)
			created[id] = true
		}
		checkIntegrity(t, filepath.Join(dir, "registry.db"))

		s, err := app.Open(ctx, "sqlite:"+dir, nil)
		require.NoError(t, err)
		list, err := s.ListNamespaces(ctx)
		require.NoError(t, err)
		listed := map[string]bool{}
		for _, n := range list {
			listed[n.ID] = true
		}
		for id := range created {
			assert.True(t, listed[id], "namespace %s was created before the kill but is not listed", id)
		}
		inFlight := childNamespaceID(round, len(lines))
		for id := range listed {
			if !created[id] && id != inFlight {
				t.Errorf("namespace %s is listed but its creation was not acknowledged, nor in flight (%s)", id, inFlight)
			}
			if !created[id] {
				created[id] = true // from now on it must stay
			}
			checkUsable(t, s, id, checks)
		}
		if !listed[inFlight] {
			// Absent: whatever the crash left of its file must not stop
			// its creation.
			_, err := s.CreateNamespace(ctx, inFlight, domain.NamespaceOptions{})
			require.NoError(t, err, "create namespace %s again after the crash", inFlight)
			created[inFlight] = true
			checkUsable(t, s, inFlight, checks)
		}
		require.NoError(t, s.Close())
		t.Logf("round %d (%s): %d namespaces created, %s listed after the crash: %v", round, kill, len(lines), inFlight, listed[inFlight])
	}
}

// childNamespaceID is the id of the nth namespace (from 0) a child of the
// given round creates.
func childNamespaceID(round, n int) string { return fmt.Sprintf("r%dn%d", round, n) }

// checkUsable writes a message to namespace id and reads it back, after
// the checks[id] it wrote in earlier rounds, which must still be there.
func checkUsable(t *testing.T, s *app.Store, id string, checks map[string]int64) {
	t.Helper()
	ctx := t.Context()
	ns, err := s.Namespace(ctx, id)
	require.NoError(t, err, "namespace %s", id)
	before, err := ns.Version(ctx, "check-1")
	require.NoError(t, err, "namespace %s", id)
	require.Equal(t, checks[id]-1, before, "namespace %s: version of check-1 (written by earlier checks)", id)
	checks[id]++
	res, err := ns.Write(ctx, "check-1", domain.NewMessage{Type: "Checked"}, domain.ExpectVersion(before))
	require.NoError(t, err, "write to namespace %s", id)
	assert.Equal(t, before+1, res.Position, "namespace %s", id)
	msgs, err := ns.Read(ctx, "check-1", domain.GetOpts{})
	require.NoError(t, err, "namespace %s", id)
	assert.Len(t, msgs, int(before)+2, "namespace %s", id)
}

// childCreate creates namespaces until it is killed (or childLifetime
// ends), reporting each one created.
func childCreate(ctx context.Context, t *testing.T, s *sqlite.Store, round int, report func([]byte)) {
	report([]byte("ready\n"))
	for n := 0; ctx.Err() == nil; n++ {
		id := childNamespaceID(round, n)
		if _, err := s.CreateNamespace(ctx, id, domain.NamespaceOptions{Description: "crash test"}); err != nil {
			t.Fatal(err)
		}
		report([]byte("created " + id + "\n"))
	}
	t.Fatal("the child was not killed")
}
