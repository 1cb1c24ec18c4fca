package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/ports"
)

// Consumer defaults.
const (
	// DefaultPollInterval is how long an idle consumer waits before reading
	// again when no wake-up arrives.
	DefaultPollInterval = 100 * time.Millisecond
	// DefaultPositionUpdateInterval is how many handled messages a consumer
	// lets pass between two writes of its position.
	DefaultPositionUpdateInterval = 100
	// DefaultMinBackoff and DefaultMaxBackoff bound the waits of
	// RetryOnError and StoreRetry.
	DefaultMinBackoff = 100 * time.Millisecond
	DefaultMaxBackoff = 10 * time.Second
	// DefaultStoreRetryAttempts is how many store calls in a row may fail
	// before a consumer gives up (StoreRetry.MaxAttempts): with the default
	// backoffs, it rides out about 50 seconds of outage.
	DefaultStoreRetryAttempts = 12
	// PositionMessageType is the type of the messages a consumer writes to
	// its position stream, as Eventide does.
	PositionMessageType = "Recorded"
)

// finalPositionTimeout bounds the write of the position when Run returns.
const finalPositionTimeout = 30 * time.Second

// Handler handles one message. An error is dealt with according to the
// consumer's ErrorPolicy. Delivery is at least once (see Consumer), so a
// handler should be idempotent: a message can be handed to it again after a
// crash.
type Handler func(ctx context.Context, msg domain.Message) error

// ErrorPolicy says what a consumer does when its handler returns an error:
// StopOnError (the default) or RetryOnError.
type ErrorPolicy interface {
	errorPolicy()
}

// StopOnError stops the consumer at the first handler error: Run stores the
// position of the last message handled (never the failing one's) and returns
// a *HandlerError wrapping the handler's error. A restarted consumer starts
// with the failing message.
type StopOnError struct{}

// RetryOnError hands a failing message to the handler again, waiting
// MinBackoff (default DefaultMinBackoff) after the first failure and twice as
// long after each next one, up to MaxBackoff (default DefaultMaxBackoff).
// After MaxAttempts failed attempts (0: no limit) the consumer stops as with
// StopOnError. Messages after the failing one wait: order is kept.
type RetryOnError struct {
	MinBackoff  time.Duration
	MaxBackoff  time.Duration
	MaxAttempts int
}

func (StopOnError) errorPolicy()  {}
func (RetryOnError) errorPolicy() {}

// StoreRetry is how a consumer rides out a store that fails: a read, or a
// write of its position, that returns an error which is not one of
// messagedb's own (a connection that broke, a server restarting, a timeout
// inside the store). The consumer tries the same call again, waiting
// MinBackoff (default DefaultMinBackoff) after the first failure and twice as
// long after each next one, up to MaxBackoff (default DefaultMaxBackoff). A
// wake-up from the store (see Consumer) ends the wait of a read early: the
// store is back. After MaxAttempts calls in a row have failed (default
// DefaultStoreRetryAttempts; 1: no retry) Run returns the last error. A
// success starts the count again.
//
// Errors that retrying cannot cure end Run at once: those matching a domain
// sentinel (domain.ErrNamespaceNotFound when the namespace was deleted,
// domain.ErrInvalidOptions, domain.ErrClosed for a closed store, ...).
type StoreRetry struct {
	MinBackoff  time.Duration
	MaxBackoff  time.Duration
	MaxAttempts int
}

// HandlerError is what Run returns when the handler failed and the policy
// gave up. It unwraps to the handler's error, so errors.Is and errors.As see
// through it.
type HandlerError struct {
	ConsumerID string
	Message    domain.Message // the message that failed
	Attempts   int            // how many times it was handed to the handler
	Err        error          // the handler's last error
}

func (e *HandlerError) Error() string {
	return fmt.Sprintf("messagedb: consumer %s: handle %s message at global position %d (stream %s, %d attempt(s)): %s",
		e.ConsumerID, e.Message.Type, e.Message.GlobalPosition, e.Message.StreamName, e.Attempts,
		strings.TrimPrefix(e.Err.Error(), "messagedb: "))
}

// Unwrap returns the handler's error.
func (e *HandlerError) Unwrap() error { return e.Err }

// ConsumerOptions configure a consumer. Only ID is required; the zero value
// of every other field means its default.
type ConsumerOptions struct {
	// ID identifies the consumer: its position is stored in a stream named
	// after the category and the id (see PositionStreamName). It must be
	// stable across restarts, and distinct for each member of a group.
	ID string
	// Position is the global position to start from when the consumer has
	// no stored position; default domain.FirstGlobalPosition (1).
	Position int64
	// BatchSize is how many messages one read fetches; default
	// domain.DefaultBatchSize (1000).
	BatchSize int64
	// Group makes the consumer one member of a consumer group: it handles
	// only the streams whose cardinal id hashes to Group.Member.
	Group *domain.ConsumerGroup
	// Correlation keeps only messages whose metadata's
	// correlationStreamName is in this category.
	Correlation string
	// PollInterval is how long the consumer waits, once it has caught up,
	// before reading again; default DefaultPollInterval. A write that wakes
	// it (see Consumer) ends the wait early.
	PollInterval time.Duration
	// PositionUpdateInterval is how many messages the consumer handles
	// between two writes of its position; default
	// DefaultPositionUpdateInterval. It bounds how many messages are handed
	// again after a crash.
	PositionUpdateInterval int
	// OnError is the policy for handler errors; nil means StopOnError.
	OnError ErrorPolicy
	// StoreRetry is how the consumer rides out store failures; the zero
	// value means the defaults (see StoreRetry).
	StoreRetry StoreRetry
	// OnCaughtUp, when set, is called when the consumer has caught up with
	// the head of the category: at the first read that returns fewer than
	// BatchSize messages, then again each time it catches up after handling
	// more (not at every idle poll). Its argument is the global position of
	// the last message handled (before any: the stored position, or
	// Position-1); for a group member, the last of its own messages. It runs
	// on the consumer's goroutine and should return quickly.
	OnCaughtUp func(globalPosition int64)
	// Observer is told when the consumer starts and stops, of each message
	// it hands to the handler (whose context is the one StartHandle
	// returns: with OpenTelemetry, the handler's span, continuing the
	// trace of the write that the message carries), and of its store calls
	// that failed and are retried; its store calls themselves go to the
	// store's observer, marked with the consumer's id. Nil means the
	// store's observer (Options.Observer) when it is a
	// ports.ConsumerObserver, else none.
	Observer ports.ConsumerObserver
	// Logger receives the consumer's records: started, caught up (at
	// Info the first time, then at Debug), store calls failed and retried
	// (Warn, with attempt and backoff), handler failures (Warn when
	// retried, Error when given up), stopped. Each has the consumer's id,
	// namespace, category and group as attributes (see the Log
	// constants). Nil means the store's (Options.Logger), else silent.
	Logger *slog.Logger
}

// Consumer reads a category in global position order and hands each message
// to a handler, storing its position as it goes so that it resumes where it
// stopped.
//
// # Position
//
// The position (the global position of the last message handled) is written
// as a "Recorded" message with data {"position": N} to the consumer's
// position stream (see PositionStreamName), every PositionUpdateInterval
// messages and when Run returns. On start the consumer reads the last one and
// resumes at N+1.
//
// # Delivery
//
// Delivery is at least once. A consumer that stops cleanly (its context is
// cancelled, or the handler fails under StopOnError) stores its position on
// the way out: restarted, it neither loses nor repeats a message. After a
// crash, the messages handled since the last stored position — up to
// PositionUpdateInterval of them — are handed again.
//
// # Wake-ups
//
// When the namespace's store implements ports.Watcher (both bundled backends
// do), an idle consumer is woken as soon as a message is written to its
// category instead of waiting out the poll interval: on PostgreSQL through
// LISTEN/NOTIFY, on SQLite by writes through the same store in the same
// process. Polling remains the fallback for what a wake-up cannot see.
//
// # Store failures
//
// A consumer rides out a transient store outage, such as a PostgreSQL
// server that restarts: a read or position write that fails is tried again
// with backoff (see StoreRetry) from where it stopped, so no message is lost
// or skipped, and Run returns an error only when the store stays down longer
// than the policy allows, or fails in a way retrying cannot cure.
type Consumer struct {
	ns             *Namespace
	category       string
	handler        Handler
	opts           ConsumerOptions
	positionStream string
	running        atomic.Bool
	// handled is the global position of the last message handled, as
	// Run knows it; -1 until Run has read the stored position.
	handled atomic.Int64
	// obs and log are what watches the consumer, nil for nothing; log has
	// the consumer's attributes.
	obs ports.ConsumerObserver
	log *slog.Logger
}

// PositionStreamName returns the stream a consumer stores its position in,
// named as Eventide does: "account" gives "account:position-ID", and a
// category that already has a type, "account:command", gives
// "account:command+position-ID".
func PositionStreamName(category, consumerID string) string {
	if strings.Contains(category, ":") {
		return category + "+position-" + consumerID
	}
	return category + ":position-" + consumerID
}

// NewConsumer returns a consumer of the namespace's category. It checks the
// category and options (errors match ErrInvalidConsumer) but touches no
// storage: Run does.
func (n *Namespace) NewConsumer(category string, h Handler, opts ConsumerOptions) (*Consumer, error) {
	if err := domain.ValidateCategory(category); err != nil {
		return nil, domain.WrapAs(ErrInvalidConsumer, err)
	}
	if h == nil {
		return nil, fmt.Errorf("%w: nil handler", ErrInvalidConsumer)
	}
	if opts.ID == "" {
		return nil, fmt.Errorf("%w: empty id", ErrInvalidConsumer)
	}
	stream := PositionStreamName(category, opts.ID)
	if err := domain.ValidateStreamName(stream); err != nil {
		return nil, domain.WrapAs(ErrInvalidConsumer, domain.Wrapf(err, "id %q", opts.ID))
	}
	switch {
	case opts.Position < 0:
		return nil, fmt.Errorf("%w: position %d", ErrInvalidConsumer, opts.Position)
	case opts.BatchSize < 0:
		return nil, fmt.Errorf("%w: batch size %d", ErrInvalidConsumer, opts.BatchSize)
	case opts.PollInterval < 0:
		return nil, fmt.Errorf("%w: poll interval %s", ErrInvalidConsumer, opts.PollInterval)
	case opts.PositionUpdateInterval < 0:
		return nil, fmt.Errorf("%w: position update interval %d", ErrInvalidConsumer, opts.PositionUpdateInterval)
	}
	if opts.Position == 0 {
		opts.Position = domain.FirstGlobalPosition
	}
	if opts.BatchSize == 0 {
		opts.BatchSize = domain.DefaultBatchSize
	}
	if opts.PollInterval == 0 {
		opts.PollInterval = DefaultPollInterval
	}
	if opts.PositionUpdateInterval == 0 {
		opts.PositionUpdateInterval = DefaultPositionUpdateInterval
	}
	switch p := opts.OnError.(type) {
	case nil:
		opts.OnError = StopOnError{}
	case StopOnError:
	case RetryOnError:
		if err := backoffs("RetryOnError", &p.MinBackoff, &p.MaxBackoff, p.MaxAttempts); err != nil {
			return nil, err
		}
		opts.OnError = p
	default:
		return nil, fmt.Errorf("%w: unknown error policy %T", ErrInvalidConsumer, p)
	}
	sr := &opts.StoreRetry
	if err := backoffs("StoreRetry", &sr.MinBackoff, &sr.MaxBackoff, sr.MaxAttempts); err != nil {
		return nil, err
	}
	if sr.MaxAttempts == 0 {
		sr.MaxAttempts = DefaultStoreRetryAttempts
	}
	if err := (domain.CategoryOpts{Correlation: opts.Correlation, ConsumerGroup: opts.Group}).Validate(); err != nil {
		return nil, domain.WrapAs(ErrInvalidConsumer, err)
	}
	if opts.Group != nil {
		g := *opts.Group // the caller may reuse its value
		opts.Group = &g
	}
	c := &Consumer{ns: n, category: category, handler: h, opts: opts, positionStream: stream, obs: opts.Observer, log: opts.Logger}
	if c.obs == nil {
		c.obs = n.s.consumers
	}
	if c.log == nil {
		c.log = n.s.log
	}
	if c.log != nil {
		c.log = c.log.With(LogConsumer, opts.ID, LogNamespace, n.id, LogCategory, category)
		if g := opts.Group; g != nil {
			c.log = c.log.With(LogGroupMember, g.Member, LogGroupSize, g.Size)
		}
	}
	c.handled.Store(-1)
	return c, nil
}

// backoffs checks the fields of a retry policy (RetryOnError or StoreRetry,
// named by policy) and fills in the default backoffs.
func backoffs(policy string, minBackoff, maxBackoff *time.Duration, maxAttempts int) error {
	if *minBackoff < 0 || *maxBackoff < 0 || maxAttempts < 0 {
		return fmt.Errorf("%w: negative %s field", ErrInvalidConsumer, policy)
	}
	if *minBackoff == 0 {
		*minBackoff = DefaultMinBackoff
	}
	if *maxBackoff == 0 {
		*maxBackoff = max(DefaultMaxBackoff, *minBackoff)
	}
	if *maxBackoff < *minBackoff {
		return fmt.Errorf("%w: %s.MaxBackoff %s below MinBackoff %s", ErrInvalidConsumer, policy, *maxBackoff, *minBackoff)
	}
	return nil
}

// PositionStream returns the name of the stream the consumer stores its
// position in.
func (c *Consumer) PositionStream() string { return c.positionStream }

// Position returns the stored position: the global position of the last
// message handled when it was last stored, or 0 when none is stored.
func (c *Consumer) Position(ctx context.Context) (int64, error) {
	msg, err := c.ns.Last(c.storeContext(ctx), c.positionStream, PositionMessageType)
	if errors.Is(err, domain.ErrStreamNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, domain.Wrapf(err, "consumer %s: read position", c.opts.ID)
	}
	var p struct {
		Position *int64 `json:"position"`
	}
	if err := json.Unmarshal(msg.Data, &p); err != nil || p.Position == nil {
		return 0, &badPositionError{fmt.Sprintf("consumer %s: position message at %s/%d has no position: %s",
			c.opts.ID, c.positionStream, msg.Position, msg.Data)}
	}
	return *p.Position, nil
}

// Lag returns how far the consumer is behind its category, in global
// positions: that of the category's last message (see
// Namespace.LastGlobalPosition) less that of the last message the consumer
// handled; 0 when it has handled every message it is to handle. A consumer
// with a Group or a Correlation is behind only when a message of its own
// follows the last one it handled. Global positions count the messages of
// the whole namespace, so lag is an upper bound on the messages to handle.
//
// While Run runs, Lag counts from the last message handled; otherwise from
// the stored position (ConsumerOptions.Position less one when none is
// stored). It is safe to call concurrently with Run.
func (c *Consumer) Lag(ctx context.Context) (int64, error) {
	handled := int64(-1)
	if c.running.Load() {
		handled = c.handled.Load()
	}
	if handled < 0 {
		stored, err := c.Position(ctx)
		if err != nil {
			return 0, err
		}
		handled = c.opts.Position - 1
		if stored > 0 {
			handled = stored
		}
	}
	sctx := c.storeContext(ctx)
	last, err := c.ns.LastGlobalPosition(sctx, c.category)
	if err != nil {
		return 0, domain.Wrapf(err, "consumer %s: lag", c.opts.ID)
	}
	if last <= handled {
		return 0, nil
	}
	if c.opts.Group != nil || c.opts.Correlation != "" {
		one := int64(1)
		next, err := c.ns.ReadCategory(sctx, c.category, domain.CategoryOpts{Position: handled + 1, BatchSize: &one,
			ConsumerGroup: c.opts.Group, Correlation: c.opts.Correlation})
		if err != nil {
			return 0, domain.Wrapf(err, "consumer %s: lag", c.opts.ID)
		}
		if len(next) == 0 {
			return 0, nil
		}
	}
	return last - handled, nil
}

// Run consumes until ctx is cancelled or the handler fails for good. It
// resumes after the stored position (or at ConsumerOptions.Position when none is
// stored), hands messages to the handler one at a time in global position
// order, and stores its position on the way out.
//
// A cancelled ctx is a clean stop: Run returns nil once the position is
// stored. A handler failure that the policy gives up on returns a
// *HandlerError. A read or position write that fails is retried under
// ConsumerOptions.StoreRetry; when that gives up, Run returns the store's
// error. The final position is stored in every case, under a context that is
// not cancelled (but bounded by a 30-second timeout), in one attempt. One
// Consumer runs once at a time (else ErrConsumerRunning); run it again after
// it returned to resume.
func (c *Consumer) Run(ctx context.Context) (err error) {
	if !c.running.CompareAndSwap(false, true) {
		return domain.Wrapf(ErrConsumerRunning, "consumer %s", c.opts.ID)
	}
	defer c.running.Store(false)
	c.handled.Store(-1)

	info := c.info()
	if c.obs != nil {
		c.obs.ConsumerStarted(ctx, info)
	}
	position := int64(-1) // as stored when Run returns; -1: not read
	defer func() {        // after the final position is stored
		if c.obs != nil {
			c.obs.ConsumerStopped(ctx, info, err)
		}
		c.logStop(position, err)
	}()

	f := &faults{c: c, info: info, policy: c.opts.StoreRetry}
	var stored int64
	for {
		stored, err = c.Position(ctx)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil
		}
		if !f.retry(ctx, err, nil) {
			return err
		}
	}
	f.ok()
	next := c.opts.Position
	if stored > 0 {
		next = stored + 1
	}
	r := &run{c: c, info: info, faults: f, stored: stored, handled: stored}
	c.handled.Store(next - 1)
	if c.log != nil {
		c.log.Info("consumer started", LogPosition, next-1)
	}
	defer func() {
		// The last position is stored even when ctx is cancelled (that is
		// how a clean stop repeats nothing), but not forever.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finalPositionTimeout)
		defer cancel()
		if perr := r.storePosition(sctx); perr != nil {
			err = errors.Join(err, perr)
		}
		position = r.stored
	}()

	// Subscribe before the first read, so that no write between that read
	// and the wait goes unnoticed.
	var wake <-chan struct{}
	if w, ok := c.ns.store.(ports.Watcher); ok {
		watchCtx, cancel := context.WithCancel(ctx)
		defer cancel()
		if ch, werr := w.WatchCategory(watchCtx, c.category); werr == nil {
			wake = ch
		} // else poll: a wake-up is an optimisation, never a requirement
	}

	sctx := c.storeContext(ctx) // for the reads: the handler gets ctx
	batch := c.opts.BatchSize
	readOpts := domain.CategoryOpts{BatchSize: &batch, Correlation: c.opts.Correlation, ConsumerGroup: c.opts.Group}
	readUpTo := next - 1 // next is at least 1
	notified := false    // OnCaughtUp called since the last message handled
	caughtUp := false    // once since Run started
	for {
		if ctx.Err() != nil {
			return nil
		}
		readOpts.Position = next
		msgs, rerr := c.ns.ReadCategory(sctx, c.category, readOpts)
		if rerr != nil {
			if ctx.Err() != nil {
				return nil
			}
			if f.retry(ctx, rerr, &wake) {
				continue // from the same position
			}
			return domain.Wrapf(rerr, "consumer %s: read %s from %d", c.opts.ID, c.category, next)
		}
		f.ok()
		for _, msg := range msgs {
			if ctx.Err() != nil {
				return nil
			}
			stop, herr := r.handle(ctx, msg)
			if herr != nil {
				return herr
			}
			if stop {
				return nil
			}
			next = msg.GlobalPosition + 1
			readUpTo = msg.GlobalPosition
			notified = false
		}
		if int64(len(msgs)) == batch {
			continue
		}
		if !notified {
			if c.log != nil {
				level := slog.LevelDebug
				if !caughtUp {
					level = slog.LevelInfo
				}
				c.log.Log(ctx, level, "consumer caught up", LogPosition, readUpTo)
			}
			if c.opts.OnCaughtUp != nil {
				c.opts.OnCaughtUp(readUpTo)
			}
		}
		notified, caughtUp = true, true
		timer := time.NewTimer(c.opts.PollInterval)
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

// storeContext returns the context of a store call the consumer makes for
// itself (reading its category or position, writing its position), marked
// as the consumer's for the store's observer. Without one it is ctx.
func (c *Consumer) storeContext(ctx context.Context) context.Context {
	if c.ns.s.obs == nil {
		return ctx
	}
	return context.WithValue(ctx, consumerKey{}, c.opts.ID)
}

// info describes the consumer to its observer.
func (c *Consumer) info() *ports.ConsumerInfo {
	return &ports.ConsumerInfo{ID: c.opts.ID, Category: c.category, Namespace: c.ns.id, System: c.ns.s.system, Group: c.opts.Group, Lag: c.Lag}
}

// logStop logs the end of Run: err is what it returns, position the
// position stored (-1 when it was not read).
func (c *Consumer) logStop(position int64, err error) {
	switch {
	case c.log == nil:
	case err != nil:
		c.log.Error("consumer stopped", LogPosition, position, LogError, err)
	default:
		c.log.Info("consumer stopped", LogPosition, position)
	}
}

// run is the state of one Run.
type run struct {
	c       *Consumer
	info    *ports.ConsumerInfo
	faults  *faults
	stored  int64 // position last stored
	handled int64 // global position of the last message handled
	pending int   // messages handled since the last store
}

// handle hands msg to the handler under the error policy. It reports stop
// when ctx was cancelled before the message was handled.
func (r *run) handle(ctx context.Context, msg domain.Message) (stop bool, err error) {
	c := r.c
	retry, retrying := c.opts.OnError.(RetryOnError)
	backoff := retry.MinBackoff
	for attempt := 1; ; attempt++ {
		herr := r.callHandler(ctx, msg, attempt)
		if herr == nil {
			break
		}
		if ctx.Err() != nil {
			return true, nil // cancelled mid-message: hand it again next time
		}
		if !retrying || (retry.MaxAttempts > 0 && attempt >= retry.MaxAttempts) {
			if c.log != nil {
				c.log.Error("handler failed", LogGlobalPosition, msg.GlobalPosition, LogStream, msg.StreamName,
					LogType, msg.Type, LogAttempt, attempt, LogError, herr)
			}
			return false, &HandlerError{ConsumerID: c.opts.ID, Message: msg, Attempts: attempt, Err: herr}
		}
		if c.log != nil {
			c.log.Warn("handler failed, retrying", LogGlobalPosition, msg.GlobalPosition, LogStream, msg.StreamName,
				LogType, msg.Type, LogAttempt, attempt, LogBackoff, backoff, LogError, herr)
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return true, nil
		case <-t.C:
		}
		backoff = min(2*backoff, retry.MaxBackoff)
	}
	r.handled = msg.GlobalPosition
	c.handled.Store(msg.GlobalPosition)
	r.pending++
	if r.pending < c.opts.PositionUpdateInterval {
		return false, nil
	}
	for {
		err := r.storePosition(ctx)
		if err == nil {
			r.faults.ok()
			return false, nil
		}
		if ctx.Err() != nil {
			return true, nil // the deferred store tries again without cancellation
		}
		if !r.faults.retry(ctx, err, nil) {
			return false, err
		}
		if ctx.Err() != nil {
			return true, nil
		}
	}
}

// callHandler hands msg to the handler, under the observer.
func (r *run) callHandler(ctx context.Context, msg domain.Message, attempt int) error {
	c := r.c
	if c.obs == nil {
		return c.handler(ctx, msg)
	}
	h := &ports.Handling{Consumer: r.info, Message: msg, Attempt: attempt}
	ctx = c.obs.StartHandle(ctx, h)
	err := c.handler(ctx, msg)
	c.obs.EndHandle(ctx, h, err)
	return err
}

// faults counts the store calls of one Run that failed in a row, and waits
// between them under the StoreRetry policy.
type faults struct {
	c       *Consumer
	info    *ports.ConsumerInfo
	policy  StoreRetry
	failed  int           // calls failed in a row
	backoff time.Duration // next wait
}

// ok records a store call that succeeded.
func (f *faults) ok() { f.failed, f.backoff = 0, 0 }

// retry records a store call that failed with err and reports whether to
// try it again: when err is transient and attempts are left, after waiting
// the backoff, ctx's end or a wake-up on *wake (nil: none), whichever comes
// first. The caller checks ctx after a true result.
func (f *faults) retry(ctx context.Context, err error, wake *<-chan struct{}) bool {
	f.failed++
	if !transient(err) || f.failed >= f.policy.MaxAttempts {
		return false
	}
	if f.backoff == 0 {
		f.backoff = f.policy.MinBackoff
	}
	if f.c.obs != nil {
		f.c.obs.StoreCallRetry(ctx, f.info, f.failed, f.backoff, err)
	}
	if f.c.log != nil {
		f.c.log.Warn("store call failed, retrying", LogAttempt, f.failed, LogBackoff, f.backoff, LogError, err)
	}
	var woken <-chan struct{}
	if wake != nil {
		woken = *wake
	}
	t := time.NewTimer(f.backoff)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	case _, ok := <-woken:
		if !ok {
			*wake = nil // the watch ended: poll from now on
		}
	}
	f.backoff = min(2*f.backoff, f.policy.MaxBackoff)
	return true
}

// permanent lists the errors that retrying a store call cannot cure.
var permanent = []error{
	domain.ErrVersionConflict,
	domain.ErrNamespaceNotFound,
	domain.ErrNamespaceExists,
	domain.ErrInvalidNamespace,
	domain.ErrStreamNotFound,
	domain.ErrInvalidStreamName,
	domain.ErrInvalidMessage,
	domain.ErrDuplicateMessageID,
	domain.ErrInvalidOptions,
	domain.ErrMigrationFailed,
	domain.ErrClosed,
}

// badPositionError reports a position message that holds no position:
// reading it again cannot help.
type badPositionError struct{ msg string }

func (e *badPositionError) Error() string { return e.msg }

// transient reports whether err, from a store call, may go away when the
// call is made again: it matches none of messagedb's own errors.
func transient(err error) bool {
	for _, target := range permanent {
		if errors.Is(err, target) {
			return false
		}
	}
	var bad *badPositionError
	return !errors.As(err, &bad)
}

// storePosition writes the position of the last message handled, when it is
// not the one stored already.
func (r *run) storePosition(ctx context.Context) error {
	if r.handled == r.stored {
		return nil
	}
	data := fmt.Appendf(nil, `{"position":%d}`, r.handled)
	msg := domain.NewMessage{Type: PositionMessageType, Data: data}
	if _, err := r.c.ns.Write(r.c.storeContext(ctx), r.c.positionStream, msg, domain.AnyVersion); err != nil {
		return domain.Wrapf(err, "consumer %s: store position %d", r.c.opts.ID, r.handled)
	}
	r.stored, r.pending = r.handled, 0
	return nil
}
