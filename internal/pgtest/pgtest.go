// Package pgtest gives tests a real PostgreSQL server.
//
// Tests call [URL] to get a connection URL for a server, or (better)
// [NewDatabase] to get a fresh, uniquely named database in that server which
// is dropped when the test ends, so test packages and tests do not interfere.
//
// Where the server comes from:
//
//  1. If MESSAGEDB_TEST_POSTGRES_URL is set, that URL is used as is (any URL
//     or keyword/value DSN that pgx accepts). NewDatabase needs the role in it
//     to be allowed to CREATE DATABASE.
//  2. Otherwise a throwaway cluster is created with initdb and started once
//     per test binary, in its own temporary directory, listening only on a
//     Unix socket in that directory (so parallel test binaries never clash).
//     Its URL has the form
//     postgres://postgres@/postgres?host=/tmp/pgtest-123&sslmode=disable.
//     fsync stays on, so benchmarks measure real commit costs.
//  3. If no server binaries are found (pg_config --bindir,
//     /usr/lib/postgresql/*/bin, then initdb on PATH), the test is skipped,
//     unless MESSAGEDB_REQUIRE_POSTGRES=1, in which case it fails. Install
//     them with e.g. "apt-get install postgresql" (or postgresql-15).
//
// PostgreSQL refuses to run as root. When the test binary runs as root, the
// cluster runs as the "postgres" user if it exists, otherwise as "nobody".
//
// Packages that use pgtest should stop the cluster after their tests:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
//
// The server also receives SIGTERM if the test binary dies, but then its
// temporary directory is left behind.
//
// A test that must stop the server, to see what a crash or a restart does,
// takes a private one with [NewCluster] instead, which it may stop (fast or
// immediate shutdown, or [Cluster.Kill]) and start again without disturbing
// other tests. [Cluster.NewStandby] gives it hot standbys streaming its WAL
// (pg_basebackup -R), which [Cluster.Promote] turns into a primary.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Environment variables read by this package.
const (
	// EnvURL names an existing server to use instead of a throwaway cluster.
	EnvURL = "MESSAGEDB_TEST_POSTGRES_URL"
	// EnvRequire, when "1", turns a missing PostgreSQL into a test failure
	// instead of a skip (for CI).
	EnvRequire = "MESSAGEDB_REQUIRE_POSTGRES"
)

const installHint = `PostgreSQL server binaries (initdb, postgres) not found ` +
	`(looked at pg_config --bindir, /usr/lib/postgresql/*/bin, PATH); ` +
	`install them with "apt-get install postgresql" (or postgresql-15), ` +
	`or set ` + EnvURL + ` to an existing server`

// errNotFound means no server binaries were found.
var errNotFound = errors.New(installHint)

// cluster is a running throwaway server.
type cluster struct {
	dir    string // temp dir: data/, the socket, postgres.log
	url    string
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has been waited for
}

var (
	mu      sync.Mutex
	current *cluster
	// startErr remembers a failed start so later tests fail fast the same
	// way instead of retrying; cleared by Stop.
	startErr error
)

// URL returns a PostgreSQL connection URL for tests: the value of
// MESSAGEDB_TEST_POSTGRES_URL if set, otherwise the URL of a throwaway
// cluster started on first use. It skips t (or fails it, if
// MESSAGEDB_REQUIRE_POSTGRES=1) when no PostgreSQL binaries are installed.
func URL(t testing.TB) string {
	t.Helper()
	if u := os.Getenv(EnvURL); u != "" {
		return u
	}
	mu.Lock()
	defer mu.Unlock()
	if current == nil && startErr == nil {
		current, startErr = start()
	}
	if startErr != nil {
		if errors.Is(startErr, errNotFound) && os.Getenv(EnvRequire) != "1" {
			t.Skip("pgtest: " + installHint + " (set " + EnvRequire + "=1 to fail instead of skipping)")
		}
		t.Fatalf("pgtest: %v", startErr)
	}
	return current.url
}

// NewDatabase creates a fresh, uniquely named database in the server from
// URL(t), drops it (WITH (FORCE)) when t finishes, and returns its URL.
func NewDatabase(t testing.TB) string {
	t.Helper()
	base := URL(t)
	name := dbName(t.Name())

	if err := execSQL(base, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := execSQL(base, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})

	u, err := withDatabase(base, name)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return u
}

// shared is the database of SharedDatabase, created once per test binary.
var shared struct {
	mu   sync.Mutex
	base string // the server URL it was created on
	name string
	url  string
	err  error
}

// SharedDatabase returns the URL of a database created on first use in the
// server from URL(t) and shared by every test of the binary that calls it
// (tests that keep to namespaces of their own). Stop drops it, so call Stop
// (or use Main) at the end of TestMain.
func SharedDatabase(t testing.TB) string {
	t.Helper()
	base := URL(t)
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.name == "" {
		shared.base, shared.name = base, dbName("shared")
		shared.err = execSQL(base, "CREATE DATABASE "+pgx.Identifier{shared.name}.Sanitize())
		if shared.err == nil {
			shared.url, shared.err = withDatabase(base, shared.name)
		}
	}
	if shared.err != nil {
		t.Fatalf("pgtest: shared database %s: %v", shared.name, shared.err)
	}
	return shared.url
}

// NewRole creates a role with a unique name in the server of url (a URL
// from NewDatabase or SharedDatabase) that may log in and nothing else: not
// a superuser, no CREATEDB, CREATEROLE, REPLICATION or BYPASSRLS, a member
// of no role. It returns the role's name and url with the role (and its
// password) as the user. When t finishes, everything granted to the role
// in url's database is revoked and the role is dropped: a role that still
// holds privileges in another database fails t then.
//
// The throwaway cluster trusts local connections, so the password is only
// checked by a server from MESSAGEDB_TEST_POSTGRES_URL, whose role must be
// allowed to CREATE ROLE.
func NewRole(t testing.TB, url string) (name, roleURL string) {
	t.Helper()
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	name = "pgtest_role_" + hex.EncodeToString(rnd[:4])
	password := hex.EncodeToString(rnd[4:]) + "Pw"
	ident := pgx.Identifier{name}.Sanitize()
	if err := execSQL(url, "CREATE ROLE "+ident+" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD '"+password+"'"); err != nil {
		t.Fatalf("pgtest: create role %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := execSQL(url, "DROP OWNED BY "+ident); err != nil {
			t.Errorf("pgtest: revoke the privileges of role %s: %v", name, err)
		}
		if err := execSQL(url, "DROP ROLE "+ident); err != nil {
			t.Errorf("pgtest: drop role %s: %v", name, err)
		}
	})
	roleURL, err := withUser(url, name, password)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return name, roleURL
}

// withUser returns connection string s with its user and password set.
func withUser(s, user, password string) (string, error) {
	if strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://") {
		u, err := url.Parse(s)
		if err != nil {
			return "", fmt.Errorf("parse %s: %w", EnvURL, err)
		}
		u.User = url.UserPassword(user, password)
		q := u.Query()
		if q.Has("user") || q.Has("password") {
			q.Del("user")
			q.Del("password")
			u.RawQuery = q.Encode()
		}
		return u.String(), nil
	}
	// keyword/value form: a later keyword overrides an earlier one. The
	// name and password are made of letters, digits and "_".
	return s + " user=" + user + " password=" + password, nil
}

// dropShared drops the database of SharedDatabase, if one was created.
func dropShared() {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.name != "" && shared.err == nil {
		if err := execSQL(shared.base, "DROP DATABASE IF EXISTS "+pgx.Identifier{shared.name}.Sanitize()+" WITH (FORCE)"); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: drop shared database %s: %v\n", shared.name, err)
		}
	}
	shared.base, shared.name, shared.url, shared.err = "", "", "", nil
}

// execSQL runs one statement on a new connection to u.
func execSQL(u, sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}

// Stop drops the database of SharedDatabase, stops the throwaway cluster,
// if one was started, and removes its directory. It is safe to call at any time and more than once; a later URL
// call starts a new cluster.
func Stop() {
	dropShared()
	mu.Lock()
	defer mu.Unlock()
	c := current
	current, startErr = nil, nil
	if c != nil {
		c.stop()
	}
}

// Main runs m, stops the throwaway cluster and returns the exit code:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
func Main(m *testing.M) int {
	code := m.Run()
	Stop()
	return code
}

// dbName returns a unique database name that mentions the test name.
func dbName(testName string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(testName) {
		if b.Len() >= 32 {
			break
		}
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:]) // never fails
	return "pgtest_" + b.String() + "_" + hex.EncodeToString(rnd[:])
}

// withDatabase returns connection string s with its database set to name.
func withDatabase(s, name string) (string, error) {
	if strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://") {
		u, err := url.Parse(s)
		if err != nil {
			return "", fmt.Errorf("parse %s: %w", EnvURL, err)
		}
		u.Path = "/" + name
		u.RawPath = ""
		q := u.Query()
		if q.Has("dbname") {
			q.Set("dbname", name)
			u.RawQuery = q.Encode()
		}
		return u.String(), nil
	}
	// keyword/value form: a later keyword overrides an earlier one.
	return s + " dbname=" + name, nil
}

// findBinDir returns the directory holding initdb and postgres.
func findBinDir() (string, error) {
	has := func(dir string) bool {
		for _, f := range []string{"initdb", "postgres"} {
			if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.IsDir() {
				return false
			}
		}
		return true
	}
	if pgConfig, err := exec.LookPath("pg_config"); err == nil {
		if out, err := exec.Command(pgConfig, "--bindir").Output(); err == nil {
			if dir := strings.TrimSpace(string(out)); dir != "" && has(dir) {
				return dir, nil
			}
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	version := func(dir string) float64 {
		v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(dir)), 64)
		return v
	}
	sort.SliceStable(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, dir := range dirs {
		if has(dir) {
			return dir, nil
		}
	}
	if initdb, err := exec.LookPath("initdb"); err == nil {
		if target, err := filepath.EvalSymlinks(initdb); err == nil && has(filepath.Dir(target)) {
			return filepath.Dir(target), nil
		}
		if has(filepath.Dir(initdb)) {
			return filepath.Dir(initdb), nil
		}
	}
	return "", errNotFound
}

// runAs returns the credential to run the server with: nil (the current
// user) unless we are root, since PostgreSQL refuses to run as root.
func runAs() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		u, err = user.Lookup("nobody")
	}
	if err != nil {
		return nil, fmt.Errorf("running as root and found neither user postgres nor nobody to run the server as: %w", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("user %s: %w", u.Username, err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// tempBase returns the directory to create the cluster directory in. The
// Unix socket path must fit in sockaddr_un (about 107 bytes), and when the
// server runs as another user every ancestor must be searchable by it.
func tempBase(cred *syscall.Credential) string {
	base := os.TempDir()
	if len(base) > 60 {
		return "/tmp"
	}
	if cred != nil {
		for d := base; ; d = filepath.Dir(d) {
			fi, err := os.Stat(d)
			if err != nil || fi.Mode().Perm()&0o001 == 0 {
				return "/tmp"
			}
			if d == filepath.Dir(d) {
				break
			}
		}
	}
	return base
}

func sysProcAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGTERM}
}

// start creates and starts a throwaway cluster.
func start() (*cluster, error) {
	_, _, c, err := create()
	return c, err
}

// create finds the server binaries and the user to run them as, creates a
// cluster in a new temporary directory and starts it. It returns the binary
// directory and the user as well, for a Cluster that starts it again.
func create() (bin string, cred *syscall.Credential, c *cluster, err error) {
	if bin, err = findBinDir(); err != nil {
		return "", nil, nil, err
	}
	if cred, err = runAs(); err != nil {
		return "", nil, nil, err
	}
	dir, err := initCluster(bin, cred)
	if err != nil {
		return "", nil, nil, err
	}
	if c, err = launch(bin, cred, dir); err != nil {
		_ = os.RemoveAll(dir)
		return "", nil, nil, err
	}
	return bin, cred, c, nil
}

// initCluster creates a cluster directory owned by cred (nil: the current
// user) and runs initdb in its data/ subdirectory.
func initCluster(bin string, cred *syscall.Credential) (_ string, err error) {
	dir, err := clusterDir(cred)
	if err != nil {
		return "", err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	initdb := exec.Command(filepath.Join(bin, "initdb"),
		"-D", filepath.Join(dir, "data"), "--auth=trust", "--username=postgres",
		"--encoding=UTF8", "--no-locale", "--no-sync")
	initdb.Dir = dir
	initdb.SysProcAttr = sysProcAttr(cred)
	if out, err := initdb.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%s: %v\n%s", initdb, err, out)
	}
	return dir, nil
}

// clusterDir creates a new temporary cluster directory owned by cred (nil:
// the current user).
func clusterDir(cred *syscall.Credential) (string, error) {
	dir, err := os.MkdirTemp(tempBase(cred), "pgtest-")
	if err != nil {
		return "", err
	}
	if cred != nil {
		err := filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(p, int(cred.Uid), int(cred.Gid))
		})
		if err != nil {
			os.RemoveAll(dir)
			return "", fmt.Errorf("chown %s: %w", dir, err)
		}
	}
	return dir, nil
}

// launch starts the server of the cluster directory dir and waits until it
// accepts connections. Its log is appended to dir/postgres.log. On error the
// server is stopped, but dir is left in place.
func launch(bin string, cred *syscall.Credential, dir string) (*cluster, error) {
	logFile, err := os.OpenFile(filepath.Join(dir, "postgres.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the child has its own copy
	cmd := exec.Command(filepath.Join(bin, "postgres"),
		"-D", filepath.Join(dir, "data"),
		"-k", dir,
		"-c", "listen_addresses=",
		"-c", "fsync=on",
		"-c", "max_connections=200",
		"-c", "shared_buffers=128MB")
	cmd.Dir = dir
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = sysProcAttr(cred)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	c := &cluster{
		dir:    dir,
		url:    "postgres://postgres@/postgres?" + url.Values{"host": {dir}, "sslmode": {"disable"}}.Encode(),
		cmd:    cmd,
		exited: make(chan struct{}),
	}
	go func() { _ = cmd.Wait(); close(c.exited) }()

	if err := c.waitReady(30 * time.Second); err != nil {
		_ = c.shutdown(syscall.SIGINT)
		return nil, err
	}
	return c, nil
}

// waitReady polls until a connection succeeds.
func (c *cluster) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var lastErr error
	for time.Now().Before(deadline) {
		select {
		case <-c.exited:
			return fmt.Errorf("postgres exited during startup (%v); log:\n%s", c.cmd.ProcessState, c.log())
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn, err := pgx.Connect(ctx, c.url)
		if err == nil {
			err = conn.Ping(ctx)
			conn.Close(context.Background())
		}
		cancel()
		if err == nil {
			return nil
		}
		lastErr = err
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("postgres not ready after %v: %v; log:\n%s", timeout, lastErr, c.log())
}

func (c *cluster) log() string {
	b, err := os.ReadFile(filepath.Join(c.dir, "postgres.log"))
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// stop shuts the server down (fast shutdown, then SIGKILL after 10s) and
// removes its directory.
func (c *cluster) stop() {
	_ = c.shutdown(syscall.SIGINT)
	_ = os.RemoveAll(c.dir)
}

// shutdown sends sig to the postmaster (SIGTERM: smart shutdown, SIGINT:
// fast, SIGQUIT: immediate) and waits for it to exit, killing it after 10s,
// which it reports as an error.
func (c *cluster) shutdown(sig syscall.Signal) error {
	_ = c.cmd.Process.Signal(sig)
	select {
	case <-c.exited:
		return nil
	case <-time.After(10 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.exited
		return fmt.Errorf("postgres did not stop within 10s of %v; killed", sig)
	}
}
