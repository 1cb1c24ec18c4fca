package pgtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// NewStandby makes a hot standby of the running cluster c: pg_basebackup
// copies c's data directory with the WAL it needs and writes the standby's
// configuration (-R: standby.signal, and primary_conninfo pointing at c's
// socket), then the standby starts, streaming c's WAL. It is a Cluster of
// its own, stopped and removed when t ends, with its own socket and URL.
// Its settings are those of c when the copy was made: settings changed on
// c afterwards (synchronous_standby_names, say) are not copied.
func (c *Cluster) NewStandby(t testing.TB) *Cluster {
	t.Helper()
	sb, err := c.newStandby()
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		// Its directory goes: no checkpoint to wait for.
		_ = sb.Stop(Immediate)
		_ = os.RemoveAll(sb.dir)
	})
	return sb
}

func (c *Cluster) newStandby() (_ *Cluster, err error) {
	dir, err := clusterDir(c.cred)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	backup := exec.Command(filepath.Join(c.bin, "pg_basebackup"),
		"-D", filepath.Join(dir, "data"), "-d", "host="+c.dir+" user=postgres",
		"-R", "-X", "stream", "--checkpoint=fast", "--no-sync")
	backup.Dir = dir
	backup.SysProcAttr = sysProcAttr(c.cred)
	if out, err := backup.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("%s: %v\n%s", backup, err, out)
	}
	running, err := launch(c.bin, c.cred, dir)
	if err != nil {
		return nil, fmt.Errorf("start the standby in %s: %w", dir, err)
	}
	return &Cluster{bin: c.bin, cred: c.cred, dir: dir, url: running.url, running: running}, nil
}

// Dir returns the cluster's directory: its data directory is Dir()/data,
// and its Unix socket is in Dir() (the host of its URL).
func (c *Cluster) Dir() string { return c.dir }

// Exec runs SQL statements, one by one, on a new connection to the
// cluster's "postgres" database.
func (c *Cluster) Exec(ctx context.Context, statements ...string) error {
	conn, err := pgx.Connect(ctx, c.url)
	if err != nil {
		return fmt.Errorf("pgtest: connect to %s: %w", c.dir, err)
	}
	defer conn.Close(context.Background())
	for _, s := range statements {
		if _, err := conn.Exec(ctx, s); err != nil {
			return fmt.Errorf("pgtest: %s: %w", s, err)
		}
	}
	return nil
}

// Set changes a setting of the cluster that a reload applies (ALTER
// SYSTEM, then pg_reload_conf), and waits until a new session sees it.
func (c *Cluster) Set(ctx context.Context, name, value string) error {
	err := c.Exec(ctx,
		"ALTER SYSTEM SET "+pgx.Identifier{name}.Sanitize()+" = '"+strings.ReplaceAll(value, "'", "''")+"'",
		"SELECT pg_catalog.pg_reload_conf()")
	if err != nil {
		return err
	}
	for {
		conn, err := pgx.Connect(ctx, c.url)
		if err != nil {
			return fmt.Errorf("pgtest: connect to %s: %w", c.dir, err)
		}
		var got string
		err = conn.QueryRow(ctx, "SELECT pg_catalog.current_setting($1)", name).Scan(&got)
		conn.Close(context.Background())
		if err != nil {
			return fmt.Errorf("pgtest: read setting %s: %w", name, err)
		}
		if got == value {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("pgtest: setting %s is %q, not %q: %w", name, got, value, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// WaitStreaming waits until n standbys stream the cluster's WAL (as
// pg_stat_replication shows them), each a synchronous one when sync is
// true.
func (c *Cluster) WaitStreaming(ctx context.Context, n int, sync bool) error {
	query := "SELECT count(*) FROM pg_catalog.pg_stat_replication WHERE state = 'streaming'"
	if sync {
		query += " AND sync_state IN ('sync', 'quorum')"
	}
	conn, err := pgx.Connect(ctx, c.url)
	if err != nil {
		return fmt.Errorf("pgtest: connect to %s: %w", c.dir, err)
	}
	defer conn.Close(context.Background())
	for {
		var got int
		if err := conn.QueryRow(ctx, query).Scan(&got); err != nil {
			return fmt.Errorf("pgtest: read pg_stat_replication: %w", err)
		}
		if got >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("pgtest: %d of %d standbys streaming: %w", got, n, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// Promote ends the recovery of a standby, making it a primary that
// accepts writes (pg_promote), and returns once it does.
func (c *Cluster) Promote(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, c.url)
	if err != nil {
		return fmt.Errorf("pgtest: connect to %s: %w", c.dir, err)
	}
	defer conn.Close(context.Background())
	var promoted bool
	if err := conn.QueryRow(ctx, "SELECT pg_catalog.pg_promote(true, 60)").Scan(&promoted); err != nil {
		return fmt.Errorf("pgtest: promote %s: %w", c.dir, err)
	}
	if !promoted {
		return fmt.Errorf("pgtest: %s not promoted within 60 seconds", c.dir)
	}
	return nil
}

// Kill ends the server as a crash of its machine would: SIGKILL to the
// postmaster and every server process at once, nothing written, nothing
// answered. It returns once they have all exited. The cluster counts as
// stopped: Start starts it again (recovering from its WAL).
func (c *Cluster) Kill() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.running == nil {
		return nil
	}
	// Stopped, the postmaster starts no process while its children are
	// listed.
	pm := c.running.cmd.Process.Pid
	_ = syscall.Kill(pm, syscall.SIGSTOP)
	children := childPIDs(pm)
	for _, pid := range children {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	_ = syscall.Kill(pm, syscall.SIGKILL)
	<-c.running.exited
	c.running = nil
	// The children are not this process's: wait until they are gone.
	deadline := time.Now().Add(10 * time.Second)
	for _, pid := range children {
		for alive(pid) {
			if time.Now().After(deadline) {
				return fmt.Errorf("pgtest: server process %d still alive 10s after SIGKILL", pid)
			}
			time.Sleep(time.Millisecond)
		}
	}
	return nil
}

// childPIDs returns the processes whose parent is ppid, from /proc.
func childPIDs(ppid int) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if parent, ok := parentPID(pid); ok && parent == ppid {
			out = append(out, pid)
		}
	}
	return out
}

// parentPID reads a process's parent from /proc/PID/stat: the fourth
// field, after the command name in parentheses (which may hold spaces).
func parentPID(pid int) (int, bool) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	fields := strings.Fields(s[i+1:])
	if len(fields) < 2 {
		return 0, false
	}
	ppid, err := strconv.Atoi(fields[1])
	return ppid, err == nil
}

// alive reports whether process pid exists and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || !strings.HasPrefix(strings.TrimSpace(s[i+1:]), "Z")
}
