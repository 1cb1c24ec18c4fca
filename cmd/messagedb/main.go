// Command messagedb operates a messagedb store from the shell: namespaces,
// writing and reading messages, summaries, migrations and copies between
// backends. Run "messagedb help" for the commands.
//
// The store is named by --db, else the MESSAGEDB_URL environment variable,
// else sqlite:./messagedb-data (SQLite files in ./messagedb-data). Output is
// aligned tables, or one JSON object per line with --json. Errors are one
// line on stderr; the exit code is 2 for a usage error, 1 for any other.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/messagedb-go/messagedb/app"
	"github.com/messagedb-go/messagedb/domain"
)

// defaultDB is the store used when neither --db nor MESSAGEDB_URL is set.
const defaultDB = "sqlite:./messagedb-data"

// defaultNamespace is the namespace used without --namespace.
const defaultNamespace = "default"

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1 // the command failed: a conflict, a missing namespace, a database error
	exitUsage   = 2 // the command line is wrong
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// cli is one invocation: its streams, global options and the store, opened
// on first use.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	env            func(string) string

	db        string
	namespace string
	json      bool

	store *app.Store
}

// usageError is a mistake in the command line: exit code 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// run executes one command line and returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, env func(string) string) int {
	c := &cli{stdin: stdin, stdout: stdout, stderr: stderr, env: env, namespace: defaultNamespace}
	err := c.run(ctx, args)
	if c.store != nil {
		if cerr := c.store.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close store: %w", cerr)
		}
	}
	if err == nil {
		return exitOK
	}
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintln(stderr, "messagedb: "+errorLine(err)+` (run "messagedb help")`)
		return exitUsage
	}
	if isBadInput(err) {
		fmt.Fprintln(stderr, "messagedb: "+errorLine(err))
		return exitUsage
	}
	fmt.Fprintln(stderr, "messagedb: "+errorLine(err))
	return exitFailure
}

// isBadInput reports errors that the input caused: invalid names, messages
// or options. They exit like usage errors.
func isBadInput(err error) bool {
	for _, target := range []error{
		domain.ErrInvalidNamespace, domain.ErrInvalidStreamName, domain.ErrInvalidMessage,
		domain.ErrInvalidOptions, app.ErrInvalidURL,
	} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// errorLine renders an error as one line without the repeated "messagedb:"
// prefixes of wrapped errors.
func errorLine(err error) string {
	var conflict *domain.VersionConflictError
	if errors.As(err, &conflict) {
		return fmt.Sprintf("version conflict on stream %s: expected version %d, stream version %d",
			conflict.StreamName, conflict.Expected, conflict.Actual)
	}
	s := strings.ReplaceAll(err.Error(), "messagedb: ", "")
	return strings.Join(strings.Fields(s), " ")
}

func (c *cli) run(ctx context.Context, args []string) error {
	global := flag.NewFlagSet("messagedb", flag.ContinueOnError)
	help := c.globalFlags(global)
	rest, err := parseUntilCommand(global, args)
	if err != nil {
		return usagef("%v", err)
	}
	if *help {
		c.printUsage(c.stdout)
		return nil
	}
	if len(rest) == 0 {
		return usagef("no command")
	}
	name, args := rest[0], rest[1:]
	if name == "help" {
		return c.help(args)
	}
	cmd, ok := commandByName(name)
	if !ok {
		return usagef("unknown command %q", name)
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	help = c.globalFlags(fs)
	runCmd := cmd.setup(fs)
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return usagef("%s: %v", name, err)
	}
	if *help {
		c.printCommandUsage(c.stdout, cmd)
		return nil
	}
	if cmd.maxArgs >= 0 && (len(pos) < cmd.minArgs || len(pos) > cmd.maxArgs) {
		return usagef("usage: messagedb %s %s", cmd.name, cmd.args)
	}
	return runCmd(ctx, c, pos)
}

// globalFlags registers the global flags on fs, and -h/--help.
func (c *cli) globalFlags(fs *flag.FlagSet) *bool {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.StringVar(&c.db, "db", c.db, "store URL: sqlite:DIR, memory:, postgres://... (default $MESSAGEDB_URL, else "+defaultDB+")")
	fs.StringVar(&c.namespace, "namespace", c.namespace, "namespace to use")
	fs.BoolVar(&c.json, "json", c.json, "print one JSON object per line")
	help := new(bool)
	fs.BoolVar(help, "h", false, "show help")
	fs.BoolVar(help, "help", false, "show help")
	return help
}

// dbURL is the store URL in effect.
func (c *cli) dbURL() string {
	if c.db != "" {
		return c.db
	}
	if u := c.env(app.EnvURL); u != "" {
		return u
	}
	return defaultDB
}

// open opens the store once.
func (c *cli) open(ctx context.Context) (*app.Store, error) {
	if c.store != nil {
		return c.store, nil
	}
	s, err := openURL(ctx, c.dbURL(), c.env)
	if err != nil {
		return nil, err
	}
	c.store = s
	return s, nil
}

func openURL(ctx context.Context, url string, env func(string) string) (*app.Store, error) {
	return app.Open(ctx, url, &app.Options{Getenv: env})
}

// existing returns the namespace in effect, which must exist.
func (c *cli) existing(ctx context.Context) (*app.Namespace, error) {
	s, err := c.open(ctx)
	if err != nil {
		return nil, err
	}
	ns, err := s.Namespace(ctx, c.namespace)
	if errors.Is(err, domain.ErrNamespaceNotFound) {
		return nil, fmt.Errorf("namespace %s not found", c.namespace)
	}
	return ns, err
}

// ensured returns the namespace in effect, creating it if needed.
func (c *cli) ensured(ctx context.Context) (*app.Namespace, error) {
	s, err := c.open(ctx)
	if err != nil {
		return nil, err
	}
	return s.EnsureNamespace(ctx, c.namespace, domain.NamespaceOptions{})
}

// programVersion is the module version the binary was built from, or
// "devel".
func programVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok || info.Main.Version == "" || info.Main.Version == "(devel)" {
		return "devel"
	}
	return info.Main.Version
}
