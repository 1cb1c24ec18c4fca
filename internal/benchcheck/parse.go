package main

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// Result is the measurements of one benchmark, one per run (-count).
type Result struct {
	// Name is the benchmark's name without the GOMAXPROCS suffix, e.g.
	// "BenchmarkGetCategoryMessages/postgres/group/MDB001_7A_T5".
	Name string
	// Op is the operation and its variant, e.g. "GetCategoryMessages/group".
	Op string
	// Backend is the element after the benchmark function's name.
	Backend string
	// Seed is the seed scenario id in the name, if any.
	Seed string
	// NsPerOp holds ns/op of each run, in order.
	NsPerOp []float64
	// Metrics holds the other values a benchmark reported
	// (b.ReportMetric), by unit, one per run.
	Metrics map[string][]float64
}

// Output is what Parse found in go test -bench output.
type Output struct {
	Results []*Result // in order of first appearance
	// Failures are lines that say a benchmark or the run failed or was
	// skipped ("--- FAIL", "--- SKIP", "FAIL", "panic:").
	Failures []string
	// Notes are the benchmarks' log lines (without file:line), once each.
	Notes []string
}

// Result returns the result of op on backend, or nil.
func (o *Output) Result(op, backend string) *Result {
	for _, r := range o.Results {
		if r.Op == op && r.Backend == backend {
			return r
		}
	}
	return nil
}

var (
	procsSuffix = regexp.MustCompile(`-\d+$`)
	seedID      = regexp.MustCompile(`^MDB\d+_[0-9A-Z]+_T\d+$`)
	logLine     = regexp.MustCompile(`^\s+[\w.-]+\.go:\d+: (.*)$`)
	// A result's fields after the name: iterations, then value unit pairs.
	resultFields = regexp.MustCompile(`^\s*(\d+)\s+(.*)$`)
)

// ParseName splits a benchmark name as go test prints it,
// Benchmark<Op>/<backend>[/<variant>...][/<seed id>][-<GOMAXPROCS>], into
// the operation (with its variants, joined by "/"), backend and seed id.
func ParseName(full string) (r Result, err error) {
	name := procsSuffix.ReplaceAllString(full, "")
	elems := strings.Split(name, "/")
	fn, ok := strings.CutPrefix(elems[0], "Benchmark")
	if !ok || fn == "" || len(elems) < 2 || elems[1] == "" {
		return r, fmt.Errorf("benchmark name %q is not Benchmark<Op>/<backend>[/...]", full)
	}
	r = Result{Name: name, Op: fn, Backend: elems[1]}
	for _, e := range elems[2:] {
		switch {
		case seedID.MatchString(e) && r.Seed == "":
			r.Seed = e
		case seedID.MatchString(e):
			return r, fmt.Errorf("benchmark name %q has two seed ids", full)
		default:
			r.Op += "/" + e
		}
	}
	return r, nil
}

// Parse reads go test -bench output. Lines it does not know are ignored. A
// result line whose name does not follow the suite's naming scheme, or whose
// ns/op is missing or not a number, is an error.
func Parse(in io.Reader) (*Output, error) {
	out := &Output{}
	byName := map[string]*Result{}
	seenNote := map[string]bool{}
	pending := "" // a benchmark name printed on a line of its own
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), " \t\r")
		var name, rest string
		switch {
		case strings.HasPrefix(line, "Benchmark"):
			fields := strings.SplitN(line, "\t", 2)
			name = strings.TrimSpace(fields[0])
			if i := strings.IndexAny(name, " \t"); i >= 0 {
				name, rest = name[:i], strings.TrimSpace(name[i:])
			}
			if len(fields) == 2 {
				rest = strings.TrimSpace(rest + " " + fields[1])
			}
			if rest == "" {
				pending = name
				continue
			}
		case pending != "" && resultFields.MatchString(line) && strings.Contains(line, "ns/op"):
			name, rest = pending, line
		case strings.HasPrefix(line, "--- FAIL") || strings.HasPrefix(line, "--- SKIP") ||
			line == "FAIL" || strings.HasPrefix(line, "FAIL\t") || strings.HasPrefix(line, "panic:"):
			out.Failures = append(out.Failures, line)
			continue
		default:
			if m := logLine.FindStringSubmatch(line); m != nil && !seenNote[m[1]] {
				seenNote[m[1]] = true
				out.Notes = append(out.Notes, m[1])
			}
			continue
		}
		pending = ""
		ns, metrics, err := values(rest)
		if err != nil {
			return nil, fmt.Errorf("line %d: %s: %w", n, name, err)
		}
		r, err := ParseName(name)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		res := byName[r.Name]
		if res == nil {
			res = &r
			byName[r.Name] = res
			out.Results = append(out.Results, res)
		}
		res.NsPerOp = append(res.NsPerOp, ns)
		for unit, v := range metrics {
			if res.Metrics == nil {
				res.Metrics = map[string][]float64{}
			}
			res.Metrics[unit] = append(res.Metrics[unit], v)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// values returns the ns/op of a result's fields ("20\t1338058 ns/op\t...")
// and its other values by unit (custom metrics; not B/op and allocs/op).
func values(fields string) (float64, map[string]float64, error) {
	m := resultFields.FindStringSubmatch(fields)
	if m == nil {
		return 0, nil, fmt.Errorf("no iteration count in %q", fields)
	}
	f := strings.Fields(m[2])
	ns := -1.0
	var metrics map[string]float64
	for i := 0; i+1 < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if f[i+1] == "ns/op" {
			if err != nil || v < 0 {
				return 0, nil, fmt.Errorf("bad ns/op %q", f[i])
			}
			ns = v
			continue
		}
		if err != nil || f[i+1] == "B/op" || f[i+1] == "allocs/op" || f[i+1] == "MB/s" {
			continue
		}
		if metrics == nil {
			metrics = map[string]float64{}
		}
		metrics[f[i+1]] = v
	}
	if ns < 0 {
		return 0, nil, fmt.Errorf("no ns/op in %q", fields)
	}
	return ns, metrics, nil
}
