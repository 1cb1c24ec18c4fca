package sqlite

import (
	"errors"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"modernc.org/sqlite"

	"github.com/messagedb-go/messagedb/domain"
)

func openTestNamespace(t *testing.T) (*Namespace, *nsDB) {
	t.Helper()
	ctx := t.Context()
	s, err := Open(ctx, Options{Dir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	_, err = s.CreateNamespace(ctx, "shop", domain.NamespaceOptions{})
	require.NoError(t, err)
	ns, err := s.Namespace(ctx, "shop")
	require.NoError(t, err)
	d, err := ns.acquire(ctx)
	require.NoError(t, err)
	ns.release()
	return ns, d
}

// The unique indexes are the backstop of the checks made in Go: their
// violations are recognised by SQLite's extended code and explained as
// domain errors.
func TestErrors_UniqueViolationTranslated(t *testing.T) {
	ctx := t.Context()
	ns, d := openTestNamespace(t)
	stored := uuid.Must(uuid.NewV7())
	_, err := ns.WriteMessage(ctx, "order-1", domain.NewMessage{ID: stored, Type: "Placed"}, domain.AnyVersion)
	require.NoError(t, err)

	const insert = "INSERT INTO messages (position, time, stream_name, type, data, id, category) VALUES (?, '', 'order-1', 'Placed', '{}', ?, 'order')"
	_, err = d.db.ExecContext(ctx, insert, 1, stored.String())
	assert.True(t, isUniqueViolation(err), "same id: %v", err)
	_, err = d.db.ExecContext(ctx, insert, 0, uuid.NewString())
	assert.True(t, isUniqueViolation(err), "same stream and position: %v", err)
	_, err = d.db.ExecContext(ctx, "SELECT * FROM nowhere")
	assert.False(t, isUniqueViolation(err), "another error")

	require.NoError(t, d.begin(ctx))
	defer d.rollback(ctx)
	err = d.uniqueViolation(ctx, "order-1", []domain.NewMessage{{ID: uuid.New()}, {ID: stored}}, domain.AnyVersion)
	assert.ErrorIs(t, err, domain.ErrDuplicateMessageID, "the id is taken")
	err = d.uniqueViolation(ctx, "order-1", []domain.NewMessage{{ID: uuid.New()}}, domain.ExpectVersion(domain.NoStream))
	var conflict *domain.VersionConflictError
	require.ErrorAs(t, err, &conflict, "the position is taken")
	assert.Equal(t, domain.VersionConflictError{StreamName: "order-1", Expected: domain.NoStream, Actual: 0}, *conflict)
}

// Errors from SQLite are formatted into messagedb's, never wrapped.
func TestErrors_DriverErrorsDoNotLeak(t *testing.T) {
	ctx := t.Context()
	ns, d := openTestNamespace(t)
	_, err := d.db.ExecContext(ctx, "DROP TABLE messages")
	require.NoError(t, err)

	_, err = ns.WriteMessage(ctx, "order-1", domain.NewMessage{Type: "Placed"}, domain.AnyVersion)
	require.Error(t, err)
	var se *sqlite.Error
	assert.False(t, errors.As(err, &se), "write: %v", err)
	assert.Contains(t, err.Error(), "messagedb: sqlite: write order-1")

	_, err = ns.GetCategoryMessages(ctx, "order", domain.CategoryOpts{})
	require.Error(t, err)
	assert.False(t, errors.As(err, &se), "read: %v", err)
}
