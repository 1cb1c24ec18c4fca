package postgres

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// notifySQL sends a notification on each channel of $1, in a transaction of
// its own, with the payload "$2 LSN": the Store's token and the WAL insert
// position, which is after the commit of every write it announces (a
// listener whose Store reads from standbys makes the reads that follow
// the wake-up wait for a standby to replay it; see parsePayload). Such a
// transaction writes no WAL but its commit record, so its commit does not
// wait for a flush (PostgreSQL commits a transaction that wrote nothing
// else asynchronously): it holds the cluster-wide notification lock only
// briefly.
const notifySQL = `SELECT pg_catalog.pg_notify(c, $2::text || ' ' || pg_catalog.pg_current_wal_insert_lsn()::text)
FROM pg_catalog.unnest($1::text[]) AS c`

// closeFlushTimeout bounds how long Close spends sending the notifications
// of writes that committed just before it (a CLI that writes and exits).
const closeFlushTimeout = time.Second

// notifier announces committed writes to the listeners of every Store and
// process. A write calls signal with its category's channel once it has
// committed; the notifier's goroutine sends the pending channels in one
// statement on a connection of its own, outside any write's transaction.
// While a statement is under way, the channels signalled meanwhile
// accumulate and go together in the next one: one Store has at most one
// notifying transaction at a time, however many writers it has, and a
// category written a thousand times during one round trip is notified
// once.
//
// Writers never wait for it: signal adds to a set and returns. A
// notification that cannot be sent (the server is down) is sent again once
// the connection is back; listeners wake every watcher when they reconnect,
// and consumers poll, so a lost one only delays a message.
type notifier struct {
	cfg   *pgx.ConnConfig
	token string // the payload: the Store's token

	kick chan struct{} // a signal is pending (capacity 1)

	mu sync.Mutex
	background
	pending map[string]struct{}

	sent atomic.Int64  // statements sent, for tests
	pid  atomic.Uint32 // backend of the connection, 0 if none
}

func newNotifier(cfg *pgx.ConnConfig, token string) *notifier {
	nt := &notifier{cfg: cfg, token: token, kick: make(chan struct{}, 1), pending: map[string]struct{}{}}
	nt.background = newBackground(nt.run)
	return nt
}

// signal queues a notification on each channel, to be sent soon.
func (nt *notifier) signal(channels ...string) {
	nt.mu.Lock()
	if nt.closed {
		nt.mu.Unlock()
		return
	}
	for _, c := range channels {
		nt.pending[c] = struct{}{}
	}
	nt.start()
	nt.mu.Unlock()
	select {
	case nt.kick <- struct{}{}:
	default:
	}
}

// take returns the pending channels and empties the set.
func (nt *notifier) take() []string {
	nt.mu.Lock()
	defer nt.mu.Unlock()
	if len(nt.pending) == 0 {
		return nil
	}
	out := make([]string, 0, len(nt.pending))
	for c := range nt.pending {
		out = append(out, c)
	}
	clear(nt.pending)
	return out
}

// requeue puts back channels that could not be sent.
func (nt *notifier) requeue(channels []string) {
	nt.mu.Lock()
	defer nt.mu.Unlock()
	for _, c := range channels {
		nt.pending[c] = struct{}{}
	}
}

// run sends pending notifications until the notifier is closed, then sends
// what is left once, within closeFlushTimeout.
func (nt *notifier) run() {
	var conn *pgx.Conn
	defer func() {
		if conn != nil {
			closeConn(conn)
		}
	}()
	backoff := minBackoff
	for {
		select {
		case <-nt.ctx.Done():
			ctx, cancel := context.WithTimeout(context.Background(), closeFlushTimeout)
			defer cancel()
			if batch := nt.take(); len(batch) > 0 {
				_ = nt.send(ctx, &conn, batch)
			}
			return
		case <-nt.kick:
		}
		for batch := nt.take(); len(batch) > 0; batch = nt.take() {
			if err := nt.send(nt.ctx, &conn, batch); err != nil {
				nt.requeue(batch)
				select {
				case <-nt.ctx.Done():
				case <-time.After(backoff):
				}
				backoff = min(2*backoff, maxBackoff)
				nt.kickSelf()
				break
			}
			backoff = minBackoff
		}
	}
}

// kickSelf makes run try again at its next turn.
func (nt *notifier) kickSelf() {
	select {
	case nt.kick <- struct{}{}:
	default:
	}
}

// send notifies channels on *conn, connecting first if needed. On error the
// connection is closed and *conn set to nil.
func (nt *notifier) send(ctx context.Context, conn **pgx.Conn, channels []string) error {
	if *conn == nil {
		cctx, cancel := context.WithTimeout(ctx, connectTimeout)
		c, err := pgx.ConnectConfig(cctx, nt.cfg)
		cancel()
		if err != nil {
			return err
		}
		*conn = c
		nt.pid.Store(c.PgConn().PID())
	}
	sctx, cancel := context.WithTimeout(ctx, listenerTimeout)
	defer cancel()
	if _, err := (*conn).Exec(sctx, notifySQL, channels, nt.token); err != nil {
		closeConn(*conn)
		*conn = nil
		nt.pid.Store(0)
		return err
	}
	nt.sent.Add(1)
	return nil
}

// close sends what is pending (within closeFlushTimeout), stops the
// goroutine and waits for it.
func (nt *notifier) close() { nt.stop(&nt.mu) }
