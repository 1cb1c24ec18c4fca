// Package migrate applies messagedb's embedded SQL migrations and records
// them in a schema_migrations table.
//
// Each migration and its record commit in one transaction, so a failing
// migration leaves nothing behind. Migrators racing on one database apply
// each migration exactly once: on PostgreSQL they serialise on a
// transaction-scoped advisory lock, on SQLite on an immediate transaction
// (the database's write lock). A migration file that changed after it was
// applied is reported by its checksum, never skipped silently.
//
// # Files that run in several transactions
//
// A PostgreSQL file whose first line is
//
//	-- messagedb:no-transaction
//
// is a sequence of steps separated by lines
//
//	-- messagedb:commit
//
// Applied to an existing database (ApplyNamespaceMigration), each step runs
// and commits on its own, on one connection that holds the scope's advisory
// lock for the whole file (a session lock, which excludes other migrators as
// the transaction-scoped one does), and the file is recorded after its last
// step. That lets a file rebuild a large table while writers go on, locking
// it only briefly. Such a file must be safe to run again from its first step
// after failing at any step: nothing is recorded until it is done. Inside a
// caller's transaction (ApplyNamespaceMigrationTx, when a namespace is
// created) and on SQLite, the steps run in that one transaction, so they
// must not use what a transaction forbids (VACUUM, CREATE INDEX
// CONCURRENTLY, COMMIT).
//
// # Nothing to do, nothing needed
//
// Before applying anything, a migrator reads what is recorded, with
// nothing but SELECT: a role that may only use a database (see
// domain.NamespaceOptions.Grant) opens it when it is up to date. When
// something is pending and the role may not apply it (it is not a member of
// the schema's owner), the error is a *domain.MigrationPendingError naming
// the role that may.
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

	"github.com/uptrace/bun"

	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/migrations"
)

// DefaultMetadataSchema is the PostgreSQL schema of the namespace registry.
const DefaultMetadataSchema = "messagedb"

// Options adjust a Migrator; the zero value uses the embedded migrations.
type Options struct {
	// Metadata and Namespace replace the embedded migration files (tests).
	Metadata  fs.FS
	Namespace fs.FS
	// MetadataSchema is the PostgreSQL schema of the registry; default
	// DefaultMetadataSchema. Unused on SQLite.
	MetadataSchema string
}

// Migrator applies migrations to one database.
type Migrator struct {
	db        *bun.DB
	dialect   migrations.Dialect
	metadata  fs.FS
	namespace fs.FS
	mdSchema  string
}

// Migration is one applied migration as recorded.
type Migration struct {
	Version   string // file name without ".sql"
	Checksum  string // hex SHA-256 of the file as shipped (before substitution)
	AppliedAt time.Time
}

// New returns a migrator for db in the given dialect.
func New(db *bun.DB, dialect migrations.Dialect, opts *Options) (*Migrator, error) {
	m := &Migrator{db: db, dialect: dialect, mdSchema: DefaultMetadataSchema}
	if opts != nil {
		m.metadata, m.namespace = opts.Metadata, opts.Namespace
		if opts.MetadataSchema != "" {
			m.mdSchema = opts.MetadataSchema
		}
	}
	if err := checkIdentifier(m.mdSchema); err != nil {
		return nil, err
	}
	var err error
	if m.metadata == nil {
		if m.metadata, err = migrations.Metadata(dialect); err != nil {
			return nil, err
		}
	}
	if m.namespace == nil {
		if m.namespace, err = migrations.Namespace(dialect); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// AutoMigrate applies the pending metadata (registry) migrations, each in its
// own transaction. On PostgreSQL it creates the metadata schema first.
func (m *Migrator) AutoMigrate(ctx context.Context) error {
	return m.applyEach(ctx, m.metadata, m.scope(m.metadataSchema()), nil)
}

// ApplyNamespaceMigration applies the pending namespace migrations with
// {{SCHEMA_NAME}} replaced by schema, each in its own transaction (or, for a
// file that runs in several, as described in the package documentation).
// On PostgreSQL the schema is created if needed and the migrations are
// recorded in schema.schema_migrations; on SQLite schema is the attached
// database name ("main" for a namespace's own file).
func (m *Migrator) ApplyNamespaceMigration(ctx context.Context, schema string) error {
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
func (m *Migrator) ApplyNamespaceMigrationGuarded(ctx context.Context, schema string, guard Guard) error {
	if err := checkIdentifier(schema); err != nil {
		return err
	}
	return m.applyEach(ctx, m.namespace, m.scope(schema), guard)
}

// PendingNamespace returns the versions of the namespace migrations that
// schema lacks, reading with nothing but SELECT. A recorded migration whose
// file changed since is an error, as when applying.
func (m *Migrator) PendingNamespace(ctx context.Context, schema string) ([]string, error) {
	if err := checkIdentifier(schema); err != nil {
		return nil, err
	}
	files, err := m.pending(ctx, m.namespace, m.scope(schema))
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
// tx, which the caller commits or rolls back: a namespace and its registry
// row can then be created all or nothing.
func (m *Migrator) ApplyNamespaceMigrationTx(ctx context.Context, tx bun.Tx, schema string) error {
	if err := checkIdentifier(schema); err != nil {
		return err
	}
	s := m.scope(schema)
	files, err := readSet(m.namespace)
	if err != nil {
		return err
	}
	if err := m.prepare(ctx, tx.Tx, s); err != nil {
		return err
	}
	for _, f := range files {
		if err := m.applyOne(ctx, tx.Tx, s, f); err != nil {
			return err
		}
	}
	return nil
}

// Applied returns the migrations recorded for the metadata database (schema
// "") or a namespace schema, in version order.
func (m *Migrator) Applied(ctx context.Context, schema string) ([]Migration, error) {
	if schema == "" {
		schema = m.metadataSchema()
	}
	if err := checkIdentifier(schema); err != nil {
		return nil, err
	}
	rows, err := m.db.DB.QueryContext(ctx,
		"SELECT version, checksum, applied_at FROM "+m.scope(schema).table+" ORDER BY version")
	if err != nil {
		return nil, fmt.Errorf("messagedb: read applied migrations: %w", cause(err))
	}
	defer rows.Close()
	var out []Migration
	for rows.Next() {
		var mg Migration
		var at any
		if err := rows.Scan(&mg.Version, &mg.Checksum, &at); err != nil {
			return nil, err
		}
		if mg.AppliedAt, err = parseTime(at); err != nil {
			return nil, err
		}
		out = append(out, mg)
	}
	return out, rows.Err()
}

// scope is where one set of migrations is recorded and what they substitute.
type scope struct {
	schema string // substituted for {{SCHEMA_NAME}}
	table  string // qualified schema_migrations table
	lock   int64  // PostgreSQL advisory lock key
}

func (m *Migrator) scope(schema string) scope {
	return scope{
		schema: schema,
		table:  schema + ".schema_migrations",
		lock:   domain.Hash64("messagedb.migrate:" + schema),
	}
}

// metadataSchema is where the registry lives: the metadata schema on
// PostgreSQL, the registry file's main database on SQLite.
func (m *Migrator) metadataSchema() string {
	if m.dialect == migrations.SQLite {
		return "main"
	}
	return m.mdSchema
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
			return nil, &domain.MigrationError{File: n, Err: cause(err)}
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

// pending returns the files of fsys that scope s has not recorded, reading
// with nothing but SELECT (and without taking the migrators' lock: what is
// recorded is never removed). A recorded file that changed is an error.
func (m *Migrator) pending(ctx context.Context, fsys fs.FS, s scope) ([]file, error) {
	files, err := readSet(fsys)
	if err != nil {
		return nil, err
	}
	var exists bool
	if m.dialect == migrations.Postgres {
		err = m.db.DB.QueryRowContext(ctx, `SELECT EXISTS (SELECT FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = `+quote(s.schema)+` AND c.relname = 'schema_migrations')`).Scan(&exists)
	} else {
		err = m.db.DB.QueryRowContext(ctx, "SELECT count(*) > 0 FROM "+s.schema+
			".sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").Scan(&exists)
	}
	if err != nil {
		return nil, fmt.Errorf("messagedb: migrate: read applied migrations of %s: %w", s.schema, cause(err))
	}
	if !exists {
		return files, nil
	}
	recorded := map[string]string{}
	rows, err := m.db.DB.QueryContext(ctx, "SELECT version, checksum FROM "+s.table)
	if err != nil {
		return nil, fmt.Errorf("messagedb: migrate: read applied migrations of %s: %w", s.schema, cause(err))
	}
	defer rows.Close()
	for rows.Next() {
		var version, checksum string
		if err := rows.Scan(&version, &checksum); err != nil {
			return nil, fmt.Errorf("messagedb: migrate: read applied migrations of %s: %w", s.schema, cause(err))
		}
		recorded[version] = checksum
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("messagedb: migrate: read applied migrations of %s: %w", s.schema, cause(err))
	}
	var out []file
	for _, f := range files {
		checksum, ok := recorded[f.version]
		switch {
		case !ok:
			out = append(out, f)
		case checksum != f.checksum:
			return nil, changedError(f, checksum)
		}
	}
	return out, nil
}

// changedError reports file f, recorded with another checksum.
func changedError(f file, recorded string) error {
	return &domain.MigrationError{File: f.name, Err: fmt.Errorf(
		"file changed after it was applied (checksum %s, recorded %s): add a new migration instead", f.checksum[:12], recorded[:min(12, len(recorded))])}
}

// checkMayApply returns a *domain.MigrationPendingError when the connected
// role may not apply the pending files to scope s: on PostgreSQL, when it
// is not a member of the owner of s's schema, or, for a schema yet to be
// made, lacks CREATE on the database (whose owner may).
func (m *Migrator) checkMayApply(ctx context.Context, s scope, pending []file) error {
	if m.dialect != migrations.Postgres {
		return nil
	}
	var role, owner string
	var may bool
	err := m.db.DB.QueryRowContext(ctx, `SELECT current_user::text,
  COALESCE(pg_catalog.pg_get_userbyid(n.nspowner), pg_catalog.pg_get_userbyid(d.datdba))::text,
  CASE WHEN n.oid IS NULL THEN pg_catalog.has_database_privilege(d.oid, 'CREATE')
    ELSE pg_catalog.pg_has_role(n.nspowner, 'USAGE') END
FROM pg_catalog.pg_database d
LEFT JOIN pg_catalog.pg_namespace n ON n.nspname = `+quote(s.schema)+`
WHERE d.datname = pg_catalog.current_database()`).Scan(&role, &owner, &may)
	if err != nil {
		return fmt.Errorf("messagedb: migrate: check the privileges on %s: %w", s.schema, cause(err))
	}
	if may {
		return nil
	}
	return &domain.MigrationPendingError{Schema: s.schema, Versions: fileVersions(pending), Role: role, Owner: owner}
}

// Execer is what migrations run on: a *sql.Tx or a *sql.Conn. Statements go
// to database/sql directly so that bun's placeholder formatting never touches
// SQL text.
type Execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// applyEach applies every pending migration in its own transaction (or
// transactions), when the role may.
func (m *Migrator) applyEach(ctx context.Context, fsys fs.FS, s scope, guard Guard) error {
	files, err := m.pending(ctx, fsys, s)
	if err != nil || len(files) == 0 {
		return err
	}
	if err := m.checkMayApply(ctx, s, files); err != nil {
		return err
	}
	for _, f := range files {
		if f.steps != nil && m.dialect == migrations.Postgres {
			err = m.applySteps(ctx, s, f, guard)
		} else {
			err = m.inTx(ctx, s, func(ex Execer) error {
				if guard != nil {
					if err := guard(ctx, ex); err != nil {
						return err
					}
				}
				return m.applyOne(ctx, ex, s, f)
			})
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// applySteps applies a file that runs in several transactions: each step
// commits on its own, on one connection holding the scope's advisory lock
// (a session lock) until the file is recorded or has failed.
func (m *Migrator) applySteps(ctx context.Context, s scope, f file, guard Guard) (err error) {
	conn, err := m.db.DB.Conn(ctx)
	if err != nil {
		return fmt.Errorf("messagedb: migrate: %w", cause(err))
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("SELECT pg_advisory_lock(%d)", s.lock)); err != nil {
		return fmt.Errorf("messagedb: migrate: lock %s: %w", s.schema, cause(err))
	}
	defer func() {
		// Also when ctx ended: the connection goes back to the pool.
		if _, uerr := conn.ExecContext(context.WithoutCancel(ctx), fmt.Sprintf("SELECT pg_advisory_unlock(%d)", s.lock)); uerr != nil && err == nil {
			err = fmt.Errorf("messagedb: migrate: unlock %s: %w", s.schema, cause(uerr))
		}
	}()
	// The guard first: creating the schema of a namespace deleted meanwhile
	// would commit at once.
	if guard != nil {
		if err := guard(ctx, conn); err != nil {
			return err
		}
	}
	if err := m.create(ctx, conn, s); err != nil {
		return err
	}
	var checksum string
	switch err := conn.QueryRowContext(ctx, "SELECT checksum FROM "+s.table+" WHERE version = "+quote(f.version)).Scan(&checksum); {
	case err == nil:
		if checksum != f.checksum {
			return changedError(f, checksum)
		}
		return nil // applied meanwhile by another migrator
	case !errors.Is(err, sql.ErrNoRows):
		return &domain.MigrationError{File: f.name, Err: cause(err)}
	}
	for i, step := range f.steps {
		if _, err := conn.ExecContext(ctx, strings.ReplaceAll(step, migrations.SchemaPlaceholder, s.schema)); err != nil {
			return &domain.MigrationError{File: f.name, Err: fmt.Errorf("step %d of %d: %w", i+1, len(f.steps), cause(err))}
		}
	}
	return m.record(ctx, conn, s, f)
}

// inTx runs fn in a transaction that excludes other migrators of the scope.
// The schema_migrations table is created in the same transaction.
func (m *Migrator) inTx(ctx context.Context, s scope, fn func(Execer) error) (err error) {
	if m.dialect == migrations.SQLite {
		// BEGIN IMMEDIATE takes the database's write lock before reading
		// what is applied, whatever the connection's default.
		conn, err := m.db.DB.Conn(ctx)
		if err != nil {
			return fmt.Errorf("messagedb: migrate: %w", cause(err))
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
			return fmt.Errorf("messagedb: migrate: begin: %w", cause(err))
		}
		defer func() {
			if err != nil {
				_, _ = conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
			}
		}()
		if err = m.prepare(ctx, conn, s); err != nil {
			return err
		}
		if err = fn(conn); err != nil {
			return err
		}
		if _, err = conn.ExecContext(ctx, "COMMIT"); err != nil {
			return fmt.Errorf("messagedb: migrate: commit: %w", cause(err))
		}
		return nil
	}
	tx, err := m.db.DB.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("messagedb: migrate: begin: %w", cause(err))
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if err = m.prepare(ctx, tx, s); err != nil {
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

// prepare locks the scope (PostgreSQL) and creates its schema and
// schema_migrations table when missing.
func (m *Migrator) prepare(ctx context.Context, ex Execer, s scope) error {
	if m.dialect == migrations.Postgres {
		if _, err := ex.ExecContext(ctx, fmt.Sprintf("SELECT pg_advisory_xact_lock(%d)", s.lock)); err != nil {
			return fmt.Errorf("messagedb: migrate: prepare %s: %w", s.table, cause(err))
		}
	}
	return m.create(ctx, ex, s)
}

// create creates the scope's schema (PostgreSQL) and schema_migrations
// table when missing.
func (m *Migrator) create(ctx context.Context, ex Execer, s scope) error {
	var stmts []string
	if m.dialect == migrations.Postgres {
		stmts = []string{
			"CREATE SCHEMA IF NOT EXISTS " + s.schema,
			"CREATE TABLE IF NOT EXISTS " + s.table + " (version text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
		}
	} else {
		stmts = []string{
			"CREATE TABLE IF NOT EXISTS " + s.table + " (version TEXT PRIMARY KEY NOT NULL, checksum TEXT NOT NULL, applied_at TEXT NOT NULL)",
		}
	}
	for _, q := range stmts {
		if _, err := ex.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("messagedb: migrate: prepare %s: %w", s.table, cause(err))
		}
	}
	return nil
}

// applyOne applies f unless it is recorded; a recorded f whose checksum
// differs is an error.
func (m *Migrator) applyOne(ctx context.Context, ex Execer, s scope, f file) error {
	var checksum string
	err := ex.QueryRowContext(ctx, "SELECT checksum FROM "+s.table+" WHERE version = "+quote(f.version)).Scan(&checksum)
	switch {
	case err == nil:
		if checksum != f.checksum {
			return changedError(f, checksum)
		}
		return nil
	case !errors.Is(err, sql.ErrNoRows):
		return &domain.MigrationError{File: f.name, Err: cause(err)}
	}
	body := strings.ReplaceAll(f.body, migrations.SchemaPlaceholder, s.schema)
	if _, err := ex.ExecContext(ctx, body); err != nil {
		return &domain.MigrationError{File: f.name, Err: cause(err)}
	}
	return m.record(ctx, ex, s, f)
}

// record records f as applied.
func (m *Migrator) record(ctx context.Context, ex Execer, s scope, f file) error {
	now := quote(time.Now().UTC().Format(time.RFC3339Nano))
	if _, err := ex.ExecContext(ctx, "INSERT INTO "+s.table+" (version, checksum, applied_at) VALUES ("+
		quote(f.version)+", "+quote(f.checksum)+", "+now+")"); err != nil {
		return &domain.MigrationError{File: f.name, Err: cause(err)}
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
