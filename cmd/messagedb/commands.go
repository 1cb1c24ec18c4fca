package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
)

// runner executes a command with its arguments (flags already parsed).
type runner func(ctx context.Context, c *cli, args []string) error

// command is a subcommand: its usage line, its help, and setup, which
// registers its flags and returns what runs it.
type command struct {
	name  string
	args  string // synopsis of its arguments and flags
	short string // one line for the command list
	long  string // more, for "messagedb help COMMAND"
	// minArgs and maxArgs bound how many arguments (flags aside) the
	// command takes; a maxArgs below 0 leaves the count to the runner.
	minArgs, maxArgs int
	setup            func(fs *flag.FlagSet) runner
}

// commands is the command table, in the order "help" lists them.
var commands = []command{
	namespaceCommand,
	writeCommand,
	streamCommand,
	categoryCommand,
	lastCommand,
	versionCommand,
	summaryCommand,
	migrateCommand,
	copyCommand,
}

func commandByName(name string) (command, bool) {
	for _, c := range commands {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

const usageHeader = `messagedb operates a messagedb store: Message DB's streams, categories and
consumer groups on SQLite or PostgreSQL.

Usage:
  messagedb [global flags] COMMAND [arguments] [flags]

Flags may come before or after the arguments; "--" ends the flags.

Global flags:
  --db URL          the store (default $MESSAGEDB_URL, else ` + defaultDB + `):
                      sqlite:DIR               SQLite files in directory DIR
                      memory:                  SQLite in memory (gone when the command ends)
                      postgres://USER@HOST/DB  PostgreSQL (also postgresql://)
  --namespace ID    the namespace (default "` + defaultNamespace + `"; created by the first write)
  --json            one JSON object per line instead of tables
  -h, --help        help

Commands:
`

const usageFooter = `
Exit codes: 0 success, 1 the command failed (e.g. a version conflict or a
missing namespace), 2 the command line is wrong.

Run "messagedb help COMMAND" for a command's flags.
`

func (c *cli) printUsage(w io.Writer) {
	fmt.Fprint(w, usageHeader)
	for _, cmd := range commands {
		fmt.Fprintf(w, "  %s\n      %s\n", strings.TrimSpace(cmd.name+" "+cmd.args), cmd.short)
	}
	fmt.Fprintf(w, "  help [COMMAND]\n      this help, or a command's\n")
	fmt.Fprint(w, usageFooter)
}

func (c *cli) printCommandUsage(w io.Writer, cmd command) {
	fmt.Fprintf(w, "Usage: messagedb %s %s\n\n%s\n", cmd.name, cmd.args, cmd.short)
	if cmd.long != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(cmd.long))
	}
	fs := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
	cmd.setup(fs)
	var flags strings.Builder
	fs.SetOutput(&flags)
	fs.PrintDefaults()
	if flags.Len() > 0 {
		fmt.Fprintf(w, "\nFlags:\n%s", flags.String())
	}
	fmt.Fprintln(w, "\nGlobal flags: --db URL, --namespace ID, --json (see \"messagedb help\").")
}

// help runs "messagedb help [COMMAND]".
func (c *cli) help(args []string) error {
	switch len(args) {
	case 0:
		c.printUsage(c.stdout)
		return nil
	case 1:
		cmd, ok := commandByName(args[0])
		if !ok {
			return usagef("help: unknown command %q", args[0])
		}
		c.printCommandUsage(c.stdout, cmd)
		return nil
	}
	return usagef("help takes at most one command")
}
