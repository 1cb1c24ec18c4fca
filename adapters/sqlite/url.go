package sqlite

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/messagedb-go/messagedb/internal/urlparam"
	"github.com/messagedb-go/messagedb/ports"
)

// URLOpener opens the stores of sqlite: (also sqlite3:) and memory: URLs;
// package app registers it:
//
//	sqlite:DIR, sqlite://DIR     files in directory DIR (sqlite:///abs/dir is /abs/dir)
//	sqlite::memory:, memory:     in memory
//
// They take the query parameters synchronous=full|normal, busy_timeout=
// DURATION (e.g. 10s) and max_message_size=BYTES (Options). The non-zero
// Synchronous and BusyTimeout of an OpenOptions setting of type Options
// override the URL's.
type URLOpener struct{}

var _ ports.URLOpener = URLOpener{}

// Schemes returns sqlite, sqlite3 and memory.
func (URLOpener) Schemes() []string { return []string{"sqlite", "sqlite3", "memory"} }

// URLForms says how a SQLite URL is written.
func (URLOpener) URLForms() string {
	return "sqlite:DIR (files in directory DIR), sqlite::memory: or memory: (in memory)"
}

// ParseURL reads a SQLite URL.
func (URLOpener) ParseURL(raw string) (ports.OpenFunc, error) {
	opts, err := parseURL(raw)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, o ports.OpenOptions) (ports.Store, error) {
		so := opts
		for _, set := range o.Settings {
			if s, ok := set.(Options); ok {
				if s.Synchronous != "" {
					so.Synchronous = s.Synchronous
				}
				if s.BusyTimeout != 0 {
					so.BusyTimeout = s.BusyTimeout
				}
			}
		}
		if o.MaxMessageSize != 0 {
			so.MaxMessageSize = o.MaxMessageSize
		}
		so.MustExist = o.MustExist
		return Open(ctx, so)
	}, nil
}

// parseURL reads a SQLite URL into the Options it sets.
func parseURL(raw string) (Options, error) {
	var o Options
	scheme, rest, _ := strings.Cut(raw, ":")
	path, query, _ := strings.Cut(rest, "?")
	if strings.EqualFold(scheme, "memory") {
		if path != "" {
			return o, errors.New("memory: takes nothing after the colon but a query")
		}
		o.InMemory = true
	} else {
		path = strings.TrimPrefix(path, "//")
		switch path {
		case ":memory:":
			o.InMemory = true
		case "":
			return o, errors.New("no directory after sqlite:")
		default:
			o.Dir = path
		}
	}
	params, err := url.ParseQuery(query)
	if err != nil {
		return o, fmt.Errorf("malformed query: %v", err)
	}
	for key, vals := range params {
		v := vals[len(vals)-1]
		switch key {
		case "synchronous":
			switch s := Synchronous(strings.ToUpper(v)); s {
			case SynchronousFull, SynchronousNormal:
				o.Synchronous = s
			default:
				return o, fmt.Errorf("synchronous=%s (use full or normal)", v)
			}
		case "busy_timeout":
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				return o, fmt.Errorf("busy_timeout=%s (use a duration such as 5s)", v)
			}
			o.BusyTimeout = d
		case urlparam.MaxMessageSize:
			if o.MaxMessageSize, err = urlparam.ParseMaxMessageSize(v); err != nil {
				return o, err
			}
		default:
			return o, fmt.Errorf("unknown parameter %q (sqlite takes synchronous, busy_timeout and %s)", key, urlparam.MaxMessageSize)
		}
	}
	return o, nil
}
