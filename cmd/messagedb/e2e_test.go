package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/internal/pgtest"
)

// The end-to-end tests build the messagedb binary once and run it as a user
// would, against SQLite files and PostgreSQL.

var bin struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// binary builds the command once per test binary and returns its path.
func binary(t *testing.T) string {
	t.Helper()
	bin.once.Do(func() {
		bin.dir, bin.err = os.MkdirTemp("", "messagedb-e2e-")
		if bin.err != nil {
			return
		}
		bin.path = filepath.Join(bin.dir, "messagedb")
		out, err := exec.Command("go", "build", "-o", bin.path, ".").CombinedOutput()
		if err != nil {
			bin.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if bin.err != nil {
		t.Fatalf("build messagedb: %v", bin.err)
	}
	return bin.path
}

func removeBinary() {
	if bin.dir != "" {
		_ = os.RemoveAll(bin.dir)
	}
}

// exe runs the built binary against one store.
type exe struct {
	t  *testing.T
	db string
}

func (e *exe) exec(stdin string, args ...string) result {
	e.t.Helper()
	cmd := exec.Command(binary(e.t), append([]string{"--db", e.db}, args...)...)
	cmd.Dir = e.t.TempDir() // so that the default ./messagedb-data never lands in the source tree
	cmd.Env = withoutEnv(os.Environ(), "MESSAGEDB_URL")
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		require.True(e.t, ok, "run messagedb: %v", err)
		code = ee.ExitCode()
	}
	return result{out.String(), errOut.String(), code}
}

func (e *exe) run(args ...string) string {
	e.t.Helper()
	r := e.exec("", args...)
	require.Equal(e.t, 0, r.code, "messagedb %s: stderr %q", strings.Join(args, " "), r.stderr)
	return r.stdout
}

func (e *exe) fail(args ...string) result {
	e.t.Helper()
	r := e.exec("", args...)
	assert.NotEqual(e.t, 0, r.code, "messagedb %s should fail", strings.Join(args, " "))
	assertOneErrorLine(e.t, r.stderr)
	return r
}

func withoutEnv(env []string, key string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, key+"=") {
			out = append(out, kv)
		}
	}
	return out
}

func TestE2E_SQLite(t *testing.T) {
	t.Parallel()
	scenario(t, &exe{t: t, db: "sqlite:" + t.TempDir()})
}

func TestE2E_Postgres(t *testing.T) {
	t.Parallel()
	scenario(t, &exe{t: t, db: pgtest.NewDatabase(t)})
}

// scenario is the end-to-end session run on every backend.
func scenario(t *testing.T, e *exe) {
	// Write: flags after arguments, stdin, expected versions.
	w := jsonLines[domain.Message](t, e.run("write", "account-1", "Opened", `{"owner":"ada"}`, "--expected-version", "-1", "--json"))
	require.Len(t, w, 1)
	assert.Equal(t, int64(0), w[0].Position)
	r := e.exec(`{"amount":100}`, "write", "account-1", "Deposited", "-", "--expected-version", "0", "--metadata", `{"correlationStreamName":"transfer-1"}`)
	require.Equal(t, 0, r.code, r.stderr)
	for i := 2; i <= 12; i++ {
		e.run("write", fmt.Sprintf("account-%d", i), "Opened", fmt.Sprintf(`{"n":%d}`, i))
	}
	conflict := e.fail("write", "account-1", "Deposited", "--expected-version", "0")
	assert.Equal(t, exitFailure, conflict.code)
	assert.Contains(t, conflict.stderr, "expected version 0, stream version 1")

	// Stream and category reads.
	stream := jsonLines[domain.Message](t, e.run("stream", "account-1", "--json"))
	require.Len(t, stream, 2)
	assert.Equal(t, []string{"Opened", "Deposited"}, []string{stream[0].Type, stream[1].Type})
	assert.JSONEq(t, `{"amount":100}`, string(stream[1].Data))
	all := jsonLines[domain.Message](t, e.run("category", "account", "--json"))
	require.Len(t, all, 13)
	for i := 1; i < len(all); i++ {
		assert.Less(t, all[i-1].GlobalPosition, all[i].GlobalPosition, "global order")
	}
	seen := map[int64]int{}
	for m := range 3 {
		part := jsonLines[domain.Message](t, e.run("category", "account", "--member", fmt.Sprint(m), "--size", "3", "--json"))
		for _, msg := range part {
			seen[msg.GlobalPosition]++
			assert.True(t, domain.IsMember(msg.StreamName, int64(m), 3))
		}
	}
	assert.Len(t, seen, 13, "the group of 3 covers the category")
	for gp, n := range seen {
		assert.Equal(t, 1, n, "global position %d handed to one member", gp)
	}
	corr := jsonLines[domain.Message](t, e.run("category", "account", "--correlation", "transfer", "--json"))
	require.Len(t, corr, 1)
	assert.Equal(t, stream[1].ID, corr[0].ID)

	// Last and version.
	last := jsonLines[domain.Message](t, e.run("last", "account-1", "--json"))
	assert.Equal(t, stream[1].ID, last[0].ID)
	last = jsonLines[domain.Message](t, e.run("last", "account-1", "--type", "Opened", "--json"))
	assert.Equal(t, stream[0].ID, last[0].ID)
	assert.Equal(t, "1\n", e.run("version", "account-1"))
	assert.Equal(t, "-1\n", e.run("version", "account-99"))
	assert.Equal(t, exitFailure, e.fail("last", "account-99").code)

	// Summary.
	type line struct {
		Kind, Name string
		Messages   int64
	}
	sum := map[string]int64{}
	for _, l := range jsonLines[line](t, e.run("summary", "--json")) {
		sum[l.Kind+" "+l.Name] = l.Messages
	}
	assert.Equal(t, int64(13), sum["namespace default"])
	assert.Equal(t, int64(13), sum["category account"])
	assert.Equal(t, int64(12), sum["type Opened"])
	assert.Equal(t, int64(2), sum["stream account-1"])
	assert.Contains(t, e.run("summary"), "namespace default: 13 message(s) in 12 stream(s) of 1 category")

	// Namespaces.
	e.run("namespace", "create", "audit", "--description", "audit log")
	nss := jsonLines[domain.Namespace](t, e.run("namespace", "list", "--json"))
	require.Len(t, nss, 2)
	assert.Equal(t, []string{"audit", "default"}, []string{nss[0].ID, nss[1].ID})
	show := jsonLines[domain.Namespace](t, e.run("namespace", "show", "audit", "--json"))
	assert.Equal(t, "audit log", show[0].Description)
	assert.Contains(t, e.run("namespace", "list"), "audit log")
	none := e.exec("", "--namespace", "audit", "stream", "account-1")
	assert.Equal(t, result{"", "(no messages)\n", 0}, none, "namespaces are separate")
	e.run("namespace", "delete", "audit")
	assert.Equal(t, exitFailure, e.fail("namespace", "show", "audit").code)
	assert.Equal(t, exitFailure, e.fail("--namespace", "audit", "stream", "account-1").code)
	assert.Contains(t, e.run("migrate"), "up to date: the registry and 1 namespace(s)")

	// Bad input: non-zero, one line, no stack trace.
	for _, args := range [][]string{
		{"bogus"},
		{"stream"},
		{"stream", "account"},
		{"category", "account", "--member", "1"},
		{"write", "account-1", "Opened", "{not json"},
		{"write", "account-1", "Opened", "--expected-version", "x"},
	} {
		assert.Equal(t, exitUsage, e.fail(args...).code, "messagedb %v", args)
	}

	// Every --json line parses, and tables do not.
	for _, args := range [][]string{{"stream", "account-1"}, {"category", "account"}, {"namespace", "list"}, {"summary"}, {"version", "account-1"}} {
		out := e.run(append(args, "--json")...)
		jsonLines[map[string]any](t, out)
	}
}

// Copying a namespace from SQLite to PostgreSQL and back keeps every
// message as it was: the same reads print the same JSON.
func TestE2E_CopySQLiteToPostgresAndBack(t *testing.T) {
	t.Parallel()
	lite := &exe{t: t, db: "sqlite:" + t.TempDir()}
	pg := &exe{t: t, db: pgtest.NewDatabase(t)}
	back := &exe{t: t, db: "sqlite:" + t.TempDir()}

	for i := range 30 {
		meta := ""
		if i%3 == 0 {
			meta = `{"correlationStreamName":"order-1"}`
		}
		args := []string{"write", fmt.Sprintf("account-%d", i%7), "Deposited", fmt.Sprintf(`{"amount":%d,"note":"é ✓"}`, i)}
		if meta != "" {
			args = append(args, "--metadata", meta)
		}
		lite.run(args...)
		if i%10 == 0 {
			lite.run("write", fmt.Sprintf("order-%d", i), "Placed")
		}
	}
	lite.run("namespace", "create", "bank", "--description", "copied")
	lite.run("--namespace", "bank", "write", "account-1", "Opened")

	out := lite.run("copy", "--to", pg.db, "--batch", "7", "--json")
	assert.Contains(t, out, `"copied":33`)
	lite.run("--namespace", "bank", "copy", "--to", pg.db)
	pgOut := pg.run("copy", "--to", back.db)
	assert.Contains(t, pgOut, "copied 33 message(s)")

	reads := [][]string{
		{"category", "account", "--json"},
		{"category", "order", "--json"},
		{"category", "account", "--member", "1", "--size", "3", "--json"},
		{"category", "account", "--correlation", "order", "--json"},
		{"stream", "account-3", "--json"},
		{"last", "account-5", "--json"},
		{"summary", "--json"},
	}
	for _, args := range reads {
		want := lite.run(args...)
		assert.NotEmpty(t, want)
		sameJSONLines(t, want, pg.run(args...), "PostgreSQL copy: %v", args)
		sameJSONLines(t, want, back.run(args...), "SQLite copy of the copy: %v", args)
	}
	sameJSONLines(t, lite.run("--namespace", "bank", "stream", "account-1", "--json"),
		pg.run("--namespace", "bank", "stream", "account-1", "--json"), "namespace bank")
	show := jsonLines[domain.Namespace](t, pg.run("namespace", "show", "bank", "--json"))
	assert.Equal(t, "copied", show[0].Description, "the target namespace takes the source's description")

	// The copies are live: the next write continues the positions.
	w := jsonLines[domain.Message](t, pg.run("write", "account-3", "Deposited", "--expected-version", "3", "--json"))
	assert.Equal(t, int64(4), w[0].Position)
	assert.Greater(t, w[0].GlobalPosition, int64(33))

	// Copying again is refused without --resume.
	r := lite.fail("copy", "--to", pg.db)
	assert.Equal(t, exitFailure, r.code)
}

// sameJSONLines compares two outputs of --json line by line: every backend
// stores data and metadata in the same canonical form (see domain), so a
// copy reads back byte for byte the same, key order included.
func sameJSONLines(t *testing.T, want, got string, msgAndArgs ...any) {
	t.Helper()
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	if !assert.Len(t, gl, len(wl), msgAndArgs...) {
		return
	}
	for i := range wl {
		assert.Equal(t, wl[i], gl[i], msgAndArgs...)
	}
}

// Without --db or MESSAGEDB_URL the store is SQLite in ./messagedb-data.
func TestE2E_DefaultDatabase(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	runIn := func(args ...string) result {
		cmd := exec.Command(binary(t), args...)
		cmd.Dir = dir
		cmd.Env = withoutEnv(os.Environ(), "MESSAGEDB_URL")
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		require.NoError(t, err, "messagedb %v: %s", args, errOut.String())
		return result{stdout: out.String(), stderr: errOut.String()}
	}
	runIn("write", "account-1", "Opened", `{"owner":"ada"}`)
	msgs := jsonLines[domain.Message](t, runIn("stream", "account-1", "--json").stdout)
	require.Len(t, msgs, 1)
	assert.JSONEq(t, `{"owner":"ada"}`, string(msgs[0].Data))
	info, err := os.Stat(filepath.Join(dir, "messagedb-data"))
	require.NoError(t, err, "the default store is ./messagedb-data")
	assert.True(t, info.IsDir())
}

// namespace create --grant gives a PostgreSQL role the use of a namespace,
// and nothing else: the role's commands work there, and nowhere else.
func TestE2E_PostgresGrant(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	role, roleURL := pgtest.NewRole(t, url)
	owner := &exe{t: t, db: url}
	app := &exe{t: t, db: roleURL}

	owner.run("namespace", "create", "shop", "--grant", role, "--grant", role, "--description", "granted")
	owner.run("namespace", "create", "other")
	app.run("--namespace", "shop", "write", "acct-1", "Opened", `{"n":1}`)
	all := jsonLines[domain.Message](t, app.run("--namespace", "shop", "category", "acct", "--json"))
	require.Len(t, all, 1)
	// The consumer-group read works for the role: the message is for one
	// member of two.
	var members []domain.Message
	for _, member := range []string{"0", "1"} {
		members = append(members, jsonLines[domain.Message](t,
			app.run("--namespace", "shop", "category", "acct", "--member", member, "--size", "2", "--json"))...)
	}
	require.Len(t, members, 1, "one member of two reads the message")
	assert.Equal(t, all[0].ID, members[0].ID)
	assert.Contains(t, app.run("namespace", "list"), "granted", "the role reads the registry")

	assert.Contains(t, app.fail("--namespace", "other", "stream", "acct-1").stderr, "permission denied")
	app.fail("namespace", "create", "mine")
	app.fail("namespace", "delete", "shop")

	for _, bad := range []string{"public", "pg_monitor", "no_such_role"} {
		r := owner.fail("namespace", "create", "bad", "--grant", bad)
		assert.Equal(t, exitUsage, r.code, "--grant %s", bad)
	}
	assert.Equal(t, exitUsage, owner.fail("namespace", "list", "--grant", role).code, "--grant is for create")
	nss := jsonLines[domain.Namespace](t, owner.run("namespace", "list", "--json"))
	assert.Len(t, nss, 2, "a refused role creates nothing")
}
