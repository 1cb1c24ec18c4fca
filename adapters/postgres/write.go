package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"

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

	// pgx sends the ids' bytes and the JSON as it is, in every query
	// execution mode: no text form of an id, no copy of data or metadata.
	// Nil metadata is NULL.
	ids := make([]pgtype.UUID, len(msgs))
	types := make([]string, len(msgs))
	data := make([]json.RawMessage, len(msgs))
	metadata := make([]json.RawMessage, len(msgs))
	for i, m := range msgs {
		ids[i] = pgtype.UUID{Bytes: m.ID, Valid: true}
		types[i], data[i], metadata[i] = m.Type, m.Data, m.Metadata
	}
	var exp any
	if v, ok := expected.Value(); ok {
		exp = v
	}

	rows, err := n.s.pool.Query(ctx, n.q.write, n.s.mode, streamName, ids, types, data, metadata, exp, given)
	if err != nil {
		return n.writeError(ctx, streamName, msgs, expected, err)
	}
	byID := make(map[uuid.UUID]domain.WriteResult, len(msgs))
	written, conflict := false, false
	var version int64
	for rows.Next() {
		var id pgtype.UUID
		var pos int64
		var gp pgtype.Int8
		if err := rows.Scan(&id, nil, nil, &pos, &gp, &written); err != nil {
			rows.Close()
			return nil, n.fail(ctx, "write to "+streamName, err)
		}
		if !id.Valid {
			// A wrong expected version: pos is the stream's version.
			conflict, version = true, pos
			continue
		}
		byID[id.Bytes] = domain.WriteResult{Position: pos, GlobalPosition: gp.Int64}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return n.writeError(ctx, streamName, msgs, expected, err)
	}

	if conflict {
		exp, _ := expected.Value()
		return nil, &domain.VersionConflictError{StreamName: streamName, Expected: exp, Actual: version}
	}
	if !written {
		// Some ids were stored already, and nothing was written: the
		// stored messages decide (domain.ResolveStoredIDs), data and
		// metadata included, which write_messages does not return.
		return n.resolveStored(ctx, streamName, msgs)
	}
	n.s.reads.wrote()
	n.committed(domain.Category(streamName))
	out := make([]domain.WriteResult, len(msgs))
	for i, m := range msgs {
		r, ok := byID[m.ID]
		if !ok {
			return nil, fmt.Errorf("messagedb: postgres: %s: message %s missing from the write's result", n.op("write to "+streamName), m.ID)
		}
		out[i] = r
	}
	return out, nil
}

// resolveStored applies domain.ResolveStoredIDs to a write some of whose
// ids are stored: messages are never changed or deleted, so what is read
// after the write's transaction is what it found.
func (n *Namespace) resolveStored(ctx context.Context, streamName string, msgs []domain.NewMessage) ([]domain.WriteResult, error) {
	ids := make([]string, len(msgs))
	for i, m := range msgs {
		ids[i] = m.ID.String()
	}
	stored, err := n.query(ctx, "write to ", streamName, int64(len(msgs)), n.q.byIDs, n.s.mode, ids)
	if err != nil {
		return nil, err
	}
	res, err := domain.ResolveStoredIDs(streamName, msgs, stored)
	if res != nil {
		n.s.reads.wrote() // a retry: reads see what it found
	}
	if err == nil && res == nil {
		// Found by write_messages or the unique index, gone now: only a
		// namespace deleted meanwhile loses messages.
		if err := n.checkOpen(); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%w: an id of the write to %s is stored, then gone", domain.ErrNamespaceNotFound, streamName)
	}
	return res, err
}

// writeError translates the error of a write: a unique violation on
// (stream, position) becomes a *domain.VersionConflictError. A unique
// violation on the id means that an id the write did not look up (see
// WriteMessages), or one stored by a write to another category meanwhile,
// is stored: the stored messages decide (domain.ResolveStoredIDs).
func (n *Namespace) writeError(ctx context.Context, streamName string, msgs []domain.NewMessage, expected domain.ExpectedVersion, err error) ([]domain.WriteResult, error) {
	if isUniqueViolation(err, indexMessagesStream) {
		// Only a write outside the category lock (in SQL, by hand) can
		// take the position first; report the version now.
		exp, _ := expected.Value()
		actual, verr := n.streamVersion(context.WithoutCancel(ctx), streamName)
		if verr != nil {
			actual = domain.NoStream
		}
		return nil, &domain.VersionConflictError{StreamName: streamName, Expected: exp, Actual: actual}
	}
	if isUniqueViolation(err, indexMessagesID) {
		return n.resolveStored(context.WithoutCancel(ctx), streamName, msgs)
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
	prepared, rows, err := prepareImport(msgs, n.s.limits)
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
	versions, err := n.importVersions(ctx, tx, msgs)
	if err != nil {
		return err
	}
	stored, err := n.importStored(ctx, tx, rows.id)
	if err != nil {
		return err
	}
	if err := domain.CheckImport(prepared, maxGP, versions, stored); err != nil {
		return err
	}

	for start := 0; start < len(rows.gp); start += importChunk {
		end := min(start+importChunk, len(rows.gp))
		if _, err := tx.ExecContext(ctx, n.q.importInsert,
			rows.gp[start:end], rows.pos[start:end], rows.time[start:end], rows.stream[start:end],
			rows.typ[start:end], rows.data[start:end], rows.meta[start:end], rows.id[start:end]); err != nil {
			if isUniqueViolation(err, indexMessagesID) {
				return fmt.Errorf("%w: import: an id was stored by another write meanwhile", domain.ErrDuplicateMessageID)
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
	n.s.reads.wrote()
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
	n.s.listener.hub.Wake(channels...)
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

// importStored returns which of the ids are stored already.
func (n *Namespace) importStored(ctx context.Context, tx *sql.Tx, ids []string) (map[uuid.UUID]bool, error) {
	stored := make(map[uuid.UUID]bool)
	rs, err := tx.QueryContext(ctx, n.q.importIDs, ids)
	if err != nil {
		return nil, n.fail(ctx, "import: read ids", err)
	}
	defer rs.Close()
	for rs.Next() {
		var id string
		if err := rs.Scan(&id); err != nil {
			return nil, n.fail(ctx, "import: read ids", err)
		}
		u, err := uuid.Parse(id)
		if err != nil {
			return nil, fmt.Errorf("messagedb: postgres: import: stored id %q: %v", id, err)
		}
		stored[u] = true
	}
	if err := rs.Err(); err != nil {
		return nil, n.fail(ctx, "import: read ids", err)
	}
	return stored, nil
}

// importRows are the columns of messages to import, as arrays.
type importRows struct {
	gp, pos               []int64
	time                  []time.Time // UTC: PrepareImport makes them so
	stream, typ, data, id []string
	meta                  []*string
	categories            []string
}

// prepareImport validates messages to import, before anything is read:
// valid names, ids, types and JSON, positions from 0, global positions from
// 1 and increasing, no id twice, no message beyond the limits.
func prepareImport(msgs []domain.Message, limits domain.Limits) ([]domain.Message, importRows, error) {
	var r importRows
	prepared, err := limits.PrepareImport(msgs)
	if err != nil {
		return nil, r, err
	}
	cats := map[string]bool{}
	for _, m := range prepared {
		r.gp = append(r.gp, m.GlobalPosition)
		r.pos = append(r.pos, m.Position)
		r.time = append(r.time, m.Time)
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
	return prepared, r, nil
}
