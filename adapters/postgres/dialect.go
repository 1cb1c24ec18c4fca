package postgres

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/internal/migrate"
	"github.com/messagedb-go/messagedb/migrations"
)

// dialect is how migrations are applied on PostgreSQL: each scope is a
// schema, the registry's the metadata schema; migrators serialise on an
// advisory lock per schema, transaction-scoped or, for a file that runs in
// several transactions, held by the session; a role applies what is
// pending only when it is a member of the schema's owner (or, for a schema
// yet to be made, may create schemas in the database).
type dialect struct {
	registrySchema string
}

var _ migrate.Dialect = dialect{}

// migrationsName names this backend's folders in package migrations.
const migrationsName = "postgres"

// defaultMetadataSchema is the schema of the registry unless
// Options.MetadataSchema names another.
const defaultMetadataSchema = "messagedb"

func (dialect) Name() string             { return migrationsName }
func (d dialect) RegistrySchema() string { return d.registrySchema }

func (dialect) HasTable(ctx context.Context, q migrate.Execer, schema, table string) (bool, error) {
	var exists bool
	err := q.QueryRowContext(ctx, `SELECT EXISTS (SELECT FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = $2)`, schema, table).Scan(&exists)
	return exists, err
}

func (dialect) CheckMayApply(ctx context.Context, q migrate.Execer, schema string, pending []string) error {
	var role, owner string
	var may bool
	err := q.QueryRowContext(ctx, `SELECT current_user::text,
  COALESCE(pg_catalog.pg_get_userbyid(n.nspowner), pg_catalog.pg_get_userbyid(d.datdba))::text,
  CASE WHEN n.oid IS NULL THEN pg_catalog.has_database_privilege(d.oid, 'CREATE')
    ELSE pg_catalog.pg_has_role(n.nspowner, 'USAGE') END
FROM pg_catalog.pg_database d
LEFT JOIN pg_catalog.pg_namespace n ON n.nspname = $1
WHERE d.datname = pg_catalog.current_database()`, schema).Scan(&role, &owner, &may)
	if err != nil || may {
		return err
	}
	return &migrations.PendingError{Schema: schema, Versions: pending, Role: role, Owner: owner}
}

func (dialect) Create(ctx context.Context, ex migrate.Execer, schema string) error {
	for _, q := range []string{
		"CREATE SCHEMA IF NOT EXISTS " + schema,
		"CREATE TABLE IF NOT EXISTS " + schema + "." + migrate.Table +
			" (version text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
	} {
		if _, err := ex.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

func (d dialect) Begin(ctx context.Context, db *sql.DB, schema string) (migrate.Tx, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	if err := d.Lock(ctx, tx, schema); err != nil {
		_ = tx.Rollback()
		return nil, err
	}
	return tx, nil
}

func (dialect) Lock(ctx context.Context, ex migrate.Execer, schema string) error {
	_, err := ex.ExecContext(ctx, fmt.Sprintf("SELECT pg_advisory_xact_lock(%d)", migrationLock(schema)))
	return err
}

func (dialect) LockSession(ctx context.Context, conn *sql.Conn, schema string) (func(context.Context) error, error) {
	key := migrationLock(schema)
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("SELECT pg_advisory_lock(%d)", key)); err != nil {
		return nil, err
	}
	return func(ctx context.Context) error {
		_, err := conn.ExecContext(ctx, fmt.Sprintf("SELECT pg_advisory_unlock(%d)", key))
		return err
	}, nil
}

// migrationLock is the advisory lock key of the migrators of a schema.
func migrationLock(schema string) int64 {
	return domain.Hash64("messagedb.migrate:" + schema)
}
