package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"slices"

	"github.com/google/uuid"

	"github.com/messagedb-go/messagedb/domain"
)

// WriteMessage appends msg to the stream; see ports.MessageStore. It is one
// call of the namespace's write_messages function, in its own transaction:
// the category lock, the idempotency check by id, the expected version
// check, the insert and the notification.
func (n *Namespace) WriteMessage(ctx context.Context, streamName string, msg domain.NewMessage, expected domain.ExpectedVersion) (domain.WriteResult, error) {
	res, err := n.WriteMessages(ctx, streamName, []domain.NewMessage{msg}, expected)
	if err != nil {
		return domain.WriteResult{}, err
	}
	return res[0], nil
}

// WriteMessages appends msgs to one stream, all or nothing, in one
// transaction; see ports.MessageStore.
func (n *Namespace) WriteMessages(ctx context.Context, streamName string, msgs []domain.NewMessage, expected domain.ExpectedVersion) ([]domain.WriteResult, error) {
	msgs, err := n.s.limits.PrepareWrite(streamName, msgs, expected)
	if err != nil {
		return nil, err
	}
	if err := n.checkOpen(); err != nil {
		return nil, err
	}

	ids := make([]string, len(msgs))
	types := make([]string, len(msgs))
	data := make([]string, len(msgs))
	metadata := make([]*string, len(msgs))
	for i, m := range msgs {
		ids[i], types[i], data[i] = m.ID.String(), m.Type, string(m.Data)
		if m.Metadata != nil {
			metadata[i] = new(string(m.Metadata))
		}
	}
	var exp any
	if v, ok := expected.Value(); ok {
		exp = v
	}

	rows, err := n.s.pool.Query(ctx, n.q.write, n.s.mode, streamName, ids, types, data, metadata, exp)
	if err != nil {
		return nil, n.writeError(ctx, streamName, expected, err)
	}
	type stored struct {
		stream, typ string
		res         domain.WriteResult
		written     bool
	}
	byID := make(map[uuid.UUID]stored, len(msgs))
	written := false
	for rows.Next() {
		var id [16]byte
		var s stored
		if err := rows.Scan(&id, &s.stream, &s.typ, &s.res.Position, &s.res.GlobalPosition, &s.written); err != nil {
			rows.Close()
			return nil, n.fail(ctx, "write to "+streamName, err)
		}
		written = s.written
		byID[id] = s
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, n.writeError(ctx, streamName, expected, err)
	}

	out := make([]domain.WriteResult, len(msgs))
	if written {
		for i, m := range msgs {
			s, ok := byID[m.ID]
			if !ok {
				return nil, fmt.Errorf("messagedb: postgres: %s: message %s missing from the write's result", n.op("write to "+streamName), m.ID)
			}
			out[i] = s.res
		}
		return out, nil
	}

	// Some ids were stored already: nothing was written. It is an
	// idempotent retry only if every id is in this stream with its type.
	for i, m := range msgs {
		s, ok := byID[m.ID]
		switch {
		case !ok:
			return nil, fmt.Errorf("messagedb: postgres: write to %s: message %d (%s) is new but others of the batch are stored already: %w",
				streamName, i, m.ID, domain.ErrDuplicateMessageID)
		case s.stream != streamName || s.typ != m.Type:
			return nil, fmt.Errorf("messagedb: postgres: write to %s: message id %s is used by a message of type %s in stream %s: %w",
				streamName, m.ID, s.typ, s.stream, domain.ErrDuplicateMessageID)
		}
		out[i] = s.res
	}
	return out, nil
}

// writeError translates the error of a write: Message DB's wrong expected
// version exception and a unique violation on (stream, position) become a
// *domain.VersionConflictError, a unique violation on the id (a message of
// another category written concurrently with the same id)
// domain.ErrDuplicateMessageID.
func (n *Namespace) writeError(ctx context.Context, streamName string, expected domain.ExpectedVersion, err error) error {
	if exp, act, ok := parseWrongVersion(err); ok {
		return fmt.Errorf("messagedb: postgres: write to %s: %w", streamName,
			&domain.VersionConflictError{StreamName: streamName, Expected: exp, Actual: act})
	}
	if isUniqueViolation(err, indexMessagesStream) {
		// Only a write outside the category lock (in SQL, by hand) can
		// take the position first; report the version now.
		exp, _ := expected.Value()
		actual, verr := n.streamVersion(context.WithoutCancel(ctx), streamName)
		if verr != nil {
			actual = domain.NoStream
		}
		return fmt.Errorf("messagedb: postgres: write to %s: %w", streamName,
			&domain.VersionConflictError{StreamName: streamName, Expected: exp, Actual: actual})
	}
	if isUniqueViolation(err, indexMessagesID) {
		return fmt.Errorf("messagedb: postgres: write to %s: a message id is used in another stream: %w", streamName, domain.ErrDuplicateMessageID)
	}
	return n.fail(ctx, "write to "+streamName, err)
}

// importChunk is how many messages one INSERT of ImportMessages carries.
const importChunk = 1000

// ImportMessages stores messages as they are (ids, positions, global
// positions, times) in one transaction; see ports.Importer. Writers of the
// namespace wait for it (it locks the messages table against writes).
// Afterwards the global position sequence continues after the highest
// imported one.
func (n *Namespace) ImportMessages(ctx context.Context, msgs []domain.Message) error {
	rows, err := prepareImport(msgs, n.s.limits)
	if err != nil {
		return err
	}
	if err := n.checkOpen(); err != nil {
		return err
	}
	if len(msgs) == 0 {
		return nil
	}

	tx, err := n.s.db.DB.BeginTx(ctx, nil)
	if err != nil {
		return n.fail(ctx, "import: begin", err)
	}
	defer func() { _ = tx.Rollback() }()

	var maxGP int64
	if err := tx.QueryRowContext(ctx, n.q.importLock).Scan(&maxGP); err != nil {
		return n.fail(ctx, "import: lock", err)
	}
	if first := msgs[0].GlobalPosition; first <= maxGP {
		return fmt.Errorf("messagedb: postgres: import: message %s has global position %d, not above the stored %d: %w",
			msgs[0].ID, first, maxGP, domain.ErrInvalidMessage)
	}

	versions, err := n.importVersions(ctx, tx, msgs)
	if err != nil {
		return err
	}
	for _, m := range msgs {
		v, ok := versions[m.StreamName]
		if !ok {
			v = domain.NoStream
		}
		if m.Position != v+1 {
			return fmt.Errorf("messagedb: postgres: import: message %s at position %d: %w", m.ID, m.Position,
				&domain.VersionConflictError{StreamName: m.StreamName, Expected: m.Position - 1, Actual: v})
		}
		versions[m.StreamName] = m.Position
	}

	for start := 0; start < len(rows.gp); start += importChunk {
		end := min(start+importChunk, len(rows.gp))
		if _, err := tx.ExecContext(ctx, n.q.importInsert,
			rows.gp[start:end], rows.pos[start:end], rows.time[start:end], rows.stream[start:end],
			rows.typ[start:end], rows.data[start:end], rows.meta[start:end], rows.id[start:end]); err != nil {
			if isUniqueViolation(err, indexMessagesID) {
				return fmt.Errorf("messagedb: postgres: import: a message id is stored already: %w", domain.ErrDuplicateMessageID)
			}
			return n.fail(ctx, "import", err)
		}
	}
	if _, err := tx.ExecContext(ctx, n.q.importSeq, msgs[len(msgs)-1].GlobalPosition); err != nil {
		return n.fail(ctx, "import: advance the global position", err)
	}
	if _, err := tx.ExecContext(ctx, n.q.importNotify, rows.categories); err != nil {
		return n.fail(ctx, "import: notify", err)
	}
	if err := tx.Commit(); err != nil {
		return n.fail(ctx, "import: commit", err)
	}
	return nil
}

// importVersions returns the versions of the streams of msgs that exist.
func (n *Namespace) importVersions(ctx context.Context, tx *sql.Tx, msgs []domain.Message) (map[string]int64, error) {
	var names []string
	seen := map[string]bool{}
	for _, m := range msgs {
		if !seen[m.StreamName] {
			seen[m.StreamName] = true
			names = append(names, m.StreamName)
		}
	}
	versions := make(map[string]int64, len(names))
	rs, err := tx.QueryContext(ctx, n.q.importVers, names)
	if err != nil {
		return nil, n.fail(ctx, "import: read versions", err)
	}
	defer rs.Close()
	for rs.Next() {
		var name string
		var v int64
		if err := rs.Scan(&name, &v); err != nil {
			return nil, n.fail(ctx, "import: read versions", err)
		}
		versions[name] = v
	}
	if err := rs.Err(); err != nil {
		return nil, n.fail(ctx, "import: read versions", err)
	}
	return versions, nil
}

// importRows are the columns of messages to import, as arrays.
type importRows struct {
	gp, pos                     []int64
	time, stream, typ, data, id []string
	meta                        []*string
	categories                  []string
}

// importTimeLayout is how times are sent: UTC, microseconds.
const importTimeLayout = "2006-01-02 15:04:05.999999"

// prepareImport validates messages to import, before anything is read:
// valid names, ids, types and JSON, positions from 0, global positions from
// 1 and increasing, no id twice, no message beyond the limits.
func prepareImport(msgs []domain.Message, limits domain.Limits) (importRows, error) {
	var r importRows
	prepared, err := limits.PrepareImport(msgs)
	if err != nil {
		return r, fmt.Errorf("messagedb: postgres: %w", err)
	}
	cats := map[string]bool{}
	for _, m := range prepared {
		r.gp = append(r.gp, m.GlobalPosition)
		r.pos = append(r.pos, m.Position)
		r.time = append(r.time, m.Time.Format(importTimeLayout))
		r.stream = append(r.stream, m.StreamName)
		r.typ = append(r.typ, m.Type)
		r.data = append(r.data, string(m.Data))
		r.id = append(r.id, m.ID.String())
		if m.Metadata != nil {
			r.meta = append(r.meta, new(string(m.Metadata)))
		} else {
			r.meta = append(r.meta, nil)
		}
		if c := domain.Category(m.StreamName); !cats[c] {
			cats[c] = true
			r.categories = append(r.categories, c)
		}
	}
	slices.Sort(r.categories)
	return r, nil
}
