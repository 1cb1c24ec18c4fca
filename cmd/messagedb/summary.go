package main

import (
	"context"
	"flag"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"strings"

	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/migrations"
)

var summaryCommand = command{
	name:    "summary",
	args:    "",
	minArgs: 0,
	maxArgs: 0,
	short:   "count the namespace's messages by category, stream and type",
	long: `
Reads every message of the namespace (in batches) and prints the number of
streams and messages of each category, the messages and version of each
stream, and the messages of each type. With --json, one object per line with
"kind" set to "namespace", "category", "stream" or "type".`,
	setup: func(fs *flag.FlagSet) runner {
		return func(ctx context.Context, c *cli, args []string) error {
			ns, err := (&reader{c: c}).namespace(ctx)
			if err != nil {
				return err
			}
			sum := newSummary()
			batch := domain.DefaultBatchSize
			next := domain.FirstGlobalPosition
			for ns != nil {
				msgs, err := ns.ReadAll(ctx, domain.CategoryOpts{Position: next, BatchSize: &batch})
				if err != nil {
					return err
				}
				if len(msgs) == 0 {
					break
				}
				for _, m := range msgs {
					sum.add(m)
				}
				next = msgs[len(msgs)-1].GlobalPosition + 1
			}
			return c.printSummary(c.namespace, sum)
		}
	},
}

type streamCount struct {
	messages int64
	version  int64
}

type summary struct {
	messages    int64
	first, last int64 // global positions
	categories  map[string]int64
	catStreams  map[string]int64
	streams     map[string]*streamCount
	types       map[string]int64
}

func newSummary() *summary {
	return &summary{categories: map[string]int64{}, catStreams: map[string]int64{},
		streams: map[string]*streamCount{}, types: map[string]int64{}}
}

func (s *summary) add(m domain.Message) {
	s.messages++
	if s.first == 0 {
		s.first = m.GlobalPosition
	}
	s.last = m.GlobalPosition
	cat := domain.Category(m.StreamName)
	s.categories[cat]++
	st := s.streams[m.StreamName]
	if st == nil {
		st = &streamCount{}
		s.streams[m.StreamName] = st
		s.catStreams[cat]++
	}
	st.messages++
	st.version = m.Position
	s.types[m.Type]++
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

func (c *cli) printSummary(nsID string, s *summary) error {
	type line struct {
		Kind                string `json:"kind"`
		Name                string `json:"name"`
		Messages            int64  `json:"messages"`
		Streams             *int64 `json:"streams,omitempty"`
		Categories          *int64 `json:"categories,omitempty"`
		Version             *int64 `json:"version,omitempty"`
		FirstGlobalPosition *int64 `json:"firstGlobalPosition,omitempty"`
		LastGlobalPosition  *int64 `json:"lastGlobalPosition,omitempty"`
	}
	if c.json {
		lines := []line{{Kind: "namespace", Name: nsID, Messages: s.messages,
			Streams: new(int64(len(s.streams))), Categories: new(int64(len(s.categories))),
			FirstGlobalPosition: new(s.first), LastGlobalPosition: new(s.last)}}
		for _, k := range sortedKeys(s.categories) {
			lines = append(lines, line{Kind: "category", Name: k, Messages: s.categories[k], Streams: new(s.catStreams[k])})
		}
		for _, k := range sortedKeys(s.streams) {
			lines = append(lines, line{Kind: "stream", Name: k, Messages: s.streams[k].messages, Version: new(s.streams[k].version)})
		}
		for _, k := range sortedKeys(s.types) {
			lines = append(lines, line{Kind: "type", Name: k, Messages: s.types[k]})
		}
		for _, l := range lines {
			if err := c.emitJSON(l); err != nil {
				return err
			}
		}
		return nil
	}
	fmt.Fprintf(c.stdout, "namespace %s: %d message(s) in %d stream(s) of %d categor%s",
		nsID, s.messages, len(s.streams), len(s.categories), plural(len(s.categories), "y", "ies"))
	if s.messages > 0 {
		fmt.Fprintf(c.stdout, ", global positions %d to %d", s.first, s.last)
	}
	fmt.Fprintln(c.stdout)
	if s.messages == 0 {
		return nil
	}
	fmt.Fprintln(c.stdout)
	t := newTable(c.stdout, "CATEGORY", "STREAMS", "MESSAGES")
	for _, k := range sortedKeys(s.categories) {
		t.row(k, s.catStreams[k], s.categories[k])
	}
	if err := t.flush(); err != nil {
		return err
	}
	fmt.Fprintln(c.stdout)
	t = newTable(c.stdout, "STREAM", "MESSAGES", "VERSION")
	for _, k := range sortedKeys(s.streams) {
		t.row(k, s.streams[k].messages, s.streams[k].version)
	}
	if err := t.flush(); err != nil {
		return err
	}
	fmt.Fprintln(c.stdout)
	t = newTable(c.stdout, "TYPE", "MESSAGES")
	for _, k := range sortedKeys(s.types) {
		t.row(k, s.types[k])
	}
	return t.flush()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

var migrateCommand = command{
	name:    "migrate",
	args:    "",
	minArgs: 0,
	maxArgs: 0,
	short:   "bring the store and every namespace up to date",
	long: `
Every command migrates what it opens; migrate does it for the whole store
at once: the registry of namespaces and each namespace's database (SQLite
file or PostgreSQL schema), for example after upgrading messagedb. It prints
the migrations each is now at. Applied migrations are recorded with a
checksum; a migration file that changed after it was applied is an error.`,
	setup: func(fs *flag.FlagSet) runner {
		return func(ctx context.Context, c *cli, args []string) error {
			s, err := c.open(ctx) // migrates the registry
			if err != nil {
				return err
			}
			dialect := migrations.SQLite
			if strings.HasPrefix(c.dbURL(), "postgres") {
				dialect = migrations.Postgres
			}
			regFiles, err := migrationNames(migrations.Metadata(dialect))
			if err != nil {
				return err
			}
			nsFiles, err := migrationNames(migrations.Namespace(dialect))
			if err != nil {
				return err
			}
			nss, err := s.ListNamespaces(ctx)
			if err != nil {
				return err
			}
			type line struct {
				Database   string   `json:"database"`
				Namespace  string   `json:"namespace,omitempty"`
				Migrations []string `json:"migrations"`
			}
			lines := []line{{Database: "registry", Migrations: regFiles}}
			for _, n := range nss {
				if _, err := s.Namespace(ctx, n.ID); err != nil { // opening migrates
					return domain.Wrapf(err, "migrate namespace %s", n.ID)
				}
				lines = append(lines, line{Database: "namespace", Namespace: n.ID, Migrations: nsFiles})
			}
			if c.json {
				for _, l := range lines {
					if err := c.emitJSON(l); err != nil {
						return err
					}
				}
				return nil
			}
			t := newTable(c.stdout, "DATABASE", "MIGRATIONS")
			t.uncut = map[int]bool{1: true}
			for _, l := range lines {
				t.row(strings.TrimSpace(l.Database+" "+l.Namespace), strings.Join(l.Migrations, ", "))
			}
			if err := t.flush(); err != nil {
				return err
			}
			_, err = fmt.Fprintf(c.stdout, "up to date: the registry and %d namespace(s)\n", len(nss))
			return err
		}
	},
}

// migrationNames lists the migrations of an embedded directory.
func migrationNames(fsys fs.FS, err error) ([]string, error) {
	if err != nil {
		return nil, err
	}
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), ".sql"); ok {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names, nil
}
