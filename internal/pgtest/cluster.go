package pgtest

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"testing"
)

// ShutdownMode is how [Cluster.Stop] shuts the server down, as pg_ctl's -m
// option: the postmaster receives the signal pg_ctl would send it.
type ShutdownMode int

const (
	// Fast rolls back open transactions, closes the connections and
	// checkpoints: a clean stop (pg_ctl -m fast, SIGINT).
	Fast ShutdownMode = iota
	// Immediate ends every server process at once, without a checkpoint,
	// as a crash would: the next start replays the write-ahead log
	// (pg_ctl -m immediate, SIGQUIT).
	Immediate
)

func (m ShutdownMode) signal() syscall.Signal {
	if m == Immediate {
		return syscall.SIGQUIT
	}
	return syscall.SIGINT
}

func (m ShutdownMode) String() string {
	if m == Immediate {
		return "immediate"
	}
	return "fast"
}

// Cluster is a private throwaway server that a test may stop and start
// again, for fault tests. Unlike the server of [URL], it is never shared and
// never taken from MESSAGEDB_TEST_POSTGRES_URL: it needs the server
// binaries. It listens on a Unix socket in its own directory, so its URL
// stays the same across restarts.
type Cluster struct {
	bin  string
	cred *syscall.Credential
	dir  string
	url  string

	mu      sync.Mutex
	running *cluster // nil while stopped
}

// NewCluster creates and starts a private cluster, stopped and removed when
// t ends. Like [URL] it skips t when no server binaries are installed, or
// fails it when MESSAGEDB_REQUIRE_POSTGRES=1.
func NewCluster(t testing.TB) *Cluster {
	t.Helper()
	c, err := newCluster()
	if err != nil {
		if errors.Is(err, errNotFound) && os.Getenv(EnvRequire) != "1" {
			t.Skip("pgtest: " + installHint + " (set " + EnvRequire + "=1 to fail instead of skipping)")
		}
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		// Its directory goes: no checkpoint to wait for.
		_ = c.Stop(Immediate)
		_ = os.RemoveAll(c.dir)
	})
	return c
}

func newCluster() (*Cluster, error) {
	bin, cred, running, err := create()
	if err != nil {
		return nil, err
	}
	return &Cluster{bin: bin, cred: cred, dir: running.dir, url: running.url, running: running}, nil
}

// URL returns the URL of the cluster's "postgres" database, the same
// whether the server runs or not.
func (c *Cluster) URL() string { return c.url }

// Stop shuts the server down in the given mode and waits until every
// server process has exited (an immediate shutdown that takes more than 10
// seconds is finished with SIGKILL, and reported as an error). Stopping a
// stopped cluster does nothing.
func (c *Cluster) Stop(mode ShutdownMode) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.running == nil {
		return nil
	}
	err := c.running.shutdown(mode.signal())
	c.running = nil
	if err != nil {
		return fmt.Errorf("pgtest: %s shutdown: %w", mode, err)
	}
	return nil
}

// Start starts the server again on the same data directory and socket, and
// waits until it accepts connections: after an immediate shutdown, once it
// has recovered. Starting a running cluster does nothing.
func (c *Cluster) Start() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.running != nil {
		return nil
	}
	running, err := launch(c.bin, c.cred, c.dir)
	if err != nil {
		return fmt.Errorf("pgtest: restart cluster in %s: %w", c.dir, err)
	}
	c.running = running
	return nil
}

// Log returns what the server has written to its log so far, for test
// failure messages.
func (c *Cluster) Log() string {
	return (&cluster{dir: c.dir}).log()
}
