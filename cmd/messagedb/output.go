package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/messagedb-go/messagedb/domain"
)

// timeFormat is how tables show times (always UTC).
const timeFormat = "2006-01-02T15:04:05.000Z"

// maxCell is the most characters a table cell shows; a longer value is cut
// and ends with "…". Tables are for people: --json prints values whole.
const maxCell = 100

// emitJSON writes v as one line of JSON.
func (c *cli) emitJSON(v any) error {
	return writeJSON(c.stdout, v)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// table writes aligned columns. Rows are buffered until flush, which pads
// each column to its widest cell so far: a table flushed several times (a
// read that follows a category) keeps its columns as wide as they have been,
// growing when a wider cell comes. Cells show at most maxCell characters,
// so no row is wider than that many per column.
type table struct {
	w      io.Writer
	header []string
	widths []int
	rows   [][]string
	// uncut marks columns shown whole: the last column pads nothing.
	uncut map[int]bool
}

func newTable(w io.Writer, header ...string) *table {
	t := &table{w: w, header: header, widths: make([]int, len(header))}
	t.measure(header)
	return t
}

// cellSpaces turns the tabs and newlines of a cell, which would break the
// alignment, into spaces.
var cellSpaces = strings.NewReplacer("\t", " ", "\n", " ", "\r", " ")

// cut returns s on one line, cut to max characters.
func cut(s string, max int) string {
	s = cellSpaces.Replace(s)
	if max <= 0 || utf8.RuneCountInString(s) <= max {
		return s
	}
	n := 0
	for i := range s {
		if n == max-1 {
			return s[:i] + "…"
		}
		n++
	}
	return s
}

func (t *table) row(cells ...any) {
	parts := make([]string, len(cells))
	for i, c := range cells {
		limit := maxCell
		if t.uncut[i] {
			limit = 0
		}
		parts[i] = cut(fmt.Sprint(c), limit)
	}
	t.measure(parts)
	t.rows = append(t.rows, parts)
}

func (t *table) measure(cells []string) {
	for i, c := range cells {
		if i < len(t.widths) {
			t.widths[i] = max(t.widths[i], utf8.RuneCountInString(c))
		}
	}
}

// flush writes the rows buffered since the last flush, after the header
// the first time there is any.
func (t *table) flush() error {
	if len(t.rows) == 0 {
		return nil
	}
	var b strings.Builder
	if t.header != nil {
		t.line(&b, t.header)
		t.header = nil
	}
	for _, r := range t.rows {
		t.line(&b, r)
	}
	t.rows = t.rows[:0]
	_, err := io.WriteString(t.w, b.String())
	return err
}

func (t *table) line(b *strings.Builder, cells []string) {
	for i, c := range cells {
		b.WriteString(c)
		if i == len(cells)-1 {
			break
		}
		b.WriteString(strings.Repeat(" ", t.widths[i]-utf8.RuneCountInString(c)+2))
	}
	b.WriteByte('\n')
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(timeFormat)
}

// Column headers. Messages and write results name their columns alike.
var (
	messageColumns = []string{"GLOBAL", "STREAM", "POSITION", "TYPE", "TIME", "DATA", "METADATA"}
	writeColumns   = []string{"GLOBAL", "STREAM", "POSITION", "TYPE", "ID"}
)

// messagePrinter prints messages as a table, or one JSON object each,
// possibly in several batches.
type messagePrinter struct {
	c       *cli
	t       *table
	printed int
}

func (c *cli) newMessagePrinter() *messagePrinter {
	return &messagePrinter{c: c, t: newTable(c.stdout, messageColumns...)}
}

func (p *messagePrinter) print(msgs []domain.Message) error {
	p.printed += len(msgs)
	if p.c.json {
		for _, m := range msgs {
			if err := p.c.emitJSON(m); err != nil {
				return err
			}
		}
		return nil
	}
	for _, m := range msgs {
		meta := string(m.Metadata)
		if meta == "" {
			meta = "-"
		}
		p.t.row(m.GlobalPosition, m.StreamName, m.Position, m.Type, formatTime(m.Time), string(m.Data), meta)
	}
	return p.t.flush()
}

// done tells a person reading a table that there was nothing to print, on
// stderr: stdout holds only messages.
func (p *messagePrinter) done() {
	if p.printed == 0 && !p.c.json {
		fmt.Fprintln(p.c.stderr, "(no messages)")
	}
}

// printMessages prints one batch of messages.
func (c *cli) printMessages(msgs []domain.Message) error {
	p := c.newMessagePrinter()
	if err := p.print(msgs); err != nil {
		return err
	}
	p.done()
	return nil
}

// printNamespaces prints namespaces as a table, or one JSON object each.
func (c *cli) printNamespaces(nss []domain.Namespace) error {
	if c.json {
		for _, n := range nss {
			if err := c.emitJSON(n); err != nil {
				return err
			}
		}
		return nil
	}
	if len(nss) == 0 {
		_, err := fmt.Fprintln(c.stderr, "(no namespaces)")
		return err
	}
	t := newTable(c.stdout, "ID", "CREATED", "DESCRIPTION")
	for _, n := range nss {
		t.row(n.ID, formatTime(n.CreatedAt), n.Description)
	}
	return t.flush()
}
