// Package migrate applies messagedb's embedded SQL migrations and records
// them in a schema_migrations table.
//
// Each migration and its record commit in one transaction, so a failing
// migration leaves nothing behind. Migrators racing on one database apply
// each migration exactly once: they serialise on what the backend's Dialect
// provides (on PostgreSQL a transaction-scoped advisory lock, on SQLite an
// immediate transaction, which takes the database's write lock). A
// migration file that changed after it was applied is reported by its
// checksum, never skipped silently.
//
// # Dialects
//
// What differs from one database engine to another is a Dialect, which each
// adapter supplies: where its migration files are, how to find and create
// the schema_migrations table, how to exclude other migrators, whether the
// connected role may apply what is pending. This package holds no knowledge
// of any engine; a Dialect's methods say what they must do.
//
// # Files that run in several transactions
//
// A file whose first line is
//
//	-- messagedb:no-transaction
//
// is a sequence of steps separated by lines
//
//	-- messagedb:commit
//
// Applied to an existing database (ApplyNamespaceMigration), each step runs
// and commits on its own, on one connection that holds the scope's session
// lock (Dialect.LockSession) for the whole file, and the file is recorded
// after its last step. That lets a file rebuild a large table while writers
// go on, locking it only briefly. Such a file must be safe to run again from
// its first step after failing at any step: nothing is recorded until it is
// done. Inside a caller's transaction (ApplyNamespaceMigrationTx, when a
// namespace is created), and with a dialect that has no session lock, the
// steps run in one transaction, so they must not use what a transaction
// forbids (VACUUM, CREATE INDEX CONCURRENTLY, COMMIT).
//
// # Nothing to do, nothing needed
//
// Before applying anything, a migrator reads what is recorded, with
// nothing but SELECT: a role that may only use a database (see
// domain.NamespaceOptions.Grant) opens it when it is up to date. When
// something is pending and the role may not apply it, the error is the
// dialect's (a *migrations.PendingError naming the role that may).
package migrate

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/messagedb-go/messagedb/migrations"
	"github.com/messagedb-go/messagedb/ports"
)

// Table is the name of the table that records the applied migrations, in
// each scope (the registry's schema, each namespace's).
const Table = "schema_migrations"

// Execer is what migrations run on: a *sql.DB, *sql.Tx or *sql.Conn.
// Statements go to database/sql directly so that no query builder's
// placeholder formatting touches SQL text.
type Execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Tx is a transaction a Dialect began: Commit or Rollback ends it.
type Tx interface {
	Execer
	Commit() error
	Rollback() error
}

// ErrNoSessionLock is returned by a Dialect's LockSession when the
// database cannot hold a lock across transactions: files that run in
// several transactions then run in one, as every other file.
var ErrNoSessionLock = errors.New("messagedb: migrate: no session lock")

// Dialect is what a migrator needs to know of a database engine. Each
// adapter supplies its own; a scope is named by its schema, which the
// migrator has checked to be a plain lowercase identifier, and its record is
// the table schema.schema_migrations (version text primary key, checksum
// text, applied_at: a time, written as RFC 3339 text in UTC).
type Dialect interface {
	// Name is the backend's name: its migration files are the folders
	// metadata/<Name> and namespace/<Name> of package migrations.
	Name() string
	// RegistrySchema is the scope of the registry's migrations.
	RegistrySchema() string
	// HasTable reports whether schema holds a table of that name, reading
	// with nothing but SELECT.
	HasTable(ctx context.Context, q Execer, schema, table string) (bool, error)
	// CheckMayApply returns a *migrations.PendingError when the connected
	// role may not apply the pending versions to schema, nil when it may or
	// the database has no roles.
	CheckMayApply(ctx context.Context, q Execer, schema string, pending []string) error
	// Create creates schema (if the database has schemas) and its record
	// table, when missing, in ex's transaction.
	Create(ctx context.Context, ex Execer, schema string) error
	// Begin begins a transaction on db that excludes the other migrators
	// of schema until it ends.
	Begin(ctx context.Context, db *sql.DB, schema string) (Tx, error)
	// Lock excludes the other migrators of schema until ex, a caller's
	// transaction, ends.
	Lock(ctx context.Context, ex Execer, schema string) error
	// LockSession excludes the other migrators of schema, across the
	// transactions conn runs, until unlock; or returns ErrNoSessionLock.
	LockSession(ctx context.Context, conn *sql.Conn, schema string) (unlock func(context.Context) error, err error)
}

// Options adjust a Migrator; the zero value uses the embedded migrations.
type Options struct {
	// Metadata and Namespace replace the embedded migration files (tests).
	Metadata  fs.FS
	Namespace fs.FS
}

// Migrator applies migrations to one database.
type Migrator struct {
	db        *sql.DB
	dialect   Dialect
	metadata  fs.FS
	namespace fs.FS
}

// Migration is one applied migration as recorded: its version (the file
// name without ".sql"), the hex SHA-256 of the file as shipped (before
// substitution), and when it was applied.
type Migration = ports.Migration

// New returns a migrator for db in the given dialect.
func New(db *sql.DB, dialect Dialect, opts *Options) (*Migrator, error) {
	if dialect == nil {
		return nil, errors.New("messagedb: migrate: no dialect")
	}
	m := &Migrator{db: db, dialect: dialect}
	if opts != nil {
		m.metadata, m.namespace = opts.Metadata, opts.Namespace
	}
	if err := checkIdentifier(dialect.RegistrySchema()); err != nil {
		return nil, err
	}
	var err error
	if m.metadata == nil {
		if m.metadata, err = migrations.Metadata(dialect.Name()); err != nil {
			return nil, err
		}
	}
	if m.namespace == nil {
		if m.namespace, err = migrations.Namespace(dialect.Name()); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// AutoMigrate applies the pending metadata (registry) migrations, each in its
// own transaction, and returns what was recorded before.
func (m *Migrator) AutoMigrate(ctx context.Context) ([]Migration, error) {
	return m.applyEach(ctx, m.metadata, m.dialect.RegistrySchema(), nil)
}

// ApplyNamespaceMigration applies the pending namespace migrations with
// {{SCHEMA_NAME}} replaced by schema, each in its own transaction (or, for a
// file that runs in several, as described in the package documentation),
// and returns what was recorded before.
func (m *Migrator) ApplyNamespaceMigration(ctx context.Context, schema string) ([]Migration, error) {
	return m.ApplyNamespaceMigrationGuarded(ctx, schema, nil)
}

// Guard checks that migrations may go on. It runs in each transaction that
// applies a migration, after the migrators' lock, and on the connection of a
// file that runs in several transactions before anything else; an error
// stops the migrations. A guard can lock what must not change while a
// migration runs (until the transaction ends).
type Guard func(ctx context.Context, ex Execer) error

// ApplyNamespaceMigrationGuarded is ApplyNamespaceMigration with a guard
// (nil for none).
func (m *Migrator) ApplyNamespaceMigrationGuarded(ctx context.Context, schema string, guard Guard) ([]Migration, error) {
	if err := checkIdentifier(schema); err != nil {
		return nil, err
	}
	return m.applyEach(ctx, m.namespace, schema, guard)
}

// PendingNamespace returns the versions of the namespace migrations that
// schema lacks, reading with nothing but SELECT. A recorded migration whose
// file changed since is an error, as when applying.
func (m *Migrator) PendingNamespace(ctx context.Context, schema string) ([]string, error) {
	if err := checkIdentifier(schema); err != nil {
		return nil, err
	}
	_, files, err := m.pending(ctx, m.namespace, schema)
	return fileVersions(files), err
}

func fileVersions(files []file) []string {
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = f.version
	}
	return out
}

// ApplyNamespaceMigrationTx applies the pending namespace migrations inside
// tx, the caller's transaction, which the caller commits or rolls back: a
// namespace and its registry row can then be created all or nothing.
func (m *Migrator) ApplyNamespaceMigrationTx(ctx context.Context, tx Execer, schema string) error {
	if err := checkIdentifier(schema); err != nil {
		return err
	}
	files, err := readSet(m.namespace)
	if err != nil {
		return err
	}
	if err := m.dialect.Lock(ctx, tx, schema); err != nil {
		return fmt.Errorf("messagedb: migrate: lock %s: %w", schema, cause(err))
	}
	if err := m.create(ctx, tx, schema); err != nil {
		return err
	}
	for _, f := range files {
		if err := m.applyOne(ctx, tx, schema, f); err != nil {
			return err
		}
	}
	return nil
}

// Applied returns the migrations recorded for the registry (schema "") or a
// namespace schema, in version order: none when nothing was ever recorded
// there.
func (m *Migrator) Applied(ctx context.Context, schema string) ([]Migration, error) {
	if schema == "" {
		schema = m.dialect.RegistrySchema()
	}
	return Applied(ctx, m.db, m.dialect, schema)
}

// Queryer is what a record is read on: a *sql.DB or a *sql.Conn.
type Queryer interface {
	Execer
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// Applied returns the migrations recorded in schema, read on q, in
// version order: none when nothing was ever recorded there. It reads with
// nothing but SELECT.
func Applied(ctx context.Context, q Queryer, d Dialect, schema string) ([]Migration, error) {
	if err := checkIdentifier(schema); err != nil {
		return nil, err
	}
	exists, err := d.HasTable(ctx, q, schema, Table)
	if err != nil {
		return nil, fmt.Errorf("messagedb: migrate: read applied migrations of %s: %w", schema, cause(err))
	}
	if !exists {
		return nil, nil
	}
	rows, err := q.QueryContext(ctx, "SELECT version, checksum, applied_at FROM "+schema+"."+Table+" ORDER BY version")
	if err != nil {
		return nil, fmt.Errorf("messagedb: migrate: read applied migrations of %s: %w", schema, cause(err))
	}
	defer rows.Close()
	var out []Migration
	for rows.Next() {
		var mg Migration
		var at any
		if err := rows.Scan(&mg.Version, &mg.Checksum, &at); err != nil {
			return nil, fmt.Errorf("messagedb: migrate: read applied migrations of %s: %w", schema, cause(err))
		}
		if mg.AppliedAt, err = parseTime(at); err != nil {
			return nil, err
		}
		out = append(out, mg)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("messagedb: migrate: read applied migrations of %s: %w", schema, cause(err))
	}
	return out, nil
}

type file struct {
	name, version, body, checksum string
	// steps are the parts of a file that runs in several transactions
	// (noTxDirective), nil for the others.
	steps []string
}

// noTxDirective starts a file whose steps (separated by stepSeparator
// lines) commit one by one; see the package documentation.
const noTxDirective = "-- messagedb:no-transaction"

var stepSeparator = regexp.MustCompile(`(?m)^-- messagedb:commit[ \t]*\r?$`)

func readSet(fsys fs.FS) ([]file, error) {
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	out := make([]file, 0, len(names))
	for _, n := range names {
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, &migrations.Error{File: n, Err: cause(err)}
		}
		sum := sha256.Sum256(b)
		f := file{
			name:     n,
			version:  strings.TrimSuffix(path.Base(n), ".sql"),
			body:     string(b),
			checksum: hex.EncodeToString(sum[:]),
		}
		if first, _, _ := strings.Cut(f.body, "\n"); strings.TrimRight(first, " \t\r") == noTxDirective {
			for _, step := range stepSeparator.Split(f.body, -1) {
				if strings.TrimSpace(step) != "" {
					f.steps = append(f.steps, step)
				}
			}
		}
		out = append(out, f)
	}
	return out, nil
}

// pending returns what schema has recorded and the files of fsys it lacks,
// reading with nothing but SELECT (and without taking the migrators' lock:
// what is recorded is never removed). A recorded file that changed is an
// error.
func (m *Migrator) pending(ctx context.Context, fsys fs.FS, schema string) ([]Migration, []file, error) {
	files, err := readSet(fsys)
	if err != nil {
		return nil, nil, err
	}
	recorded, err := Applied(ctx, m.db, m.dialect, schema)
	if err != nil {
		return nil, nil, err
	}
	checksums := make(map[string]string, len(recorded))
	for _, r := range recorded {
		checksums[r.Version] = r.Checksum
	}
	var out []file
	for _, f := range files {
		checksum, ok := checksums[f.version]
		switch {
		case !ok:
			out = append(out, f)
		case checksum != f.checksum:
			return nil, nil, changedError(f, checksum)
		}
	}
	return recorded, out, nil
}

// changedError reports file f, recorded with another checksum.
func changedError(f file, recorded string) error {
	return &migrations.Error{File: f.name, Err: fmt.Errorf(
		"file changed after it was applied (checksum %s, recorded %s): add a new migration instead", f.checksum[:12], recorded[:min(12, len(recorded))])}
}

// applyEach applies every pending migration in its own transaction (or
// transactions), when the role may, and returns what was recorded before.
func (m *Migrator) applyEach(ctx context.Context, fsys fs.FS, schema string, guard Guard) ([]Migration, error) {
	before, files, err := m.pending(ctx, fsys, schema)
	if err != nil || len(files) == 0 {
		return before, err
	}
	if err := m.dialect.CheckMayApply(ctx, m.db, schema, fileVersions(files)); err != nil {
		var pending *migrations.PendingError
		if errors.As(err, &pending) {
			return nil, pending
		}
		return nil, fmt.Errorf("messagedb: migrate: check the privileges on %s: %w", schema, cause(err))
	}
	for _, f := range files {
		err = errNoSteps
		if f.steps != nil {
			err = m.applySteps(ctx, schema, f, guard)
		}
		if errors.Is(err, errNoSteps) {
			err = m.inTx(ctx, schema, func(ex Execer) error {
				if guard != nil {
					if err := guard(ctx, ex); err != nil {
						return err
					}
				}
				return m.applyOne(ctx, ex, schema, f)
			})
		}
		if err != nil {
			return nil, err
		}
	}
	return before, nil
}

// errNoSteps says that a file runs in one transaction.
var errNoSteps = errors.New("messagedb: migrate: one transaction")

// applySteps applies a file that runs in several transactions: each step
// commits on its own, on one connection holding the scope's session lock
// until the file is recorded or has failed. It returns errNoSteps, having
// done nothing, when the dialect has no session lock.
func (m *Migrator) applySteps(ctx context.Context, schema string, f file, guard Guard) (err error) {
	conn, err := m.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("messagedb: migrate: %w", cause(err))
	}
	defer conn.Close()
	unlock, err := m.dialect.LockSession(ctx, conn, schema)
	if errors.Is(err, ErrNoSessionLock) {
		return errNoSteps
	}
	if err != nil {
		return fmt.Errorf("messagedb: migrate: lock %s: %w", schema, cause(err))
	}
	defer func() {
		// Also when ctx ended: the connection goes back to the pool.
		if uerr := unlock(context.WithoutCancel(ctx)); uerr != nil && err == nil {
			err = fmt.Errorf("messagedb: migrate: unlock %s: %w", schema, cause(uerr))
		}
	}()
	// The guard first: creating the schema of a namespace deleted meanwhile
	// would commit at once.
	if guard != nil {
		if err := guard(ctx, conn); err != nil {
			return err
		}
	}
	if err := m.create(ctx, conn, schema); err != nil {
		return err
	}
	if done, err := applied(ctx, conn, schema, f); err != nil || done {
		return err // done: applied meanwhile by another migrator
	}
	for i, step := range f.steps {
		if _, err := conn.ExecContext(ctx, strings.ReplaceAll(step, migrations.SchemaPlaceholder, schema)); err != nil {
			return &migrations.Error{File: f.name, Err: fmt.Errorf("step %d of %d: %w", i+1, len(f.steps), cause(err))}
		}
	}
	return record(ctx, conn, schema, f)
}

// inTx runs fn in a transaction that excludes other migrators of the scope.
// The schema_migrations table is created in the same transaction.
func (m *Migrator) inTx(ctx context.Context, schema string, fn func(Execer) error) (err error) {
	tx, err := m.dialect.Begin(ctx, m.db, schema)
	if err != nil {
		return fmt.Errorf("messagedb: migrate: begin: %w", cause(err))
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if err = m.create(ctx, tx, schema); err != nil {
		return err
	}
	if err = fn(tx); err != nil {
		return err
	}
	if err = tx.Commit(); err != nil {
		return fmt.Errorf("messagedb: migrate: commit: %w", cause(err))
	}
	return nil
}

// create creates the scope's schema and record table when missing.
func (m *Migrator) create(ctx context.Context, ex Execer, schema string) error {
	if err := m.dialect.Create(ctx, ex, schema); err != nil {
		return fmt.Errorf("messagedb: migrate: prepare %s.%s: %w", schema, Table, cause(err))
	}
	return nil
}

// applied reports whether f is recorded in schema; a record whose checksum
// differs is an error.
func applied(ctx context.Context, ex Execer, schema string, f file) (bool, error) {
	var checksum string
	err := ex.QueryRowContext(ctx, "SELECT checksum FROM "+schema+"."+Table+" WHERE version = "+quote(f.version)).Scan(&checksum)
	switch {
	case err == nil:
		if checksum != f.checksum {
			return false, changedError(f, checksum)
		}
		return true, nil
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	}
	return false, &migrations.Error{File: f.name, Err: cause(err)}
}

// applyOne applies f unless it is recorded; a recorded f whose checksum
// differs is an error.
func (m *Migrator) applyOne(ctx context.Context, ex Execer, schema string, f file) error {
	if done, err := applied(ctx, ex, schema, f); err != nil || done {
		return err
	}
	body := strings.ReplaceAll(f.body, migrations.SchemaPlaceholder, schema)
	if _, err := ex.ExecContext(ctx, body); err != nil {
		return &migrations.Error{File: f.name, Err: cause(err)}
	}
	return record(ctx, ex, schema, f)
}

// record records f as applied.
func record(ctx context.Context, ex Execer, schema string, f file) error {
	now := quote(time.Now().UTC().Format(time.RFC3339Nano))
	if _, err := ex.ExecContext(ctx, "INSERT INTO "+schema+"."+Table+" (version, checksum, applied_at) VALUES ("+
		quote(f.version)+", "+quote(f.checksum)+", "+now+")"); err != nil {
		return &migrations.Error{File: f.name, Err: cause(err)}
	}
	return nil
}

var identifier = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// checkIdentifier refuses schema names that would need quoting: they are
// substituted into SQL text.
func checkIdentifier(s string) error {
	if !identifier.MatchString(s) {
		return fmt.Errorf("messagedb: migrate: %q is not a plain lowercase SQL identifier", s)
	}
	return nil
}

// quote returns s as a SQL string literal. The values quoted here are file
// names, hex checksums and timestamps.
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func parseTime(v any) (time.Time, error) {
	switch t := v.(type) {
	case time.Time:
		return t.UTC(), nil
	case string:
		return time.Parse(time.RFC3339Nano, t)
	case []byte:
		return time.Parse(time.RFC3339Nano, string(t))
	}
	return time.Time{}, fmt.Errorf("messagedb: migrate: unexpected applied_at %T", v)
}

// cause keeps a driver error's text but not the error itself, so that no
// driver type (a *pgconn.PgError, a SQLite error) becomes reachable with
// errors.As from messagedb's errors. Context errors stay matchable.
func cause(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return errors.New(err.Error())
}
