package sqlite

import (
	"context"
	"errors"
	"fmt"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/messagedb-go/messagedb/domain"
)

// ErrClosed is returned by every call on a Store, or on a message store it
// handed out, after the Store is closed. It is domain.ErrClosed, the same
// value on every backend.
var ErrClosed = domain.ErrClosed

// isUniqueViolation reports whether err is SQLite's unique or primary key
// constraint error.
func isUniqueViolation(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return true
	}
	return false
}

// isBusy reports whether err is SQLite's "database is locked" after the busy
// timeout ran out.
func isBusy(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_BUSY
}

// dbError turns an error from the driver into one a caller can use: the
// context's error when the context ended (matchable with errors.Is), else a
// message that names the operation. Driver errors are formatted, never
// wrapped, so that they do not become part of the API.
func dbError(ctx context.Context, op string, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("messagedb: sqlite: %s: %w", op, cerr)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("messagedb: sqlite: %s: %w", op, err)
	}
	if isBusy(err) {
		return fmt.Errorf("messagedb: sqlite: %s: database is locked by another connection beyond the busy timeout: %v", op, err)
	}
	return fmt.Errorf("messagedb: sqlite: %s: %v", op, err)
}
