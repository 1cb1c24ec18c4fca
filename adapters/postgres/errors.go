package postgres

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/migrations"
)

// ErrClosed is returned by every call on a Store, or on a message store it
// handed out, after the Store is closed. It is domain.ErrClosed, the same
// value on every backend.
var ErrClosed = domain.ErrClosed

// PostgreSQL error codes the adapter translates.
const (
	codeUniqueViolation   = "23505"
	codeInvalidSchemaName = "3F000"
	codeUndefinedTable    = "42P01"
	codeUndefinedFunction = "42883"
	codeDuplicateSchema   = "42P06"
	codeUndefinedObject   = "42704"
	codeAdminShutdown     = "57P01" // the server shuts down (or the backend was terminated)
	codeCrashShutdown     = "57P02" // another backend crashed: the server restarts
	codeCannotConnectNow  = "57P03" // the server starts, or shuts down
	codeReadOnly          = "25006" // a write reached a server in recovery (a standby)
)

// Names of the unique indexes of a namespace's messages table.
const (
	indexMessagesID     = "messages_id"
	indexMessagesStream = "messages_stream"
)

func asPgError(err error) (*pgconn.PgError, bool) {
	var pe *pgconn.PgError
	ok := errors.As(err, &pe)
	return pe, ok
}

// isUniqueViolation reports whether err is a unique violation on the named
// constraint (index).
func isUniqueViolation(err error, constraint string) bool {
	pe, ok := asPgError(err)
	return ok && pe.Code == codeUniqueViolation && pe.ConstraintName == constraint
}

// isNamespaceGone reports whether err says that the namespace's schema or
// one of its objects does not exist: the namespace was deleted.
func isNamespaceGone(err error) bool {
	pe, ok := asPgError(err)
	if !ok {
		return false
	}
	switch pe.Code {
	case codeInvalidSchemaName, codeUndefinedTable, codeUndefinedFunction:
		return true
	}
	return false
}

// dbError turns an error from the driver into one a caller can use: the
// context's error when the context ended (matchable with errors.Is),
// domain.ErrNamespaceNotFound when the namespace's schema is gone, else a
// message that names the operation. Driver errors are formatted, never
// wrapped, so that no pgconn type becomes part of the API.
func dbError(ctx context.Context, op string, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("messagedb: postgres: %s: %w", op, cerr)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("messagedb: postgres: %s: %w", op, err)
	}
	if isNamespaceGone(err) {
		return domain.Wrapf(domain.ErrNamespaceNotFound, "postgres: %s", op)
	}
	if isUnavailable(err) {
		return fmt.Errorf("%w (%v)", domain.Wrapf(domain.ErrUnavailable, "postgres: %s", op), err)
	}
	return fmt.Errorf("messagedb: postgres: %s: %v", op, err)
}

// isUnavailable reports whether err says that the server could not be
// reached or the connection broke, rather than that the server refused the
// statement: a connection that failed, closed or timed out, or the server
// shutting down, restarting, starting, or (for a write) in recovery, as a
// standby is until it is promoted.
func isUnavailable(err error) bool {
	if pe, ok := asPgError(err); ok {
		switch pe.Code {
		case codeAdminShutdown, codeCrashShutdown, codeCannotConnectNow, codeReadOnly:
			return true
		}
		return strings.HasPrefix(pe.Code, "08") // connection exception
	}
	var connect *pgconn.ConnectError
	var netErr net.Error
	return errors.As(err, &connect) || errors.As(err, &netErr) || pgconn.Timeout(err) ||
		errors.Is(err, pgconn.ErrConnClosed) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, driver.ErrBadConn)
}

// migrationError keeps a *migrations.Error matchable while cutting the
// driver error out of its chain; a *migrations.PendingError, and the
// errors of this package (a namespace not found), stay as they are.
func migrationError(ctx context.Context, op string, err error) error {
	var pending *migrations.PendingError
	if errors.As(err, &pending) {
		return fmt.Errorf("messagedb: postgres: %s: %w", op, pending)
	}
	if errors.Is(err, domain.ErrNamespaceNotFound) {
		return err
	}
	var me *migrations.Error
	if errors.As(err, &me) {
		var cause error
		if me.Err != nil {
			cause = errors.New(me.Err.Error())
		}
		return domain.Wrapf(&migrations.Error{File: me.File, Err: cause}, "postgres: %s", op)
	}
	return dbError(ctx, op, err)
}
