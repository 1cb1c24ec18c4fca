package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/internal/migrate"
	"github.com/messagedb-go/messagedb/migrations"
	"github.com/messagedb-go/messagedb/ports"
)

// Namespace is the message store of one namespace of a Store. It implements
// ports.MessageStore, ports.Importer and ports.Watcher, and is safe for
// concurrent use. It fails with domain.ErrNamespaceNotFound once the
// namespace is deleted through its Store, and with ErrClosed once the Store
// is closed.
type Namespace struct {
	e *entry
}

var (
	_ ports.MessageStore = (*Namespace)(nil)
	_ ports.Importer     = (*Namespace)(nil)
	_ ports.Watcher      = (*Namespace)(nil)
)

// ID returns the namespace's id.
func (n *Namespace) ID() string { return n.e.id }

// entry is a namespace as a Store holds it: its database, opened on first
// use, and its watchers.
type entry struct {
	store *Store
	id    string

	// rw is held shared by every call using the database and exclusively
	// to retire the entry, which therefore waits for the calls in progress.
	rw   sync.RWMutex
	gone error // why calls fail; set once, under rw

	openMu sync.Mutex // one open at a time
	db     atomic.Pointer[nsDB]

	watch watchers
}

func newEntry(s *Store, id string) *entry {
	return &entry{store: s, id: id}
}

// acquire returns the namespace's database, opening and migrating it on first
// use. On success the caller must call release when done with it.
func (e *entry) acquire(ctx context.Context) (*nsDB, error) {
	e.rw.RLock()
	if e.gone != nil {
		err := e.gone
		e.rw.RUnlock()
		return nil, err
	}
	if d := e.db.Load(); d != nil {
		return d, nil
	}
	e.openMu.Lock()
	defer e.openMu.Unlock()
	if d := e.db.Load(); d != nil {
		return d, nil
	}
	d, err := e.store.openNamespace(ctx, e.id)
	if err != nil {
		e.rw.RUnlock()
		return nil, fmt.Errorf("messagedb: sqlite: open namespace %s: %w", e.id, err)
	}
	e.db.Store(d)
	return d, nil
}

func (e *entry) release() { e.rw.RUnlock() }

// retire makes every later call fail with domain.ErrNamespaceNotFound or
// ErrClosed (reason), closes the watchers' channels and closes the database
// once the calls in progress are done.
func (e *entry) retire(reason error) error {
	if errors.Is(reason, domain.ErrNamespaceNotFound) {
		reason = fmt.Errorf("%w: %s", domain.ErrNamespaceNotFound, e.id)
	}
	e.rw.Lock()
	defer e.rw.Unlock()
	if e.gone != nil {
		return nil
	}
	e.gone = reason
	e.watch.closeAll()
	if d := e.db.Swap(nil); d != nil {
		return d.close()
	}
	return nil
}

// nsDB is an open namespace database with its prepared statements.
type nsDB struct {
	*conns
	// writeSem serialises the writers of this Store, so that they queue
	// here rather than poll SQLite's write lock; other processes' writers
	// are waited for through the busy timeout.
	writeSem chan struct{}

	byID, byIDs, version, maxGlobal, insert, importInsert *sql.Stmt
	stream, last, lastType, all                           *sql.Stmt
	category                                              [4]*sql.Stmt // by categoryVariant
}

// msgColumns are the columns collect reads: two integers and the rest of
// the message as one text, its parts separated by NUL characters, which no
// stream name, type or JSON text can hold (see unpackMessage). modernc makes
// several calls into SQLite for each column of each row; fetching three
// columns instead of eight makes reads of many messages about a third
// faster.
const msgColumns = "global_position, position, " +
	"id || time || char(0) || stream_name || char(0) || type || char(0) || data || char(0) || coalesce(metadata, '')"

// Category read variants: with or without correlation and consumer group.
const (
	withCorrelation = 1 << iota
	withGroup
)

func categoryQuery(variant int) string {
	q := "SELECT " + msgColumns + " FROM messages WHERE category = ? AND global_position >= ?"
	if variant&withCorrelation != 0 {
		q += " AND correlation_category = ?"
	}
	if variant&withGroup != 0 {
		q += " AND group_hash % ? = ?"
	}
	return q + " ORDER BY global_position LIMIT ?"
}

// openNamespace opens a namespace's database, creating it if needed, applies
// its pending migrations and prepares its statements.
func (s *Store) openNamespace(ctx context.Context, id string) (*nsDB, error) {
	s.opened.Add(1)
	var dsn string
	if s.opts.InMemory {
		dsn = s.memoryDSN("ns-" + id)
	} else {
		dsn = s.fileDSN(s.namespacePath(id))
	}
	c, err := s.openConns(ctx, dsn, namespaceConns)
	if err != nil {
		return nil, dbError(ctx, "open", err)
	}
	d := &nsDB{conns: c, writeSem: make(chan struct{}, 1)}
	m, err := migrate.New(c.bun, migrations.SQLite, nil)
	if err == nil {
		err = m.ApplyNamespaceMigration(ctx, "main")
	}
	if err != nil {
		_ = c.close()
		return nil, err
	}
	stmts := []struct {
		dst   **sql.Stmt
		query string
	}{
		{&d.byID, "SELECT stream_name, type, position, global_position FROM messages WHERE id = ?"},
		{&d.byIDs, "SELECT id, stream_name, type, position, global_position FROM messages WHERE id IN (SELECT value FROM json_each(?))"},
		{&d.version, "SELECT max(position) FROM messages WHERE stream_name = ?"},
		{&d.maxGlobal, "SELECT max(global_position) FROM messages"},
		{&d.insert, "INSERT INTO messages (position, time, stream_name, type, data, metadata, id, category, group_hash, correlation_category) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"},
		{&d.importInsert, "INSERT INTO messages (global_position, position, time, stream_name, type, data, metadata, id, category, group_hash, correlation_category) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"},
		{&d.stream, "SELECT " + msgColumns + " FROM messages WHERE stream_name = ? AND position >= ? ORDER BY position LIMIT ?"},
		{&d.last, "SELECT " + msgColumns + " FROM messages WHERE stream_name = ? ORDER BY position DESC LIMIT 1"},
		{&d.lastType, "SELECT " + msgColumns + " FROM messages WHERE stream_name = ? AND type = ? ORDER BY position DESC LIMIT 1"},
		{&d.all, "SELECT " + msgColumns + " FROM messages WHERE global_position >= ? ORDER BY global_position LIMIT ?"},
	}
	for v := range d.category {
		stmts = append(stmts, struct {
			dst   **sql.Stmt
			query string
		}{&d.category[v], categoryQuery(v)})
	}
	for _, st := range stmts {
		if *st.dst, err = c.db.PrepareContext(ctx, st.query); err != nil {
			_ = d.close()
			return nil, dbError(ctx, "prepare", err)
		}
	}
	return d, nil
}

func (d *nsDB) close() error {
	for _, st := range []*sql.Stmt{d.byID, d.byIDs, d.version, d.maxGlobal, d.insert, d.importInsert,
		d.stream, d.last, d.lastType, d.all, d.category[0], d.category[1], d.category[2], d.category[3]} {
		if st != nil {
			_ = st.Close()
		}
	}
	return d.conns.close()
}

// lockWrite takes the namespace's write lock in this Store, or gives up when
// ctx ends.
func (d *nsDB) lockWrite(ctx context.Context) error {
	select {
	case d.writeSem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("messagedb: sqlite: wait to write: %w", ctx.Err())
	}
}

func (d *nsDB) unlockWrite() { <-d.writeSem }
