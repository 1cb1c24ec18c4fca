package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
)

// WriteText prints rows as an aligned table.
func WriteText(w io.Writer, rows []Row) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "OPERATION\tBACKEND\tSEED ID\tRUNS\tMEDIAN\tTHROUGHPUT\tSEED TARGET\tTARGET/MEDIAN\tSTATUS\tGOAL\tMEASURED\tGOAL STATUS")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			r.Op, r.Backend, dash(r.Seed), runs(r), median(r), rate(r), target(r), ratio(r), dash(r.Status),
			dash(r.Goal), dash(r.GoalMeasure), goalStatus(r))
	}
	return tw.Flush()
}

// backendTitles are the headings of the Markdown report.
var backendTitles = map[string]string{
	"postgres":           "PostgreSQL",
	"postgres-async":     "PostgreSQL with synchronous_commit off (commits do not wait for their flush: what the server's CPUs can do)",
	"sqlite-file":        "SQLite file (synchronous FULL, the default)",
	"sqlite-file-normal": "SQLite file (synchronous NORMAL)",
	"sqlite-memory":      "SQLite memory",
}

// WriteMarkdown prints the report's tables: one per backend, then a chart
// of median latencies.
func WriteMarkdown(w io.Writer, rows []Row) {
	for _, be := range append(slices.Clone(backends), otherBackends(rows)...) {
		var these []Row
		for _, r := range rows {
			if r.Backend == be {
				these = append(these, r)
			}
		}
		if len(these) == 0 {
			continue
		}
		title := backendTitles[be]
		if title == "" {
			title = be
		}
		fmt.Fprintf(w, "### %s\n\n", title)
		fmt.Fprintln(w, "| Operation | Seed id | Median | Throughput | Seed target | Target/median | Status | Goal | Measured | Goal status |")
		fmt.Fprintln(w, "|---|---|--:|--:|--:|--:|---|---|--:|---|")
		for _, r := range these {
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
				r.Op, dash(r.Seed), median(r), rate(r), target(r), ratio(r), dash(r.Status), dash(r.Goal), dash(r.GoalMeasure), goalStatus(r))
		}
		fmt.Fprintln(w)
	}
	writeChart(w, rows)
}

// writeChart draws the median latency of each operation on each backend as
// bars on a logarithmic scale (one "#" per factor of about 1.47, 1 µs
// at the left edge), so that microseconds and milliseconds fit on one page.
func writeChart(w io.Writer, rows []Row) {
	var ops []string
	width := 0
	for _, r := range rows {
		if r.Runs == 0 {
			continue
		}
		if !slices.Contains(ops, r.Op) {
			ops = append(ops, r.Op)
		}
		width = max(width, len(r.Backend))
	}
	if len(ops) == 0 {
		return
	}
	const perDecade = 6
	fmt.Fprintf(w, "Median latency, logarithmic scale (%d marks per factor of 10, from 1 µs):\n\n```text\n", perDecade)
	for _, op := range ops {
		fmt.Fprintln(w, op)
		for _, be := range append(slices.Clone(backends), otherBackends(rows)...) {
			for _, r := range rows {
				if r.Op != op || r.Backend != be || r.Runs == 0 {
					continue
				}
				n := int(math.Round(math.Log10(max(r.Median, 1000)/1000) * perDecade))
				fmt.Fprintf(w, "  %-*s %s %s\n", width, be, strings.Repeat("#", max(n, 0)+1), FormatNs(r.Median))
			}
		}
	}
	fmt.Fprint(w, "```\n\n")
}

// WriteMachine prints what the report was measured on, as a Markdown list:
// the machine, the command and the load average before it ran (if known),
// and the benchmarks' notes (server versions and settings, fixture build
// times).
func WriteMachine(w io.Writer, command, load string, notes []string) {
	cpu := "unknown"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	mem := "unknown"
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		if _, err := fmt.Sscanf(string(b), "MemTotal: %d kB", &kb); err == nil {
			mem = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
		}
	}
	kernel := "unknown"
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = strings.TrimSpace(string(b))
	}
	goVersion := runtime.Version()
	if b, err := exec.Command("go", "env", "GOVERSION").Output(); err == nil {
		goVersion = strings.TrimSpace(string(b))
	}
	fmt.Fprint(w, "### Machine\n\n")
	fmt.Fprintf(w, "- CPU: %s, %d logical CPUs (GOMAXPROCS %d)\n", cpu, runtime.NumCPU(), runtime.GOMAXPROCS(0))
	fmt.Fprintf(w, "- Memory: %s\n", mem)
	fmt.Fprintf(w, "- Kernel: Linux %s (%s/%s)\n", kernel, runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(w, "- Go: %s\n", goVersion)
	if fs := tempFS(); fs != "" {
		fmt.Fprintf(w, "- Temporary directory (SQLite files, the PostgreSQL cluster): %s\n", fs)
	}
	if command != "" {
		fmt.Fprintf(w, "- Command: `%s`\n", command)
	}
	if load != "" {
		fmt.Fprintf(w, "- Load average before the run (1, 5, 15 min): %s\n", load)
	}
	for _, n := range notes {
		fmt.Fprintf(w, "- %s\n", n)
	}
	fmt.Fprintln(w)
}

// otherBackends returns backends of rows that are not in backends.
func otherBackends(rows []Row) []string {
	var out []string
	for _, r := range rows {
		if !slices.Contains(backends, r.Backend) && !slices.Contains(out, r.Backend) {
			out = append(out, r.Backend)
		}
	}
	return out
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func runs(r Row) string {
	if r.Runs == 0 {
		return "-"
	}
	return fmt.Sprint(r.Runs)
}

func median(r Row) string {
	if r.Runs == 0 {
		return "-"
	}
	return FormatNs(r.Median)
}

func rate(r Row) string {
	if r.Runs == 0 {
		return "-"
	}
	return FormatRate(r.Rate, r.Unit)
}

func target(r Row) string {
	if r.Target == 0 {
		return "-"
	}
	return "< " + FormatNs(float64(r.Target.Nanoseconds()))
}

func ratio(r Row) string {
	if r.Target == 0 || r.Runs == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f×", r.Ratio)
}

func goalStatus(r Row) string {
	if r.Goal == "" {
		return "-"
	}
	if r.GoalStatus == StatusMissed {
		return "not met"
	}
	if r.GoalStatus == StatusOK {
		return "met"
	}
	return r.GoalStatus
}

// Markers around the generated part of a report file (see -update).
const (
	beginMarker = "<!-- benchcheck:begin -->"
	endMarker   = "<!-- benchcheck:end -->"
)

// splice returns doc with the text between its markers replaced by report.
func splice(doc, report string) (string, error) {
	i := strings.Index(doc, beginMarker)
	j := strings.Index(doc, endMarker)
	if i < 0 || j < i {
		return "", fmt.Errorf("no %s ... %s block", beginMarker, endMarker)
	}
	return doc[:i+len(beginMarker)] + "\n\n" + report + doc[j:], nil
}

// loadAverage returns the 1, 5 and 15 minute load averages, or "".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], ", ")
}

// tempFS describes the file system of the temporary directory, where the
// SQLite files and the throwaway PostgreSQL cluster live: what an fsync
// costs depends on it.
func tempFS() string {
	b, err := os.ReadFile("/proc/mounts")
	if err != nil {
		return ""
	}
	dir := os.TempDir()
	best, desc := "", ""
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line) // device mount-point type options ...
		if len(f) < 3 {
			continue
		}
		mp := f[1]
		inside := dir == mp || strings.HasPrefix(dir, strings.TrimSuffix(mp, "/")+"/")
		if inside && len(mp) >= len(best) {
			best, desc = mp, fmt.Sprintf("%s on %s (%s, mounted at %s)", dir, f[2], f[0], mp)
		}
	}
	return desc
}
