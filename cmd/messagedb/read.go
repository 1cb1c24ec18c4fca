package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"time"

	"github.com/messagedb-go/messagedb/app"
	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/ports"
)

// defaultPoll is how often a read with --follow reads again when no wake-up
// comes.
const defaultPoll = 500 * time.Millisecond

// reader resolves the namespace a read command reads. The default
// namespace is created by the first write: before it, reads of it see an
// empty namespace, as they would once it exists. Another namespace must
// exist.
type reader struct {
	c  *cli
	ns *app.Namespace
}

// namespace returns the namespace, or nil while the default namespace does
// not exist yet.
func (r *reader) namespace(ctx context.Context) (*app.Namespace, error) {
	if r.ns != nil {
		return r.ns, nil
	}
	s, err := r.c.openExisting(ctx)
	if err != nil {
		return nil, err
	}
	ns, err := s.Namespace(ctx, r.c.namespace)
	if errors.Is(err, domain.ErrNamespaceNotFound) && r.c.namespace == defaultNamespace {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	r.ns = ns
	return ns, nil
}

// readFlags are the flags every message read takes.
type readFlags struct {
	position *int64
	batch    *int64
	follow   *bool
	poll     *time.Duration
}

func addReadFlags(fs *flag.FlagSet, first int64, what string) readFlags {
	return readFlags{
		position: fs.Int64("position", first, "`N`, the first "+what+" to print"),
		batch:    fs.Int64("batch", domain.DefaultBatchSize, "`N`, the most messages to print (-1: all); with --follow, messages per read"),
		follow:   fs.Bool("follow", false, "after what exists, print each new message as it is written, until interrupted (Ctrl-C)"),
		poll:     fs.Duration("poll", defaultPoll, "with --follow, how long to wait for a wake-up before reading again (a `DURATION`: 500ms, 2s)"),
	}
}

// validate checks the flags that domain options do not.
func (f readFlags) validate(name string) error {
	if *f.poll <= 0 {
		return usagef("%s: --poll must be above 0", name)
	}
	return nil
}

// messageRead is one kind of message read: of a stream, a category or the
// whole namespace.
type messageRead struct {
	// read returns at most batch messages (domain.Unlimited: all) from
	// position from.
	read func(ctx context.Context, ns *app.Namespace, from, batch int64) ([]domain.Message, error)
	// next is the position that follows m.
	next func(m domain.Message) int64
	// category is watched for wake-ups with --follow; "" polls only.
	category string
}

// printRead prints what the read finds from the --position. Without
// --follow it reads once, at most --batch messages; when there are more,
// it says on stderr how to go on ("more: --position N"), so that stdout
// holds only messages. With --follow it prints every message there is, then
// each new one as it is written, until ctx ends (Ctrl-C), which is a
// success.
func (c *cli) printRead(ctx context.Context, f readFlags, mr messageRead) error {
	r := &reader{c: c}
	p := c.newMessagePrinter()
	if *f.follow {
		return c.follow(ctx, r, p, f, mr)
	}
	ns, err := r.namespace(ctx)
	if err != nil {
		return err
	}
	var msgs []domain.Message
	if ns != nil {
		batch := *f.batch
		if batch >= 0 && batch < math.MaxInt64 {
			batch++ // one more tells whether there are more
		}
		if msgs, err = mr.read(ctx, ns, *f.position, batch); err != nil {
			return err
		}
	}
	more := *f.batch >= 0 && int64(len(msgs)) > *f.batch
	if more {
		msgs = msgs[:*f.batch]
	}
	if err := p.print(msgs); err != nil {
		return err
	}
	p.done()
	if more {
		next := *f.position
		if len(msgs) > 0 {
			next = mr.next(msgs[len(msgs)-1])
		}
		fmt.Fprintf(c.stderr, "more: --position %d\n", next)
	}
	return nil
}

// follow prints what the read finds, page by page, then waits for a
// wake-up from the store (ports.Watcher) or the poll interval, and reads
// again from where it stopped.
func (c *cli) follow(ctx context.Context, r *reader, p *messagePrinter, f readFlags, mr messageRead) error {
	page := *f.batch
	if page <= 0 {
		page = domain.DefaultBatchSize
	}
	next := *f.position
	var wake <-chan struct{}
	watching := false
	for {
		ns, err := r.namespace(ctx)
		if err != nil {
			return interrupted(ctx, err)
		}
		if ns != nil && !watching && mr.category != "" {
			// Subscribe before reading, so that no write between the
			// read and the wait goes unnoticed.
			watching = true
			if w, ok := ns.MessageStore().(ports.Watcher); ok {
				if ch, err := w.WatchCategory(ctx, mr.category); err == nil {
					wake = ch
				} // else poll: a wake-up is a hint, never a requirement
			}
		}
		for ns != nil {
			msgs, err := mr.read(ctx, ns, next, page)
			if err != nil {
				return interrupted(ctx, err)
			}
			if err := p.print(msgs); err != nil {
				return err
			}
			if len(msgs) > 0 {
				next = mr.next(msgs[len(msgs)-1])
			}
			if int64(len(msgs)) < page {
				break
			}
		}
		timer := time.NewTimer(*f.poll)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case _, ok := <-wake:
			if !ok {
				wake = nil // the watch ended: poll from now on
			}
		case <-timer.C:
		}
		timer.Stop()
	}
}

// interrupted returns nil when err comes from ctx ending (Ctrl-C during a
// read that follows), else err.
func interrupted(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}
