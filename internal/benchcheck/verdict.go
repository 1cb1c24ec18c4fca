package main

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// Backends in report order.
var backends = []string{"postgres", "postgres-async", "sqlite-file", "sqlite-file-normal", "sqlite-memory"}

// Target is a seed performance target: the median of Op on Backend must be
// below Max. Only these decide the exit code.
type Target struct {
	Op, Backend string
	Max         time.Duration
}

// seedTargets are the seed's upper bounds, on every backend that runs the
// operation (the SQLite file targets hold for both synchronous settings).
var seedTargets = func() []Target {
	var ts []Target
	add := func(op string, pg, file, mem time.Duration, fileNormal bool) {
		ts = append(ts, Target{op, "postgres", pg}, Target{op, "sqlite-file", file})
		if fileNormal {
			ts = append(ts, Target{op, "sqlite-file-normal", file})
		}
		ts = append(ts, Target{op, "sqlite-memory", mem})
	}
	ms := time.Millisecond
	add("WriteMessage", 10*ms, 5*ms, 1*ms, true)
	add("GetStreamMessages", 15*ms, 8*ms, 2*ms, false)
	add("GetCategoryMessages/all", 50*ms, 30*ms, 10*ms, false)
	add("GetCategoryMessages/group", 50*ms, 30*ms, 10*ms, false)
	add("CreateNamespace", 100*ms, 50*ms, 20*ms, true)
	add("DeleteNamespace", 200*ms, 100*ms, 50*ms, true)
	return ts
}()

// Goal is an informational goal beyond the seed: exactly one of Max,
// MinRate, Base (with Factor or RateFactor) and Metric is set.
type Goal struct {
	Op, Backend string
	Max         time.Duration // median at most Max
	MinRate     float64       // throughput at least MinRate (Rate's unit)
	Base        string        // median at most Factor × the median of Base on the same backend,
	Factor      float64       // or, with RateFactor, throughput at least RateFactor × Base's
	RateFactor  float64
	Metric      string  // the median of this reported metric (its unit)
	MetricMax   float64 // at most MetricMax
}

var goals = func() []Goal {
	us, ms := time.Microsecond, time.Millisecond
	gs := []Goal{
		{Op: "WriteMessage", Backend: "sqlite-memory", Max: 30 * us},
		{Op: "GetStreamMessages", Backend: "sqlite-memory", Max: 30 * us},
		{Op: "GetCategoryMessages/all", Backend: "sqlite-memory", Max: 200 * us},
		{Op: "GetCategoryMessages/group", Backend: "sqlite-memory", Base: "GetCategoryMessages/all", Factor: 2},
		{Op: "CreateNamespace", Backend: "sqlite-memory", Max: 2 * ms},
		{Op: "WriteMessage", Backend: "postgres", MinRate: 2_200},
		{Op: "GetStreamMessages", Backend: "postgres", MinRate: 14_000},
		{Op: "GetCategoryMessages/all", Backend: "postgres", MinRate: 3_800},
		{Op: "GetCategoryMessages/group", Backend: "postgres", MinRate: 900},
		{Op: "CreateNamespace", Backend: "postgres", Max: 50 * ms},
		// The category read at the rate of a plain SELECT at least.
		{Op: "GetCategoryMessages/all", Backend: "postgres", Base: "CategoryFloor", RateFactor: 1},
		// The stream read at the rate of a plain SELECT at least.
		{Op: "GetStreamMessages", Backend: "postgres", Base: "StreamFloor", RateFactor: 1},
		// 16 writers at 2.5 times the throughput of one at least.
		{Op: "WriteScaling/categories-w16/store", Backend: "postgres", Base: "WriteScaling/categories-w1/store", RateFactor: 2.5},
		// A consumer on another Store handles a message within 5 ms
		// (median) and 50 ms (99th percentile) of its write, under 16
		// writers.
	}
	for _, load := range []string{"w16", "w16-paced"} {
		gs = append(gs,
			Goal{Op: "WakeLatency/" + load, Backend: "postgres", Metric: "e2e-p50-ms", MetricMax: 5},
			Goal{Op: "WakeLatency/" + load, Backend: "postgres", Metric: "e2e-p99-ms", MetricMax: 50})
	}
	// The Store's writes at 0.9 times the plain-INSERT floor's throughput
	// at least, at every concurrency (fsync on); one category serialises on
	// its lock on purpose and has no goal.
	for _, shape := range []string{"categories-w1", "categories-w4", "categories-w16", "categories-w64", "namespaces-w16"} {
		gs = append(gs, Goal{Op: "WriteScaling/" + shape + "/store", Backend: "postgres", Base: "WriteScaling/" + shape + "/insert", RateFactor: 0.9})
	}
	for _, file := range []string{"sqlite-file", "sqlite-file-normal"} {
		gs = append(gs,
			Goal{Op: "WriteMessage", Backend: file, Base: "RawInsert", Factor: 1.5},
			Goal{Op: "WriteMessages", Backend: file, MinRate: 40_000})
	}
	return gs
}()

// perOp is how many units one op of a benchmark stands for, and their name,
// when it is not one operation.
var perOp = map[string]struct {
	n    float64
	unit string
}{
	"WriteMessages": {100, "msg/s"},
}

// perMessage are the operations whose ns/op is the wall time per message of
// several writers: their throughput is in msg/s.
var perMessage = []string{"WriteScaling/", "WriteMessageConcurrent"}

// Rate returns the throughput of op at a median of ns per op, and its unit.
func Rate(op string, ns float64) (float64, string) {
	if ns <= 0 {
		return 0, "op/s"
	}
	if p, ok := perOp[op]; ok {
		return p.n * 1e9 / ns, p.unit
	}
	for _, prefix := range perMessage {
		if strings.HasPrefix(op, prefix) {
			return 1e9 / ns, "msg/s"
		}
	}
	return 1e9 / ns, "op/s"
}

// Status of a row against its seed target or goal.
const (
	StatusOK      = "ok"
	StatusMissed  = "MISSED"
	StatusMissing = "NO RESULT" // the benchmark did not run or report
	StatusNone    = ""          // no target or goal
)

// Row is one operation on one backend in the report.
type Row struct {
	Op, Backend, Seed string
	Runs              int
	Median            float64 // ns/op
	Rate              float64
	Unit              string

	Target      time.Duration // 0: no seed target
	Ratio       float64       // Target / Median: above 1 means met, with room
	Status      string        // of the seed target
	Goal        string        // the goal, in words
	GoalStatus  string
	GoalMeasure string // the measured value compared with the goal
}

// Verdict compares out with the seed targets and goals. It returns one row
// per result, in backend then suite order, plus a row with StatusMissing for
// each seed target of a selected backend that has no result; missed tells
// whether any seed target is missed, missing whether any has no result.
func Verdict(out *Output, selected []string) (rows []Row, missed, missing bool) {
	for _, res := range out.Results {
		med := Median(res.NsPerOp)
		rate, unit := Rate(res.Op, med)
		row := Row{Op: res.Op, Backend: res.Backend, Seed: res.Seed, Runs: len(res.NsPerOp), Median: med, Rate: rate, Unit: unit}
		if t, ok := findTarget(res.Op, res.Backend); ok {
			row.Target = t.Max
			row.Ratio = float64(t.Max.Nanoseconds()) / med
			row.Status = StatusOK
			if med >= float64(t.Max.Nanoseconds()) {
				row.Status = StatusMissed
				missed = true
			}
		}
		for _, g := range findGoals(res.Op, res.Backend) {
			goal, measure, status := judgeGoal(g, res, med, rate, unit, out)
			row.Goal = join(row.Goal, goal)
			row.GoalMeasure = join(row.GoalMeasure, measure)
			if row.GoalStatus == "" || row.GoalStatus == StatusOK {
				row.GoalStatus = status
			}
		}
		rows = append(rows, row)
	}
	for _, t := range seedTargets {
		if !slices.Contains(selected, t.Backend) || out.Result(t.Op, t.Backend) != nil {
			continue
		}
		rows = append(rows, Row{Op: t.Op, Backend: t.Backend, Target: t.Max, Status: StatusMissing})
		missing = true
	}
	order := func(b string) int {
		if i := slices.Index(backends, b); i >= 0 {
			return i
		}
		return len(backends)
	}
	sort.SliceStable(rows, func(i, j int) bool { return order(rows[i].Backend) < order(rows[j].Backend) })
	return rows, missed, missing
}

func findTarget(op, backend string) (Target, bool) {
	for _, t := range seedTargets {
		if t.Op == op && t.Backend == backend {
			return t, true
		}
	}
	return Target{}, false
}

// findGoals returns the goals of op on backend, in the order of goals.
func findGoals(op, backend string) []Goal {
	var out []Goal
	for _, g := range goals {
		if g.Op == op && g.Backend == backend {
			out = append(out, g)
		}
	}
	return out
}

// join joins two descriptions of goals with "; ".
func join(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// judgeGoal returns the goal in words, what was measured against it and its
// status.
func judgeGoal(g Goal, res *Result, med, rate float64, unit string, out *Output) (goal, measure, status string) {
	ok := func(b bool) string {
		if b {
			return StatusOK
		}
		return StatusMissed
	}
	switch {
	case g.Max > 0:
		return "≤ " + FormatNs(float64(g.Max.Nanoseconds())), FormatNs(med), ok(med <= float64(g.Max.Nanoseconds()))
	case g.MinRate > 0:
		return "≥ " + FormatRate(g.MinRate, unit), FormatRate(rate, unit), ok(rate >= g.MinRate)
	case g.Metric != "":
		goal = fmt.Sprintf("%s ≤ %g", g.Metric, g.MetricMax)
		vs := res.Metrics[g.Metric]
		if len(vs) == 0 {
			return goal, "no " + g.Metric, StatusMissing
		}
		v := Median(vs)
		return goal, fmt.Sprintf("%s %s", trim3(v), g.Metric), ok(v <= g.MetricMax)
	case g.RateFactor > 0:
		goal = fmt.Sprintf("≥ %g× throughput of %s", g.RateFactor, g.Base)
		base := out.Result(g.Base, g.Backend)
		if base == nil {
			return goal, "no " + g.Base, StatusMissing
		}
		x := Median(base.NsPerOp) / med
		return goal, fmt.Sprintf("%.2f×", x), ok(x >= g.RateFactor)
	default:
		goal = fmt.Sprintf("≤ %g× %s", g.Factor, g.Base)
		base := out.Result(g.Base, g.Backend)
		if base == nil {
			return goal, "no " + g.Base, StatusMissing
		}
		x := med / Median(base.NsPerOp)
		return goal, fmt.Sprintf("%.2f×", x), ok(x <= g.Factor)
	}
}

// Median returns the median of xs (the mean of the middle two for an even
// count), 0 for none.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// FormatNs prints a duration in ns with three significant digits.
func FormatNs(ns float64) string {
	switch {
	case ns >= 1e9:
		return trim3(ns/1e9) + " s"
	case ns >= 1e6:
		return trim3(ns/1e6) + " ms"
	case ns >= 1e3:
		return trim3(ns/1e3) + " µs"
	default:
		return trim3(ns) + " ns"
	}
}

// FormatRate prints a throughput with thousands separators.
func FormatRate(r float64, unit string) string {
	if r < 100 {
		return trim3(r) + " " + unit
	}
	n := int64(r + 0.5)
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s + " " + unit
}

func trim3(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}
