package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// benchLine returns a go test result line for op on backend.
func benchLine(op, backend string, ns float64) string {
	fn, variant, _ := strings.Cut(op, "/")
	name := "Benchmark" + fn + "/" + backend
	if variant != "" {
		name += "/" + variant
	}
	return fmt.Sprintf("%s-2\t%8d\t%12.1f ns/op\n", name, 100, ns)
}

// passingOutput is output in which every seed target of every backend is
// met: each median is a tenth of its target, over three runs.
func passingOutput() string {
	var b strings.Builder
	for run := range 3 {
		for _, t := range seedTargets {
			b.WriteString(benchLine(t.Op, t.Backend, float64(t.Max.Nanoseconds())/10+float64(run)))
		}
	}
	b.WriteString("PASS\nok  \tgithub.com/messagedb-go/messagedb/internal/benchsuite\t12.3s\n")
	return b.String()
}

func mustParse(t *testing.T, text string) *Output {
	t.Helper()
	out, err := Parse(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func rowOf(rows []Row, op, backend string) Row {
	for _, r := range rows {
		if r.Op == op && r.Backend == backend {
			return r
		}
	}
	return Row{}
}

func TestVerdict_AllMet(t *testing.T) {
	rows, missed, missing := Verdict(mustParse(t, passingOutput()), backends)
	if missed || missing {
		t.Fatalf("missed %v, missing %v; want neither", missed, missing)
	}
	if len(rows) != len(seedTargets) {
		t.Fatalf("%d rows, want %d", len(rows), len(seedTargets))
	}
	r := rowOf(rows, "WriteMessage", "postgres")
	// Runs of 1 ms, 1 ms + 1 ns, 1 ms + 2 ns: the median is the middle one.
	if r.Status != StatusOK || r.Runs != 3 || r.Median != 1e6+1 || r.Target != 10*time.Millisecond {
		t.Errorf("WriteMessage on postgres: %+v", r)
	}
	if r.Ratio < 9.99 || r.Ratio > 10 {
		t.Errorf("ratio target/median %v, want about 10", r.Ratio)
	}
	// Rows come backend by backend.
	for i := 1; i < len(rows); i++ {
		if indexOf(rows[i].Backend) < indexOf(rows[i-1].Backend) {
			t.Fatalf("row %d (%s) after %s", i, rows[i].Backend, rows[i-1].Backend)
		}
	}
}

func indexOf(backend string) int {
	for i, b := range backends {
		if b == backend {
			return i
		}
	}
	return -1
}

func TestVerdict_Missed(t *testing.T) {
	// Four more runs of sqlite-memory WriteMessage, so that the median of
	// the seven is exactly its 1 ms bound: the targets are strict upper
	// bounds.
	text := passingOutput() +
		benchLine("WriteMessage", "sqlite-memory", 1e6) + benchLine("WriteMessage", "sqlite-memory", 1e6) +
		benchLine("WriteMessage", "sqlite-memory", 2e6) + benchLine("WriteMessage", "sqlite-memory", 2e6)
	rows, missed, missing := Verdict(mustParse(t, text), backends)
	if !missed || missing {
		t.Fatalf("missed %v, missing %v; want missed only", missed, missing)
	}
	for _, r := range rows {
		want := StatusOK
		if r.Op == "WriteMessage" && r.Backend == "sqlite-memory" {
			want = StatusMissed
		}
		if r.Status != want {
			t.Errorf("%s on %s: status %q, want %q (%+v)", r.Op, r.Backend, r.Status, want, r)
		}
	}
}

func TestVerdict_Missing(t *testing.T) {
	var kept []string
	for _, line := range strings.SplitAfter(passingOutput(), "\n") {
		if !strings.HasPrefix(line, "BenchmarkDeleteNamespace/postgres-") {
			kept = append(kept, line)
		}
	}
	out := mustParse(t, strings.Join(kept, ""))

	rows, missed, missing := Verdict(out, backends)
	if missed || !missing {
		t.Fatalf("missed %v, missing %v; want missing only", missed, missing)
	}
	if r := rowOf(rows, "DeleteNamespace", "postgres"); r.Status != StatusMissing || r.Runs != 0 {
		t.Errorf("DeleteNamespace on postgres: %+v, want status %q", r, StatusMissing)
	}
	// Not missing when postgres is not selected.
	if _, _, missing := Verdict(out, []string{"sqlite-file", "sqlite-memory"}); missing {
		t.Error("a backend that was not selected counts as missing")
	}
}

func TestVerdict_Goals(t *testing.T) {
	text := benchLine("WriteMessage", "sqlite-memory", 25_000) + // ≤ 30 µs: met
		benchLine("GetStreamMessages", "sqlite-memory", 31_000) + // ≤ 30 µs: missed
		benchLine("GetCategoryMessages/all", "sqlite-memory", 150_000) +
		benchLine("GetCategoryMessages/group", "sqlite-memory", 310_000) + // > 2×: missed
		benchLine("WriteMessage", "sqlite-file", 450_000) +
		benchLine("RawInsert", "sqlite-file", 300_000) + // 1.5×: met
		benchLine("WriteMessages", "sqlite-file", 2_000_000) + // 50,000 msg/s: met
		benchLine("WriteMessage", "postgres", 500_000) + // 2,000/s: missed
		benchLine("WriteMessage", "sqlite-file-normal", 100_000) // no RawInsert to compare with
	rows, missed, _ := Verdict(mustParse(t, text), backends)
	if missed {
		t.Error("goals decided the seed verdict")
	}
	for _, tc := range []struct{ op, backend, status, measure string }{
		{"WriteMessage", "sqlite-memory", StatusOK, "25.0 µs"},
		{"GetStreamMessages", "sqlite-memory", StatusMissed, "31.0 µs"},
		{"GetCategoryMessages/group", "sqlite-memory", StatusMissed, "2.07×"},
		{"WriteMessage", "sqlite-file", StatusOK, "1.50×"},
		{"WriteMessages", "sqlite-file", StatusOK, "50,000 msg/s"},
		{"WriteMessage", "postgres", StatusMissed, "2,000 op/s"},
		{"WriteMessage", "sqlite-file-normal", StatusMissing, "no RawInsert"},
		{"RawInsert", "sqlite-file", StatusNone, ""},
	} {
		r := rowOf(rows, tc.op, tc.backend)
		if r.GoalStatus != tc.status || r.GoalMeasure != tc.measure {
			t.Errorf("%s on %s: goal %q measured %q status %q; want %q status %q", tc.op, tc.backend, r.Goal, r.GoalMeasure, r.GoalStatus, tc.measure, tc.status)
		}
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := Median(tc.in); got != tc.want {
			t.Errorf("Median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// TestRun drives the command on saved output: its exit status is what
// scripts rely on.
func TestRun(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pass := write("pass.txt", passingOutput())
	slow := write("slow.txt", passingOutput()+strings.Repeat(benchLine("CreateNamespace", "postgres", 2e8), 4))
	failed := write("failed.txt", passingOutput()+"--- FAIL: BenchmarkGetStreamVersion/postgres-2\n    bench_test.go:9: connection refused\nFAIL\n")
	garbled := write("garbled.txt", "BenchmarkWriteMessage-2\t10\t100 ns/op\n")
	var kept []string
	for _, line := range strings.SplitAfter(passingOutput(), "\n") {
		if !strings.HasPrefix(line, "BenchmarkDeleteNamespace/postgres-") {
			kept = append(kept, line)
		}
	}
	noResult := write("noresult.txt", strings.Join(kept, ""))
	for _, tc := range []struct {
		name string
		args []string
		code int
		out  string // in standard output
	}{
		{"met", []string{"-input", pass}, 0, "WriteMessage"},
		{"met markdown", []string{"-input", pass, "-markdown"}, 0, "### PostgreSQL"},
		{"missed", []string{"-input", slow}, 1, StatusMissed},
		{"benchmark failed", []string{"-input", failed}, 2, ""},
		{"seed target without result", []string{"-input", noResult}, 2, StatusMissing},
		{"seed target of another backend without result", []string{"-input", noResult, "-backend", "sqlite-file,sqlite-memory"}, 0, "WriteMessage"},
		{"unparsable", []string{"-input", garbled}, 2, ""},
		{"no such input", []string{"-input", filepath.Join(dir, "none.txt")}, 2, ""},
		{"unknown backend", []string{"-backend", "mysql"}, 2, ""},
		{"bad count", []string{"-count", "0"}, 2, ""},
		{"bad benchtime", []string{"-benchtime", "soon"}, 2, ""},
		{"extra argument", []string{"now"}, 2, ""},
		{"unknown flag", []string{"-fast"}, 2, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tc.args, &stdout, &stderr)
			if code != tc.code {
				t.Errorf("exit status %d, want %d; stderr:\n%s", code, tc.code, stderr.String())
			}
			if !strings.Contains(stdout.String(), tc.out) {
				t.Errorf("standard output lacks %q:\n%s", tc.out, stdout.String())
			}
		})
	}
}

func TestBenchArgs(t *testing.T) {
	c, err := parseFlags([]string{"-backend", "sqlite-file, postgres", "-count", "3", "-benchtime", "2s"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(benchArgs(c), " ")
	want := "test -run ^$ -bench /^(sqlite-file|postgres)$ -count 3 -benchtime 2s -timeout 1h0m0s " + suite
	if got != want {
		t.Errorf("go %s\nwant go %s", got, want)
	}
}

func TestRun_Update(t *testing.T) {
	dir := t.TempDir()
	input := filepath.Join(dir, "out.txt")
	doc := filepath.Join(dir, "benchmarks.md")
	if err := os.WriteFile(input, []byte(passingOutput()), 0o644); err != nil {
		t.Fatal(err)
	}
	before := "# Benchmarks\n\nBy hand.\n\n" + beginMarker + "\nold tables\n" + endMarker + "\n\nAlso by hand.\n"
	if err := os.WriteFile(doc, []byte(before), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-input", input, "-update", doc}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit status %d; stderr:\n%s", code, stderr.String())
	}
	b, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	got := string(b)
	for _, want := range []string{"# Benchmarks\n\nBy hand.\n\n" + beginMarker + "\n\n### Machine", "### PostgreSQL", "| WriteMessage |", endMarker + "\n\nAlso by hand.\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("updated file lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "old tables") {
		t.Errorf("the old report is still there:\n%s", got)
	}

	// An incomplete run leaves the report as it was.
	failed := filepath.Join(dir, "failed.txt")
	if err := os.WriteFile(failed, []byte("--- FAIL: BenchmarkWriteMessage/postgres/MDB001_7A_T1-2\nFAIL\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code := run([]string{"-input", failed, "-update", doc}, &stdout, &stderr); code != 2 {
		t.Errorf("exit status %d for a failed run, want 2", code)
	}
	if b, _ := os.ReadFile(doc); string(b) != got {
		t.Errorf("a failed run changed the report to:\n%s", b)
	}

	// A file without markers is left alone, and the command fails.
	if err := os.WriteFile(doc, []byte("no markers\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code := run([]string{"-input", input, "-update", doc}, &stdout, &stderr); code != 2 {
		t.Errorf("exit status %d for a file without markers, want 2", code)
	}
	if b, _ := os.ReadFile(doc); string(b) != "no markers\n" {
		t.Errorf("file without markers changed to %q", b)
	}
}

// The scaling and wake-up goals: throughput against a base's, and
// reported metrics, several goals on one row.
func TestVerdict_ScalingAndMetricGoals(t *testing.T) {
	text := benchLine("WriteScaling/categories-w1/store", "postgres", 500_000) + // 2,000 msg/s
		benchLine("WriteScaling/categories-w1/insert", "postgres", 400_000) + // 0.8×: missed
		benchLine("WriteScaling/categories-w16/store", "postgres", 150_000) + // 3.33× w1: met
		benchLine("WriteScaling/categories-w16/insert", "postgres", 140_000) + // 0.93×: met
		benchLine("GetCategoryMessages/all", "postgres", 230_000) +
		benchLine("CategoryFloor", "postgres", 240_000) + // faster than the floor: met
		benchLine("GetStreamMessages", "postgres", 150_000) +
		benchLine("StreamFloor", "postgres", 100_000) + // slower than the floor: missed
		"BenchmarkWakeLatency/postgres/w16-2\t300\t7681039 ns/op\t3.5 e2e-p50-ms\t61.2 e2e-p99-ms\t1.2 wake-p50-ms\n" +
		"BenchmarkWakeLatency/postgres/w16-2\t300\t7681039 ns/op\t4.5 e2e-p50-ms\t70.0 e2e-p99-ms\t1.2 wake-p50-ms\n" +
		"BenchmarkWakeLatency/postgres/w16-2\t300\t7681039 ns/op\t4.0 e2e-p50-ms\t40.0 e2e-p99-ms\t1.2 wake-p50-ms\n"
	out := mustParse(t, text)
	if got := out.Result("WakeLatency/w16", "postgres").Metrics["e2e-p99-ms"]; !slices.Equal(got, []float64{61.2, 70, 40}) {
		t.Fatalf("e2e-p99-ms of the runs: %v", got)
	}
	rows, _, _ := Verdict(out, backends)
	for _, tc := range []struct{ op, status, measure string }{
		{"WriteScaling/categories-w1/store", StatusMissed, "0.80×"},
		{"WriteScaling/categories-w16/store", StatusOK, "3.33×; 0.93×"},
		{"GetCategoryMessages/all", StatusOK, "4,348 op/s; 1.04×"},
		{"GetStreamMessages", StatusMissed, "6,667 op/s; 0.67×"},
		{"WakeLatency/w16", StatusMissed, "4.00 e2e-p50-ms; 61.2 e2e-p99-ms"},
	} {
		r := rowOf(rows, tc.op, "postgres")
		if r.GoalStatus != tc.status || r.GoalMeasure != tc.measure {
			t.Errorf("%s: goal %q measured %q status %q; want %q status %q", tc.op, r.Goal, r.GoalMeasure, r.GoalStatus, tc.measure, tc.status)
		}
	}
	if r := rowOf(rows, "WriteScaling/categories-w16/store", "postgres"); r.Unit != "msg/s" || r.Rate < 6666 || r.Rate > 6667 {
		t.Errorf("throughput %v %s, want 6,667 msg/s", r.Rate, r.Unit)
	}
}
