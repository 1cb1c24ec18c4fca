// Command benchcheck runs messagedb's shared benchmarks (internal/benchsuite)
// and checks their medians against the performance targets:
//
//	go run ./internal/benchcheck [-count 5] [-benchtime 1s] [-backend postgres,sqlite-file,sqlite-file-normal,sqlite-memory] [-markdown]
//
// It runs go test -run '^$' -bench ... on the suite, echoing its output to
// standard error, then prints per operation and backend: the median ns/op
// over the runs (-count), the throughput it means, the seed target, the
// ratio target/median (above 1: met, with that much room), the status, and
// the goal beyond the seed with its status. Goals are informational; only
// seed targets decide the exit code.
//
// With -markdown it prints the report of docs/benchmarks.md instead: the
// machine, one table per backend and a chart; -update docs/benchmarks.md
// writes it into that file, between its "benchcheck:begin" and
// "benchcheck:end" comments, unless a benchmark failed or a seed target has
// no result. With -input it reads saved go test -bench
// output instead of running the benchmarks.
//
// Exit status: 0 when every seed target is met, 1 when one is missed, 2 on
// bad usage, when go test or a benchmark fails or is skipped, or when a seed
// target of a selected backend has no result.
//
// PostgreSQL is the throwaway cluster of internal/pgtest or
// MESSAGEDB_TEST_POSTGRES_URL; the benchmarks are run with
// MESSAGEDB_REQUIRE_POSTGRES=1 when the postgres backend is selected, so a
// missing server fails the run.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"time"
)

const suite = "github.com/messagedb-go/messagedb/internal/benchsuite"

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

type config struct {
	count     int
	benchtime string
	backends  []string
	markdown  bool
	input     string
	raw       string
	update    string
	timeout   time.Duration
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("benchcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&c.count, "count", 5, "runs of each benchmark; the median is taken over them")
	fs.StringVar(&c.benchtime, "benchtime", "1s", "go test -benchtime of each run (a duration, or Nx)")
	backendList := fs.String("backend", strings.Join(backends, ","), "comma-separated backends to run")
	fs.BoolVar(&c.markdown, "markdown", false, "print the Markdown report (machine, tables, chart)")
	fs.StringVar(&c.input, "input", "", "read go test -bench output from this file (- for standard input) instead of running the benchmarks")
	fs.StringVar(&c.raw, "raw", "", "also write the output of the go test run to this file")
	fs.StringVar(&c.update, "update", "", "replace the generated part of this Markdown file (docs/benchmarks.md) with the report, unless the run is incomplete")
	fs.DurationVar(&c.timeout, "timeout", time.Hour, "go test -timeout")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: go run ./internal/benchcheck [flags]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if c.count < 1 {
		return c, fmt.Errorf("-count %d: must be 1 or more", c.count)
	}
	if !regexp.MustCompile(`^(\d+x|\d+(\.\d+)?(ns|us|µs|ms|s|m|h))$`).MatchString(c.benchtime) {
		return c, fmt.Errorf("-benchtime %q: want a duration such as 1s or a count such as 100x", c.benchtime)
	}
	for _, b := range strings.Split(*backendList, ",") {
		b = strings.TrimSpace(b)
		if b == "" {
			continue
		}
		if !slices.Contains(backends, b) {
			return c, fmt.Errorf("-backend: unknown backend %q (known: %s)", b, strings.Join(backends, ", "))
		}
		if !slices.Contains(c.backends, b) {
			c.backends = append(c.backends, b)
		}
	}
	if len(c.backends) == 0 {
		return c, errors.New("-backend: no backend selected")
	}
	return c, nil
}

// benchArgs returns the go test arguments that run the suite on the
// selected backends. The backend is the second element of every name.
func benchArgs(c config) []string {
	return []string{"test", "-run", "^$",
		"-bench", "/^(" + strings.Join(c.backends, "|") + ")$",
		"-count", fmt.Sprint(c.count), "-benchtime", c.benchtime,
		"-timeout", c.timeout.String(), suite}
}

func run(args []string, stdout, stderr io.Writer) int {
	c, err := parseFlags(args, stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stderr, "benchcheck:", err)
		}
		return 2
	}

	var output bytes.Buffer
	sink := io.MultiWriter(&output, stderr)
	if c.raw != "" {
		f, err := os.Create(c.raw)
		if err != nil {
			fmt.Fprintln(stderr, "benchcheck:", err)
			return 2
		}
		defer f.Close()
		sink = io.MultiWriter(sink, f)
	}
	var runErr error
	command, load := "", ""
	switch c.input {
	case "":
		load = loadAverage()
		args := benchArgs(c)
		command = "go " + shellQuote(args)
		fmt.Fprintf(stderr, "benchcheck: %s\n", command)
		cmd := exec.Command("go", args...)
		cmd.Stdout = sink
		cmd.Stderr = sink
		cmd.Env = os.Environ()
		if slices.Contains(c.backends, "postgres") {
			cmd.Env = append(cmd.Env, "MESSAGEDB_REQUIRE_POSTGRES=1")
		}
		if err := cmd.Run(); err != nil {
			runErr = fmt.Errorf("go test: %w", err)
		}
	case "-":
		_, runErr = io.Copy(&output, os.Stdin)
	default:
		b, err := os.ReadFile(c.input)
		runErr = err
		output.Write(b)
	}

	out, err := Parse(&output)
	if err != nil {
		fmt.Fprintln(stderr, "benchcheck: parse go test output:", err)
		return 2
	}
	rows, missed, missing := Verdict(out, c.backends)
	incomplete := len(out.Failures) > 0 || missing || runErr != nil
	fmt.Fprintln(stderr)
	switch {
	case c.update != "" && incomplete:
		// Keep the file's report rather than replace it with a partial one.
		fmt.Fprintf(stderr, "benchcheck: %s not updated: the run is incomplete\n", c.update)
		_ = WriteText(stdout, rows)
	case c.update != "":
		var report strings.Builder
		WriteMachine(&report, command, load, out.Notes)
		WriteMarkdown(&report, rows)
		if err := updateFile(c.update, report.String()); err != nil {
			fmt.Fprintln(stderr, "benchcheck:", err)
			return 2
		}
		fmt.Fprintf(stderr, "benchcheck: updated %s\n", c.update)
	case c.markdown:
		WriteMachine(stdout, command, load, out.Notes)
		WriteMarkdown(stdout, rows)
	default:
		if err := WriteText(stdout, rows); err != nil {
			fmt.Fprintln(stderr, "benchcheck:", err)
			return 2
		}
	}

	code := 0
	if missed {
		fmt.Fprintln(stderr, "benchcheck: a seed performance target is missed (status MISSED)")
		code = 1
	}
	if len(out.Failures) > 0 {
		fmt.Fprintf(stderr, "benchcheck: the benchmarks did not all run:\n  %s\n", strings.Join(out.Failures, "\n  "))
		code = 2
	}
	if missing {
		fmt.Fprintf(stderr, "benchcheck: a seed target has no result (status %s)\n", StatusMissing)
		code = 2
	}
	if runErr != nil {
		fmt.Fprintln(stderr, "benchcheck:", runErr)
		code = 2
	}
	if code == 0 {
		fmt.Fprintln(stderr, "benchcheck: every seed performance target is met")
	}
	return code
}

// updateFile replaces the generated part of the Markdown file at path.
func updateFile(path, report string) error {
	doc, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	updated, err := splice(string(doc), report)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return os.WriteFile(path, []byte(updated), 0o644)
}

// shellQuote joins args for a shell, quoting those that need it.
func shellQuote(args []string) string {
	quoted := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " $^|()*?[]'\"\\") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		quoted[i] = a
	}
	return strings.Join(quoted, " ")
}
