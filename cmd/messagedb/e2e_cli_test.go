package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/internal/pgtest"
)

// End-to-end tests of the command as people and scripts meet it: readable
// tables at any size, bounded input, paging, following, batches, errors.

// ndjson returns n lines of write-batch input: messages of type typ with
// data {"n": i}.
func ndjson(typ string, n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `{"type":%q,"data":{"n":%d}}`+"\n", typ, i)
	}
	return b.String()
}

// batch writes n messages to stream with write-batch.
func (e *exe) batch(stream, typ string, n int) {
	e.t.Helper()
	r := e.exec(ndjson(typ, n), "write-batch", stream)
	require.Equal(e.t, 0, r.code, r.stderr)
}

// A table cuts DATA and METADATA to about 100 characters and pads no row
// beyond them, whatever one message holds; --json prints it whole.
func TestE2E_TablesStayReadable(t *testing.T) {
	t.Parallel()
	e := &exe{t: t, db: "sqlite:" + t.TempDir()}
	huge := strings.Repeat("é", 300_000)
	r := e.exec(`{"note":"`+huge+`"}`, "write", "account-1", "Opened", "-", "--metadata", `{"by":"`+strings.Repeat("x", 5000)+`"}`)
	require.Equal(t, 0, r.code, r.stderr)
	e.run("write", "account-2", "Opened", `{"note":"short"}`)

	table := e.run("category", "account")
	lines := strings.Split(strings.TrimSuffix(table, "\n"), "\n")
	require.Len(t, lines, 3)
	for i, l := range lines {
		assert.LessOrEqual(t, utf8.RuneCountInString(l), 7*(maxCell+2), "line %d is bounded: %d characters", i, utf8.RuneCountInString(l))
	}
	assert.Less(t, len(lines[0]), 300, "the header is not padded to the data")
	assert.Contains(t, lines[1], `{"note":"éééé`)
	assert.Contains(t, lines[1], "…", "a long cell is cut with …")
	assert.Contains(t, lines[2], `{"note":"short"}`)

	msgs := jsonLines[domain.Message](t, e.run("category", "account", "--json"))
	require.Len(t, msgs, 2)
	assert.JSONEq(t, `{"note":"`+huge+`"}`, string(msgs[0].Data), "--json prints data whole")
	assert.Len(t, msgs[0].Metadata, len(`{"by":""}`)+5000)
}

// Data read from standard input: empty or white space is refused and
// writes nothing; an endless input fails once past the store's limit,
// having read about that much of it.
func TestE2E_WriteStdinIsBounded(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	e := &exe{t: t, db: "sqlite:" + dir + "?max_message_size=4096"}
	for _, in := range []string{"", " \n\t "} {
		r := e.exec(in, "write", "account-1", "Opened", "-")
		assert.Equal(t, exitUsage, r.code, "stdin %q", in)
		assert.Contains(t, r.stderr, "no data in standard input")
	}
	r := e.exec("", "write", "account-1", "Opened", " ")
	assert.Equal(t, exitUsage, r.code, "empty DATA")
	assert.Equal(t, "-1\n", e.run("version", "account-1"), "nothing written")

	cmd := exec.Command(binary(t), "--db", e.db, "--json", "write", "account-1", "Opened", "-")
	cmd.Env = withoutEnv(os.Environ(), "MESSAGEDB_URL")
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	const offered = 64 << 20
	written := make(chan int64, 1)
	go func() {
		// An array of ones, 64 MiB of it unless the command stops
		// reading.
		chunk := bytes.Repeat([]byte("1,"), 32<<10)
		var n int64
		if _, err := stdin.Write([]byte("[")); err == nil {
			for n < offered {
				k, err := stdin.Write(chunk)
				n += int64(k)
				if err != nil {
					break
				}
			}
		}
		stdin.Close()
		written <- n
	}()
	err = cmd.Wait()
	n := <-written
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, exitUsage, ee.ExitCode())
	var got jsonError
	require.NoError(t, json.Unmarshal(stderr.Bytes(), &got), stderr.String())
	assert.Equal(t, "message_too_large", got.Kind)
	require.NotNil(t, got.Limit)
	assert.Equal(t, int64(4096), *got.Limit)
	assert.Less(t, n, int64(offered/8), "the command stopped reading at the limit: %d bytes taken", n)
	assert.Equal(t, "-1\n", e.run("version", "account-1"), "nothing written")
}

// A read that fills its batch says on stderr how to go on; stdout holds
// only messages, and following the hints reads everything once.
func TestE2E_Paging(t *testing.T) {
	t.Parallel()
	e := &exe{t: t, db: "sqlite:" + t.TempDir()}
	e.batch("thing-1", "Made", 1200)
	e.batch("thing-2", "Made", 1300)

	var seen []int64
	position := "1"
	for range 10 {
		r := e.exec("", "category", "thing", "--position", position, "--json")
		require.Equal(t, 0, r.code, r.stderr)
		msgs := jsonLines[domain.Message](t, r.stdout)
		for _, m := range msgs {
			seen = append(seen, m.GlobalPosition)
		}
		if r.stderr == "" {
			break
		}
		require.True(t, strings.HasPrefix(r.stderr, "more: --position "), r.stderr)
		require.Len(t, msgs, 1000)
		position = strings.TrimSpace(strings.TrimPrefix(r.stderr, "more: --position "))
		assert.Equal(t, fmt.Sprint(msgs[999].GlobalPosition+1), position)
	}
	assert.Equal(t, 2500, len(seen))
	for i := range seen {
		require.Equal(t, int64(i+1), seen[i])
	}

	r := e.exec("", "category", "thing")
	assert.Equal(t, "more: --position 1001\n", r.stderr)
	assert.Equal(t, 1001, strings.Count(r.stdout, "\n"), "a header and 1000 rows, nothing else")
	r = e.exec("", "stream", "thing-1")
	assert.Equal(t, "more: --position 1000\n", r.stderr)
	r = e.exec("", "stream", "thing-1", "--batch", "1200")
	assert.Empty(t, r.stderr, "a batch that holds the rest: no hint")
	r = e.exec("", "all", "--batch", "10", "--position", "2495")
	assert.Empty(t, r.stderr)
	assert.Equal(t, 7, strings.Count(r.stdout, "\n"))
	r = e.exec("", "category", "thing", "--batch", "-1", "--json")
	assert.Empty(t, r.stderr)
	assert.Len(t, jsonLines[domain.Message](t, r.stdout), 2500)
}

// all reads the whole namespace in global order.
func TestE2E_All(t *testing.T) {
	t.Parallel()
	e := &exe{t: t, db: "sqlite:" + t.TempDir()}
	e.run("write", "account-1", "Opened")
	e.run("write", "order-1", "Placed")
	e.run("write", "account-1:command-1", "Open")
	msgs := jsonLines[domain.Message](t, e.run("all", "--json"))
	assert.Equal(t, []string{"account-1", "order-1", "account-1:command-1"}, []string{msgs[0].StreamName, msgs[1].StreamName, msgs[2].StreamName})
	msgs = jsonLines[domain.Message](t, e.run("all", "--position", "2", "--json"))
	assert.Equal(t, []int64{2, 3}, globals(msgs))
	r := e.exec("", "all", "--batch", "1")
	assert.Equal(t, "more: --position 2\n", r.stderr)
	assert.Equal(t, exitUsage, e.fail("all", "--position", "-1").code)
}

// follower is a command running with --follow.
type follower struct {
	t     *testing.T
	cmd   *exec.Cmd
	lines chan string
}

// follow starts a read with --follow and --json.
func (e *exe) follow(args ...string) *follower {
	e.t.Helper()
	cmd := exec.Command(binary(e.t), append([]string{"--db", e.db, "--json"}, args...)...)
	cmd.Dir = e.t.TempDir()
	cmd.Env = withoutEnv(os.Environ(), "MESSAGEDB_URL")
	out, err := cmd.StdoutPipe()
	require.NoError(e.t, err)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(e.t, cmd.Start())
	f := &follower{t: e.t, cmd: cmd, lines: make(chan string, 1000)}
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(nil, 16<<20)
		for sc.Scan() {
			f.lines <- sc.Text()
		}
		close(f.lines)
	}()
	e.t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return f
}

// next returns the next message printed, waiting at most a liveness bound.
func (f *follower) next(what string) domain.Message {
	f.t.Helper()
	select {
	case l, ok := <-f.lines:
		require.True(f.t, ok, "%s: the command ended", what)
		var m domain.Message
		require.NoError(f.t, json.Unmarshal([]byte(l), &m), l)
		return m
	case <-time.After(30 * time.Second):
		f.t.Fatalf("%s: nothing printed within 30s", what)
		return domain.Message{}
	}
}

// interrupt sends SIGINT (Ctrl-C) and returns the exit code, checking that
// nothing else was printed.
func (f *follower) interrupt() int {
	f.t.Helper()
	require.NoError(f.t, f.cmd.Process.Signal(syscall.SIGINT))
	for l := range f.lines {
		f.t.Errorf("printed after the last message: %s", l)
	}
	err := f.cmd.Wait()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	require.NoError(f.t, err)
	return 0
}

// --follow prints what exists, then each message as another process writes
// it, with the filters applied, until Ctrl-C, which exits 0.
func testFollow(t *testing.T, e *exe, poll string) {
	e.run("write", "account-1", "Opened", `{"n":0}`)
	e.run("write", "order-1", "Placed")

	stream := e.follow("stream", "account-1", "--follow", "--poll", poll)
	category := e.follow("category", "account", "--follow", "--poll", poll)
	member := e.follow("category", "account", "--member", "0", "--size", "2", "--follow", "--poll", poll)
	correlated := e.follow("category", "account", "--correlation", "order", "--follow", "--poll", poll)
	all := e.follow("all", "--follow", "--poll", "100ms")
	assert.Equal(t, "account-1", stream.next("stream: what exists").StreamName)
	assert.Equal(t, "account-1", category.next("category: what exists").StreamName)
	assert.Equal(t, "account-1", all.next("all: what exists").StreamName)
	assert.Equal(t, "order-1", all.next("all: what exists").StreamName)
	if domain.IsMember("account-1", 0, 2) {
		assert.Equal(t, "account-1", member.next("member: what exists").StreamName)
	}

	for i := 2; i <= 7; i++ {
		stream := fmt.Sprintf("account-%d", i)
		args := []string{"write", stream, "Opened", fmt.Sprintf(`{"n":%d}`, i)}
		if i%3 == 0 {
			args = append(args, "--metadata", `{"correlationStreamName":"order-1"}`)
		}
		e.run(args...)
		got := category.next("category: a new message")
		assert.Equal(t, stream, got.StreamName)
		assert.Equal(t, stream, all.next("all: a new message").StreamName)
		if domain.IsMember(stream, 0, 2) {
			assert.Equal(t, stream, member.next("member 0: its new message").StreamName)
		}
		if i%3 == 0 {
			assert.Equal(t, stream, correlated.next("correlated: a new message").StreamName)
		}
	}
	w := jsonLines[domain.Message](t, e.run("write", "account-1", "Deposited", "--json"))
	got := stream.next("stream: a new message")
	assert.Equal(t, w[0].GlobalPosition, got.GlobalPosition)
	assert.Equal(t, "Deposited", got.Type)
	assert.Equal(t, w[0].GlobalPosition, category.next("category: the deposit").GlobalPosition)
	assert.Equal(t, w[0].GlobalPosition, all.next("all: the deposit").GlobalPosition)
	if domain.IsMember("account-1", 0, 2) {
		assert.Equal(t, w[0].GlobalPosition, member.next("member: the deposit").GlobalPosition)
	}

	for name, f := range map[string]*follower{"stream": stream, "category": category, "member": member, "correlated": correlated, "all": all} {
		assert.Equal(t, 0, f.interrupt(), "%s: Ctrl-C is a clean end", name)
	}
}

// On SQLite files, another process's writes are seen by polling.
func TestE2E_Follow_SQLite(t *testing.T) {
	t.Parallel()
	testFollow(t, &exe{t: t, db: "sqlite:" + t.TempDir()}, "50ms")
}

// On PostgreSQL, another process's writes wake the follower: it polls only
// once an hour, yet prints each message.
func TestE2E_Follow_PostgresWakeUps(t *testing.T) {
	t.Parallel()
	testFollow(t, &exe{t: t, db: pgtest.NewDatabase(t)}, "1h")
}

// Following the default namespace before its first write waits for it.
func TestE2E_Follow_BeforeTheFirstWrite(t *testing.T) {
	t.Parallel()
	e := &exe{t: t, db: "sqlite:" + t.TempDir()}
	e.run("namespace", "create", "other")
	f := e.follow("category", "account", "--follow", "--poll", "50ms")
	e.run("write", "account-1", "Opened")
	assert.Equal(t, "account-1", f.next("the first write").StreamName)
	assert.Equal(t, 0, f.interrupt())
}

// write-batch writes newline-delimited JSON all or nothing; a bad line is
// named and nothing is written.
func TestE2E_WriteBatch(t *testing.T) {
	t.Parallel()
	e := &exe{t: t, db: "sqlite:" + t.TempDir()}
	id := uuid.MustParse("0196f0a8-0000-7000-8000-0000000000aa")
	in := `{"type":"Opened","data":{"owner":"ada"},"id":"0196f0a8-0000-7000-8000-0000000000a9"}

{"type":"Deposited","data":{"amount":5},"metadata":{"correlationStreamName":"transfer-1"},"id":"` + id.String() + `"}
{"type":"Withdrawn", "data": {"amount": 2}, "metadata": null, "id": "0196f0a8-0000-7000-8000-0000000000ab"}
`
	r := e.exec(in, "write-batch", "account-1", "--expected-version", "-1", "--json")
	require.Equal(t, 0, r.code, r.stderr)
	res := jsonLines[domain.Message](t, r.stdout)
	require.Len(t, res, 3)
	assert.Equal(t, []int64{0, 1, 2}, []int64{res[0].Position, res[1].Position, res[2].Position})
	assert.Equal(t, id, res[1].ID)
	msgs := jsonLines[domain.Message](t, e.run("stream", "account-1", "--json"))
	require.Len(t, msgs, 3)
	assert.JSONEq(t, `{"correlationStreamName":"transfer-1"}`, string(msgs[1].Metadata))
	assert.Equal(t, "null", string(msgs[0].Metadata), "no metadata")
	assert.Equal(t, "null", string(msgs[2].Metadata), "metadata null is none")

	table := e.exec("", "write-batch", "account-2")
	assert.Equal(t, exitUsage, table.code, "no messages on stdin")
	for _, c := range []struct{ in, line string }{
		{"{\"type\":\"A\"}\n{\"type\":\"B\"}\n{\"type\":\"C\",\"data\":{nope}}\n", "line 3"},
		{"{\"type\":\"A\"}\n\n{\"data\":{}}\n", "line 3"},
		{"{\"type\":\"A\",\"colour\":1}\n", "line 1"},
		{"{\"type\":\"A\"} {\"type\":\"B\"}\n", "line 1"},
		{"{\"type\":\"A\",\"id\":\"x\"}\n", "line 1"},
		{"{\"type\":\"A\",\"id\":\"" + id.String() + "\"}\n{\"type\":\"A\",\"id\":\"" + id.String() + "\"}\n", "line 2"},
		{"[1]\n", "line 1"},
	} {
		r := e.exec(c.in, "write-batch", "account-2")
		assert.Equal(t, exitUsage, r.code, "%q: %s", c.in, r.stderr)
		assert.Contains(t, r.stderr, c.line, "%q", c.in)
		assertOneErrorLine(t, r.stderr)
	}
	assert.Equal(t, "-1\n", e.run("version", "account-2"), "a refused batch writes nothing")

	// The same batch again is a retry; another one at a stale version a
	// conflict; a stored id with other data a duplicate, named by line.
	again := e.exec(in, "write-batch", "account-1", "--expected-version", "-1", "--json")
	require.Equal(t, 0, again.code, again.stderr)
	assert.Equal(t, r.stdout, again.stdout, "an idempotent retry prints the stored results")
	conflict := e.exec(ndjson("X", 2), "write-batch", "account-1", "--expected-version", "1")
	assert.Equal(t, exitFailure, conflict.code)
	assert.Contains(t, conflict.stderr, "expected version 1, stream version 2")
	dup := e.exec(`{"type":"X"}`+"\n"+`{"type":"Deposited","data":{"amount":6},"id":"`+id.String()+`"}`, "write-batch", "account-3")
	assert.Equal(t, exitFailure, dup.code)
	assert.Contains(t, dup.stderr, "line 2")
	assert.Contains(t, dup.stderr, "duplicate message id")
	assert.Equal(t, "2\n", e.run("version", "account-1"))
	assert.Equal(t, "-1\n", e.run("version", "account-3"))
}

// Reads never create a store; before the default namespace's first write
// its reads see an empty namespace, so that a script can ask for a version
// and write with it on its first run.
func TestE2E_ReadsCreateNothing(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	missing := filepath.Join(root, "typo")
	e := &exe{t: t, db: "sqlite:" + missing}
	for _, args := range [][]string{
		{"stream", "account-1"}, {"category", "account"}, {"all"}, {"last", "account-1"},
		{"version", "account-1"}, {"summary"}, {"namespace", "list"}, {"namespace", "show", "default"},
		{"copy", "--to-namespace", "other"},
	} {
		r := e.fail(args...)
		assert.Equal(t, exitFailure, r.code, "%v", args)
		assert.Contains(t, r.stderr, missing, "%v names the path", args)
		assert.Contains(t, r.stderr, "store not found", "%v", args)
	}
	_, err := os.Stat(missing)
	assert.True(t, os.IsNotExist(err), "no read made %s", missing)

	dir := t.TempDir()
	e = &exe{t: t, db: "sqlite:" + dir}
	e.run("namespace", "create", "other")
	v := strings.TrimSpace(e.run("version", "account-1"))
	assert.Equal(t, "-1", v)
	assert.Equal(t, result{"", "(no messages)\n", 0}, e.exec("", "stream", "account-1"))
	assert.Equal(t, result{"", "", 0}, e.exec("", "stream", "account-1", "--json"))
	assert.Equal(t, "", e.run("category", "account", "--json"))
	assert.Equal(t, exitFailure, e.fail("last", "account-1").code)
	assert.Contains(t, e.run("summary"), "namespace default: 0 message(s)")
	e.run("write", "account-1", "Opened", "--expected-version", v) // the first run of a script
	assert.Equal(t, "0\n", e.run("version", "account-1"))
	r := e.fail("--namespace", "nope", "stream", "account-1")
	assert.Equal(t, exitFailure, r.code)
	assert.Contains(t, r.stderr, "namespace not found: nope")
}

// An id names one message, on every backend.
func testDuplicateID(t *testing.T, e *exe) {
	id := "0196f0a8-0000-7000-8000-0000000000bb"
	first := jsonLines[domain.Message](t, e.run("write", "account-5", "Opened", `{"owner":"ada"}`, "--id", id, "--json"))
	again := jsonLines[domain.Message](t, e.run("write", "account-5", "Opened", `{ "owner": "ada" }`, "--id", id, "--json"))
	assert.Equal(t, first, again, "the same message again: an idempotent retry")

	r := e.fail("write", "account-5", "Opened", `{"owner":"DIFFERENT"}`, "--id", id)
	assert.Equal(t, exitFailure, r.code)
	assert.Contains(t, r.stderr, "duplicate message id")
	assert.Contains(t, r.stderr, fmt.Sprintf("account-5/0 (global position %d", first[0].GlobalPosition))
	r = e.exec("", "--json", "write", "account-6", "Opened", `{"owner":"ada"}`, "--id", id)
	assert.Equal(t, exitFailure, r.code)
	var got jsonError
	require.NoError(t, json.Unmarshal([]byte(r.stderr), &got), r.stderr)
	assert.Equal(t, "duplicate_message_id", got.Kind)
	assert.Equal(t, id, got.ID)
	assert.Equal(t, "account-5", got.StoredStreamName)
	require.NotNil(t, got.StoredGlobalPosition)
	assert.Equal(t, first[0].GlobalPosition, *got.StoredGlobalPosition)
	msgs := jsonLines[domain.Message](t, e.run("category", "account", "--json"))
	require.Len(t, msgs, 1, "nothing more written")
	assert.JSONEq(t, `{"owner":"ada"}`, string(msgs[0].Data))
}

func TestE2E_DuplicateID_SQLite(t *testing.T) {
	t.Parallel()
	testDuplicateID(t, &exe{t: t, db: "sqlite:" + t.TempDir()})
}

func TestE2E_DuplicateID_Postgres(t *testing.T) {
	t.Parallel()
	testDuplicateID(t, &exe{t: t, db: pgtest.NewDatabase(t)})
}

// The same failure prints the same line on SQLite and PostgreSQL; with
// --json it is one object with a kind, and the exit codes stay.
func TestE2E_ErrorsAreTheSameOnEveryBackend(t *testing.T) {
	t.Parallel()
	lite := &exe{t: t, db: "sqlite:" + t.TempDir()}
	pg := &exe{t: t, db: pgtest.NewDatabase(t)}
	id := "0196f0a8-0000-7000-8000-0000000000cc"
	for _, e := range []*exe{lite, pg} {
		e.run("write", "account-1", "Opened", "--id", id)
		e.run("namespace", "create", "audit")
	}
	for _, c := range []struct {
		args []string
		code int
		kind string
	}{
		{[]string{"write", "account-1", "Opened", "--expected-version", "-1"}, exitFailure, "version_conflict"},
		{[]string{"write", "account-2", "Opened", "--id", id}, exitFailure, "duplicate_message_id"},
		{[]string{"write", "account-1", "Closed", "--id", id}, exitFailure, "duplicate_message_id"},
		{[]string{"last", "account-1", "--type", "Closed"}, exitFailure, "stream_not_found"},
		{[]string{"--namespace", "nope", "stream", "account-1"}, exitFailure, "namespace_not_found"},
		{[]string{"namespace", "create", "audit"}, exitFailure, "namespace_exists"},
		{[]string{"namespace", "delete", "nope"}, exitFailure, "namespace_not_found"},
		{[]string{"write", "account-1", "Opened", "{"}, exitUsage, "invalid_message"},
		{[]string{"stream", "account"}, exitUsage, "invalid_stream_name"},
		{[]string{"category", "account", "--member", "3", "--size", "2"}, exitUsage, "invalid_options"},
		{[]string{"--namespace", "Bad", "stream", "account-1"}, exitUsage, "invalid_namespace"},
		{[]string{"stream", "account-1", "--bogus"}, exitUsage, "usage"},
	} {
		l, p := lite.fail(c.args...), pg.fail(c.args...)
		assert.Equal(t, c.code, l.code, "%v", c.args)
		assert.Equal(t, c.code, p.code, "%v", c.args)
		assert.Equal(t, l.stderr, p.stderr, "%v: the same line on both backends", c.args)
		assert.Equal(t, 1, strings.Count(l.stderr, "messagedb:"), "%v: one prefix: %s", c.args, l.stderr)

		j := lite.exec("", append([]string{"--json"}, c.args...)...)
		assert.Equal(t, c.code, j.code, "%v --json", c.args)
		assert.Equal(t, 1, strings.Count(j.stderr, "\n"), "%v --json: one line", c.args)
		var got map[string]any
		require.NoError(t, json.Unmarshal([]byte(j.stderr), &got), j.stderr)
		assert.Equal(t, c.kind, got["kind"], "%v", c.args)
		assert.Equal(t, strings.TrimSuffix(l.stderr, "\n"), got["error"], "%v: the same text", c.args)
	}
}

// Help for help, flags listed with two dashes, no internal defaults, and
// the same column names for writes and reads.
func TestE2E_HelpAndColumns(t *testing.T) {
	t.Parallel()
	e := &exe{t: t, db: "sqlite:" + t.TempDir()}
	h := e.run("help", "help")
	assert.Contains(t, h, "Usage: messagedb help [COMMAND]")
	for _, cmd := range commands {
		help := e.run("help", cmd.name)
		assert.NotRegexp(t, `(?m)^\s+-[a-z]`, help, "%s: flags are listed with --", cmd.name)
		assert.NotContains(t, help, "default -1)", "%s: no internal default", cmd.name)
	}
	assert.Contains(t, e.run("help", "category"), "  --member M\n")

	written := strings.Fields(strings.SplitN(e.run("write", "account-1", "Opened"), "\n", 2)[0])
	read := strings.Fields(strings.SplitN(e.run("stream", "account-1"), "\n", 2)[0])
	assert.Equal(t, []string{"GLOBAL", "STREAM", "POSITION", "TYPE"}, written[:4])
	assert.Equal(t, written[:4], read[:4], "write and reads name and order their columns alike")
	assert.Equal(t, exitUsage, e.fail("write", "account-1", "Opened", "--expected-version").code)
	assert.Contains(t, e.fail("write", "account-1", "Opened", "--expected-version").stderr, "flag --expected-version needs a value")
}

// A PostgreSQL server that cannot be reached is a failure of kind
// unavailable: the command may work when run again.
func TestE2E_ServerDownIsUnavailable(t *testing.T) {
	t.Parallel()
	e := &exe{t: t, db: "postgres://postgres@/postgres?host=" + url.QueryEscape(t.TempDir()) + "&sslmode=disable"}
	j := e.exec("", "--json", "namespace", "list")
	assert.Equal(t, exitFailure, j.code)
	var got map[string]any
	require.NoError(t, json.Unmarshal([]byte(j.stderr), &got), j.stderr)
	assert.Equal(t, "unavailable", got["kind"])
}
