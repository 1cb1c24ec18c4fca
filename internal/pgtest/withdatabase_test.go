package pgtest

import (
	"testing"

	"github.com/jackc/pgx/v5"
)

// withDatabase points every form of connection string that
// MESSAGEDB_TEST_POSTGRES_URL may hold at the new database, and pgx reads
// that database back from it.
func TestWithDatabase(t *testing.T) {
	for _, base := range []string{
		"postgres://postgres@/postgres?host=/tmp/pgtest-1&sslmode=disable",
		"postgresql://someone:secret@db.example:5433/app?sslmode=disable",
		"postgres://someone@db.example?sslmode=disable",
		"postgres://someone@db.example/app?dbname=app&sslmode=disable",
		"host=db.example user=someone dbname=app sslmode=disable",
		"host=db.example user=someone sslmode=disable",
	} {
		got, err := withDatabase(base, "pgtest_x_0a1b")
		if err != nil {
			t.Errorf("withDatabase(%q): %v", base, err)
			continue
		}
		cfg, err := pgx.ParseConfig(got)
		if err != nil {
			t.Errorf("withDatabase(%q) = %q, which pgx does not parse: %v", base, got, err)
			continue
		}
		if cfg.Database != "pgtest_x_0a1b" {
			t.Errorf("withDatabase(%q) = %q: database %q, want pgtest_x_0a1b", base, got, cfg.Database)
		}
		orig, err := pgx.ParseConfig(base)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Host != orig.Host || cfg.Port != orig.Port || cfg.User != orig.User || cfg.Password != orig.Password {
			t.Errorf("withDatabase(%q) = %q: host, port, user or password changed", base, got)
		}
	}
}
