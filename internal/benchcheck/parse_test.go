package main

import (
	"slices"
	"strings"
	"testing"
)

// canned is go test -bench output as the suite prints it: GOMAXPROCS
// suffixes, a log block, a name printed on a line of its own before its
// result, two runs, and lines to ignore.
const canned = `goos: linux
goarch: amd64
pkg: github.com/messagedb-go/messagedb/internal/benchsuite
cpu: Some CPU
BenchmarkWriteMessage/postgres/MDB001_7A_T1-2         	     961	   1338058 ns/op
BenchmarkWriteMessages/sqlite-memory-2                	     100	   1273766 ns/op	  1024 B/op	      12 allocs/op
BenchmarkGetStreamMessages/postgres/MDB001_7A_T4-2    	      20	   1590086 ns/op
--- BENCH: BenchmarkGetStreamMessages/postgres/MDB001_7A_T4-2
    main_test.go:188: read fixture on postgres: 100000 messages in 6.372s
BenchmarkGetCategoryMessages/sqlite-file/group/MDB001_7A_T5-2
    main_test.go:188: read fixture on sqlite-file: 100000 messages in 4.136s
    2000	    416733 ns/op
BenchmarkWriteMessageConcurrent/sqlite-memory/4-writers-2	   30000	     48650 ns/op
BenchmarkWriteMessage/postgres/MDB001_7A_T1-2         	     900	   1200000.5 ns/op
BenchmarkGetStreamMessages/postgres/MDB001_7A_T4-2    	      20	   1490086 ns/op
--- BENCH: BenchmarkGetStreamMessages/postgres/MDB001_7A_T4-2
    main_test.go:188: read fixture on postgres: 100000 messages in 6.372s
PASS
ok  	github.com/messagedb-go/messagedb/internal/benchsuite	18.768s
`

func TestParse(t *testing.T) {
	out, err := Parse(strings.NewReader(canned))
	if err != nil {
		t.Fatal(err)
	}
	want := []Result{
		{Name: "BenchmarkWriteMessage/postgres/MDB001_7A_T1", Op: "WriteMessage", Backend: "postgres", Seed: "MDB001_7A_T1", NsPerOp: []float64{1338058, 1200000.5}},
		{Name: "BenchmarkWriteMessages/sqlite-memory", Op: "WriteMessages", Backend: "sqlite-memory", NsPerOp: []float64{1273766}},
		{Name: "BenchmarkGetStreamMessages/postgres/MDB001_7A_T4", Op: "GetStreamMessages", Backend: "postgres", Seed: "MDB001_7A_T4", NsPerOp: []float64{1590086, 1490086}},
		{Name: "BenchmarkGetCategoryMessages/sqlite-file/group/MDB001_7A_T5", Op: "GetCategoryMessages/group", Backend: "sqlite-file", Seed: "MDB001_7A_T5", NsPerOp: []float64{416733}},
		{Name: "BenchmarkWriteMessageConcurrent/sqlite-memory/4-writers", Op: "WriteMessageConcurrent/4-writers", Backend: "sqlite-memory", NsPerOp: []float64{48650}},
	}
	if len(out.Results) != len(want) {
		t.Fatalf("got %d results, want %d: %+v", len(out.Results), len(want), out.Results)
	}
	for i, w := range want {
		g := *out.Results[i]
		if g.Name != w.Name || g.Op != w.Op || g.Backend != w.Backend || g.Seed != w.Seed || !slices.Equal(g.NsPerOp, w.NsPerOp) {
			t.Errorf("result %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
	if len(out.Failures) != 0 {
		t.Errorf("failures %q in a run that passed", out.Failures)
	}
	wantNotes := []string{"read fixture on postgres: 100000 messages in 6.372s", "read fixture on sqlite-file: 100000 messages in 4.136s"}
	if !slices.Equal(out.Notes, wantNotes) {
		t.Errorf("notes %q, want %q (each once)", out.Notes, wantNotes)
	}
	if r := out.Result("GetCategoryMessages/group", "sqlite-file"); r == nil || r.NsPerOp[0] != 416733 {
		t.Errorf("Result(GetCategoryMessages/group, sqlite-file) = %+v", r)
	}
}

func TestParse_Failures(t *testing.T) {
	for _, tc := range []struct{ name, text string }{
		{"benchmark failed", "BenchmarkWriteMessage/postgres/MDB001_7A_T1-2 \t 10\t 100 ns/op\n--- FAIL: BenchmarkDeleteNamespace/postgres-2\n    bench_test.go:12: boom\nFAIL\nexit status 1\n"},
		{"benchmark skipped", "--- SKIP: BenchmarkWriteMessage/postgres\n    pgtest.go:1: no server\nPASS\n"},
		{"package failed", "FAIL\tgithub.com/messagedb-go/messagedb/internal/benchsuite [build failed]\n"},
		{"panic", "panic: runtime error: index out of range\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := Parse(strings.NewReader(tc.text))
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Failures) == 0 {
				t.Errorf("no failure found in %q", tc.text)
			}
		})
	}
}

func TestParse_Errors(t *testing.T) {
	for _, tc := range []struct{ name, text string }{
		{"no backend", "BenchmarkWriteMessage-2 \t 10\t 100 ns/op\n"},
		{"two seed ids", "BenchmarkWriteMessage/postgres/MDB001_7A_T1/MDB001_7A_T2-2 \t 10\t 100 ns/op\n"},
		{"no ns/op", "BenchmarkWriteMessage/postgres-2 \t 10\t 100 B/op\n"},
		{"ns/op not a number", "BenchmarkWriteMessage/postgres-2 \t 10\t fast ns/op\n"},
		{"no iterations", "BenchmarkWriteMessage/postgres-2 \t ten\t 100 ns/op\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if out, err := Parse(strings.NewReader(tc.text)); err == nil {
				t.Errorf("Parse(%q) = %+v, want an error", tc.text, out.Results)
			}
		})
	}
}

func TestParseName(t *testing.T) {
	for _, tc := range []struct {
		in                string
		op, backend, seed string
	}{
		{"BenchmarkCreateNamespace/sqlite-file-normal-8", "CreateNamespace", "sqlite-file-normal", ""},
		// Without GOMAXPROCS suffix (GOMAXPROCS=1).
		{"BenchmarkCreateNamespace/sqlite-file-normal", "CreateNamespace", "sqlite-file-normal", ""},
		{"BenchmarkGetCategoryMessages/postgres/all/MDB001_7A_T5-2", "GetCategoryMessages/all", "postgres", "MDB001_7A_T5"},
	} {
		r, err := ParseName(tc.in)
		if err != nil || r.Op != tc.op || r.Backend != tc.backend || r.Seed != tc.seed {
			t.Errorf("ParseName(%q) = %q, %q, %q, %v; want %q, %q, %q", tc.in, r.Op, r.Backend, r.Seed, err, tc.op, tc.backend, tc.seed)
		}
	}
}
