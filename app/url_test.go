package app

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/messagedb-go/messagedb/adapters/postgres"
	"github.com/messagedb-go/messagedb/adapters/sqlite"
	"github.com/messagedb-go/messagedb/ports"
)

// The backends' own tests check what each URL opens; these check that
// every URL reaches its backend, and that what none accepts is refused.
func TestParseURL(t *testing.T) {
	sqliteURLs := []string{
		"sqlite:./data", "sqlite:///var/lib/app", "sqlite://./data", "SQLite:./data?synchronous=normal",
		"sqlite3:d", "sqlite::memory:", "memory:", "MEMORY:?max_message_size=-1",
	}
	// Some of these would parse as SQLite directories too: the scheme
	// alone must pick PostgreSQL.
	postgresURLs := []string{
		"postgres://u@localhost/db", "postgresql://u:p@h:5432/db?sslmode=x", "POSTGRES://u@h/db", "PostgreSQL://u@h/db?max_message_size=7",
	}
	for _, c := range []struct {
		urls    []string
		backend ports.URLOpener
	}{{sqliteURLs, sqlite.URLOpener{}}, {postgresURLs, postgres.URLOpener{}}} {
		for _, raw := range c.urls {
			if _, err := parseURL(raw); err != nil {
				t.Errorf("parseURL(%q): %v", raw, err)
			}
			scheme, _, _ := strings.Cut(raw, ":")
			if got, _ := backends.lookup(scheme); got != c.backend {
				t.Errorf("%q reaches %T, want %T", raw, got, c.backend)
			}
		}
	}
}

func TestParseURL_Invalid(t *testing.T) {
	for _, raw := range []string{
		"", "  ", "./data", "mysql://localhost/db", "sqlite:", "sqlite://", "memory:x",
		"postgres:localhost", "postgres://u:p@h:badport/db", "sqlite:d?synchronous=off",
		"sqlite:d?busy_timeout=soon", "sqlite:d?journal=wal", "sqlite:d?%zz",
		"sqlite:d?max_message_size=1MiB", "memory:?max_message_size=", "memory:x?max_message_size=1",
		"postgres://u@h/db?max_message_size=big", "postgres://u@h/db?max_message_size=%zz",
	} {
		_, err := parseURL(raw)
		if !errors.Is(err, ErrInvalidURL) {
			t.Errorf("parseURL(%q) = %v, want ErrInvalidURL", raw, err)
			continue
		}
		if !strings.HasSuffix(err.Error(), "; "+newRegistry(builtin()).forms()) {
			t.Errorf("parseURL(%q) = %v: does not end with the accepted forms", raw, err)
		}
	}
	_, err := parseURL("sqlite:d?synchronous=off")
	want := `messagedb: invalid store URL "sqlite:d?synchronous=off": synchronous=off (use full or normal); ` +
		`use sqlite:DIR (files in directory DIR), sqlite::memory: or memory: (in memory), or postgres://USER@HOST/DB (also postgresql://)`
	if err == nil || err.Error() != want {
		t.Errorf("error text %q, want %q", err, want)
	}
}

func TestParseURL_ErrorHidesPassword(t *testing.T) {
	for _, raw := range []string{"postgres:secret@host", "postgres://u:secret@h:badport/db"} {
		_, err := parseURL(raw)
		if err == nil || strings.Contains(err.Error(), "secret") {
			t.Errorf("parseURL(%q) error %v: want an error that does not show the password", raw, err)
		}
	}
}

// stubOpener owns schemes and opens nothing.
type stubOpener []string

func (s stubOpener) Schemes() []string { return s }
func (s stubOpener) URLForms() string  { return strings.Join(s, "") + ":" }
func (s stubOpener) ParseURL(string) (ports.OpenFunc, error) {
	return func(context.Context, ports.OpenOptions) (ports.Store, error) { return nil, errors.New("stub") }, nil
}

// A scheme is owned by one backend: a registration that would take one
// already taken, or that is not a scheme, registers nothing.
func TestRegistry(t *testing.T) {
	r := newRegistry(builtin())
	for _, s := range []string{"sqlite", "sqlite3", "memory", "postgres", "postgresql"} {
		if _, ok := r.lookup(strings.ToUpper(s)); !ok {
			t.Errorf("built-in scheme %s not registered", s)
		}
	}
	for _, bad := range []ports.URLOpener{nil, stubOpener{}, stubOpener{"mine", "postgres"}, stubOpener{"mine", "mine"},
		stubOpener{"Mine"}, stubOpener{"mi ne"}, stubOpener{"1x"}, postgres.URLOpener{}} {
		if err := r.register(bad); err == nil {
			t.Errorf("register(%#v): no error", bad)
		}
		if _, ok := r.lookup("mine"); ok {
			t.Fatalf("register(%#v) registered mine", bad)
		}
	}
	if err := r.register(stubOpener{"mine", "mine+x"}); err != nil {
		t.Fatal(err)
	}
	if o, ok := r.lookup("MINE+X"); !ok || o.URLForms() != "minemine+x:" {
		t.Errorf("lookup(MINE+X) = %v, %v", o, ok)
	}
	if got, want := r.forms(), "use sqlite:DIR (files in directory DIR), sqlite::memory: or memory: (in memory), "+
		"postgres://USER@HOST/DB (also postgresql://), or minemine+x:"; got != want {
		t.Errorf("forms %q, want %q", got, want)
	}
}
