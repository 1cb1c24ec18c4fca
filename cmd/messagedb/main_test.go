package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun/driver/sqliteshim"

	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/internal/migrate/migratetest"
	"github.com/messagedb-go/messagedb/internal/pgtest"
	"github.com/messagedb-go/messagedb/migrations"
)

func TestMain(m *testing.M) {
	code := pgtest.Main(m)
	removeBinary()
	os.Exit(code)
}

// result is what one command line did.
type result struct {
	stdout, stderr string
	code           int
}

// invoke runs one command line in-process with the given environment.
func invoke(t *testing.T, env map[string]string, stdin string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errOut, func(k string) string { return env[k] })
	return result{out.String(), errOut.String(), code}
}

// session runs commands against one SQLite store in a temporary directory:
// stores in memory do not outlive a run() call.
type session struct {
	t  *testing.T
	db string
}

func newSession(t *testing.T) *session {
	return &session{t: t, db: "sqlite:" + t.TempDir() + "?synchronous=normal"}
}

// runErr runs a command that must succeed and returns its stdout and
// stderr.
func (s *session) runErr(args ...string) (stdout, stderr string) {
	s.t.Helper()
	r := invoke(s.t, nil, "", append([]string{"--db", s.db}, args...)...)
	require.Equal(s.t, 0, r.code, "messagedb %s: stderr %q", strings.Join(args, " "), r.stderr)
	return r.stdout, r.stderr
}

// run runs a command that must succeed, silently on stderr, and returns
// its stdout.
func (s *session) run(args ...string) string {
	s.t.Helper()
	r := invoke(s.t, nil, "", append([]string{"--db", s.db}, args...)...)
	require.Equal(s.t, 0, r.code, "messagedb %s: stderr %q", strings.Join(args, " "), r.stderr)
	assert.Empty(s.t, r.stderr, "messagedb %s", strings.Join(args, " "))
	return r.stdout
}

// fail runs a command that must fail with code and one line on stderr, and
// returns that line.
func (s *session) fail(code int, args ...string) string {
	s.t.Helper()
	r := invoke(s.t, nil, "", append([]string{"--db", s.db}, args...)...)
	assert.Equal(s.t, code, r.code, "exit code of messagedb %s (stderr %q)", strings.Join(args, " "), r.stderr)
	assertOneErrorLine(s.t, r.stderr)
	return r.stderr
}

func assertOneErrorLine(t *testing.T, stderr string) {
	t.Helper()
	assert.True(t, strings.HasPrefix(stderr, "messagedb: "), "stderr %q starts with messagedb:", stderr)
	assert.Equal(t, 1, strings.Count(stderr, "\n"), "stderr %q is one line", stderr)
	assert.NotContains(t, stderr, "goroutine", "no stack trace")
}

// jsonLines decodes one JSON object per line.
func jsonLines[T any](t *testing.T, out string) []T {
	t.Helper()
	var vs []T
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var v T
		require.NoError(t, json.Unmarshal(sc.Bytes(), &v), "line %q", sc.Text())
		vs = append(vs, v)
	}
	require.NoError(t, sc.Err())
	return vs
}

func TestWriteAndRead(t *testing.T) {
	s := newSession(t)
	// Flags after the arguments, and a negative value.
	out := s.run("write", "acct-1", "Opened", `{"owner":"ada"}`, "--expected-version", "-1", "--json")
	w := jsonLines[domain.Message](t, out)
	require.Len(t, w, 1)
	assert.Equal(t, int64(0), w[0].Position)
	assert.Equal(t, int64(1), w[0].GlobalPosition)

	// Flags before the arguments, metadata, a given id.
	id := "0195f7a0-0000-7000-8000-000000000001"
	s.run("--json", "write", "--metadata", `{"correlationStreamName":"order-9"}`, "--expected-version=0", "--id", id, "acct-1", "Deposited", `{"amount":10}`)
	s.run("write", "acct-2", "Opened") // DATA defaults to {}
	r := invoke(t, nil, `{"amount": 5}`, "--db", s.db, "write", "acct-2", "Deposited", "-")
	require.Equal(t, 0, r.code, r.stderr)

	msgs := jsonLines[domain.Message](t, s.run("stream", "acct-1", "--json"))
	require.Len(t, msgs, 2)
	assert.Equal(t, "Opened", msgs[0].Type)
	assert.JSONEq(t, `{"owner":"ada"}`, string(msgs[0].Data))
	assert.Equal(t, "null", string(msgs[0].Metadata), "no metadata")
	assert.Equal(t, id, msgs[1].ID.String())
	assert.JSONEq(t, `{"correlationStreamName":"order-9"}`, string(msgs[1].Metadata))

	msgs = jsonLines[domain.Message](t, s.run("stream", "acct-1", "--position", "1", "--json"))
	require.Len(t, msgs, 1)
	assert.Equal(t, int64(1), msgs[0].Position)

	msgs = jsonLines[domain.Message](t, s.run("category", "acct", "--json"))
	assert.Equal(t, []int64{1, 2, 3, 4}, globals(msgs))
	out, more := s.runErr("category", "acct", "--json", "--position", "2", "--batch", "2")
	assert.Equal(t, []int64{2, 3}, globals(jsonLines[domain.Message](t, out)))
	assert.Equal(t, "more: --position 4\n", more)
	msgs = jsonLines[domain.Message](t, s.run("category", "acct", "--json", "--correlation", "order"))
	assert.Equal(t, []int64{2}, globals(msgs))
	var grouped []int64
	for m := range 2 {
		part := jsonLines[domain.Message](t, s.run("category", "acct", "--json", "--member", fmt.Sprint(m), "--size", "2"))
		for _, msg := range part {
			assert.True(t, domain.IsMember(msg.StreamName, int64(m), 2), "member %d got %s", m, msg.StreamName)
		}
		grouped = append(grouped, globals(part)...)
	}
	assert.ElementsMatch(t, []int64{1, 2, 3, 4}, grouped, "the group covers the category")

	last := jsonLines[domain.Message](t, s.run("last", "acct-2", "--json"))
	require.Len(t, last, 1)
	assert.JSONEq(t, `{"amount":5}`, string(last[0].Data))
	last = jsonLines[domain.Message](t, s.run("last", "acct-1", "--type", "Opened", "--json"))
	assert.Equal(t, int64(0), last[0].Position)

	assert.Equal(t, "1\n", s.run("version", "acct-1"))
	assert.Equal(t, "-1\n", s.run("version", "acct-9"))
	v := jsonLines[map[string]any](t, s.run("version", "acct-2", "--json"))
	assert.Equal(t, map[string]any{"streamName": "acct-2", "version": 1.0}, v[0])

	// The tables show the same messages.
	table := s.run("stream", "acct-1")
	lines := strings.Split(strings.TrimSpace(table), "\n")
	require.Len(t, lines, 3)
	assert.Equal(t, []string{"GLOBAL", "STREAM", "POSITION", "TYPE", "TIME", "DATA", "METADATA"}, strings.Fields(lines[0]))
	assert.Equal(t, []string{"1", "acct-1", "0", "Opened"}, strings.Fields(lines[1])[:4])
	out, none := s.runErr("stream", "acct-9")
	assert.Empty(t, out)
	assert.Equal(t, "(no messages)\n", none)
}

func globals(msgs []domain.Message) []int64 {
	var out []int64
	for _, m := range msgs {
		out = append(out, m.GlobalPosition)
	}
	return out
}

func TestWrite_VersionConflict(t *testing.T) {
	s := newSession(t)
	s.run("write", "acct-1", "Opened", "--expected-version", "-1")
	line := s.fail(exitFailure, "write", "acct-1", "Opened", "--expected-version", "-1")
	assert.Contains(t, line, "expected version -1")
	assert.Contains(t, line, "stream version 0")
	assert.Equal(t, "0\n", s.run("version", "acct-1"), "nothing written on conflict")
}

func TestWrite_StoreMessageSizeLimit(t *testing.T) {
	s := &session{t: t, db: "sqlite:" + t.TempDir() + "?max_message_size=64"}
	big := `{"note":"` + strings.Repeat("x", 100) + `"}`
	line := s.fail(exitUsage, "write", "acct-1", "Opened", big)
	assert.Contains(t, line, "64", "the error names the store's limit")
	out, none := s.runErr("namespace", "list")
	assert.Empty(t, out, "a refused write creates no namespace")
	assert.Equal(t, "(no namespaces)\n", none)
	s.run("write", "acct-1", "Opened", `{"note":"small"}`)
	assert.Equal(t, "0\n", s.run("version", "acct-1"))
}

func TestNamespaces(t *testing.T) {
	s := newSession(t)
	assert.Contains(t, s.fail(exitFailure, "namespace", "list"), "store not found")
	s.run("namespace", "create", "bank", "--description", "the bank")
	s.fail(exitFailure, "namespace", "create", "bank")
	s.run("--namespace", "audit", "write", "log-1", "Logged") // created by the first write

	list := jsonLines[domain.Namespace](t, s.run("namespace", "list", "--json"))
	require.Len(t, list, 2)
	assert.Equal(t, []string{"audit", "bank"}, []string{list[0].ID, list[1].ID})
	assert.Equal(t, "the bank", list[1].Description)
	show := jsonLines[domain.Namespace](t, s.run("namespace", "show", "bank", "--json"))
	require.Len(t, show, 1)
	assert.Equal(t, "bank", show[0].ID)
	assert.Contains(t, s.run("namespace", "show", "bank"), "the bank")

	// Reads of a missing namespace fail, and create nothing; the default
	// namespace reads as empty until its first write.
	assert.Equal(t, "-1\n", s.run("version", "acct-1"))
	line := s.fail(exitFailure, "--namespace", "nope", "stream", "acct-1")
	assert.Contains(t, line, "namespace not found: nope")
	s.fail(exitFailure, "--namespace", "nope", "category", "acct")
	s.fail(exitFailure, "--namespace", "nope", "summary")
	assert.Len(t, jsonLines[domain.Namespace](t, s.run("namespace", "list", "--json")), 2)

	assert.Equal(t, "deleted namespace audit\n", s.run("namespace", "delete", "audit"))
	s.fail(exitFailure, "namespace", "show", "audit")
	s.fail(exitFailure, "namespace", "delete", "audit")
	s.fail(exitUsage, "namespace", "create", "Not-Valid")
	s.fail(exitUsage, "namespace", "rename", "bank")
	s.fail(exitUsage, "namespace", "show")
	s.fail(exitUsage, "namespace")
}

func TestSummary(t *testing.T) {
	s := newSession(t)
	for _, w := range [][]string{
		{"acct-1", "Opened"}, {"acct-1", "Deposited"}, {"acct-2", "Opened"},
		{"acct:command-1", "Open"}, {"order-7", "Placed"},
	} {
		s.run("write", w[0], w[1])
	}
	type line struct {
		Kind, Name string
		Messages   int64
		Streams    *int64
		Version    *int64
	}
	lines := jsonLines[line](t, s.run("summary", "--json"))
	got := map[string]line{}
	for _, l := range lines {
		got[l.Kind+" "+l.Name] = l
	}
	assert.Equal(t, int64(5), got["namespace default"].Messages)
	assert.Equal(t, int64(4), *got["namespace default"].Streams)
	assert.Equal(t, int64(3), got["category acct"].Messages)
	assert.Equal(t, int64(2), *got["category acct"].Streams)
	assert.Equal(t, int64(1), got["category acct:command"].Messages)
	assert.Equal(t, int64(2), got["stream acct-1"].Messages)
	assert.Equal(t, int64(1), *got["stream acct-1"].Version)
	assert.Equal(t, int64(2), got["type Opened"].Messages)
	assert.Len(t, lines, 1+3+4+4, "namespace, categories, streams, types")

	table := s.run("summary")
	assert.Contains(t, table, "namespace default: 5 message(s) in 4 stream(s) of 3 categories")
	assert.Contains(t, strings.Join(strings.Fields(table), " "), "CATEGORY STREAMS MESSAGES acct 2 3 acct:command 1 1 order 1 1")
}

// migrate prints what each database's schema_migrations table holds, not
// the files it knows: a record that a later version of messagedb left (one
// this version has no file for) shows, and stays.
func TestMigrate(t *testing.T) {
	s := newSession(t)
	s.run("write", "acct-1", "Opened")
	s.run("namespace", "create", "other")
	dir := strings.TrimSuffix(strings.TrimPrefix(s.db, "sqlite:"), "?synchronous=normal")
	db, err := sql.Open(sqliteshim.ShimName, "file:"+filepath.Join(dir, "namespaces", "other.db"))
	require.NoError(t, err)
	_, err = db.Exec("INSERT INTO schema_migrations (version, checksum, applied_at) VALUES ('900_later', 'abc', '2030-01-01T00:00:00Z')")
	require.NoError(t, err)
	require.NoError(t, db.Close())

	_, _, registry := migratetest.Embedded(t, migrations.Metadata, "sqlite")
	_, _, namespace := migratetest.Embedded(t, migrations.Namespace, "sqlite")
	later := append(slices.Clone(namespace), "900_later")
	assert.Equal(t, []migrateLine{
		{Database: "registry", Before: registry, Migrations: registry},
		{Database: "namespace", Namespace: "default", Before: namespace, Migrations: namespace},
		{Database: "namespace", Namespace: "other", Before: later, Migrations: later},
	}, jsonLines[migrateLine](t, s.run("migrate", "--json")))
	assert.Contains(t, s.run("migrate"), "up to date: the registry and 2 namespace(s); 0 migrations applied")
}

func TestCopy_BetweenSQLiteStores(t *testing.T) {
	s := newSession(t)
	for i := range 5 {
		s.run("write", fmt.Sprintf("acct-%d", i%2), "Deposited", fmt.Sprintf(`{"n":%d}`, i))
		s.run("write", fmt.Sprintf("order-%d", i), "Placed")
	}
	target := "sqlite:" + t.TempDir()
	out := s.run("copy", "--to", target, "--batch", "3", "--json")
	res := jsonLines[map[string]any](t, out)
	require.Len(t, res, 1)
	assert.Equal(t, 10.0, res[0]["copied"])

	other := &session{t: t, db: target}
	assert.Equal(t, s.run("category", "acct", "--json"), other.run("category", "acct", "--json"))
	assert.Equal(t, s.run("stream", "order-3", "--json"), other.run("stream", "order-3", "--json"))

	// A second copy is refused; with --resume it has nothing to do.
	line := s.fail(exitFailure, "copy", "--to", target)
	assert.Contains(t, line, "--resume")
	res = jsonLines[map[string]any](t, s.run("copy", "--to", target, "--resume", "--json"))
	assert.Equal(t, 0.0, res[0]["copied"])
	assert.Equal(t, 10.0, res[0]["kept"])

	// Within one store, to another namespace.
	s.run("copy", "--to-namespace", "backup")
	assert.Equal(t, s.run("category", "acct", "--json"), s.run("--namespace", "backup", "category", "acct", "--json"))
	s.fail(exitUsage, "copy")
	s.fail(exitUsage, "copy", "--to-namespace", "default")
	s.fail(exitFailure, "--namespace", "nope", "copy", "--to-namespace", "x")
}

func TestUsageErrors(t *testing.T) {
	s := newSession(t)
	for _, args := range [][]string{
		{},
		{"bogus"},
		{"--bogus", "stream", "acct-1"},
		{"stream"},
		{"stream", "acct"}, // a category, not a stream
		{"stream", "acct-1", "--position", "x"},
		{"stream", "acct-1", "--unknown"},
		{"category", "acct-1"},
		{"category", "acct", "--member", "0"},
		{"category", "acct", "--size", "2"},
		{"category", "acct", "--member", "2", "--size", "2"},
		{"category", "acct", "--correlation", "order-1"},
		{"write", "acct-1"},
		{"write", "acct-1", "Opened", "{not json"},
		{"write", "acct-1", "Opened", "--metadata", "[1,"},
		{"write", "acct-1", "Opened", "--expected-version", "-2"},
		{"write", "acct-1", "Opened", "--expected-version", "soon"},
		{"write", "acct-1", "Opened", "--id", "not-a-uuid"},
		{"--namespace", "Bad-Id", "write", "acct-1", "Opened"},
		{"version", "a-1", "b-1"},
		{"help", "bogus"},
	} {
		s.fail(exitUsage, args...)
	}
	r := invoke(t, nil, "", "--db", "mysql://localhost/db", "stream", "acct-1")
	assert.Equal(t, exitUsage, r.code)
	assertOneErrorLine(t, r.stderr)
	assert.Contains(t, r.stderr, "sqlite:DIR", "names the accepted forms")
}

// Every command refuses one argument too many or too few, with its usage
// line, and writes nothing.
func TestArgumentCounts(t *testing.T) {
	s := newSession(t)
	for _, cmd := range commands {
		if cmd.maxArgs < 0 {
			continue // the runner counts (namespace: see TestNamespaceCommands)
		}
		counts := []int{cmd.maxArgs + 1}
		if cmd.minArgs > 0 {
			counts = append(counts, cmd.minArgs-1)
		}
		for _, n := range counts {
			args := []string{cmd.name}
			for i := range n {
				args = append(args, fmt.Sprintf("acct-%d", i))
			}
			line := s.fail(exitUsage, args...)
			assert.Contains(t, line, "usage: messagedb "+strings.TrimSpace(cmd.name+" "+cmd.args), "messagedb %s", strings.Join(args, " "))
		}
	}
	assert.Contains(t, s.fail(exitFailure, "namespace", "list"), "store not found", "a wrong command created nothing")
}

func TestHelpAndVersion(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"--help"}, {"-h"}} {
		r := invoke(t, nil, "", args...)
		assert.Equal(t, 0, r.code)
		for _, cmd := range commands {
			assert.Contains(t, r.stdout, "\n  "+strings.TrimSpace(cmd.name+" "+cmd.args)+"\n", "help %v lists %s", args, cmd.name)
		}
	}
	for _, args := range [][]string{{"help", "write"}, {"write", "--help"}, {"write", "-h"}} {
		r := invoke(t, nil, "", args...)
		assert.Equal(t, 0, r.code)
		assert.Contains(t, r.stdout, "Usage: messagedb write STREAM TYPE")
		assert.Contains(t, r.stdout, "\n  --expected-version N\n", "flags listed as the usage line writes them")
		assert.NotContains(t, r.stdout, "\n  -expected-version")
	}
	r := invoke(t, nil, "", "version")
	assert.Equal(t, 0, r.code)
	assert.Equal(t, "messagedb devel\n", r.stdout)
}

func TestDatabaseFromEnvironment(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"MESSAGEDB_URL": "sqlite:" + dir}
	r := invoke(t, env, "", "write", "acct-1", "Opened")
	require.Equal(t, 0, r.code, r.stderr)
	s := &session{t: t, db: "sqlite:" + dir}
	assert.Equal(t, "0\n", s.run("version", "acct-1"), "written where MESSAGEDB_URL points")

	// --db wins over the environment.
	other := "sqlite:" + t.TempDir()
	r = invoke(t, env, "", "--db", other, "write", "acct-1", "Opened")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "0\n", s.run("version", "acct-1"))
}

func TestParseInterleaved(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	n := fs.Int64("n", 0, "")
	b := fs.Bool("b", false, "")
	str := fs.String("s", "", "")
	pos, err := parseInterleaved(fs, []string{"a", "--n", "-1", "-", "-b", "c", "--s=x y", "-5", "--", "--n", "d"})
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "-", "c", "-5", "--n", "d"}, pos)
	assert.Equal(t, int64(-1), *n)
	assert.True(t, *b)
	assert.Equal(t, "x y", *str)

	fs = flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	_, err = parseInterleaved(fs, []string{"a", "--nope"})
	assert.Error(t, err)
}

func TestProgressBar(t *testing.T) {
	var buf bytes.Buffer
	p := newProgressBar(&buf, "copy")
	p.update(0, 200)
	p.update(200, 200)
	p.finish()
	out := buf.String()
	assert.True(t, strings.HasPrefix(out, "\rcopy ["), "redraws in place: %q", out)
	assert.Contains(t, out, "200/200 100%")
	assert.True(t, strings.HasSuffix(out, "\n"))
	assert.False(t, isTerminal(&buf))
}

func TestErrorLine(t *testing.T) {
	err := fmt.Errorf("write: %w", &domain.VersionConflictError{StreamName: "a-1", Expected: 3, Actual: 5})
	assert.Equal(t, "version conflict on stream a-1: expected version 3, stream version 5", errorLine(err))
	assert.Equal(t, "open x: bad thing", errorLine(fmt.Errorf("open x: messagedb: bad\nthing")))
}

// A cell holding tabs or newlines stays on its row and in its column.
func TestTableCellsKeepTheirRow(t *testing.T) {
	var buf bytes.Buffer
	tb := newTable(&buf, "A", "B")
	tb.row("x\ty", "one\r\ntwo")
	tb.row("z", "w")
	require.NoError(t, tb.flush())
	assert.Equal(t, "A    B\nx y  one  two\nz    w\n", buf.String())
}

// Every sentinel of errorKinds is its own kind, also wrapped: none is
// shadowed by a more general one listed before it. A migration the role
// may not apply has a kind of its own.
func TestErrorKinds(t *testing.T) {
	for _, k := range errorKinds {
		err := fmt.Errorf("messagedb: open: %w", k.err)
		assert.Equal(t, k.kind, errorObject(err, err.Error()).Kind, "%v", k.err)
	}
	for want, err := range map[string]error{
		"version_conflict":  &domain.VersionConflictError{StreamName: "a-1", Expected: 1, Actual: 2},
		"message_too_large": &domain.MessageTooLargeError{Size: 2, Limit: 1},
		"invalid_options":   domain.ErrInvalidRole,
		"unavailable":       fmt.Errorf("connect: %w", domain.ErrUnavailable),
		"closed":            domain.ErrClosed,
	} {
		assert.Equal(t, want, errorObject(err, err.Error()).Kind, "%v", err)
	}
	var err error = &migrations.PendingError{Schema: "messagedb_shop", Versions: []string{"006_x"}, Role: "app", Owner: "admin"}
	assert.Equal(t, "migration_pending", errorObject(err, err.Error()).Kind)
	err = &migrations.Error{File: "006_x.sql", Err: errors.New("syntax error")}
	assert.Equal(t, "migration_failed", errorObject(err, err.Error()).Kind)
}
