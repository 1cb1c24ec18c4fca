package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/messagedb-go/messagedb/domain"
)

var writeCommand = command{
	name:    "write",
	args:    "STREAM TYPE [DATA] [--metadata JSON] [--expected-version N] [--id UUID]",
	minArgs: 2,
	maxArgs: 3,
	short:   "write a message to a stream",
	long: `
DATA is the message's JSON body, {} when absent; "-" reads it from standard
input. --expected-version N writes only if the stream's version (the position
of its last message) is N; -1 means the stream must not exist yet. A
mismatch writes nothing and exits 1 with the expected and actual versions.
--id gives the message id (a UUID); writing the same id to the same stream
with the same type again is an idempotent retry. The namespace is created if
it does not exist.`,
	setup: func(fs *flag.FlagSet) runner {
		metadata := fs.String("metadata", "", "the message's JSON metadata")
		expected := fs.String("expected-version", "", "the stream's required version: a number (-1: no stream yet), or \"any\" (default)")
		id := fs.String("id", "", "message id, a UUID (default: a new UUIDv7)")
		return func(ctx context.Context, c *cli, args []string) error {
			stream, typ := args[0], args[1]
			msg := domain.NewMessage{Type: typ, Data: json.RawMessage("{}")}
			if len(args) == 3 {
				data := []byte(args[2])
				if args[2] == "-" {
					var err error
					if data, err = io.ReadAll(c.stdin); err != nil {
						return fmt.Errorf("read data from standard input: %w", err)
					}
				}
				msg.Data = data
			}
			if *metadata != "" {
				msg.Metadata = json.RawMessage(*metadata)
			}
			if *id != "" {
				u, err := uuid.Parse(*id)
				if err != nil {
					return usagef("write: --id %q is not a UUID", *id)
				}
				msg.ID = u
			}
			ev, err := parseExpected(*expected)
			if err != nil {
				return err
			}
			// Check the write, with the store's limits, before creating
			// the namespace for it; the prepared message carries the id
			// that is printed.
			s, err := c.open(ctx)
			if err != nil {
				return err
			}
			prepared, err := s.Limits().PrepareWrite(stream, []domain.NewMessage{msg}, ev)
			if err != nil {
				return err
			}
			msg = prepared[0]
			ns, err := c.ensured(ctx)
			if err != nil {
				return err
			}
			res, err := ns.Write(ctx, stream, msg, ev)
			if err != nil {
				return err
			}
			if c.json {
				return c.emitJSON(struct {
					ID             uuid.UUID `json:"id"`
					StreamName     string    `json:"streamName"`
					Type           string    `json:"type"`
					Position       int64     `json:"position"`
					GlobalPosition int64     `json:"globalPosition"`
				}{msg.ID, stream, typ, res.Position, res.GlobalPosition})
			}
			t := newTable(c.stdout, "STREAM", "TYPE", "POSITION", "GLOBAL", "ID")
			t.row(stream, typ, res.Position, res.GlobalPosition, msg.ID)
			return t.flush()
		}
	},
}

// parseExpected parses --expected-version.
func parseExpected(s string) (domain.ExpectedVersion, error) {
	if s == "" || strings.EqualFold(s, "any") {
		return domain.AnyVersion, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < domain.NoStream {
		return domain.AnyVersion, usagef("write: --expected-version %q: use a version of -1 or more, or \"any\"", s)
	}
	return domain.ExpectVersion(v), nil
}

var streamCommand = command{
	name:    "stream",
	args:    "STREAM [--position N] [--batch N]",
	minArgs: 1,
	maxArgs: 1,
	short:   "read a stream's messages",
	long: `
Prints the stream's messages from position --position (inclusive), at most
--batch of them (-1: all), as Message DB's get_stream_messages does. A stream
that does not exist has no messages.`,
	setup: func(fs *flag.FlagSet) runner {
		position := fs.Int64("position", 0, "first stream position to print")
		batch := fs.Int64("batch", domain.DefaultBatchSize, "most messages to print; -1 for all")
		return func(ctx context.Context, c *cli, args []string) error {
			opts := domain.GetOpts{Position: *position, BatchSize: batch}
			if err := opts.Validate(); err != nil {
				return err
			}
			if err := domain.ValidateStreamName(args[0]); err != nil {
				return err
			}
			ns, err := c.existing(ctx)
			if err != nil {
				return err
			}
			msgs, err := ns.Read(ctx, args[0], opts)
			if err != nil {
				return err
			}
			return c.printMessages(msgs)
		}
	},
}

var categoryCommand = command{
	name:    "category",
	args:    "CATEGORY [--position N] [--batch N] [--member M --size S] [--correlation CATEGORY]",
	minArgs: 1,
	maxArgs: 1,
	short:   "read a category's messages in global order",
	long: `
Prints the messages of every stream in the category from global position
--position (inclusive), at most --batch of them (-1: all), as Message DB's
get_category_messages does. --member M --size S keep the streams of member M
of a consumer group of S; --correlation keeps the messages whose metadata's
correlationStreamName is in that category.`,
	setup: func(fs *flag.FlagSet) runner {
		position := fs.Int64("position", domain.FirstGlobalPosition, "first global position to print")
		batch := fs.Int64("batch", domain.DefaultBatchSize, "most messages to print; -1 for all")
		member := fs.Int64("member", -1, "consumer group member, from 0 to size-1 (with --size)")
		size := fs.Int64("size", 0, "consumer group size (with --member)")
		correlation := fs.String("correlation", "", "keep messages correlated with this category")
		return func(ctx context.Context, c *cli, args []string) error {
			opts := domain.CategoryOpts{Position: *position, BatchSize: batch, Correlation: *correlation}
			switch {
			case *member >= 0 && *size == 0:
				return usagef("category: --member needs --size")
			case *member < 0 && *size != 0:
				return usagef("category: --size needs --member")
			case *size != 0:
				opts.ConsumerGroup = &domain.ConsumerGroup{Member: *member, Size: *size}
			}
			if err := opts.Validate(); err != nil {
				return err
			}
			if err := domain.ValidateCategory(args[0]); err != nil {
				return err
			}
			ns, err := c.existing(ctx)
			if err != nil {
				return err
			}
			msgs, err := ns.ReadCategory(ctx, args[0], opts)
			if err != nil {
				return err
			}
			return c.printMessages(msgs)
		}
	},
}

var lastCommand = command{
	name:    "last",
	args:    "STREAM [--type T]",
	minArgs: 1,
	maxArgs: 1,
	short:   "print a stream's last message (of a type)",
	long: `
Prints the message with the highest position in the stream, or the last of
type T. A stream without one exits 1.`,
	setup: func(fs *flag.FlagSet) runner {
		typ := fs.String("type", "", "the last message of this type")
		return func(ctx context.Context, c *cli, args []string) error {
			if err := domain.ValidateStreamName(args[0]); err != nil {
				return err
			}
			ns, err := c.existing(ctx)
			if err != nil {
				return err
			}
			msg, err := ns.Last(ctx, args[0], *typ)
			if errors.Is(err, domain.ErrStreamNotFound) {
				if *typ != "" {
					return fmt.Errorf("stream %s has no message of type %s", args[0], *typ)
				}
				return fmt.Errorf("stream %s has no message", args[0])
			}
			if err != nil {
				return err
			}
			return c.printMessages([]domain.Message{msg})
		}
	},
}

var versionCommand = command{
	name:    "version",
	args:    "[STREAM]",
	minArgs: 0,
	maxArgs: 1,
	short:   "print a stream's version, or the program's",
	long: `
With a stream, prints its version: the position of its last message, -1 when
it has none (the expected version of the next write). Without one, prints
the version of this program.`,
	setup: func(fs *flag.FlagSet) runner {
		return func(ctx context.Context, c *cli, args []string) error {
			if len(args) == 0 {
				if c.json {
					return c.emitJSON(map[string]string{"version": programVersion()})
				}
				_, err := fmt.Fprintf(c.stdout, "messagedb %s\n", programVersion())
				return err
			}
			if err := domain.ValidateStreamName(args[0]); err != nil {
				return err
			}
			ns, err := c.existing(ctx)
			if err != nil {
				return err
			}
			v, err := ns.Version(ctx, args[0])
			if err != nil {
				return err
			}
			if c.json {
				return c.emitJSON(struct {
					StreamName string `json:"streamName"`
					Version    int64  `json:"version"`
				}{args[0], v})
			}
			_, err = fmt.Fprintln(c.stdout, v)
			return err
		}
	},
}
