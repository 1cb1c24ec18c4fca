package sqlite_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messagedb-go/messagedb/adapters/sqlite"
	"github.com/messagedb-go/messagedb/domain"
)

// The second process of TestStore_TwoProcessesWriteOneFile is this test
// binary, run again with these variables set.
const (
	childDirEnv = "MESSAGEDB_SQLITE_CHILD_DIR"
	childNEnv   = "MESSAGEDB_SQLITE_CHILD_N"
)

const (
	sharedNamespace = "shared"
	sharedStream    = "ledger-1"
)

// TestStore_TwoProcessesWriteOneFile runs two processes that append to the
// same stream of the same namespace file at once, each with its own Store:
// they wait for each other's write lock (busy timeout, immediate
// transactions) instead of failing, and positions stay gapless.
func TestStore_TwoProcessesWriteOneFile(t *testing.T) {
	const n = 150 // messages per process (and per goroutine of this one)
	ctx := t.Context()
	dir := t.TempDir()
	s := openStore(t, sqlite.Options{Dir: dir})
	ns := newNamespace(t, s, sharedNamespace)

	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestStore_TwoProcessesChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), childDirEnv+"="+dir, childNEnv+"="+strconv.Itoa(n))
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())

	// The child says "ready" once its store is open; then both start.
	out := bufio.NewReader(stdout)
	for {
		line, err := out.ReadString('\n')
		require.NoError(t, err, "child: %s", stderr.String())
		if strings.TrimSpace(line) == "ready" {
			break
		}
	}
	var childOut strings.Builder
	copied := make(chan struct{})
	go func() {
		_, _ = io.Copy(&childOut, out)
		close(copied)
	}()

	// Two writers in this process, one in the other.
	start := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for range 2 {
		wg.Go(func() {
			<-start
			for i := range n {
				if _, err := ns.WriteMessage(ctx, sharedStream, domain.NewMessage{Type: "Parent", Data: fmt.Appendf(nil, `{"i":%d}`, i)}, domain.AnyVersion); err != nil {
					errs <- err
				}
			}
		})
	}
	_, err = io.WriteString(stdin, "go\n")
	require.NoError(t, err)
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err, "parent write")
	}
	werr := cmd.Wait()
	<-copied
	require.NoError(t, werr, "child failed:\n%s%s", childOut.String(), stderr.String())
	assert.Contains(t, childOut.String(), fmt.Sprintf("wrote %d", n))

	msgs, err := ns.GetStreamMessages(ctx, sharedStream, domain.GetOpts{BatchSize: new(domain.Unlimited)})
	require.NoError(t, err)
	require.Len(t, msgs, 3*n)
	types := map[string]int{}
	for i, m := range msgs {
		assert.Equal(t, int64(i), m.Position, "gapless positions")
		assert.Equal(t, int64(i+1), m.GlobalPosition, "gapless global positions")
		types[m.Type]++
	}
	assert.Equal(t, map[string]int{"Parent": 2 * n, "Child": n}, types)
	switches := 0
	for i := 1; i < len(msgs); i++ {
		if msgs[i].Type != msgs[i-1].Type {
			switches++
		}
	}
	t.Logf("the processes took turns %d times", switches)
}

// TestStore_TwoProcessesChild is the other process of
// TestStore_TwoProcessesWriteOneFile; run on its own it does nothing.
func TestStore_TwoProcessesChild(t *testing.T) {
	dir := os.Getenv(childDirEnv)
	if dir == "" {
		return // not the child process
	}
	n, err := strconv.Atoi(os.Getenv(childNEnv))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s, err := sqlite.Open(ctx, sqlite.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ns, err := s.Namespace(ctx, sharedNamespace)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ns.GetStreamVersion(ctx, sharedStream); err != nil { // open it before the start
		t.Fatal(err)
	}
	fmt.Println("ready")
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if _, err := ns.WriteMessage(ctx, sharedStream, domain.NewMessage{Type: "Child", Data: fmt.Appendf(nil, `{"i":%d}`, i)}, domain.AnyVersion); err != nil {
			t.Fatalf("child write %d: %v", i, err)
		}
	}
	fmt.Printf("wrote %d\n", n)
}
