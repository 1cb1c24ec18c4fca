package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/google/uuid"

	"github.com/messagedb-go/messagedb/domain"
)

var writeBatchCommand = command{
	name:    "write-batch",
	args:    "STREAM [--expected-version N]",
	minArgs: 1,
	maxArgs: 1,
	short:   "write the messages on standard input to a stream, all or nothing",
	long: `
Reads one message per line of standard input, as JSON objects (newline-
delimited JSON):

  {"type": "Deposited", "data": {"amount": 5}}
  {"type": "Withdrawn", "data": {"amount": 2}, "metadata": {"by": "ada"}, "id": "0196…"}

"type" is required; "data" defaults to {}, "metadata" to none, "id" to a new
UUIDv7. Blank lines are skipped. The messages are written to STREAM at
consecutive positions in one write, all or nothing: --expected-version N is
checked once, before the first. A line that is not such an object, or holds
a message the store refuses, fails with its line number and nothing is
written. Writing the same batch again with the same ids is an idempotent
retry. The namespace is created if it does not exist.`,
	setup: func(fs *flag.FlagSet) runner {
		expected := fs.String("expected-version", "", "the stream's required version `N` before the first message (-1: no stream yet), or \"any\" (the default)")
		return func(ctx context.Context, c *cli, args []string) error {
			stream := args[0]
			ev, err := parseExpected("write-batch", *expected)
			if err != nil {
				return err
			}
			if err := domain.ValidateStreamName(stream); err != nil {
				return err
			}
			s, err := c.open(ctx)
			if err != nil {
				return err
			}
			msgs, lines, err := readBatch(c.stdin, s.Limits())
			if err != nil {
				return err
			}
			if _, err := s.Limits().PrepareWrite(stream, msgs, ev); err != nil {
				return err
			}
			ns, err := c.ensured(ctx)
			if err != nil {
				return err
			}
			res, err := ns.WriteBatch(ctx, stream, msgs, ev)
			var dup *domain.DuplicateMessageIDError
			if errors.As(err, &dup) {
				return domain.Wrapf(err, "line %d", lines[dup.Index])
			}
			if err != nil {
				return err
			}
			return c.printWritten(stream, msgs, res)
		}
	},
}

// batchLine is one line of write-batch's input.
type batchLine struct {
	Type     string          `json:"type"`
	Data     json.RawMessage `json:"data"`
	Metadata json.RawMessage `json:"metadata"`
	ID       string          `json:"id"`
}

// readBatch reads the messages of write-batch, one JSON object per line,
// prepared with the store's limits, and the line number of each. A line is
// read only up to what a message within the limits can take, so that a huge
// line fails as soon as it passes it; nothing is written on error.
func readBatch(r io.Reader, limits domain.Limits) ([]domain.NewMessage, []int, error) {
	maxLine := int64(-1)
	if l := limits.MessageSizeLimit(); l >= 0 {
		// Escapes (\u0041 is six bytes for one) and the line's own keys
		// take room beyond the message's canonical size.
		maxLine = 6*l + 64<<10
	}
	in := bufio.NewReaderSize(r, 64<<10)
	var msgs []domain.NewMessage
	var lines []int
	seen := map[uuid.UUID]int{}
	for n := 1; ; n++ {
		line, err := readLine(in, maxLine)
		if errors.Is(err, errLineTooLong) {
			return nil, nil, domain.Wrapf(&domain.MessageTooLargeError{Size: maxLine + 1, Limit: limits.MessageSizeLimit()},
				"line %d (longer than %d bytes)", n, maxLine)
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, nil, fmt.Errorf("messagedb: read standard input: %w", err)
		}
		if len(bytes.TrimSpace(line)) > 0 {
			m, perr := parseBatchLine(line, limits)
			if perr != nil {
				return nil, nil, domain.Wrapf(perr, "line %d", n)
			}
			if first, dup := seen[m.ID]; dup {
				return nil, nil, fmt.Errorf("%w: line %d: id %s is given on line %d too", domain.ErrInvalidMessage, n, m.ID, first)
			}
			seen[m.ID] = n
			msgs = append(msgs, m)
			lines = append(lines, n)
		}
		if err != nil {
			break
		}
	}
	if len(msgs) == 0 {
		return nil, nil, fmt.Errorf("%w: no messages on standard input (one JSON object per line)", domain.ErrInvalidMessage)
	}
	return msgs, lines, nil
}

var errLineTooLong = errors.New("line too long")

// readLine reads one line without its newline; at the end of the input
// the error is io.EOF (with the last line, if it has no newline). A line
// longer than max bytes (max < 0: no limit) is errLineTooLong, and no more
// of it is read.
func readLine(in *bufio.Reader, max int64) ([]byte, error) {
	var line []byte
	for {
		chunk, err := in.ReadSlice('\n')
		line = append(line, chunk...)
		if max >= 0 && int64(len(line)) > max+1 {
			return nil, errLineTooLong
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err == nil {
			return bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r")), nil
		}
		return line, err
	}
}

// parseBatchLine reads one message from its line and prepares it.
func parseBatchLine(line []byte, limits domain.Limits) (domain.NewMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	var l batchLine
	if err := dec.Decode(&l); err != nil {
		return domain.NewMessage{}, fmt.Errorf("%w: not a message object (%v); write {\"type\": ..., \"data\": ...}", domain.ErrInvalidMessage, err)
	}
	if dec.More() {
		return domain.NewMessage{}, fmt.Errorf("%w: more than one JSON value on the line", domain.ErrInvalidMessage)
	}
	m := domain.NewMessage{Type: l.Type, Data: l.Data}
	if !bytes.Equal(bytes.TrimSpace(l.Metadata), []byte("null")) {
		m.Metadata = l.Metadata
	}
	if l.ID != "" {
		id, err := uuid.Parse(l.ID)
		if err != nil {
			return domain.NewMessage{}, fmt.Errorf("%w: id %q is not a UUID", domain.ErrInvalidMessage, l.ID)
		}
		m.ID = id
	}
	return limits.Prepare(m)
}
