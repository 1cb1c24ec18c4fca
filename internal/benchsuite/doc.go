// Package benchsuite holds messagedb's shared benchmarks: every operation
// measured the same way on every backend, PostgreSQL (adapters/postgres, on
// a throwaway cluster from internal/pgtest or MESSAGEDB_TEST_POSTGRES_URL,
// fsync on), SQLite in files (adapters/sqlite, synchronous FULL, the default,
// and NORMAL for writes) and SQLite in memory. The benchmarks are written
// once against ports.Store and ports.MessageStore.
//
// Run them with
//
//	go test -run '^$' -bench . -count 5 ./internal/benchsuite
//
// or, to compare the medians with messagedb's performance targets, with
// go run ./internal/benchcheck (see that command).
//
// # Names
//
// A benchmark's name is
//
//	Benchmark<Operation>/<backend>[/<variant>][/<seed id>]
//
// where backend is postgres, sqlite-file, sqlite-file-normal or
// sqlite-memory, variant tells apart two ways of measuring one operation
// (GetCategoryMessages "all" and "group"), and the seed id, when there is
// one, names the scenario the benchmark stands for, e.g.
// BenchmarkWriteMessage/postgres/MDB001_7A_T1. The backend comes first so
// that -bench '/^postgres$' selects one backend. No element ends in "-" and
// digits, so the "-N" (GOMAXPROCS) that go test appends can be removed
// without ambiguity.
//
// # What is measured
//
// Writes go to a fresh namespace per benchmark, one connection on
// PostgreSQL. Reads go to a fixture: a namespace whose category "bench"
// holds FixtureSize messages, FixtureStreams streams of equal length
// interleaved ten messages at a time (see FixtureMessages). It is imported
// (ports.Importer) once per backend per test binary, so only runs that
// include read benchmarks pay for it, and `go test ./...` never builds it.
//
// Benchmarks assert only that operations succeed and return what they
// should; they assert nothing about time.
package benchsuite
