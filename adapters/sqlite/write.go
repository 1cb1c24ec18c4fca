package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/messagedb-go/messagedb/domain"
)

// WriteMessage appends msg to the stream; see ports.MessageStore.
func (n *Namespace) WriteMessage(ctx context.Context, streamName string, msg domain.NewMessage, expected domain.ExpectedVersion) (domain.WriteResult, error) {
	prepared, err := n.s.opts.limits().PrepareWrite(streamName, []domain.NewMessage{msg}, expected)
	if err != nil {
		return domain.WriteResult{}, err
	}
	var res [1]domain.WriteResult
	if err := n.write(ctx, streamName, prepared, expected, res[:]); err != nil {
		return domain.WriteResult{}, err
	}
	return res[0], nil
}

// WriteMessages appends msgs to the stream, all or nothing; see
// ports.MessageStore.
func (n *Namespace) WriteMessages(ctx context.Context, streamName string, msgs []domain.NewMessage, expected domain.ExpectedVersion) ([]domain.WriteResult, error) {
	prepared, err := n.s.opts.limits().PrepareWrite(streamName, msgs, expected)
	if err != nil {
		return nil, err
	}
	res := make([]domain.WriteResult, len(prepared))
	if err := n.write(ctx, streamName, prepared, expected, res); err != nil {
		return nil, err
	}
	return res, nil
}

// write stores prepared messages in one immediate transaction: idempotency
// check by id, version check, inserts at version+1... Results go to res.
func (n *Namespace) write(ctx context.Context, stream string, msgs []domain.NewMessage, expected domain.ExpectedVersion, res []domain.WriteResult) error {
	d, err := n.acquire(ctx)
	if err != nil {
		return err
	}
	defer n.release()
	fail := func(err error) error { return dbError(ctx, "write "+stream, err) }
	if err := d.begin(ctx); err != nil {
		return fail(err)
	}
	ended := false
	defer func() {
		if !ended {
			d.rollback(ctx)
		}
	}()

	// An id already stored: an idempotent retry, or a duplicate.
	var version int64
	if len(msgs) == 1 {
		var retry bool
		if version, retry, err = d.versionAndStored(ctx, stream, msgs[0], res); err != nil || retry {
			return err
		}
	} else {
		if retry, err := d.storedResults(ctx, stream, msgs, res); err != nil || retry {
			return err
		}
		if version, err = streamVersion(ctx, d.ws.version, stream); err != nil {
			return fail(err)
		}
	}
	if err := expected.Check(stream, version); err != nil {
		return err
	}

	category, groupHash := domain.Category(stream), groupHashOf(stream)
	now := formatTime(time.Now())
	args := make([]any, 0, insertArgs*min(len(msgs), insertChunkRows))
	for i := 0; i < len(msgs); {
		// A chunk of messages in one statement when there are enough,
		// else one.
		st, k := d.ws.insert, 1
		if len(msgs)-i >= insertChunkRows {
			st, k = d.ws.insertChunk, insertChunkRows
		}
		args = args[:0]
		for j, m := range msgs[i : i+k] {
			args = append(args, version+1+int64(i+j), now, stream, m.Type, string(m.Data), nullJSON(m.Metadata),
				m.ID.String(), category, groupHash, correlationCategory(m.Metadata))
		}
		r, err := st.ExecContext(ctx, args...)
		if err != nil {
			if isUniqueViolation(err) {
				return d.uniqueViolation(ctx, stream, msgs[i:i+k], expected)
			}
			return fail(err)
		}
		// The rows of one statement take consecutive global positions
		// (AUTOINCREMENT, under the write lock): the last is the last
		// insert id.
		last, err := r.LastInsertId()
		if err != nil {
			return fail(err)
		}
		for j := range k {
			res[i+j] = domain.WriteResult{Position: version + 1 + int64(i+j), GlobalPosition: last - int64(k-1-j)}
		}
		i += k
	}
	ended = true
	if err := d.commit(ctx); err != nil {
		return fail(err)
	}
	n.inc.State.watch.Wake(category)
	return nil
}

// versionAndStored returns the stream's version and, when m's id is
// already stored, whether the write is an idempotent retry (its stored
// result then in res[0]) or a duplicate (see domain.ResolveStoredIDs). One
// query.
func (d *nsDB) versionAndStored(ctx context.Context, stream string, m domain.NewMessage, res []domain.WriteResult) (int64, bool, error) {
	var (
		version              sql.NullInt64
		sStream, sTyp, sData sql.NullString
		sMeta                sql.NullString
		sPos, sGP            sql.NullInt64
	)
	if err := d.ws.idAndVersion.QueryRowContext(ctx, stream, m.ID.String()).Scan(&version, &sStream, &sTyp, &sPos, &sGP, &sData, &sMeta); err != nil {
		return 0, false, dbError(ctx, "write "+stream, err)
	}
	if sStream.Valid {
		stored := domain.Message{ID: m.ID, StreamName: sStream.String, Type: sTyp.String, Position: sPos.Int64,
			GlobalPosition: sGP.Int64, Data: json.RawMessage(sData.String), Metadata: nullableJSON(sMeta)}
		got, err := domain.ResolveStoredIDs(stream, []domain.NewMessage{m}, []domain.Message{stored})
		if err != nil {
			return 0, false, err
		}
		res[0] = got[0]
		return 0, true, nil
	}
	if !version.Valid {
		return domain.NoStream, false, nil
	}
	return version.Int64, false, nil
}

// nullableJSON returns stored JSON text, nil for NULL.
func nullableJSON(s sql.NullString) json.RawMessage {
	if !s.Valid {
		return nil
	}
	return json.RawMessage(s.String)
}

// storedMessages returns the stored messages with the ids of msgs.
func (d *nsDB) storedMessages(ctx context.Context, stream string, msgs []domain.NewMessage) ([]domain.Message, error) {
	ids := make([]string, len(msgs))
	for i, m := range msgs {
		ids[i] = m.ID.String()
	}
	list, err := json.Marshal(ids)
	if err != nil {
		return nil, fmt.Errorf("messagedb: sqlite: write %s: %w", stream, err)
	}
	rows, err := d.ws.byIDs.QueryContext(ctx, string(list))
	if err != nil {
		return nil, dbError(ctx, "write "+stream, err)
	}
	defer rows.Close()
	var stored []domain.Message
	for rows.Next() {
		var id, data string
		var meta sql.NullString
		var s domain.Message
		if err := rows.Scan(&id, &s.StreamName, &s.Type, &s.Position, &s.GlobalPosition, &data, &meta); err != nil {
			return nil, dbError(ctx, "write "+stream, err)
		}
		if s.ID, err = uuid.Parse(id); err != nil {
			return nil, fmt.Errorf("messagedb: sqlite: write %s: stored id %q: %v", stream, id, err)
		}
		s.Data, s.Metadata = json.RawMessage(data), nullableJSON(meta)
		stored = append(stored, s)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError(ctx, "write "+stream, err)
	}
	return stored, nil
}

// storedResults looks the ids of a batch up and applies
// domain.ResolveStoredIDs: when the batch is an idempotent retry, it fills
// res with the stored results and returns true; when no id is stored,
// false.
func (d *nsDB) storedResults(ctx context.Context, stream string, msgs []domain.NewMessage, res []domain.WriteResult) (bool, error) {
	stored, err := d.storedMessages(ctx, stream, msgs)
	if err != nil {
		return false, err
	}
	got, err := domain.ResolveStoredIDs(stream, msgs, stored)
	if err != nil || got == nil {
		return false, err
	}
	copy(res, got)
	return true, nil
}

// uniqueViolation explains a unique index violation on inserting msgs,
// which the checks made before the insert should have prevented (only a
// write outside this package can cause it): an id stored meanwhile is a
// duplicate, otherwise the position was taken. It runs in the write
// transaction.
func (d *nsDB) uniqueViolation(ctx context.Context, stream string, msgs []domain.NewMessage, expected domain.ExpectedVersion) error {
	stored, err := d.storedMessages(ctx, stream, msgs)
	if err != nil {
		return err
	}
	if len(stored) > 0 {
		if _, err := domain.ResolveStoredIDs(stream, msgs, stored); err != nil {
			return err
		}
		return fmt.Errorf("%w: id %s was stored by another write meanwhile", domain.ErrDuplicateMessageID, stored[0].ID)
	}
	actual, err := streamVersion(ctx, d.ws.version, stream)
	if err != nil {
		return dbError(ctx, "write "+stream, err)
	}
	exp, ok := expected.Value()
	if !ok {
		exp = actual - 1
	}
	return &domain.VersionConflictError{StreamName: stream, Expected: exp, Actual: actual}
}

// streamVersion runs the version statement: the stream's last position, or
// domain.NoStream.
func streamVersion(ctx context.Context, st *sql.Stmt, stream string) (int64, error) {
	var v sql.NullInt64
	if err := st.QueryRowContext(ctx, stream).Scan(&v); err != nil {
		return 0, err
	}
	if !v.Valid {
		return domain.NoStream, nil
	}
	return v.Int64, nil
}

// ImportMessages stores messages as they are; see ports.Importer.
func (n *Namespace) ImportMessages(ctx context.Context, msgs []domain.Message) error {
	msgs, err := n.s.opts.limits().PrepareImport(msgs)
	if err != nil {
		return err
	}
	d, err := n.acquire(ctx)
	if err != nil {
		return err
	}
	defer n.release()
	if len(msgs) == 0 {
		return nil
	}
	const op = "import"
	if err := d.begin(ctx); err != nil {
		return dbError(ctx, op, err)
	}
	ended := false
	defer func() {
		if !ended {
			d.rollback(ctx)
		}
	}()

	var maxGlobal sql.NullInt64
	if err := d.ws.maxGlobal.QueryRowContext(ctx).Scan(&maxGlobal); err != nil {
		return dbError(ctx, op, err)
	}
	versions := make(map[string]int64)
	categories := make(map[string]struct{})
	for _, m := range msgs {
		if _, ok := versions[m.StreamName]; ok {
			continue
		}
		v, err := streamVersion(ctx, d.ws.version, m.StreamName)
		if err != nil {
			return dbError(ctx, op, err)
		}
		versions[m.StreamName] = v // NoStream when it has none
		categories[domain.Category(m.StreamName)] = struct{}{}
	}
	stored, err := d.storedIDs(ctx, msgs)
	if err != nil {
		return dbError(ctx, op, err)
	}
	if err := domain.CheckImport(msgs, maxGlobal.Int64, versions, stored); err != nil {
		return err
	}
	for i, m := range msgs {
		if _, err := d.ws.importInsert.ExecContext(ctx, m.GlobalPosition, m.Position, formatTime(m.Time), m.StreamName, m.Type,
			string(m.Data), nullJSON(m.Metadata), m.ID.String(), domain.Category(m.StreamName), groupHashOf(m.StreamName), correlationCategory(m.Metadata)); err != nil {
			if isUniqueViolation(err) {
				return fmt.Errorf("%w: import message %d: id %s is stored already", domain.ErrDuplicateMessageID, i, m.ID)
			}
			return dbError(ctx, op, err)
		}
	}
	ended = true
	if err := d.commit(ctx); err != nil {
		return dbError(ctx, op, err)
	}
	for c := range categories {
		n.inc.State.watch.Wake(c)
	}
	return nil
}

// storedIDs returns the ids of msgs that are stored already.
func (d *nsDB) storedIDs(ctx context.Context, msgs []domain.Message) (map[uuid.UUID]bool, error) {
	ids := make([]string, len(msgs))
	for i, m := range msgs {
		ids[i] = m.ID.String()
	}
	list, err := json.Marshal(ids)
	if err != nil {
		return nil, err
	}
	rows, err := d.ws.byIDs.QueryContext(ctx, string(list))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	stored := make(map[uuid.UUID]bool)
	for rows.Next() {
		var id, stream, typ, data string
		var pos, gp int64
		var meta sql.NullString
		if err := rows.Scan(&id, &stream, &typ, &pos, &gp, &data, &meta); err != nil {
			return nil, err
		}
		u, err := uuid.Parse(id)
		if err != nil {
			return nil, err
		}
		stored[u] = true
	}
	return stored, rows.Err()
}

// groupHashOf returns the consumer-group hash stored with a stream's
// messages, or nil (NULL) when the stream name has no id.
func groupHashOf(stream string) any {
	if h, ok := domain.GroupHash(stream); ok {
		return h
	}
	return nil
}

// nullJSON returns JSON text to store, or nil (NULL) when there is none.
func nullJSON(b json.RawMessage) any {
	if b == nil {
		return nil
	}
	return string(b)
}

// correlationCategory returns what category reads filter correlation on:
// the category of the metadata's correlationStreamName, or nil (NULL).
func correlationCategory(metadata json.RawMessage) any {
	if metadata == nil {
		return nil
	}
	if s := domain.CorrelationStreamName(metadata); s != "" {
		return domain.Category(s)
	}
	return nil
}
