package main

import (
	"flag"
	"strconv"
	"strings"
)

// parseUntilCommand parses the global flags before the command and returns
// the command and what follows it.
func parseUntilCommand(fs *flag.FlagSet, args []string) ([]string, error) {
	i := 0
	for i < len(args) {
		a := args[i]
		if a == "--" {
			i++
			break
		}
		if !isFlag(fs, a) {
			break
		}
		i++
		if takesValue(fs, a) && i < len(args) {
			i++
		}
	}
	if err := fs.Parse(args[:i]); err != nil {
		return nil, err
	}
	return args[i:], nil
}

// parseInterleaved parses flags wherever they are among the arguments
// ("write acct-1 Opened --expected-version -1" as well as "write
// --expected-version -1 acct-1 Opened"), and returns the other arguments in
// order. After "--" everything is an argument. A lone "-" (stdin) and
// negative numbers that are not a flag's value are arguments.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var flags, positional []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			positional = append(positional, args[i+1:]...)
			break
		}
		if !isFlag(fs, a) {
			positional = append(positional, a)
			continue
		}
		flags = append(flags, a)
		if takesValue(fs, a) && i+1 < len(args) {
			i++
			flags = append(flags, args[i])
		}
	}
	if err := fs.Parse(flags); err != nil {
		return nil, err
	}
	return positional, nil
}

// isFlag reports whether a is a flag rather than an argument.
func isFlag(fs *flag.FlagSet, a string) bool {
	if len(a) < 2 || a[0] != '-' {
		return false
	}
	if fs.Lookup(flagName(a)) != nil {
		return true
	}
	// An undefined "-5" is a number; an undefined "-x" is a flag the
	// FlagSet will report as unknown.
	_, err := strconv.ParseFloat(a, 64)
	return err != nil
}

// takesValue reports whether flag a needs the next argument as its value.
func takesValue(fs *flag.FlagSet, a string) bool {
	if strings.Contains(a, "=") {
		return false
	}
	f := fs.Lookup(flagName(a))
	if f == nil {
		return false
	}
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return !ok || !b.IsBoolFlag()
}

func flagName(a string) string {
	name := strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
	name, _, _ = strings.Cut(name, "=")
	return name
}
