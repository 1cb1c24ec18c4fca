package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/messagedb-go/messagedb/domain"
)

// timeFormat is how tables show times (always UTC).
const timeFormat = "2006-01-02T15:04:05.000Z"

// emitJSON writes v as one line of JSON.
func (c *cli) emitJSON(v any) error {
	enc := json.NewEncoder(c.stdout)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// table writes aligned columns.
type table struct {
	tw *tabwriter.Writer
}

func newTable(w io.Writer, header ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)}
	if len(header) > 0 {
		t.row(toAny(header)...)
	}
	return t
}

// cellSpaces turns the tabs and newlines of a cell, which would break the
// alignment, into spaces.
var cellSpaces = strings.NewReplacer("\t", " ", "\n", " ", "\r", " ")

func (t *table) row(cells ...any) {
	parts := make([]string, len(cells))
	for i, c := range cells {
		parts[i] = cellSpaces.Replace(fmt.Sprint(c))
	}
	fmt.Fprintln(t.tw, strings.Join(parts, "\t"))
}

func (t *table) flush() error { return t.tw.Flush() }

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(timeFormat)
}

// printMessages prints messages as a table, or one JSON object each.
func (c *cli) printMessages(msgs []domain.Message) error {
	if c.json {
		for _, m := range msgs {
			if err := c.emitJSON(m); err != nil {
				return err
			}
		}
		return nil
	}
	if len(msgs) == 0 {
		_, err := fmt.Fprintln(c.stdout, "(no messages)")
		return err
	}
	t := newTable(c.stdout, "GLOBAL", "STREAM", "POSITION", "TYPE", "TIME", "DATA", "METADATA")
	for _, m := range msgs {
		meta := string(m.Metadata)
		if meta == "" {
			meta = "-"
		}
		t.row(m.GlobalPosition, m.StreamName, m.Position, m.Type, formatTime(m.Time), string(m.Data), meta)
	}
	return t.flush()
}

// printNamespaces prints namespaces as a table, or one JSON object each.
func (c *cli) printNamespaces(nss []domain.Namespace) error {
	if c.json {
		for _, n := range nss {
			n.TokenHash = "" // a credential's hash is not for terminals and logs
			if err := c.emitJSON(n); err != nil {
				return err
			}
		}
		return nil
	}
	if len(nss) == 0 {
		_, err := fmt.Fprintln(c.stdout, "(no namespaces)")
		return err
	}
	t := newTable(c.stdout, "ID", "CREATED", "DESCRIPTION")
	for _, n := range nss {
		t.row(n.ID, formatTime(n.CreatedAt), n.Description)
	}
	return t.flush()
}
