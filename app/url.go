package app

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// EnvURL is the environment variable Open and OpenFromEnv read the store URL
// from when none is given.
const EnvURL = "MESSAGEDB_URL"

// acceptedForms is the part of every ErrInvalidURL message that says what
// would have worked.
const acceptedForms = "use sqlite:DIR (files in directory DIR), sqlite::memory: or memory: (in memory), " +
	"or postgres://USER@HOST/DB (also postgresql://)"

// Backend kinds of a parsed URL.
const (
	kindSQLiteFile   = "sqlite"
	kindSQLiteMemory = "memory"
	kindPostgres     = "postgres"
)

// target is what a store URL designates.
type target struct {
	kind string
	// dir is the data directory in SQLite file mode.
	dir string
	// postgresURL is the URL handed to pgx, unchanged.
	postgresURL string
	// SQLite parameters from the URL's query, "" / 0 when absent.
	synchronous string
	busyTimeout time.Duration
}

// parseURL parses a store URL:
//
//	sqlite:DIR, sqlite://DIR          files in DIR (sqlite:///abs/dir is /abs/dir)
//	sqlite::memory:, memory:          in memory
//	postgres://..., postgresql://...  PostgreSQL, passed to pgx as is
//
// SQLite URLs take the query parameters synchronous=full|normal and
// busy_timeout=DURATION (e.g. 10s).
func parseURL(raw string) (target, error) {
	var t target
	invalid := func(why string) (target, error) {
		return t, fmt.Errorf("%w %q: %s; %s", ErrInvalidURL, redactURL(raw), why, acceptedForms)
	}
	if strings.TrimSpace(raw) == "" {
		return invalid("empty (set " + EnvURL + " or pass a URL)")
	}
	scheme, rest, ok := strings.Cut(raw, ":")
	if !ok {
		return invalid("no scheme")
	}
	switch strings.ToLower(scheme) {
	case "postgres", "postgresql":
		if _, err := url.Parse(raw); err != nil {
			return invalid("malformed URL")
		}
		if !strings.HasPrefix(rest, "//") {
			return invalid("a PostgreSQL URL starts with postgres://")
		}
		t.kind, t.postgresURL = kindPostgres, raw
		return t, nil
	case "memory":
		if rest != "" {
			return invalid("memory: takes nothing after the colon")
		}
		t.kind = kindSQLiteMemory
		return t, nil
	case "sqlite", "sqlite3":
	default:
		return invalid(fmt.Sprintf("unknown scheme %q", scheme))
	}

	path, query, _ := strings.Cut(rest, "?")
	if strings.HasPrefix(path, "//") {
		path = path[2:]
	}
	if path == ":memory:" {
		t.kind = kindSQLiteMemory
	} else {
		if path == "" {
			return invalid("no directory after sqlite:")
		}
		t.kind, t.dir = kindSQLiteFile, path
	}
	params, err := url.ParseQuery(query)
	if err != nil {
		return invalid(fmt.Sprintf("malformed query: %v", err))
	}
	for key, vals := range params {
		v := vals[len(vals)-1]
		switch key {
		case "synchronous":
			switch strings.ToUpper(v) {
			case "FULL", "NORMAL":
				t.synchronous = strings.ToUpper(v)
			default:
				return invalid(fmt.Sprintf("synchronous=%s (use full or normal)", v))
			}
		case "busy_timeout":
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				return invalid(fmt.Sprintf("busy_timeout=%s (use a duration such as 5s)", v))
			}
			t.busyTimeout = d
		default:
			return invalid(fmt.Sprintf("unknown parameter %q (sqlite takes synchronous and busy_timeout)", key))
		}
	}
	return t, nil
}

// redactURL returns raw with any password masked, for error messages. A URL
// too malformed to tell where a password would be is cut to its scheme.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" {
		if scheme, _, ok := strings.Cut(raw, ":"); ok && strings.Contains(raw, "@") {
			return scheme + ":..."
		}
		return raw
	}
	if u.User == nil {
		return raw
	}
	return u.Redacted()
}
