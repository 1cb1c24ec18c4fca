// Package migrate applies messagedb's embedded SQL migrations and records
// them in a schema_migrations table.
//
// Each migration and its record commit in one transaction, so a failing
// migration leaves nothing behind. Migrators racing on one database apply
// each migration exactly once: on PostgreSQL they serialise on a
// transaction-scoped advisory lock, on SQLite on an immediate transaction
// (the database's write lock). A migration file that changed after it was
// applied is reported by its checksum, never skipped silently.
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
	return m.applyEach(ctx, m.metadata, m.scope(m.metadataSchema()))
}

// ApplyNamespaceMigration applies the pending namespace migrations with
// {{SCHEMA_NAME}} replaced by schema, each in its own transaction. On
// PostgreSQL the schema is created if needed and the migrations are recorded
// in schema.schema_migrations; on SQLite schema is the attached database name
// ("main" for a namespace's own file).
func (m *Migrator) ApplyNamespaceMigration(ctx context.Context, schema string) error {
	if err := checkIdentifier(schema); err != nil {
		return err
	}
	return m.applyEach(ctx, m.namespace, m.scope(schema))
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
}

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
		out = append(out, file{
			name:     n,
			version:  strings.TrimSuffix(path.Base(n), ".sql"),
			body:     string(b),
			checksum: hex.EncodeToString(sum[:]),
		})
	}
	return out, nil
}

// execer is what migrations run on: a *sql.Tx or a *sql.Conn. Statements go
// to database/sql directly so that bun's placeholder formatting never touches
// SQL text.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// applyEach applies every pending migration in its own transaction.
func (m *Migrator) applyEach(ctx context.Context, fsys fs.FS, s scope) error {
	files, err := readSet(fsys)
	if err != nil {
		return err
	}
	for _, f := range files {
		if err := m.inTx(ctx, s, func(ex execer) error { return m.applyOne(ctx, ex, s, f) }); err != nil {
			return err
		}
	}
	return nil
}

// inTx runs fn in a transaction that excludes other migrators of the scope.
// The schema_migrations table is created in the same transaction.
func (m *Migrator) inTx(ctx context.Context, s scope, fn func(execer) error) (err error) {
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
func (m *Migrator) prepare(ctx context.Context, ex execer, s scope) error {
	var stmts []string
	if m.dialect == migrations.Postgres {
		stmts = []string{
			fmt.Sprintf("SELECT pg_advisory_xact_lock(%d)", s.lock),
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
func (m *Migrator) applyOne(ctx context.Context, ex execer, s scope, f file) error {
	var checksum string
	err := ex.QueryRowContext(ctx, "SELECT checksum FROM "+s.table+" WHERE version = "+quote(f.version)).Scan(&checksum)
	switch {
	case err == nil:
		if checksum != f.checksum {
			return &domain.MigrationError{File: f.name, Err: fmt.Errorf(
				"file changed after it was applied (checksum %s, recorded %s): add a new migration instead", f.checksum[:12], checksum[:min(12, len(checksum))])}
		}
		return nil
	case !errors.Is(err, sql.ErrNoRows):
		return &domain.MigrationError{File: f.name, Err: cause(err)}
	}
	body := strings.ReplaceAll(f.body, migrations.SchemaPlaceholder, s.schema)
	if _, err := ex.ExecContext(ctx, body); err != nil {
		return &domain.MigrationError{File: f.name, Err: cause(err)}
	}
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
