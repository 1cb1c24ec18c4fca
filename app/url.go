package app

import (
	"fmt"
	"net/url"
	"strconv"
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
	// maxMessageSize is the max_message_size parameter, any backend; 0
	// when absent.
	maxMessageSize int64
}

// paramMaxMessageSize is the query parameter of every URL that sets the
// largest message a store accepts (see domain.Limits). It is taken out of a
// PostgreSQL URL before the URL goes to pgx.
const paramMaxMessageSize = "max_message_size"

// parseMaxMessageSize reads a max_message_size value: a number of bytes, 0
// for the default, negative for no limit.
func parseMaxMessageSize(v string) (int64, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s=%s (use a number of bytes, such as 4194304; -1 for no limit)", paramMaxMessageSize, v)
	}
	return n, nil
}

// takeMaxMessageSize removes max_message_size from a PostgreSQL URL's query,
// leaving every other parameter as it was written, and returns its value.
func takeMaxMessageSize(raw string) (string, int64, error) {
	base, query, ok := strings.Cut(raw, "?")
	if !ok {
		return raw, 0, nil
	}
	frag := ""
	if i := strings.IndexByte(query, '#'); i >= 0 {
		query, frag = query[:i], query[i:]
	}
	var keep []string
	var size int64
	for _, kv := range strings.Split(query, "&") {
		k, v, _ := strings.Cut(kv, "=")
		if key, err := url.QueryUnescape(k); err != nil || key != paramMaxMessageSize {
			keep = append(keep, kv)
			continue
		}
		val, err := url.QueryUnescape(v)
		if err != nil {
			return "", 0, fmt.Errorf("malformed %s", paramMaxMessageSize)
		}
		if size, err = parseMaxMessageSize(val); err != nil {
			return "", 0, err
		}
	}
	if len(keep) == 0 {
		return base + frag, size, nil
	}
	return base + "?" + strings.Join(keep, "&") + frag, size, nil
}

// parseURL parses a store URL:
//
//	sqlite:DIR, sqlite://DIR          files in DIR (sqlite:///abs/dir is /abs/dir)
//	sqlite::memory:, memory:          in memory
//	postgres://..., postgresql://...  PostgreSQL, passed to pgx as is
//
// SQLite URLs take the query parameters synchronous=full|normal and
// busy_timeout=DURATION (e.g. 10s). Every URL takes max_message_size=BYTES.
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
		pgURL, size, err := takeMaxMessageSize(raw)
		if err != nil {
			return invalid(err.Error())
		}
		t.kind, t.postgresURL, t.maxMessageSize = kindPostgres, pgURL, size
		return t, nil
	case "memory":
		path, query, _ := strings.Cut(rest, "?")
		if path != "" {
			return invalid("memory: takes nothing after the colon but a query")
		}
		t.kind = kindSQLiteMemory
		return parseSQLiteQuery(t, query, invalid)
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
	return parseSQLiteQuery(t, query, invalid)
}

// parseSQLiteQuery reads the query parameters of a SQLite URL into t.
func parseSQLiteQuery(t target, query string, invalid func(string) (target, error)) (target, error) {
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
		case paramMaxMessageSize:
			if t.maxMessageSize, err = parseMaxMessageSize(v); err != nil {
				return invalid(err.Error())
			}
		default:
			return invalid(fmt.Sprintf("unknown parameter %q (sqlite takes synchronous, busy_timeout and %s)", key, paramMaxMessageSize))
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
