package migrations

import (
	"fmt"
	"strings"

	"github.com/messagedb-go/messagedb/domain"
)

// Error reports a migration that failed or whose file changed after it was
// applied. It matches domain.ErrMigrationFailed and unwraps to its cause
// (the text of a database error, never the driver's error itself).
type Error struct {
	File string // the migration's file name, e.g. "001_message_db.sql"
	Err  error  // the cause
}

func (e *Error) Error() string {
	return fmt.Sprintf("messagedb: migration %s failed: %v", e.File, e.Err)
}

// Is reports whether target is domain.ErrMigrationFailed.
func (e *Error) Is(target error) bool { return target == domain.ErrMigrationFailed }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// PendingError reports migrations that a database lacks and that the
// connected role may not apply. It matches domain.ErrMigrationPending.
type PendingError struct {
	Schema   string   // where they go: a namespace's schema, or the registry's
	Versions []string // the pending migrations, e.g. "004_message_db_columns"
	Role     string   // the connected role
	Owner    string   // the role that may apply them: the schema's owner
}

func (e *PendingError) Error() string {
	return fmt.Sprintf("messagedb: %s lacks migrations %s, which role %s may not apply: run \"messagedb migrate\" as role %s",
		e.Schema, strings.Join(e.Versions, ", "), e.Role, e.Owner)
}

// Is reports whether target is domain.ErrMigrationPending.
func (e *PendingError) Is(target error) bool { return target == domain.ErrMigrationPending }
