package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/internal/wakeup"
	"github.com/messagedb-go/messagedb/ports"
)

// WatchCategory returns a channel that receives a value after messages
// written to the category have committed; see ports.Watcher. A write
// through this Store wakes the category's watchers as soon as it has
// committed; a write through any Store (another process, say) is announced
// on the category's channel (NotifyChannel) by that Store's notifier, after
// the commit and outside the write's transaction, and this Store's listener
// connection LISTENs to the channels that have watchers. A Message DB
// client writing through SQL (write_message) notifies nobody: its messages
// are found at the consumers' next poll, or at once if it calls
// pg_notify with the schema's notify_channel(category) after its commit.
//
// WatchCategory returns once the listener listens to the channel, or once a
// connection attempt failed (it then retries on its own, and wakes every
// watcher when it is back, since notifications were lost meanwhile). The
// channel is closed when ctx is done, the namespace is deleted through this
// Store, or the Store closed.
func (n *Namespace) WatchCategory(ctx context.Context, category string) (<-chan struct{}, error) {
	if err := domain.ValidateCategory(category); err != nil {
		return nil, err
	}
	if err := n.checkOpen(); err != nil {
		return nil, err
	}
	// The watch ends with the namespace: a delete through this Store
	// closes the channel, as on every backend.
	ctx = n.inc.Bind(ctx)
	ch, ready, err := n.s.listener.watch(ctx, NotifyChannel(n.id, category))
	if err != nil {
		return nil, err
	}
	select {
	case <-ready:
	case <-ctx.Done():
	}
	return ch, nil
}

// Timings of the listener.
const (
	connectTimeout  = 10 * time.Second
	minBackoff      = 50 * time.Millisecond
	maxBackoff      = 5 * time.Second
	heartbeat       = 30 * time.Second // a ping after this long without notification
	listenerTimeout = 5 * time.Second  // for LISTEN, UNLISTEN and the ping
)

// background is the life of a goroutine that a Store starts on first use
// and ends at Close: the listener's and the notifier's. started and closed
// are guarded by the owner's mutex.
type background struct {
	run     func()          // the goroutine's work
	ctx     context.Context // canceled by stop
	cancel  context.CancelFunc
	done    chan struct{} // closed when the goroutine has ended
	started bool
	closed  bool
}

func newBackground(run func()) background {
	ctx, cancel := context.WithCancel(context.Background())
	return background{run: run, ctx: ctx, cancel: cancel, done: make(chan struct{})}
}

// start starts the goroutine, unless it was started. The owner's mutex is
// held.
func (b *background) start() {
	if !b.started {
		b.started = true
		go func() {
			defer close(b.done)
			b.run()
		}()
	}
}

// stop marks the owner closed (under its mutex mu), cancels the goroutine's
// context and waits for the goroutine to end.
func (b *background) stop(mu *sync.Mutex) {
	mu.Lock()
	b.closed = true
	started := b.started
	mu.Unlock()
	b.cancel()
	if started {
		<-b.done
	}
}

// closeConn closes a connection of the listener or the notifier, waiting
// at most listenerTimeout for the server.
func closeConn(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), listenerTimeout)
	defer cancel()
	_ = conn.Close(ctx)
}

// listener is a Store's LISTEN connection: one goroutine, started on the
// first watch, that keeps a dedicated connection listening to the channels
// that have watchers (those of hub) and wakes them on notifications.
type listener struct {
	cfg   *pgx.ConnConfig
	self  string                   // the token of the own Store's notifications
	obs   ports.ConnectionObserver // nil: none
	reads *router                  // learns the primary positions notifications carry; nil without standbys

	// hub holds the watchers by channel. Lock order: mu, then hub's.
	hub wakeup.Hub

	mu sync.Mutex
	background
	chans     map[string]*channel // the channels with watchers
	dirty     bool                // the set of channels changed since the last sync
	interrupt context.CancelFunc  // ends the current wait, to sync
	pid       uint32              // backend of the current connection, 0 if none
}

// channel is the state of one LISTEN channel that has watchers.
type channel struct {
	listening bool          // LISTEN done on the current connection
	ready     chan struct{} // closed once listening, or once a connection attempt failed
}

func newListener(cfg *pgx.ConnConfig, self string, reads *router) *listener {
	l := &listener{cfg: cfg, self: self, reads: reads, chans: map[string]*channel{}}
	l.background = newBackground(l.run)
	l.hub.Idle = l.idle
	return l
}

// watch registers a watcher of the channel until ctx is done. ready is
// closed once the channel is listened to (or the listener is disconnected).
func (l *listener) watch(ctx context.Context, name string) (_ <-chan struct{}, ready <-chan struct{}, _ error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, nil, ErrClosed
	}
	c := l.chans[name]
	if c == nil {
		c = &channel{ready: make(chan struct{})}
		l.chans[name] = c
		l.poke()
	}
	ch := l.hub.Watch(ctx, name)
	l.start()
	return ch, c.ready, nil
}

// idle forgets a channel whose last watcher has gone, unless another came
// meanwhile: the next sync UNLISTENs it.
func (l *listener) idle(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.chans[name] != nil && !l.hub.Watched(name) {
		delete(l.chans, name)
		l.poke()
	}
}

// poke asks the goroutine to sync its LISTENs. l.mu is held.
func (l *listener) poke() {
	l.dirty = true
	if l.interrupt != nil {
		l.interrupt()
	}
}

// close stops the goroutine, waits for it and closes every watcher's
// channel.
func (l *listener) close() {
	l.stop(&l.mu)
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.chans {
		c.release() // a watch made as the listener closed has no LISTEN to wait for
	}
	l.chans = map[string]*channel{}
	l.hub.Close()
}

// run connects, serves and reconnects with backoff until the listener is
// closed.
func (l *listener) run() {
	backoff := minBackoff
	reconnect := false
	failed := 0 // connection attempts failed in a row
	for l.ctx.Err() == nil {
		ctx, cancel := context.WithTimeout(l.ctx, connectTimeout)
		conn, err := pgx.ConnectConfig(ctx, l.cfg)
		cancel()
		if err != nil {
			l.disconnected()
			failed++
			if l.obs != nil && l.ctx.Err() == nil {
				l.obs.ConnectionLost("listener", failed, backoff, err)
			}
			select {
			case <-l.ctx.Done():
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, maxBackoff)
			reconnect = true
			continue
		}
		if reconnect && l.obs != nil {
			l.obs.ConnectionRestored("listener", failed)
		}
		backoff, failed = minBackoff, 0
		err = l.serve(conn, reconnect)
		closeConn(conn)
		l.disconnected()
		reconnect = true
		if l.obs != nil && l.ctx.Err() == nil {
			l.obs.ConnectionLost("listener", 0, 0, err)
		}
	}
}

// disconnected marks every channel as not listened to, and releases the
// watchers waiting for a LISTEN.
func (l *listener) disconnected() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pid = 0
	for _, c := range l.chans {
		c.listening = false
		c.release()
	}
}

// release closes c.ready, unless it is closed. l.mu is held.
func (c *channel) release() {
	select {
	case <-c.ready:
	default:
		close(c.ready)
	}
}

// serve keeps conn listening to the watched channels and dispatches
// notifications until the connection fails or the listener is closed. After
// a reconnection every watcher is woken: notifications sent while the
// connection was down are lost.
//
// It returns why the connection is given up.
func (l *listener) serve(conn *pgx.Conn, reconnected bool) error {
	listened := map[string]bool{}
	l.mu.Lock()
	l.pid = conn.PgConn().PID()
	l.mu.Unlock()
	for {
		if err := l.sync(conn, listened); err != nil {
			return err
		}
		if reconnected {
			l.hub.WakeAll()
			reconnected = false
		}

		wait, cancel := context.WithTimeout(l.ctx, heartbeat)
		l.mu.Lock()
		l.interrupt = cancel
		if l.dirty {
			cancel()
		}
		l.mu.Unlock()
		note, err := conn.WaitForNotification(wait)
		l.mu.Lock()
		l.interrupt = nil
		l.mu.Unlock()
		interrupted := wait.Err() != nil
		cancel()

		var token string
		var position lsn
		if err == nil {
			token, position = parsePayload(note.Payload)
		}
		switch {
		case l.ctx.Err() != nil:
			return l.ctx.Err()
		case err == nil && token == l.self && l.self != "":
			// The own Store's: its watchers were woken at the write.
		case err == nil:
			// Reads after the wake-up see what it announced, also on a
			// standby (NOTIFY is not replicated: listening is on the
			// primary).
			if position != 0 {
				l.reads.notified(position)
			}
			l.hub.Wake(note.Channel)
		case conn.IsClosed():
			return fmt.Errorf("connection closed: %w", err)
		case interrupted && errors.Is(wait.Err(), context.DeadlineExceeded):
			// Nothing for a while: check that the connection is alive.
			ctx, cancel := context.WithTimeout(l.ctx, listenerTimeout)
			err := conn.Ping(ctx)
			cancel()
			if err != nil {
				return fmt.Errorf("ping: %w", err)
			}
		case interrupted:
			// poked: sync
		default:
			return err
		}
	}
}

// sync LISTENs to the watched channels not listened to yet and UNLISTENs
// those without watchers.
func (l *listener) sync(conn *pgx.Conn, listened map[string]bool) error {
	l.mu.Lock()
	l.dirty = false
	var listen, unlisten []string
	for name, c := range l.chans {
		if !listened[name] || !c.listening {
			listen = append(listen, name)
		}
	}
	for name := range listened {
		if l.chans[name] == nil {
			unlisten = append(unlisten, name)
		}
	}
	l.mu.Unlock()

	ctx, cancel := context.WithTimeout(l.ctx, listenerTimeout)
	defer cancel()
	for _, name := range unlisten {
		if _, err := conn.Exec(ctx, "UNLISTEN "+bunIdent(name)); err != nil {
			return fmt.Errorf("unlisten: %w", err)
		}
		delete(listened, name)
	}
	for _, name := range listen {
		if _, err := conn.Exec(ctx, "LISTEN "+bunIdent(name)); err != nil {
			return fmt.Errorf("listen: %w", err)
		}
		listened[name] = true
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	for name, c := range l.chans {
		if listened[name] && !c.listening {
			c.listening = true
			c.release()
		}
	}
	return nil
}

// parsePayload reads the payload of a notification a Store's notifier sent:
// the Store's token, a space and the primary's WAL position when it was
// sent (after the commit of the writes it announces). Another payload (a
// Message DB client's, or none) is a token without position.
func parsePayload(payload string) (token string, position lsn) {
	token, text, ok := strings.Cut(payload, " ")
	if !ok {
		return payload, 0
	}
	position, err := parseLSN(text)
	if err != nil {
		return payload, 0
	}
	return token, position
}

// backendPID returns the process id of the listener's connection, 0 when
// it is not connected.
func (l *listener) backendPID() uint32 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pid
}
