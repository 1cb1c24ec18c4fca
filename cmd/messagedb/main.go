// Command messagedb operates a messagedb store from the shell: namespaces,
// writing and reading messages, summaries, migrations and copies between
// backends. Run "messagedb help" for the commands.
//
// The store is named by --db, else the MESSAGEDB_URL environment variable,
// else sqlite:./messagedb-data (SQLite files in ./messagedb-data). Output is
// aligned tables, or one JSON object per line with --json. Errors are one
// line on stderr (with --json, one JSON object: {"error": ..., "kind": ...});
// the exit code is 2 for a usage error or bad input, 1 for any other.
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
			err = domain.Wrapf(cerr, "close store")
		}
	}
	if err == nil {
		return exitOK
	}
	code := exitFailure
	line := "messagedb: " + errorLine(err)
	var ue *usageError
	switch {
	case errors.As(err, &ue):
		code = exitUsage
		line += ` (run "messagedb help")`
	case isBadInput(err):
		code = exitUsage
	}
	if c.json {
		_ = writeJSON(stderr, errorObject(err, line))
	} else {
		fmt.Fprintln(stderr, line)
	}
	return code
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

// errorKinds name, for --json, what an error matches beside domain's
// errors (domain.ErrorKind): the first that matches is its kind.
var errorKinds = []struct {
	err  error
	kind string
}{
	{app.ErrInvalidURL, "invalid_url"},
	{app.ErrTargetNotEmpty, "target_not_empty"},
	{context.Canceled, "interrupted"},
}

// jsonError is an error as --json prints it, on one line of stderr.
type jsonError struct {
	Error string `json:"error"`
	Kind  string `json:"kind"`
	// Facts of some kinds.
	StreamName           string `json:"streamName,omitempty"`
	ExpectedVersion      *int64 `json:"expectedVersion,omitempty"`
	StreamVersion        *int64 `json:"streamVersion,omitempty"`
	ID                   string `json:"id,omitempty"`
	StoredStreamName     string `json:"storedStreamName,omitempty"`
	StoredPosition       *int64 `json:"storedPosition,omitempty"`
	StoredGlobalPosition *int64 `json:"storedGlobalPosition,omitempty"`
	Size                 *int64 `json:"size,omitempty"`
	Limit                *int64 `json:"limit,omitempty"`
}

// errorObject describes err for --json: its line, its kind ("usage" for a
// wrong command line, "failure" when nothing more is known) and its facts.
func errorObject(err error, line string) jsonError {
	o := jsonError{Error: line, Kind: "failure"}
	var ue *usageError
	if errors.As(err, &ue) {
		o.Kind = "usage"
		return o
	}
	if k := domain.ErrorKind(err); k != "" {
		o.Kind = k
	} else {
		for _, k := range errorKinds {
			if errors.Is(err, k.err) {
				o.Kind = k.kind
				break
			}
		}
	}
	var conflict *domain.VersionConflictError
	var dup *domain.DuplicateMessageIDError
	var big *domain.MessageTooLargeError
	switch {
	case errors.As(err, &conflict):
		o.StreamName, o.ExpectedVersion, o.StreamVersion = conflict.StreamName, &conflict.Expected, &conflict.Actual
	case errors.As(err, &dup):
		o.StreamName, o.ID = dup.StreamName, dup.ID.String()
		o.StoredStreamName, o.StoredPosition, o.StoredGlobalPosition = dup.StoredStreamName, &dup.StoredPosition, &dup.StoredGlobalPosition
	case errors.As(err, &big):
		o.Size, o.Limit = &big.Size, &big.Limit
	}
	return o
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
		return usagef("%s", flagError(err))
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
		return usagef("%s: %s", name, flagError(err))
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

// open opens the store once, creating it if needed: for commands that
// write.
func (c *cli) open(ctx context.Context) (*app.Store, error) {
	return c.openStore(ctx, false)
}

// openExisting opens the store once, which must exist: for commands that
// only read, so that a mistyped --db is reported, not created.
func (c *cli) openExisting(ctx context.Context) (*app.Store, error) {
	return c.openStore(ctx, true)
}

func (c *cli) openStore(ctx context.Context, mustExist bool) (*app.Store, error) {
	if c.store != nil {
		return c.store, nil
	}
	s, err := app.Open(ctx, c.dbURL(), &app.Options{Getenv: c.env, MustExist: mustExist})
	if err != nil {
		return nil, err
	}
	c.store = s
	return s, nil
}

// existing returns the namespace in effect, which must exist.
func (c *cli) existing(ctx context.Context) (*app.Namespace, error) {
	s, err := c.openExisting(ctx)
	if err != nil {
		return nil, err
	}
	return s.Namespace(ctx, c.namespace)
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
