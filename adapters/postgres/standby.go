package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DefaultMaxStandbyLag is how far behind the primary a standby may be, and
// how long a read waits for a standby to replay what it must see, when
// Options.MaxStandbyLag is 0.
const DefaultMaxStandbyLag = time.Second

// Timings of the reads from standbys.
const (
	// probeTimeout bounds one question to a server about its WAL position.
	probeTimeout = 2 * time.Second
	// Backoff of a standby that failed: it is left alone that long.
	minStandbyBackoff = 500 * time.Millisecond
	maxStandbyBackoff = 10 * time.Second
	// Polling of a standby's replay position while a read waits for it.
	minReplayPoll = time.Millisecond
	maxReplayPoll = 20 * time.Millisecond
	// maxSamples bounds the primary positions kept to judge lag.
	maxSamples = 64
)

// SQL of the reads from standbys.
const (
	// primaryPositionSQL is the primary's WAL insert position (after
	// every commit that has returned), with the WAL page size to read it.
	primaryPositionSQL = `SELECT pg_catalog.pg_current_wal_insert_lsn()::text,
  pg_catalog.current_setting('wal_block_size')::bigint`
	// replayPositionSQL is how far a standby has replayed the primary's
	// WAL. A server that is not in recovery (a promoted standby) has
	// everything it holds: its insert position.
	replayPositionSQL = `SELECT CASE WHEN pg_catalog.pg_is_in_recovery()
  THEN pg_catalog.pg_last_wal_replay_lsn() ELSE pg_catalog.pg_current_wal_insert_lsn() END::text`
)

// lsn is a position in PostgreSQL's write-ahead log: a byte offset.
type lsn uint64

// parseLSN reads PostgreSQL's text form of a pg_lsn, "16/B374D848".
func parseLSN(s string) (lsn, error) {
	hi, lo, ok := strings.Cut(s, "/")
	if !ok {
		return 0, fmt.Errorf("malformed WAL position %q", s)
	}
	h, err1 := strconv.ParseUint(hi, 16, 32)
	l, err2 := strconv.ParseUint(lo, 16, 32)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("malformed WAL position %q", s)
	}
	return lsn(h<<32 | l), nil
}

func (l lsn) String() string { return fmt.Sprintf("%X/%X", uint64(l)>>32, uint64(l)&0xFFFFFFFF) }

// Sizes of the headers that start a WAL page: a long one at the start of a
// segment, a short one elsewhere.
const (
	walShortPageHeader = 24
	walLongPageHeader  = 40
)

// recordEnd turns an insert position, where the next WAL record will
// start, into the position a standby reports once it has replayed every
// record before it. Records are not split by page headers alone: when the
// last record ended at a page's end, the insert position is past the next
// page's header, while the standby reports the page's end. No record ends
// inside a page header, so the page's start is the same bound.
func recordEnd(insert lsn, blockSize uint64) lsn {
	if blockSize == 0 {
		return insert
	}
	switch uint64(insert) % blockSize {
	case walShortPageHeader, walLongPageHeader:
		return insert - lsn(uint64(insert)%blockSize)
	}
	return insert
}

// sample is a WAL position of the primary and when it was learned.
type sample struct {
	at  time.Time
	lsn lsn
}

// standby is a hot standby that category reads may go to.
type standby struct {
	pool     *pgxpool.Pool
	mode     pgx.QueryExecMode // of its URL, for the reads of messages
	replayed atomic.Uint64     // the last replay position learned
	served   atomic.Int64      // reads it served, for tests

	mu        sync.Mutex
	downUntil time.Time     // left alone until then, after a failure
	backoff   time.Duration // the next time it fails
}

// usable reports whether the standby is not being left alone after a
// failure.
func (sb *standby) usable(now time.Time) bool {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	return !now.Before(sb.downUntil)
}

// failed leaves the standby alone for a while, longer after each failure
// in a row.
func (sb *standby) failed(now time.Time) {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	sb.backoff = min(max(2*sb.backoff, minStandbyBackoff), maxStandbyBackoff)
	sb.downUntil = now.Add(sb.backoff)
}

// ok records that the standby answered.
func (sb *standby) ok() {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	sb.backoff = 0
}

// probe asks the standby how far it has replayed, and remembers it.
func (sb *standby) probe(ctx context.Context) (lsn, error) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	var text *string
	if err := sb.pool.QueryRow(ctx, replayPositionSQL, pgx.QueryExecModeSimpleProtocol).Scan(&text); err != nil {
		return 0, err
	}
	if text == nil {
		return 0, nil // in recovery, nothing replayed yet
	}
	l, err := parseLSN(*text)
	if err != nil {
		return 0, err
	}
	// A later answer may be lower only if the server was replaced (a
	// standby rebuilt from an older backup): believe the server.
	sb.replayed.Store(uint64(l))
	return l, nil
}

// router sends category reads to standbys that have replayed what the
// reads must see, else to the primary.
//
// What a read must see: the writes acknowledged through the Store before it
// started (read your writes), and the primary's position when a
// notification it received was sent (a wake-up finds its message). Both
// are primary WAL positions, the "want" position, which a standby must
// have replayed: a read waits for that, up to MaxStandbyLag after the
// position was learned, then goes elsewhere. Besides, a standby must have
// replayed every primary position learned MaxStandbyLag ago or earlier,
// else it is lagging and no read goes to it: the router learns the
// primary's position at least every half MaxStandbyLag while reads come.
//
// A write bumps a counter once acknowledged; a read that finds writes not
// yet covered by a primary position asks the primary for its position (one
// round trip, shared by the reads that need it at the same time), which is
// at or after the commit of every write counted when it asked.
type router struct {
	primary      *pgxpool.Pool
	standbys     []*standby
	maxLag       time.Duration
	writes       atomic.Int64  // writes acknowledged through the Store
	next         atomic.Uint32 // where the round robin over standbys starts
	primaryReads atomic.Int64  // category reads that went to the primary, for tests

	mu       sync.Mutex
	samples  []sample      // primary positions learned, oldest first
	covered  int64         // writes covered by the newest position asked for
	want     sample        // the position reads must see, and since when
	asking   chan struct{} // closed when the question under way is answered; nil if none
	askedErr error         // its error
	asked    time.Time     // when the last question was asked
}

func newRouter(primary *pgxpool.Pool, standbys []*standby, maxLag time.Duration) *router {
	return &router{primary: primary, standbys: standbys, maxLag: maxLag}
}

// wrote records an acknowledged write (or a change of namespaces): reads
// that start afterwards see it.
func (r *router) wrote() {
	if r != nil {
		r.writes.Add(1)
	}
}

// notified records the primary's position sent with a notification: reads
// that start afterwards see what it announced.
func (r *router) notified(l lsn) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.learn(sample{at: time.Now(), lsn: l}, true)
}

// learn adds a primary position; want makes reads wait for it, as they
// must when no position was learned during the last lag bound (the first,
// or the first after an idle spell): none tells yet how far a standby
// lags. r.mu is held.
func (r *router) learn(s sample, want bool) {
	n := len(r.samples)
	if n == 0 || s.at.Sub(r.samples[n-1].at) >= r.maxLag {
		want = true
	}
	if want && s.lsn > r.want.lsn {
		r.want = s
	}
	// A position per eighth of the lag bound is enough to judge lag.
	if n > 0 && s.at.Sub(r.samples[n-1].at) < r.maxLag/8 {
		return
	}
	r.samples = append(r.samples, s)
	// Forget what no judgement needs: all but the newest position learned
	// before the lag bound.
	cut := 0
	for i := 1; i < len(r.samples) && s.at.Sub(r.samples[i].at) >= r.maxLag; i++ {
		cut = i
	}
	if len(r.samples)-cut > maxSamples {
		cut = len(r.samples) - maxSamples
	}
	r.samples = append(r.samples[:0], r.samples[cut:]...)
}

// rewind forgets the positions learned before asked that the primary, at
// l when asked, does not have: a standby promoted after the primary's loss
// may lack the end of its WAL (what was not replicated, or not committed),
// and its standbys would never reach them. r.mu is held.
func (r *router) rewind(l lsn, asked time.Time) {
	if r.want.lsn > l && r.want.at.Before(asked) {
		r.want.lsn = l
	}
	for i := range r.samples {
		if r.samples[i].lsn > l && r.samples[i].at.Before(asked) {
			r.samples[i].lsn = l
		}
	}
}

// targets returns the position every standby read needs at once (the
// newest learned at least maxLag before now: a standby behind it lags more
// than the bound) and the position the read waits for, with when it was
// learned.
func (r *router) targets(now time.Time) (lagging lsn, want sample) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.samples {
		if now.Sub(s.at) < r.maxLag {
			break
		}
		lagging = s.lsn
	}
	return lagging, r.want
}

// askPrimary learns the primary's position, for the writes acknowledged
// until now: the reads that need it at the same time share one question.
// It returns once a position covering at least writes is known.
func (r *router) askPrimary(ctx context.Context, writes int64, force bool) error {
	for {
		r.mu.Lock()
		if !force && r.covered >= writes {
			r.mu.Unlock()
			return nil
		}
		if wait := r.asking; wait != nil {
			r.mu.Unlock()
			select {
			case <-wait:
			case <-ctx.Done():
				return ctx.Err()
			}
			r.mu.Lock()
			err := r.askedErr
			r.mu.Unlock()
			if err != nil {
				return err
			}
			force = false // a question asked after the caller started answers it
			continue
		}
		done := make(chan struct{})
		asked := time.Now()
		r.asking, r.asked = done, asked
		r.mu.Unlock()

		covers := r.writes.Load() // committed before the question
		l, err := r.primaryPosition(ctx)
		r.mu.Lock()
		r.asking, r.askedErr = nil, err
		if err == nil {
			r.rewind(l, asked)
			r.learn(sample{at: time.Now(), lsn: l}, covers > r.covered)
			r.covered = max(r.covered, covers)
		}
		r.mu.Unlock()
		close(done)
		return err
	}
}

// primaryPosition asks the primary for its WAL position.
func (r *router) primaryPosition(ctx context.Context) (lsn, error) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	var text string
	var block int64
	if err := r.primary.QueryRow(ctx, primaryPositionSQL, pgx.QueryExecModeSimpleProtocol).Scan(&text, &block); err != nil {
		return 0, err
	}
	l, err := parseLSN(text)
	if err != nil {
		return 0, err
	}
	return recordEnd(l, uint64(block)), nil
}

// stale reports whether the primary was last asked for its position half
// the lag bound ago or earlier (a question that failed counts: a primary
// that is down is not asked at every read).
func (r *router) stale(now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return now.Sub(r.asked) >= r.maxLag/2
}

// choose returns a standby that has replayed what a read starting now must
// see, waiting for one at most until the bound; nil means the primary.
func (r *router) choose(ctx context.Context) *standby {
	now := time.Now()
	writes := r.writes.Load()
	if writes > 0 {
		if err := r.askPrimary(ctx, writes, false); err != nil {
			return nil // the read's writes cannot be located: the primary has them
		}
	}
	if r.stale(now) {
		// To judge lag; without an answer, judge by what is known.
		_ = r.askPrimary(ctx, writes, true)
	}
	lagging, want := r.targets(now)
	need := max(lagging, want.lsn)

	// The first standby, in round-robin order, that has replayed what the
	// read needs; else the furthest of those not lagging, to wait for.
	start := int(r.next.Add(1))
	var best *standby
	var bestAt lsn
	for i := range r.standbys {
		sb := r.standbys[(start+i)%len(r.standbys)]
		if !sb.usable(now) {
			continue
		}
		at := lsn(sb.replayed.Load())
		if at < need {
			var err error
			if at, err = sb.probe(ctx); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				sb.failed(time.Now())
				continue
			}
			sb.ok()
		}
		if at >= need {
			return sb
		}
		if at >= lagging && (best == nil || at > bestAt) {
			best, bestAt = sb, at
		}
	}
	if best == nil {
		return nil
	}
	return r.await(ctx, best, want)
}

// await polls sb until it has replayed want, and returns it; or nil once
// want is maxLag old, or when ctx ends or sb fails.
func (r *router) await(ctx context.Context, sb *standby, want sample) *standby {
	deadline := want.at.Add(r.maxLag)
	poll := minReplayPoll
	for {
		wait := time.Until(deadline)
		if wait <= 0 {
			return nil
		}
		t := time.NewTimer(min(poll, wait))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		poll = min(poll*3/2, maxReplayPoll)
		at, err := sb.probe(ctx)
		if err != nil {
			if ctx.Err() == nil {
				sb.failed(time.Now())
			}
			return nil
		}
		if at >= want.lsn {
			return sb
		}
	}
}
