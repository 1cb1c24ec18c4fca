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
	writeBatchCommand,
	streamCommand,
	categoryCommand,
	allCommand,
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
  --json            one JSON object per line instead of tables; an error as
                    one JSON object on stderr: {"error": ..., "kind": ...}
  -h, --help        help

Commands:
`

const usageFooter = `
Reads never create a store: a --db that holds none is an error. Reads of the
default namespace before its first write see it empty.

Exit codes: 0 success (also a --follow read ended by Ctrl-C), 1 the command
failed (e.g. a version conflict or a missing namespace), 2 the command line
or its input is wrong.

Run "messagedb help COMMAND" for a command's flags.
`

func (c *cli) printUsage(w io.Writer) {
	fmt.Fprint(w, usageHeader)
	for _, cmd := range commands {
		fmt.Fprintf(w, "  %s\n      %s\n", strings.TrimSpace(cmd.name+" "+cmd.args), cmd.short)
	}
	fmt.Fprintf(w, "  help [COMMAND]\n      %s\n", helpCommand.short)
	fmt.Fprint(w, usageFooter)
}

func (c *cli) printCommandUsage(w io.Writer, cmd command) {
	fmt.Fprintf(w, "Usage: messagedb %s\n\n%s\n", strings.TrimSpace(cmd.name+" "+cmd.args), cmd.short)
	if cmd.long != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(cmd.long))
	}
	fs := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
	cmd.setup(fs)
	if flags := flagList(fs); flags != "" {
		fmt.Fprintf(w, "\nFlags:\n%s", flags)
	}
	fmt.Fprintln(w, "\nGlobal flags: --db URL, --namespace ID, --json (see \"messagedb help\").")
}

// flagList lists a command's flags as its usage line writes them, with
// two dashes: "--batch N", then what it does and its default, if any.
func flagList(fs *flag.FlagSet) string {
	var b strings.Builder
	fs.VisitAll(func(f *flag.Flag) {
		value, usage := flag.UnquoteUsage(f)
		switch value {
		case "int", "int64", "value":
			value = "N"
		case "string":
			value = "TEXT"
		case "duration":
			value = "DURATION"
		}
		fmt.Fprintf(&b, "  --%s", f.Name)
		if value != "" {
			fmt.Fprintf(&b, " %s", value)
		}
		fmt.Fprintf(&b, "\n      %s", usage)
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" || f.Name == "position" {
			fmt.Fprintf(&b, " (default %s)", f.DefValue)
		}
		b.WriteByte('\n')
	})
	return b.String()
}

// flagError words an error of package flag as the usage lines do: flags
// with two dashes.
func flagError(err error) string {
	msg := err.Error()
	for _, p := range []struct{ prefix, format string }{
		{"flag provided but not defined: -", "unknown flag --%s"},
		{"flag needs an argument: -", "flag --%s needs a value"},
	} {
		if name, ok := strings.CutPrefix(msg, p.prefix); ok {
			return fmt.Sprintf(p.format, strings.TrimPrefix(name, "-"))
		}
	}
	// invalid value "x" for flag -position: parse error
	if i := strings.Index(msg, " for flag -"); i >= 0 {
		rest := strings.TrimPrefix(msg[i+len(" for flag -"):], "-")
		return msg[:i] + " for flag --" + rest
	}
	return msg
}

// helpCommand describes "help" itself, for "messagedb help help".
var helpCommand = command{
	name:  "help",
	args:  "[COMMAND]",
	short: "print the commands and global flags, or one command's usage and flags",
	setup: func(*flag.FlagSet) runner { return nil },
}

// help runs "messagedb help [COMMAND]".
func (c *cli) help(args []string) error {
	switch len(args) {
	case 0:
		c.printUsage(c.stdout)
		return nil
	case 1:
		cmd, ok := commandByName(args[0])
		if !ok && args[0] == helpCommand.name {
			cmd, ok = helpCommand, true
		}
		if !ok {
			return usagef("help: unknown command %q", args[0])
		}
		c.printCommandUsage(c.stdout, cmd)
		return nil
	}
	return usagef("help takes at most one command")
}
