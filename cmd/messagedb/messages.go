package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/messagedb-go/messagedb/app"
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
input, up to the store's size limit (a larger input fails as soon as it
passes the limit). Empty or white-space-only DATA, given or read, is refused:
it is more likely a failed command than a message. --expected-version N
writes only if the stream's version (the position of its last message) is
N; -1 means the stream must not exist yet. A mismatch writes nothing and
exits 1 with the expected and actual versions. --id gives the message id (a
UUID): an id names one message, so writing the same message again (same
stream, type, data and metadata) is an idempotent retry that prints where
it is stored, while writing another message with a stored id fails (exit
1) naming the stored one. The namespace is created if it does not exist.`,
	setup: func(fs *flag.FlagSet) runner {
		metadata := fs.String("metadata", "", "the message's `JSON` metadata")
		expected := fs.String("expected-version", "", "the stream's required version `N` (-1: no stream yet), or \"any\" (the default)")
		id := fs.String("id", "", "message id, a `UUID` (default: a new UUIDv7)")
		return func(ctx context.Context, c *cli, args []string) error {
			stream, typ := args[0], args[1]
			msg := domain.NewMessage{Type: typ, Data: json.RawMessage("{}")}
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
			ev, err := parseExpected("write", *expected)
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
			if len(args) == 3 {
				data := []byte(args[2])
				if args[2] == "-" {
					if data, err = s.Limits().ReadData(c.stdin); err != nil {
						return domain.Wrapf(err, "data from standard input")
					}
				}
				if len(strings.TrimSpace(string(data))) == 0 {
					where := "DATA"
					if args[2] == "-" {
						where = "standard input"
					}
					return fmt.Errorf("%w: no data in %s (leave DATA out for {})", domain.ErrInvalidMessage, where)
				}
				msg.Data = data
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
			return c.printWritten(stream, []domain.NewMessage{msg}, []domain.WriteResult{res})
		}
	},
}

// printWritten prints where messages were written.
func (c *cli) printWritten(stream string, msgs []domain.NewMessage, res []domain.WriteResult) error {
	if c.json {
		for i, m := range msgs {
			err := c.emitJSON(struct {
				ID             uuid.UUID `json:"id"`
				StreamName     string    `json:"streamName"`
				Type           string    `json:"type"`
				Position       int64     `json:"position"`
				GlobalPosition int64     `json:"globalPosition"`
			}{m.ID, stream, m.Type, res[i].Position, res[i].GlobalPosition})
			if err != nil {
				return err
			}
		}
		return nil
	}
	t := newTable(c.stdout, writeColumns...)
	for i, m := range msgs {
		t.row(res[i].GlobalPosition, stream, res[i].Position, m.Type, m.ID)
	}
	return t.flush()
}

// parseExpected parses --expected-version.
func parseExpected(cmd, s string) (domain.ExpectedVersion, error) {
	if s == "" || strings.EqualFold(s, "any") {
		return domain.AnyVersion, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < domain.NoStream {
		return domain.AnyVersion, usagef("%s: --expected-version %q: use a version of -1 or more, or \"any\"", cmd, s)
	}
	return domain.ExpectVersion(v), nil
}

var streamCommand = command{
	name:    "stream",
	args:    "STREAM [--position N] [--batch N] [--follow]",
	minArgs: 1,
	maxArgs: 1,
	short:   "read a stream's messages",
	long: `
Prints the stream's messages from position --position (inclusive), at most
--batch of them (-1: all), as Message DB's get_stream_messages does. A stream
that does not exist has no messages. When there are more than --batch,
standard error says where to go on: "more: --position N". --follow prints
every message, then each new one as it is written, until interrupted.`,
	setup: func(fs *flag.FlagSet) runner {
		rf := addReadFlags(fs, 0, "stream position")
		return func(ctx context.Context, c *cli, args []string) error {
			stream := args[0]
			if err := (domain.GetOpts{Position: *rf.position, BatchSize: rf.batch}).Validate(); err != nil {
				return err
			}
			if err := rf.validate("stream"); err != nil {
				return err
			}
			if err := domain.ValidateStreamName(stream); err != nil {
				return err
			}
			return c.printRead(ctx, rf, messageRead{
				read: func(ctx context.Context, ns *app.Namespace, from, batch int64) ([]domain.Message, error) {
					return ns.Read(ctx, stream, domain.GetOpts{Position: from, BatchSize: &batch})
				},
				next:     func(m domain.Message) int64 { return m.Position + 1 },
				category: domain.Category(stream),
			})
		}
	},
}

// memberFlag is --member: a consumer group member, unset by default.
type memberFlag struct {
	value int64
	set   bool
}

func (m *memberFlag) String() string {
	if m == nil || !m.set {
		return ""
	}
	return strconv.FormatInt(m.value, 10)
}

func (m *memberFlag) Set(s string) error {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return errors.New("not a number")
	}
	m.value, m.set = v, true
	return nil
}

var categoryCommand = command{
	name:    "category",
	args:    "CATEGORY [--position N] [--batch N] [--member M --size S] [--correlation CATEGORY] [--follow]",
	minArgs: 1,
	maxArgs: 1,
	short:   "read a category's messages in global order",
	long: `
Prints the messages of every stream in the category from global position
--position (inclusive), at most --batch of them (-1: all), as Message DB's
get_category_messages does. --member M --size S keep the streams of member M
of a consumer group of S; --correlation keeps the messages whose metadata's
correlationStreamName is in that category. When there are more than
--batch, standard error says where to go on: "more: --position N".
--follow prints every message, then each new one as it is written, until
interrupted.`,
	setup: func(fs *flag.FlagSet) runner {
		rf := addReadFlags(fs, domain.FirstGlobalPosition, "global position")
		member := &memberFlag{}
		fs.Var(member, "member", "consumer group member `M`, from 0 to size-1 (with --size)")
		size := fs.Int64("size", 0, "consumer group size `S` (with --member)")
		correlation := fs.String("correlation", "", "keep messages correlated with this `CATEGORY`")
		return func(ctx context.Context, c *cli, args []string) error {
			cat := args[0]
			opts := domain.CategoryOpts{Position: *rf.position, BatchSize: rf.batch, Correlation: *correlation}
			switch {
			case member.set && *size == 0:
				return usagef("category: --member needs --size")
			case !member.set && *size != 0:
				return usagef("category: --size needs --member")
			case member.set:
				opts.ConsumerGroup = &domain.ConsumerGroup{Member: member.value, Size: *size}
			}
			if err := opts.Validate(); err != nil {
				return err
			}
			if err := rf.validate("category"); err != nil {
				return err
			}
			if err := domain.ValidateCategory(cat); err != nil {
				return err
			}
			return c.printRead(ctx, rf, messageRead{
				read: func(ctx context.Context, ns *app.Namespace, from, batch int64) ([]domain.Message, error) {
					o := opts
					o.Position, o.BatchSize = from, &batch
					return ns.ReadCategory(ctx, cat, o)
				},
				next:     func(m domain.Message) int64 { return m.GlobalPosition + 1 },
				category: cat,
			})
		}
	},
}

var allCommand = command{
	name:    "all",
	args:    "[--position N] [--batch N] [--follow]",
	minArgs: 0,
	maxArgs: 0,
	short:   "read the whole namespace in global order",
	long: `
Prints the messages of every stream of the namespace from global position
--position (inclusive), at most --batch of them (-1: all). When there are
more than --batch, standard error says where to go on: "more: --position
N". --follow prints every message, then each new one as it is written (read
again every --poll: no store wakes readers of every category), until
interrupted.`,
	setup: func(fs *flag.FlagSet) runner {
		rf := addReadFlags(fs, domain.FirstGlobalPosition, "global position")
		return func(ctx context.Context, c *cli, args []string) error {
			if err := (domain.AllOpts{Position: *rf.position, BatchSize: rf.batch}).Validate(); err != nil {
				return err
			}
			if err := rf.validate("all"); err != nil {
				return err
			}
			return c.printRead(ctx, rf, messageRead{
				read: func(ctx context.Context, ns *app.Namespace, from, batch int64) ([]domain.Message, error) {
					return ns.ReadAll(ctx, domain.AllOpts{Position: from, BatchSize: &batch})
				},
				next: func(m domain.Message) int64 { return m.GlobalPosition + 1 },
			})
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
		typ := fs.String("type", "", "the last message of type `T`")
		return func(ctx context.Context, c *cli, args []string) error {
			if err := domain.ValidateStreamName(args[0]); err != nil {
				return err
			}
			if err := domain.ValidateTypeFilter(*typ); err != nil {
				return err
			}
			ns, err := (&reader{c: c}).namespace(ctx)
			if err != nil {
				return err
			}
			if ns == nil {
				return domain.StreamNotFound(args[0], *typ)
			}
			msg, err := ns.Last(ctx, args[0], *typ)
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
			ns, err := (&reader{c: c}).namespace(ctx)
			if err != nil {
				return err
			}
			v := domain.NoStream
			if ns != nil {
				if v, err = ns.Version(ctx, args[0]); err != nil {
					return err
				}
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
