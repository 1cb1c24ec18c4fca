package sqlite

import (
	"context"
	"database/sql"

	"github.com/messagedb-go/messagedb/internal/migrate"
)

// dialect is how migrations are applied on SQLite: each database is a
// scope of its own, named "main" (the registry file, a namespace's file);
// migrators serialise on the database's write lock, taken by an immediate
// transaction; there are no roles, and no lock outlives a transaction, so
// a file that runs in several transactions runs in one.
type dialect struct{}

var _ migrate.Dialect = dialect{}

// mainSchema is the scope of every migration: the connection's main
// database.
const mainSchema = "main"

func (dialect) Name() string           { return "sqlite" }
func (dialect) RegistrySchema() string { return mainSchema }

func (dialect) HasTable(ctx context.Context, q migrate.Execer, schema, table string) (bool, error) {
	var exists bool
	err := q.QueryRowContext(ctx, "SELECT count(*) > 0 FROM "+schema+
		".sqlite_master WHERE type = 'table' AND name = ?", table).Scan(&exists)
	return exists, err
}

func (dialect) CheckMayApply(context.Context, migrate.Execer, string, []string) error { return nil }

func (dialect) Create(ctx context.Context, ex migrate.Execer, schema string) error {
	_, err := ex.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS "+schema+"."+migrate.Table+
		" (version TEXT PRIMARY KEY NOT NULL, checksum TEXT NOT NULL, applied_at TEXT NOT NULL)")
	return err
}

// Begin takes the database's write lock before anything is read, with
// BEGIN IMMEDIATE, whatever the connection's default.
func (dialect) Begin(ctx context.Context, db *sql.DB, _ string) (migrate.Tx, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		_ = conn.Close()
		return nil, err
	}
	return &connTx{Conn: conn, ctx: ctx}, nil
}

// Lock does nothing: the caller's transaction takes the database's write
// lock (at BEGIN IMMEDIATE, or at its first write).
func (dialect) Lock(context.Context, migrate.Execer, string) error { return nil }

func (dialect) LockSession(context.Context, *sql.Conn, string) (func(context.Context) error, error) {
	return nil, migrate.ErrNoSessionLock
}

// connTx is a transaction begun with a statement on a connection of its
// own, which it gives back when it ends.
type connTx struct {
	*sql.Conn
	ctx context.Context
}

func (t *connTx) Commit() error {
	if _, err := t.ExecContext(t.ctx, "COMMIT"); err != nil {
		_, _ = t.ExecContext(context.WithoutCancel(t.ctx), "ROLLBACK")
		_ = t.Close()
		return err
	}
	return t.Close()
}

func (t *connTx) Rollback() error {
	_, err := t.ExecContext(context.WithoutCancel(t.ctx), "ROLLBACK")
	if cerr := t.Close(); err == nil {
		err = cerr
	}
	return err
}
