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
// check and the insert. Once it has committed, the category's watchers are
// woken (see committed).
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
	// Ids the caller gave may be a retry's, to be looked up before
	// writing; those PrepareWrite makes are new (random).
	given := slices.ContainsFunc(msgs, func(m domain.NewMessage) bool { return m.ID != uuid.Nil })
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

	rows, err := n.s.pool.Query(ctx, n.q.write, n.s.mode, streamName, ids, types, data, metadata, exp, given)
	if err != nil {
		return n.writeError(ctx, streamName, msgs, expected, err)
	}
	byID := make(map[uuid.UUID]storedMessage, len(msgs))
	written := false
	for rows.Next() {
		var id [16]byte
		var s storedMessage
		if err := rows.Scan(&id, &s.stream, &s.typ, &s.res.Position, &s.res.GlobalPosition, &written); err != nil {
			rows.Close()
			return nil, n.fail(ctx, "write to "+streamName, err)
		}
		byID[id] = s
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return n.writeError(ctx, streamName, msgs, expected, err)
	}

	if !written {
		// Some ids were stored already: nothing was written.
		return retryResults(streamName, msgs, byID)
	}
	n.committed(domain.Category(streamName))
	out := make([]domain.WriteResult, len(msgs))
	for i, m := range msgs {
		s, ok := byID[m.ID]
		if !ok {
			return nil, fmt.Errorf("messagedb: postgres: %s: message %s missing from the write's result", n.op("write to "+streamName), m.ID)
		}
		out[i] = s.res
	}
	return out, nil
}

// storedMessage is what a write learns of a message stored with one of its
// ids.
type storedMessage struct {
	stream, typ string
	res         domain.WriteResult
}

// retryResults returns the results of a write whose messages' ids are
// stored already (byID): it is an idempotent retry, which returns the
// stored positions, only if every id is stored in this stream with its
// type; otherwise the error matches domain.ErrDuplicateMessageID.
func retryResults(streamName string, msgs []domain.NewMessage, byID map[uuid.UUID]storedMessage) ([]domain.WriteResult, error) {
	out := make([]domain.WriteResult, len(msgs))
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

// storedByID reads the messages stored with the ids of msgs.
func (n *Namespace) storedByID(ctx context.Context, msgs []domain.NewMessage) (map[uuid.UUID]storedMessage, error) {
	ids := make([]uuid.UUID, len(msgs))
	for i, m := range msgs {
		ids[i] = m.ID
	}
	rows, err := n.s.pool.Query(ctx, n.q.byID, n.s.mode, ids)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	byID := make(map[uuid.UUID]storedMessage, len(msgs))
	for rows.Next() {
		var id [16]byte
		var s storedMessage
		if err := rows.Scan(&id, &s.stream, &s.typ, &s.res.Position, &s.res.GlobalPosition); err != nil {
			return nil, err
		}
		byID[id] = s
	}
	return byID, rows.Err()
}

// writeError translates the error of a write: Message DB's wrong expected
// version exception and a unique violation on (stream, position) become a
// *domain.VersionConflictError. A unique violation on the id means that an
// id is stored already: the write is an idempotent retry if every id is
// stored in this stream with its type (retryResults), else the error
// matches domain.ErrDuplicateMessageID.
func (n *Namespace) writeError(ctx context.Context, streamName string, msgs []domain.NewMessage, expected domain.ExpectedVersion, err error) ([]domain.WriteResult, error) {
	if exp, act, ok := parseWrongVersion(err); ok {
		return nil, fmt.Errorf("messagedb: postgres: write to %s: %w", streamName,
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
		return nil, fmt.Errorf("messagedb: postgres: write to %s: %w", streamName,
			&domain.VersionConflictError{StreamName: streamName, Expected: exp, Actual: actual})
	}
	if isUniqueViolation(err, indexMessagesID) {
		byID, serr := n.storedByID(context.WithoutCancel(ctx), msgs)
		if serr != nil {
			return nil, n.fail(ctx, "write to "+streamName, serr)
		}
		return retryResults(streamName, msgs, byID)
	}
	return nil, n.fail(ctx, "write to "+streamName, err)
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

	if _, err := tx.ExecContext(ctx, n.q.importLock); err != nil {
		return n.fail(ctx, "import: lock", err)
	}
	var maxGP int64
	if err := tx.QueryRowContext(ctx, n.q.importMax).Scan(&maxGP); err != nil {
		return n.fail(ctx, "import", err)
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
	if err := tx.Commit(); err != nil {
		return n.fail(ctx, "import: commit", err)
	}
	n.committed(rows.categories...)
	return nil
}

// committed wakes the watchers of categories after a write to them has
// committed: this Store's at once, and through the Store's notifier, which
// sends NOTIFY outside the write's transaction, those of other Stores and
// processes. A write's transaction never notifies: PostgreSQL makes the
// commits of notifying transactions wait for each other, across every
// database of the cluster.
func (n *Namespace) committed(categories ...string) {
	channels := make([]string, len(categories))
	for i, c := range categories {
		channels[i] = NotifyChannel(n.id, c)
	}
	n.s.listener.dispatch(channels...)
	n.s.notifier.signal(channels...)
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
