package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"github.com/uptrace/bun/driver/sqliteshim"

	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/internal/migrate"
)

// nsDB is an open namespace database.
//
// Writes run on one connection held for them, w, in transactions begun with
// BEGIN IMMEDIATE, one at a time: sem serialises the writers of this Store,
// so that they queue here rather than poll SQLite's write lock (the busy
// timeout is for other processes). Using w directly rather than a
// database/sql transaction saves a goroutine per query in the transaction.
//
// In file mode reads use the rest of the pool, in parallel with the writer
// (WAL). In memory mode w is the only working connection: reads use it too,
// under sem.
type nsDB struct {
	*conns
	sem    chan struct{}
	shared bool // memory mode: reads use w, under sem

	// Guarded by sem.
	w      *sql.Conn
	ws     writeStmts
	wreads *readStmts // on w, memory mode

	// reads are on the pool, file mode: prepared on the first read, under
	// readsMu.
	readsMu sync.Mutex
	reads   atomic.Pointer[readStmts]

	// migratedFrom is what the database had recorded when the Store
	// opened it, before migrating it (none for a namespace it created).
	migratedFrom []migrate.Migration
}

type writeStmts struct {
	begin, commit, rollback                                       *sql.Stmt
	idAndVersion, byIDs, version, maxGlobal, insert, importInsert *sql.Stmt
	// insertChunk inserts insertChunkRows messages at once: batches go
	// through it a chunk at a time, a third faster than row by row.
	insertChunk *sql.Stmt
}

// insertChunkRows is the number of messages insertChunk inserts.
const insertChunkRows = 50

// insertColumns are the columns a write inserts, insertRow the values of
// one message.
const (
	insertColumns = "INSERT INTO messages (position, time, stream_name, type, data, metadata, id, category, group_hash, correlation_category) VALUES "
	insertRow     = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
	insertArgs    = 10
)

type readStmts struct {
	stream, last, lastType, all, version, categoryLast *sql.Stmt
	category                                           [4]*sql.Stmt // by variant: withCorrelation | withGroup
}

// preparer is a *sql.DB or a *sql.Conn.
type preparer interface {
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
}

// prepareAll prepares each query into its destination; on error it closes
// what it prepared.
func prepareAll(ctx context.Context, p preparer, stmts map[**sql.Stmt]string) error {
	for dst, q := range stmts {
		st, err := p.PrepareContext(ctx, q)
		if err != nil {
			for dst := range stmts {
				if *dst != nil {
					_ = (*dst).Close()
					*dst = nil
				}
			}
			return fmt.Errorf("prepare %q: %w", q, err)
		}
		*dst = st
	}
	return nil
}

func (ws *writeStmts) prepare(ctx context.Context, p preparer) error {
	return prepareAll(ctx, p, map[**sql.Stmt]string{
		&ws.begin:    "BEGIN IMMEDIATE",
		&ws.commit:   "COMMIT",
		&ws.rollback: "ROLLBACK",
		// One row: the stream's version, and the message with the id if
		// it is stored.
		&ws.idAndVersion: "SELECT (SELECT max(position) FROM messages WHERE stream_name = ?1), " +
			"m.stream_name, m.type, m.position, m.global_position, m.data, m.metadata FROM (SELECT 1) LEFT JOIN messages m ON m.id = ?2",
		&ws.byIDs:       "SELECT id, stream_name, type, position, global_position, data, metadata FROM messages WHERE id IN (SELECT value FROM json_each(?))",
		&ws.version:     "SELECT max(position) FROM messages WHERE stream_name = ?",
		&ws.maxGlobal:   "SELECT max(global_position) FROM messages",
		&ws.insert:      insertColumns + insertRow,
		&ws.insertChunk: insertColumns + strings.Repeat(insertRow+", ", insertChunkRows-1) + insertRow,
		&ws.importInsert: "INSERT INTO messages (global_position, position, time, stream_name, type, data, metadata, id, category, group_hash, correlation_category) " +
			"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	})
}

func (ws *writeStmts) close() {
	for _, st := range []*sql.Stmt{ws.begin, ws.commit, ws.rollback, ws.idAndVersion, ws.byIDs,
		ws.version, ws.maxGlobal, ws.insert, ws.importInsert, ws.insertChunk} {
		if st != nil {
			_ = st.Close()
		}
	}
	*ws = writeStmts{}
}

func (rs *readStmts) prepare(ctx context.Context, p preparer) error {
	stmts := map[**sql.Stmt]string{
		&rs.stream:   "SELECT " + msgColumns + " FROM messages WHERE stream_name = ? AND position >= ? ORDER BY position LIMIT ?",
		&rs.last:     "SELECT " + msgColumns + " FROM messages WHERE stream_name = ? ORDER BY position DESC LIMIT 1",
		&rs.lastType: "SELECT " + msgColumns + " FROM messages WHERE stream_name = ? AND type = ? ORDER BY position DESC LIMIT 1",
		&rs.all:      "SELECT " + msgColumns + " FROM messages WHERE global_position >= ? ORDER BY global_position LIMIT ?",
		&rs.version:  "SELECT max(position) FROM messages WHERE stream_name = ?",
		// The last entry of the category in messages_category.
		&rs.categoryLast: "SELECT max(global_position) FROM messages WHERE category = ?",
	}
	for v := range rs.category {
		stmts[&rs.category[v]] = categoryQuery(v)
	}
	return prepareAll(ctx, p, stmts)
}

func (rs *readStmts) close() {
	for _, st := range []*sql.Stmt{rs.stream, rs.last, rs.lastType, rs.all, rs.version, rs.categoryLast,
		rs.category[0], rs.category[1], rs.category[2], rs.category[3]} {
		if st != nil {
			_ = st.Close()
		}
	}
}

// msgColumns is what collect reads of a message: one text, its parts
// separated by NUL characters, which no stream name, type or JSON text can
// hold (see unpacker.unpack). modernc makes several calls into SQLite for each
// column of each row, and boxes each integer. This hand-written codec is kept
// because it measurably pays: against the eight columns scanned by
// database/sql, medians of 8 interleaved runs (internal/benchsuite, 2-core
// machine) are GetCategoryMessages/sqlite-memory/group 300 µs rather than
// 387 µs (22.5% less), sqlite-file/all 237 rather than 297 µs (20.0%),
// GetStreamMessages/sqlite-memory 30.9 rather than 37.8 µs (18.1%), with 235
// rather than 1,933 allocations per 100 messages.
const msgColumns = "concat_ws(char(0), global_position, position, id || time, stream_name, type, data, coalesce(metadata, ''))"

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

// openNamespace opens a namespace's database, creating it if needed, and
// applies its pending migrations. Its statements are prepared on first use:
// the writer's by the first write, the readers' by the first read.
func (s *Store) openNamespace(ctx context.Context, id string) (*nsDB, error) {
	s.opened.Add(1)
	var dsn string
	if s.opts.InMemory {
		dsn = s.memoryDSN("ns-" + id)
	} else {
		// A registered namespace's file is never made here: opening a
		// missing one would bring the namespace back empty, its messages
		// silently gone (the file was removed behind the registry's back,
		// or by another process deleting the namespace).
		path := s.namespacePath(id)
		if _, err := os.Stat(path); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("%w (its database file %s is missing)", domain.NamespaceNotFound(id), path)
			}
			return nil, err
		}
		dsn = s.fileDSN(path)
	}
	// In file mode: namespaceConns readers and the writer.
	c, err := s.openConns(ctx, dsn, namespaceConns+1)
	if err != nil {
		return nil, dbError(ctx, "open", err)
	}
	before, err := migrateNamespace(ctx, c)
	if err != nil {
		_ = c.close()
		return nil, err
	}
	d := newNSDB(c, s.opts.InMemory)
	d.migratedFrom = before
	return d, nil
}

func newNSDB(c *conns, shared bool) *nsDB {
	return &nsDB{conns: c, sem: make(chan struct{}, 1), shared: shared}
}

// migrateNamespace applies the namespace's pending migrations and returns
// what its database had recorded before.
func migrateNamespace(ctx context.Context, c *conns) ([]migrate.Migration, error) {
	m, err := migrate.New(c.db, dialect{}, nil)
	if err != nil {
		return nil, err
	}
	return m.ApplyNamespaceMigration(ctx, mainSchema)
}

// createNamespaceFile creates a namespace's database file, migrated and in
// WAL mode, syncs it and its directory to stable storage, and opens it. It is
// for a file no one else uses: the caller holds the registry's write lock and
// removed any stale file; on error it leaves a file the caller removes.
//
// Built with the pool's settings, the file would cost seven syncs: switching
// a new file to WAL mode is a transaction through a rollback journal (four),
// and the migration the first transaction of a new write-ahead log (three).
// So the pool's first connection builds it differently: with its journal in
// memory (for rollbacks) and without syncs, the migration first, then the
// switch to WAL mode, all written to the database file, which is then synced
// once with its directory. That connection then takes the pool's settings
// and stays in the pool. A build that fails or crashes leaves a file that is
// never registered, and is removed before the id is used again.
func (s *Store) createNamespaceFile(ctx context.Context, id string) (*nsDB, error) {
	s.opened.Add(1)
	path := s.namespacePath(id)
	cn := &buildConnector{
		drv:   sqliteshim.Driver(),
		build: s.fileDSNWith(path, "OFF", "MEMORY"),
		dsn:   s.fileDSN(path),
	}
	db := sql.OpenDB(cn)
	c := &conns{db: db, bun: bun.NewDB(db, sqlitedialect.New())}
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	// One connection, the builder, until it is built.
	db.SetMaxOpenConns(1)
	fail := func(op string, err error) (*nsDB, error) {
		_ = c.close()
		return nil, dbError(ctx, op, err)
	}
	if _, err := migrateNamespace(ctx, c); err != nil {
		_ = c.close()
		return nil, err
	}
	var mode string
	if err := db.QueryRowContext(ctx, "PRAGMA journal_mode=WAL").Scan(&mode); err != nil {
		return fail("set WAL mode", err)
	}
	if !strings.EqualFold(mode, "wal") {
		_ = c.close()
		return nil, fmt.Errorf("messagedb: sqlite: journal mode is %q, not WAL (is the file on a file system without shared memory?)", mode)
	}
	if err := syncPath(path); err != nil {
		_ = c.close()
		return nil, fmt.Errorf("messagedb: sqlite: sync database file: %w", err)
	}
	// A process holding a stale handle on the namespace may have opened the
	// file meanwhile and switched it to WAL mode first: the migration is then
	// in the write-ahead log.
	if err := syncPath(path + "-wal"); err != nil && !errors.Is(err, fs.ErrNotExist) {
		_ = c.close()
		return nil, fmt.Errorf("messagedb: sqlite: sync write-ahead log: %w", err)
	}
	if err := syncPath(filepath.Dir(path)); err != nil {
		_ = c.close()
		return nil, fmt.Errorf("messagedb: sqlite: sync namespace directory: %w", err)
	}
	if _, err := db.ExecContext(ctx, "PRAGMA synchronous="+string(s.opts.Synchronous)); err != nil {
		return fail("set synchronous", err)
	}
	db.SetMaxOpenConns(namespaceConns + 1)
	db.SetMaxIdleConns(namespaceConns + 1)
	return newNSDB(c, false), nil
}

// buildConnector opens a pool's first connection with the DSN build, the
// others with dsn.
type buildConnector struct {
	drv        driver.Driver
	build, dsn string
	built      atomic.Bool
}

func (b *buildConnector) Connect(context.Context) (driver.Conn, error) {
	if b.built.CompareAndSwap(false, true) {
		return b.drv.Open(b.build)
	}
	return b.drv.Open(b.dsn)
}

func (b *buildConnector) Driver() driver.Driver { return b.drv }

// syncPath syncs a file or directory to stable storage.
func syncPath(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// openWriter takes the writer connection from the pool and prepares its
// statements. The caller holds sem, or is the only user.
func (d *nsDB) openWriter(ctx context.Context) error {
	w, err := d.db.Conn(ctx)
	if err != nil {
		return err
	}
	if err := d.ws.prepare(ctx, w); err != nil {
		_ = w.Close()
		return err
	}
	if d.shared {
		d.wreads = new(readStmts)
		if err := d.wreads.prepare(ctx, w); err != nil {
			d.ws.close()
			_ = w.Close()
			return err
		}
	}
	d.w = w
	return nil
}

// closeWriter closes the writer connection for good: the driver connection
// is discarded, not returned to the pool, so that a transaction it may still
// be in ends (rolled back) with it. The caller holds sem.
func (d *nsDB) closeWriter() {
	if d.w == nil {
		return
	}
	d.ws.close()
	if d.wreads != nil {
		d.wreads.close()
		d.wreads = nil
	}
	_ = d.w.Raw(func(any) error { return driver.ErrBadConn })
	_ = d.w.Close()
	d.w = nil
}

func (d *nsDB) close() error {
	d.sem <- struct{}{}
	d.closeWriter()
	<-d.sem
	if rs := d.reads.Swap(nil); rs != nil {
		rs.close()
	}
	return d.conns.close()
}

// lock takes the namespace's write lock in this Store, or gives up when ctx
// ends.
func (d *nsDB) lock(ctx context.Context) error {
	select {
	case d.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("messagedb: sqlite: wait for the namespace: %w", ctx.Err())
	}
}

func (d *nsDB) unlock() { <-d.sem }

// lockWriter takes the namespace's write lock, as lock does, and opens the
// writer connection if it is not open. On success the caller unlocks.
func (d *nsDB) lockWriter(ctx context.Context) error {
	if err := d.lock(ctx); err != nil {
		return err
	}
	if d.w == nil {
		if err := d.openWriter(ctx); err != nil {
			d.unlock()
			return err
		}
	}
	return nil
}

// readStmts returns the statements reads use. Call endRead when the read
// is done (its rows closed).
func (d *nsDB) readStmts(ctx context.Context) (*readStmts, error) {
	if !d.shared {
		if rs := d.reads.Load(); rs != nil {
			return rs, nil
		}
		return d.prepareReads(ctx)
	}
	if err := d.lockWriter(ctx); err != nil {
		return nil, err
	}
	return d.wreads, nil
}

// prepareReads prepares the read statements on the pool (file mode), once.
func (d *nsDB) prepareReads(ctx context.Context) (*readStmts, error) {
	d.readsMu.Lock()
	defer d.readsMu.Unlock()
	if rs := d.reads.Load(); rs != nil {
		return rs, nil
	}
	rs := new(readStmts)
	if err := rs.prepare(ctx, d.db); err != nil {
		return nil, err
	}
	d.reads.Store(rs)
	return rs, nil
}

func (d *nsDB) endRead() {
	if d.shared {
		d.unlock()
	}
}

// begin locks the namespace for a write and begins an immediate
// transaction on the writer connection. On success the caller ends it with
// commit or rollback.
func (d *nsDB) begin(ctx context.Context) error {
	if err := d.lockWriter(ctx); err != nil {
		return err
	}
	_, err := d.ws.begin.ExecContext(ctx)
	if err != nil && ctx.Err() == nil && !isBusy(err) {
		// The connection may be left in a transaction by a rollback that
		// failed: start afresh on another one.
		d.closeWriter()
		if err = d.openWriter(ctx); err == nil {
			_, err = d.ws.begin.ExecContext(ctx)
		}
	}
	if err != nil {
		d.unlock()
		return err
	}
	return nil
}

// commit commits the write transaction and unlocks the namespace; on error
// the transaction is rolled back.
func (d *nsDB) commit(ctx context.Context) error {
	if _, err := d.ws.commit.ExecContext(ctx); err != nil {
		d.rollback(ctx)
		return err
	}
	d.unlock()
	return nil
}

// rollback rolls the write transaction back, if SQLite has not already, and
// unlocks the namespace.
func (d *nsDB) rollback(ctx context.Context) {
	defer d.unlock()
	if d.w == nil {
		return
	}
	// An error here is mostly "no transaction is active": SQLite rolls back
	// by itself after some errors. Anything worse is found by the next
	// begin, which then replaces the connection.
	_, _ = d.ws.rollback.ExecContext(context.WithoutCancel(ctx))
}
