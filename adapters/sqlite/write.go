package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/messagedb-go/messagedb/domain"
)

// WriteMessage appends msg to the stream; see ports.MessageStore.
func (n *Namespace) WriteMessage(ctx context.Context, streamName string, msg domain.NewMessage, expected domain.ExpectedVersion) (domain.WriteResult, error) {
	prepared, err := n.e.store.opts.limits().PrepareWrite(streamName, []domain.NewMessage{msg}, expected)
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
	prepared, err := n.e.store.opts.limits().PrepareWrite(streamName, msgs, expected)
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
	d, err := n.e.acquire(ctx)
	if err != nil {
		return err
	}
	defer n.e.release()
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
	n.e.watch.notify(category)
	return nil
}

// versionAndStored returns the stream's version and, when m's id is
// already stored, whether the write is an idempotent retry (its stored
// result then in res[0]) or a duplicate (the error matches
// domain.ErrDuplicateMessageID). One query.
func (d *nsDB) versionAndStored(ctx context.Context, stream string, m domain.NewMessage, res []domain.WriteResult) (int64, bool, error) {
	var (
		version       sql.NullInt64
		sStream, sTyp sql.NullString
		sPos, sGP     sql.NullInt64
	)
	if err := d.ws.idAndVersion.QueryRowContext(ctx, stream, m.ID.String()).Scan(&version, &sStream, &sTyp, &sPos, &sGP); err != nil {
		return 0, false, dbError(ctx, "write "+stream, err)
	}
	if sStream.Valid {
		if err := sameMessage(m, stream, sStream.String, sTyp.String); err != nil {
			return 0, false, err
		}
		res[0] = domain.WriteResult{Position: sPos.Int64, GlobalPosition: sGP.Int64}
		return 0, true, nil
	}
	if !version.Valid {
		return domain.NoStream, false, nil
	}
	return version.Int64, false, nil
}

// sameMessage checks that a stored message with m's id is m written again:
// same stream, same type.
func sameMessage(m domain.NewMessage, stream, storedStream, storedType string) error {
	switch {
	case storedStream != stream:
		return fmt.Errorf("%w: id %s is already used in stream %s", domain.ErrDuplicateMessageID, m.ID, storedStream)
	case storedType != m.Type:
		return fmt.Errorf("%w: id %s is already used in stream %s with type %s", domain.ErrDuplicateMessageID, m.ID, storedStream, storedType)
	}
	return nil
}

// storedResults looks the ids of a batch up. When all are stored in stream
// with the same types, it fills res with their stored results and returns
// true (an idempotent retry); when none is, false; otherwise the error
// matches domain.ErrDuplicateMessageID.
func (d *nsDB) storedResults(ctx context.Context, stream string, msgs []domain.NewMessage, res []domain.WriteResult) (bool, error) {
	type stored struct {
		stream, typ string
		res         domain.WriteResult
	}
	ids := make([]string, len(msgs))
	for i, m := range msgs {
		ids[i] = m.ID.String()
	}
	list, err := json.Marshal(ids)
	if err != nil {
		return false, fmt.Errorf("messagedb: sqlite: write %s: %w", stream, err)
	}
	rows, err := d.ws.byIDs.QueryContext(ctx, string(list))
	if err != nil {
		return false, dbError(ctx, "write "+stream, err)
	}
	defer rows.Close()
	found := make(map[string]stored)
	for rows.Next() {
		var id string
		var s stored
		if err := rows.Scan(&id, &s.stream, &s.typ, &s.res.Position, &s.res.GlobalPosition); err != nil {
			return false, dbError(ctx, "write "+stream, err)
		}
		found[id] = s
	}
	if err := rows.Err(); err != nil {
		return false, dbError(ctx, "write "+stream, err)
	}
	if len(found) == 0 {
		return false, nil
	}
	for i, m := range msgs {
		s, ok := found[ids[i]]
		if !ok {
			return false, fmt.Errorf("%w: message %d: id %s is new, but other ids of the batch are already stored",
				domain.ErrDuplicateMessageID, i, m.ID)
		}
		if err := sameMessage(m, stream, s.stream, s.typ); err != nil {
			return false, err
		}
		res[i] = s.res
	}
	return true, nil
}

// uniqueViolation explains a unique index violation on inserting msgs,
// which the checks made before the insert should have prevented: an id
// stored meanwhile is a duplicate, otherwise the position was taken. It runs
// in the write transaction.
func (d *nsDB) uniqueViolation(ctx context.Context, stream string, msgs []domain.NewMessage, expected domain.ExpectedVersion) error {
	for _, m := range msgs {
		var s string
		err := d.ws.byID.QueryRowContext(ctx, m.ID.String()).Scan(&s)
		if err == nil {
			return fmt.Errorf("%w: id %s is already used in stream %s", domain.ErrDuplicateMessageID, m.ID, s)
		}
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
	msgs, err := n.e.store.opts.limits().PrepareImport(msgs)
	if err != nil {
		return err
	}
	d, err := n.e.acquire(ctx)
	if err != nil {
		return err
	}
	defer n.e.release()
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
	if maxGlobal.Valid && msgs[0].GlobalPosition <= maxGlobal.Int64 {
		return fmt.Errorf("%w: import: global position %d is not above the highest stored, %d",
			domain.ErrInvalidMessage, msgs[0].GlobalPosition, maxGlobal.Int64)
	}

	versions := make(map[string]int64)
	categories := make(map[string]struct{})
	for i, m := range msgs {
		v, ok := versions[m.StreamName]
		if !ok {
			if v, err = streamVersion(ctx, d.ws.version, m.StreamName); err != nil {
				return dbError(ctx, op, err)
			}
		}
		if m.Position != v+1 {
			return fmt.Errorf("import message %d: %w", i,
				&domain.VersionConflictError{StreamName: m.StreamName, Expected: m.Position - 1, Actual: v})
		}
		versions[m.StreamName] = m.Position
		category := domain.Category(m.StreamName)
		categories[category] = struct{}{}
		if _, err := d.ws.importInsert.ExecContext(ctx, m.GlobalPosition, m.Position, formatTime(m.Time), m.StreamName, m.Type,
			string(m.Data), nullJSON(m.Metadata), m.ID.String(), category, groupHashOf(m.StreamName), correlationCategory(m.Metadata)); err != nil {
			if isUniqueViolation(err) {
				return fmt.Errorf("%w: import message %d: id %s is already stored", domain.ErrDuplicateMessageID, i, m.ID)
			}
			return dbError(ctx, op, err)
		}
	}
	ended = true
	if err := d.commit(ctx); err != nil {
		return dbError(ctx, op, err)
	}
	for c := range categories {
		n.e.watch.notify(c)
	}
	return nil
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
