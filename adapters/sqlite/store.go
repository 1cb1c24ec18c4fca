package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"github.com/uptrace/bun/driver/sqliteshim"

	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/internal/incarnation"
	"github.com/messagedb-go/messagedb/internal/migrate"
	"github.com/messagedb-go/messagedb/ports"
)

// Synchronous is SQLite's synchronous setting: how hard a commit works to
// reach stable storage. See Options.
type Synchronous string

// The synchronous settings a Store accepts.
const (
	// SynchronousFull syncs the write-ahead log on every commit: a write
	// that returned survives a crash of the process, of the operating system
	// and a power loss, as on PostgreSQL.
	SynchronousFull Synchronous = "FULL"
	// SynchronousNormal syncs only when the write-ahead log is checkpointed:
	// a power loss or an operating system crash may lose the last
	// transactions that returned, but never corrupts the database. A crash of
	// the process alone loses nothing.
	SynchronousNormal Synchronous = "NORMAL"
)

// DefaultBusyTimeout is how long a write waits for another process's write
// lock by default.
const DefaultBusyTimeout = 5 * time.Second

// Options configure a Store. Exactly one of Dir and InMemory is set.
type Options struct {
	// Dir is the data directory of a store kept in files; it is created if
	// missing. It holds registry.db, the registry of namespaces, and one
	// database per namespace, namespaces/<id>.db (with its -wal and -shm
	// files while open).
	Dir string

	// InMemory keeps the registry and every namespace in an in-memory
	// database of its own, gone when the Store is closed. It is meant for
	// tests: fast, and isolated from every other Store.
	InMemory bool

	// Synchronous is the durability of a commit in file mode: SynchronousFull
	// (the default) or SynchronousNormal. Files are always in WAL mode, so
	// neither setting can corrupt a database; they differ in what a power
	// loss may take back. With FULL a write that returned survives power
	// loss, as on PostgreSQL; with NORMAL the last transactions before a
	// power loss or an operating system crash may be lost, in exchange for
	// faster writes (no fsync per commit).
	Synchronous Synchronous

	// BusyTimeout is how long an operation waits for a lock held by another
	// process (or another Store) on the same file before it fails; default
	// DefaultBusyTimeout. Writers of one Store never wait on each other
	// through it: they queue in the Store.
	BusyTimeout time.Duration

	// MaxMessageSize is the most bytes of data and metadata one message may
	// hold together, in canonical form: 0 means domain.DefaultMaxMessageSize
	// (1 MiB), a negative value no limit. A larger message is refused with
	// an error matching domain.ErrMessageTooLarge; see domain.Limits.
	MaxMessageSize int64

	// MustExist makes Open fail when Dir holds no store yet (no registry),
	// creating nothing: the error matches domain.ErrStoreNotFound and names
	// the directory. It is for tools that only read, so that a mistyped
	// path is reported rather than made. Unused in memory.
	MustExist bool
}

// limits returns the domain limits the options set.
func (o Options) limits() domain.Limits {
	return domain.Limits{MaxMessageSize: o.MaxMessageSize}
}

func (o Options) withDefaults() (Options, error) {
	if (o.Dir == "") == !o.InMemory {
		return o, fmt.Errorf("%w: sqlite: set exactly one of Dir and InMemory", domain.ErrInvalidOptions)
	}
	switch o.Synchronous {
	case "":
		o.Synchronous = SynchronousFull
	case SynchronousFull, SynchronousNormal:
	default:
		return o, fmt.Errorf("%w: sqlite: synchronous %q (use FULL or NORMAL)", domain.ErrInvalidOptions, o.Synchronous)
	}
	switch {
	case o.BusyTimeout == 0:
		o.BusyTimeout = DefaultBusyTimeout
	case o.BusyTimeout < 0:
		return o, fmt.Errorf("%w: sqlite: negative busy timeout %s", domain.ErrInvalidOptions, o.BusyTimeout)
	}
	return o, nil
}

// Store is a SQLite backend: a registry of namespaces and a database per
// namespace. It is safe for concurrent use.
type Store struct {
	opts     Options
	memID    string        // makes in-memory database names unique to this Store
	memSeq   atomic.Uint64 // and to each namespace created in it
	registry *conns
	opened   atomic.Int64 // namespace databases opened, for tests
	// registryBefore is what the registry had recorded before Open
	// migrated it.
	registryBefore []migrate.Migration

	// admin serialises the creation and deletion of namespaces (and the
	// first look-up of one) in this Store; across processes they serialise
	// on the registry's write lock.
	admin chan struct{}

	// nss holds the current incarnation of each namespace handed out: its
	// database, opened on first use, and its watchers.
	nss    incarnation.Registry[nsState]
	closed atomic.Bool
}

var _ ports.Store = (*Store)(nil)

// Open opens (creating if needed) a store in opts.Dir, or a new in-memory
// store, and migrates its registry.
func Open(ctx context.Context, opts Options) (*Store, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Store{opts: opts, admin: make(chan struct{}, 1)}
	var dsn string
	if opts.InMemory {
		s.memID = uuid.NewString()
		dsn = s.memoryDSN("registry")
	} else {
		if opts.MustExist {
			if err := storeExists(opts.Dir); err != nil {
				return nil, err
			}
		}
		if err := os.MkdirAll(filepath.Join(opts.Dir, namespaceDir), 0o755); err != nil {
			return nil, fmt.Errorf("messagedb: sqlite: create data directory: %w", err)
		}
		dsn = s.fileDSN(filepath.Join(opts.Dir, registryFile))
	}
	s.registry, err = s.openConns(ctx, dsn, registryConns)
	if err != nil {
		return nil, fmt.Errorf("messagedb: sqlite: open registry: %w", err)
	}
	m, err := migrate.New(s.registry.db, dialect{}, nil)
	if err == nil {
		s.registryBefore, err = m.AutoMigrate(ctx)
	}
	if err != nil {
		_ = s.registry.close()
		return nil, domain.Wrapf(err, "sqlite: migrate registry")
	}
	return s, nil
}

// storeExists returns an error matching domain.ErrStoreNotFound unless dir
// holds a store's registry.
func storeExists(dir string) error {
	if info, err := os.Stat(dir); err != nil || !info.IsDir() {
		return fmt.Errorf("%w: directory %s does not exist", domain.ErrStoreNotFound, dir)
	}
	if _, err := os.Stat(filepath.Join(dir, registryFile)); err != nil {
		return fmt.Errorf("%w: directory %s holds no store (no %s)", domain.ErrStoreNotFound, dir, registryFile)
	}
	return nil
}

const (
	registryFile  = "registry.db"
	namespaceDir  = "namespaces"
	registryConns = 2 // connections of the registry in file mode
	// namespaceConns is the most connections a namespace opens in file
	// mode: one writer at a time, readers in parallel (WAL).
	namespaceConns = 4
)

// fileDSN returns the modernc DSN of a database file.
func (s *Store) fileDSN(path string) string {
	return s.fileDSNWith(path, s.opts.Synchronous, "WAL")
}

// fileDSNWith returns the DSN of a database file with the given synchronous
// setting and journal mode.
func (s *Store) fileDSNWith(path string, sync Synchronous, journal string) string {
	u := url.URL{Path: filepath.ToSlash(path)}
	return "file:" + u.EscapedPath() + "?" + s.pragmas(sync) + "&_pragma=journal_mode(" + journal + ")"
}

// memoryDSN returns the DSN of an in-memory database of its own: memdb
// databases whose name starts with "/" are shared by the connections of this
// process that name them, and live while one of them is open.
func (s *Store) memoryDSN(name string) string {
	return "file:/messagedb-" + s.memID + "-" + name + "-" +
		strconv.FormatUint(s.memSeq.Add(1), 10) + "?vfs=memdb&" + s.pragmas(s.opts.Synchronous)
}

func (s *Store) pragmas(sync Synchronous) string {
	return "_pragma=busy_timeout(" + strconv.FormatInt(s.opts.BusyTimeout.Milliseconds(), 10) + ")" +
		"&_pragma=foreign_keys(1)" +
		"&_pragma=synchronous(" + string(sync) + ")" +
		"&_pragma=mmap_size(1073741824)" +
		"&_txlock=immediate"
}

// conns is one database: its pool and, in memory mode, the connection that
// keeps it alive.
type conns struct {
	db     *sql.DB
	bun    *bun.DB
	keeper *sql.Conn // in-memory databases only: never used, never closed before db
}

// openConns opens a database. In memory mode the pool has one working
// connection, which serialises its users, and a keeper; in file mode up to
// maxFile connections, with writers serialised by the caller.
func (s *Store) openConns(ctx context.Context, dsn string, maxFile int) (*conns, error) {
	db, err := sql.Open(sqliteshim.ShimName, dsn)
	if err != nil {
		return nil, err
	}
	c := &conns{db: db, bun: bun.NewDB(db, sqlitedialect.New())}
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	if s.opts.InMemory {
		db.SetMaxOpenConns(2)
		db.SetMaxIdleConns(2)
		if c.keeper, err = db.Conn(ctx); err != nil {
			_ = db.Close()
			return nil, err
		}
		// Open the database through the keeper.
		if err = c.keeper.PingContext(ctx); err != nil {
			_ = c.close()
			return nil, err
		}
		return c, nil
	}
	db.SetMaxOpenConns(maxFile)
	db.SetMaxIdleConns(maxFile)
	var mode string
	if err := db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		_ = c.close()
		return nil, err
	}
	if !strings.EqualFold(mode, "wal") {
		_ = c.close()
		return nil, fmt.Errorf("journal mode is %q, not WAL (is the file on a file system without shared memory?)", mode)
	}
	return c, nil
}

func (c *conns) close() error {
	err := c.db.Close()
	if c.keeper != nil {
		// After the pool: the keeper's connection is the last to the
		// in-memory database, which goes with it.
		err = errors.Join(err, c.keeper.Close())
	}
	return err
}

// lockAdmin takes the Store's admin lock, or gives up when ctx ends.
func (s *Store) lockAdmin(ctx context.Context) error {
	select {
	case s.admin <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("messagedb: sqlite: %w", ctx.Err())
	}
}

func (s *Store) unlockAdmin() { <-s.admin }

func (s *Store) isClosed() bool { return s.closed.Load() }

// registryRow is a row of the registry.
type registryRow struct {
	bun.BaseModel `bun:"table:namespaces"`

	ID          string `bun:"id,pk"`
	Description string `bun:"description"`
	CreatedAt   string `bun:"created_at"`
}

func (r registryRow) namespace() (domain.Namespace, error) {
	at, err := parseTime(r.CreatedAt)
	if err != nil {
		return domain.Namespace{}, fmt.Errorf("messagedb: sqlite: namespace %s: created_at %q: %w", r.ID, r.CreatedAt, err)
	}
	return domain.Namespace{ID: r.ID, Description: r.Description, CreatedAt: at}, nil
}

// CreateNamespace creates an empty namespace: its database (file or
// in-memory), migrated, and its registry row, all or nothing.
func (s *Store) CreateNamespace(ctx context.Context, id string, opts domain.NamespaceOptions) (domain.Namespace, error) {
	if err := domain.ValidateNamespaceID(id); err != nil {
		return domain.Namespace{}, err
	}
	if err := opts.Validate(); err != nil {
		return domain.Namespace{}, err
	}
	if err := s.lockAdmin(ctx); err != nil {
		return domain.Namespace{}, err
	}
	defer s.unlockAdmin()
	if s.isClosed() {
		return domain.Namespace{}, ErrClosed
	}

	// The registry's write lock, held to the end, serialises this with
	// other processes creating or deleting namespaces in the directory.
	tx, err := s.registry.bun.BeginTx(ctx, nil)
	if err != nil {
		return domain.Namespace{}, dbError(ctx, "create namespace "+id, err)
	}
	defer func() { _ = tx.Rollback() }()

	exists, err := tx.NewSelect().Model((*registryRow)(nil)).Where("id = ?", id).Exists(ctx)
	if err != nil {
		return domain.Namespace{}, dbError(ctx, "create namespace "+id, err)
	}
	if exists {
		return domain.Namespace{}, domain.NamespaceExists(id)
	}

	// Not registered: what this Store still holds for the id (a namespace
	// deleted by another process) and any file left by a create or delete
	// that did not finish are stale.
	_ = s.nss.End(id, domain.NamespaceNotFound(id), releaseState)
	if err := s.removeFiles(id); err != nil {
		return domain.Namespace{}, fmt.Errorf("messagedb: sqlite: create namespace %s: remove stale files: %w", id, err)
	}
	var ndb *nsDB
	if s.opts.InMemory {
		ndb, err = s.openNamespace(ctx, id)
	} else {
		ndb, err = s.createNamespaceFile(ctx, id)
	}
	if err != nil {
		_ = s.removeFiles(id)
		return domain.Namespace{}, domain.Wrapf(err, "sqlite: create namespace %s", id)
	}
	abandon := func() {
		_ = ndb.close()
		_ = s.removeFiles(id)
	}

	row := registryRow{
		ID:          id,
		Description: opts.Description,
		CreatedAt:   formatTime(time.Now()),
	}
	if _, err := tx.NewInsert().Model(&row).Exec(ctx); err != nil {
		abandon()
		if isUniqueViolation(err) {
			return domain.Namespace{}, domain.NamespaceExists(id)
		}
		return domain.Namespace{}, dbError(ctx, "create namespace "+id, err)
	}
	if err := tx.Commit(); err != nil {
		abandon()
		return domain.Namespace{}, dbError(ctx, "create namespace "+id, err)
	}

	// A new incarnation: the stale one ended above, and handles are made
	// under the admin lock.
	inc, err := s.nss.Take(id)
	if err != nil {
		_ = ndb.close()
		return domain.Namespace{}, err
	}
	inc.State.db.Store(ndb)
	s.nss.Release(id, inc, true)
	return row.namespace()
}

// DeleteNamespace deletes the namespace's registry row and its database:
// message stores handed out for it fail afterwards with
// domain.ErrNamespaceNotFound, and its file is removed with its -wal and
// -shm files.
func (s *Store) DeleteNamespace(ctx context.Context, id string) error {
	if err := domain.ValidateNamespaceID(id); err != nil {
		return err
	}
	if err := s.lockAdmin(ctx); err != nil {
		return err
	}
	defer s.unlockAdmin()
	if s.isClosed() {
		return ErrClosed
	}

	tx, err := s.registry.bun.BeginTx(ctx, nil)
	if err != nil {
		return dbError(ctx, "delete namespace "+id, err)
	}
	defer func() { _ = tx.Rollback() }()
	res, err := tx.NewDelete().Model((*registryRow)(nil)).Where("id = ?", id).Exec(ctx)
	if err != nil {
		return dbError(ctx, "delete namespace "+id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return dbError(ctx, "delete namespace "+id, err)
	} else if n == 0 {
		return domain.NamespaceNotFound(id)
	}

	// Close the database (waiting for the calls in progress on it) and
	// remove its files while the registry is locked, so that no other
	// process can create the namespace again in between.
	_ = s.nss.End(id, domain.NamespaceNotFound(id), releaseState)
	rmErr := s.removeFiles(id)
	if err := tx.Commit(); err != nil {
		return dbError(ctx, "delete namespace "+id, err)
	}
	if rmErr != nil {
		// The namespace is deleted; a file that stays behind is removed
		// before the id is used again.
		return fmt.Errorf("messagedb: sqlite: namespace %s deleted, but removing its files failed: %w", id, rmErr)
	}
	return nil
}

// GetNamespace returns the namespace's registry row.
func (s *Store) GetNamespace(ctx context.Context, id string) (domain.Namespace, error) {
	if err := domain.ValidateNamespaceID(id); err != nil {
		return domain.Namespace{}, err
	}
	if s.isClosed() {
		return domain.Namespace{}, ErrClosed
	}
	var row registryRow
	err := s.registry.bun.NewSelect().Model(&row).Where("id = ?", id).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return domain.Namespace{}, domain.NamespaceNotFound(id)
	}
	if err != nil {
		return domain.Namespace{}, dbError(ctx, "get namespace "+id, err)
	}
	return row.namespace()
}

// ListNamespaces returns every namespace, ordered by id.
func (s *Store) ListNamespaces(ctx context.Context) ([]domain.Namespace, error) {
	if s.isClosed() {
		return nil, ErrClosed
	}
	var rows []registryRow
	if err := s.registry.bun.NewSelect().Model(&rows).Order("id").Scan(ctx); err != nil {
		return nil, dbError(ctx, "list namespaces", err)
	}
	out := make([]domain.Namespace, 0, len(rows))
	for _, r := range rows {
		n, err := r.namespace()
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

// MessageStore returns the namespace's message store, a *Namespace, which
// also implements ports.Importer and ports.Watcher.
func (s *Store) MessageStore(ctx context.Context, namespaceID string) (ports.MessageStore, error) {
	n, err := s.Namespace(ctx, namespaceID)
	if err != nil {
		return nil, err
	}
	return n, nil
}

// Namespace returns the namespace's message store. Its database is opened on
// first use, not here.
func (s *Store) Namespace(ctx context.Context, id string) (*Namespace, error) {
	if err := domain.ValidateNamespaceID(id); err != nil {
		return nil, err
	}
	inc, err := s.nss.Take(id)
	if err != nil {
		return nil, err
	}
	found := s.nss.Held(inc)
	if !found {
		found, err = s.registered(ctx, id, inc)
	}
	s.nss.Release(id, inc, found)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, domain.NamespaceNotFound(id)
	}
	return &Namespace{s: s, id: id, inc: inc}, nil
}

// registered looks namespace id up in the registry, the first time this
// Store hands it out: under the admin lock, so that a delete cannot slip
// between reading the registry and handing out the store. inc is the
// incarnation taken for it.
func (s *Store) registered(ctx context.Context, id string, inc *incarnation.Incarnation[nsState]) (bool, error) {
	if err := s.lockAdmin(ctx); err != nil {
		return false, err
	}
	defer s.unlockAdmin()
	if err := inc.Err(); err != nil {
		return false, err // deleted, or the Store closed, meanwhile
	}
	exists, err := s.registry.bun.NewSelect().Model((*registryRow)(nil)).Where("id = ?", id).Exists(ctx)
	if err != nil {
		return false, dbError(ctx, "namespace "+id, err)
	}
	return exists, nil
}

// namespacePath returns the database file of a namespace.
func (s *Store) namespacePath(id string) string {
	return filepath.Join(s.opts.Dir, namespaceDir, id+".db")
}

// removeFiles removes a namespace's database file with its -wal and -shm
// files, if any. The database file goes first: a write-ahead log without its
// database is never replayed into anything (and is removed too).
func (s *Store) removeFiles(id string) error {
	if s.opts.InMemory {
		return nil
	}
	p := s.namespacePath(id)
	var errs []error
	for _, f := range []string{p, p + "-wal", p + "-shm", p + "-journal"} {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Close closes every database the Store opened. Message stores handed out
// fail with ErrClosed afterwards. In memory mode every namespace is gone.
func (s *Store) Close() error {
	s.admin <- struct{}{} // wait for a create or delete in progress
	defer s.unlockAdmin()
	if s.closed.Swap(true) {
		return nil
	}
	err := s.nss.EndAll(ErrClosed, releaseState)
	if err := errors.Join(err, s.registry.close()); err != nil {
		return fmt.Errorf("messagedb: sqlite: close: %v", err)
	}
	return nil
}
