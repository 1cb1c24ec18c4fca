package main

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/messagedb-go/messagedb/app"
	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/ports"
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
				msgs, err := ns.ReadAll(ctx, domain.AllOpts{Position: next, BatchSize: &batch})
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
file or PostgreSQL schema), for example after upgrading messagedb. For each
database it prints the migrations its schema_migrations table held before
(for the registry: before this command opened the store, which migrates it)
and those it holds after. Applied migrations are recorded with a checksum;
a migration file that changed after it was applied is an error. With
--json, one object per database: "database" ("registry" or "namespace"),
"namespace", "before" and "migrations" (after).`,
	setup: func(fs *flag.FlagSet) runner {
		return func(ctx context.Context, c *cli, args []string) error {
			s, err := c.open(ctx) // migrates the registry
			if err != nil {
				return err
			}
			m, ok := s.Backend().(ports.Migrator)
			if !ok {
				return domain.Wrapf(app.ErrUnsupported, "migrate: the %s backend records no migrations", s.Capabilities().System)
			}
			nss, err := s.ListNamespaces(ctx)
			if err != nil {
				return err
			}
			type line struct {
				Database   string   `json:"database"`
				Namespace  string   `json:"namespace,omitempty"`
				Before     []string `json:"before"`
				Migrations []string `json:"migrations"`
			}
			var lines []line
			applied := 0
			add := func(database, id string) error {
				before, after, err := m.Migrate(ctx, id)
				if err != nil {
					return err
				}
				l := line{Database: database, Namespace: id, Before: versions(before), Migrations: versions(after)}
				applied += len(l.Migrations) - len(l.Before)
				lines = append(lines, l)
				return nil
			}
			if err := add("registry", ""); err != nil {
				return domain.Wrapf(err, "migrate the registry")
			}
			for _, n := range nss {
				if err := add("namespace", n.ID); err != nil {
					return domain.Wrapf(err, "migrate namespace %s", n.ID)
				}
			}
			if c.json {
				for _, l := range lines {
					if err := c.emitJSON(l); err != nil {
						return err
					}
				}
				return nil
			}
			t := newTable(c.stdout, "DATABASE", "BEFORE", "AFTER")
			t.uncut = map[int]bool{1: true, 2: true}
			for _, l := range lines {
				t.row(strings.TrimSpace(l.Database+" "+l.Namespace), listOrNone(l.Before), listOrNone(l.Migrations))
			}
			if err := t.flush(); err != nil {
				return err
			}
			_, err = fmt.Fprintf(c.stdout, "up to date: the registry and %d namespace(s); %d %s applied\n",
				len(nss), applied, plural(applied, "migration", "migrations"))
			return err
		}
	},
}

// versions returns the versions of migrations, never nil.
func versions(ms []ports.Migration) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Version
	}
	return out
}

// listOrNone joins names, or says there are none.
func listOrNone(names []string) string {
	if len(names) == 0 {
		return "(none)"
	}
	return strings.Join(names, ", ")
}
