package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/messagedb-go/messagedb/domain"
)

// GetStreamMessages returns the stream's messages from opts.Position; see
// ports.MessageStore.
func (n *Namespace) GetStreamMessages(ctx context.Context, streamName string, opts domain.GetOpts) ([]domain.Message, error) {
	if err := domain.ValidateStreamName(streamName); err != nil {
		return nil, err
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	limit := opts.Limit()
	return n.read(ctx, "read stream", streamName, limit, func(rs *readStmts) (*sql.Rows, error) {
		return rs.stream.QueryContext(ctx, streamName, opts.Position, limit)
	})
}

// GetCategoryMessages returns the category's messages from global position
// opts.StartPosition(); see ports.MessageStore. Consumer groups and
// correlation are filtered in SQL, on values stored at write time.
func (n *Namespace) GetCategoryMessages(ctx context.Context, category string, opts domain.CategoryOpts) ([]domain.Message, error) {
	if err := domain.ValidateCategory(category); err != nil {
		return nil, err
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	limit := opts.Limit()
	return n.read(ctx, "read category", category, limit, func(rs *readStmts) (*sql.Rows, error) {
		args := make([]any, 0, 6)
		args = append(args, category, opts.StartPosition())
		variant := 0
		if opts.Correlation != "" {
			variant |= withCorrelation
			args = append(args, opts.Correlation)
		}
		if g := opts.ConsumerGroup; g != nil {
			variant |= withGroup
			args = append(args, g.Size, g.Member)
		}
		args = append(args, limit)
		return rs.category[variant].QueryContext(ctx, args...)
	})
}

// GetAllMessages returns the namespace's messages from global position
// opts.StartPosition(); see ports.MessageStore.
func (n *Namespace) GetAllMessages(ctx context.Context, opts domain.AllOpts) ([]domain.Message, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	limit := opts.Limit()
	return n.read(ctx, "read", "all messages", limit, func(rs *readStmts) (*sql.Rows, error) {
		return rs.all.QueryContext(ctx, opts.StartPosition(), limit)
	})
}

// GetLastStreamMessage returns the stream's last message (of messageType
// when not empty), or an error matching domain.ErrStreamNotFound.
func (n *Namespace) GetLastStreamMessage(ctx context.Context, streamName string, messageType string) (domain.Message, error) {
	if err := domain.ValidateStreamName(streamName); err != nil {
		return domain.Message{}, err
	}
	if err := domain.ValidateTypeFilter(messageType); err != nil {
		return domain.Message{}, err
	}
	msgs, err := n.read(ctx, "read last message of", streamName, 1, func(rs *readStmts) (*sql.Rows, error) {
		if messageType == "" {
			return rs.last.QueryContext(ctx, streamName)
		}
		return rs.lastType.QueryContext(ctx, streamName, messageType)
	})
	if err != nil {
		return domain.Message{}, err
	}
	if len(msgs) == 0 {
		return domain.Message{}, domain.StreamNotFound(streamName, messageType)
	}
	return msgs[0], nil
}

// GetStreamVersion returns the stream's last position, or domain.NoStream.
func (n *Namespace) GetStreamVersion(ctx context.Context, streamName string) (int64, error) {
	if err := domain.ValidateStreamName(streamName); err != nil {
		return 0, err
	}
	rs, d, err := n.reads(ctx)
	if err != nil {
		return 0, err
	}
	defer n.endRead(d)
	v, err := streamVersion(ctx, rs.version, streamName)
	if err != nil {
		return 0, dbError(ctx, "read version of "+streamName, err)
	}
	return v, nil
}

// GetLastGlobalPosition returns the global position of the category's last
// message, or 0; see ports.MessageStore.
func (n *Namespace) GetLastGlobalPosition(ctx context.Context, category string) (int64, error) {
	if err := domain.ValidateCategory(category); err != nil {
		return 0, err
	}
	rs, d, err := n.reads(ctx)
	if err != nil {
		return 0, err
	}
	defer n.endRead(d)
	var gp sql.NullInt64
	if err := rs.categoryLast.QueryRowContext(ctx, category).Scan(&gp); err != nil {
		return 0, dbError(ctx, "read last global position of "+category, err)
	}
	return gp.Int64, nil
}

// read runs query, a read of at most limit messages (domain.Unlimited for
// no limit), on the namespace's read statements and collects its rows; op
// and name say what it reads, for errors (joined only on error). A limit of 0 reads nothing, but still
// fails once the namespace is deleted or the Store closed, like any read.
func (n *Namespace) read(ctx context.Context, op, name string, limit int64, query func(*readStmts) (*sql.Rows, error)) ([]domain.Message, error) {
	if limit == 0 {
		if _, err := n.acquire(ctx); err != nil {
			return nil, err
		}
		n.release()
		return []domain.Message{}, nil
	}
	rs, d, err := n.reads(ctx)
	if err != nil {
		return nil, err
	}
	defer n.endRead(d)
	rows, err := query(rs)
	return collect(ctx, op, name, rows, err, limit)
}

// reads returns the namespace's read statements and database; call
// endRead with the database once the read is done (its rows closed).
func (n *Namespace) reads(ctx context.Context) (*readStmts, *nsDB, error) {
	d, err := n.acquire(ctx)
	if err != nil {
		return nil, nil, err
	}
	rs, err := d.readStmts(ctx)
	if err != nil {
		n.release()
		return nil, nil, dbError(ctx, "read", err)
	}
	return rs, d, nil
}

func (n *Namespace) endRead(d *nsDB) {
	d.endRead()
	n.release()
}

// collect reads the rows of a message query (msgColumns). op and name say
// what the query was, for errors.
func collect(ctx context.Context, op, name string, rows *sql.Rows, err error, limit int64) ([]domain.Message, error) {
	if err != nil {
		return nil, dbError(ctx, op+" "+name, err)
	}
	defer rows.Close()
	size := limit
	if size < 0 || size > 128 {
		size = 128
	}
	out := make([]domain.Message, 0, size)
	var packed string
	u := unpacker{expect: size}
	for rows.Next() {
		if err := rows.Scan(&packed); err != nil {
			return nil, dbError(ctx, op+" "+name, err)
		}
		var m domain.Message
		if err := u.unpack(&m, packed); err != nil {
			return nil, fmt.Errorf("messagedb: sqlite: %s %s: %w", op, name, err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError(ctx, op+" "+name, err)
	}
	return out, nil
}

// unpacker turns the rows of one read into messages, copying what they keep
// of the rows' text: the messages of a read share a few stream names and
// types, and their JSON is copied into shared blocks rather than one
// allocation each.
type unpacker struct {
	streams, typs recent
	block         []byte
	expect        int64 // messages expected: sizes the first block
}

// unpack fills m from the packed text of msgColumns: global position,
// position, id (36 characters) and time, stream name, type, data and
// metadata, NUL-separated.
func (u *unpacker) unpack(m *domain.Message, packed string) error {
	var parts [6]string
	rest := packed
	for i := range parts {
		var ok bool
		if parts[i], rest, ok = strings.Cut(rest, "\x00"); !ok {
			return fmt.Errorf("malformed message row %.40q", packed)
		}
	}
	const idLen = 36
	var err error
	if m.GlobalPosition, err = strconv.ParseInt(parts[0], 10, 64); err != nil {
		return fmt.Errorf("global position %q: %w", parts[0], err)
	}
	if m.Position, err = strconv.ParseInt(parts[1], 10, 64); err != nil {
		return fmt.Errorf("message %d: position %q: %w", m.GlobalPosition, parts[1], err)
	}
	if len(parts[2]) < idLen {
		return fmt.Errorf("message %d: malformed id and time %q", m.GlobalPosition, parts[2])
	}
	id, t := parts[2][:idLen], parts[2][idLen:]
	if m.ID, err = uuid.Parse(id); err != nil {
		return fmt.Errorf("message %d: id %q: %w", m.GlobalPosition, id, err)
	}
	if m.Time, err = parseTime(t); err != nil {
		return fmt.Errorf("message %d: time %q: %w", m.GlobalPosition, t, err)
	}
	m.StreamName = u.streams.clone(parts[3])
	m.Type = u.typs.clone(parts[4])
	m.Data = u.copy(parts[5])
	if rest != "" {
		m.Metadata = u.copy(rest)
	}
	return nil
}

// copy returns a copy of s in the current block, its capacity capped so
// that appending to it cannot overwrite what follows.
func (u *unpacker) copy(s string) json.RawMessage {
	if cap(u.block)-len(u.block) < len(s) {
		size := 2 * cap(u.block)
		if size == 0 {
			size = len(s) * int(min(u.expect, 16))
		}
		u.block = make([]byte, 0, max(len(s), min(size, 1<<20)))
	}
	start := len(u.block)
	u.block = append(u.block, s...)
	return u.block[start:len(u.block):len(u.block)]
}

// recent copies strings, handing out the same copy for the values it saw
// last: the messages of a read share a few stream names and types.
type recent struct {
	vals [8]string
	next int
}

func (r *recent) clone(s string) string {
	for _, v := range r.vals {
		if v == s && v != "" {
			return v
		}
	}
	v := strings.Clone(s)
	r.vals[r.next] = v
	r.next = (r.next + 1) % len(r.vals)
	return v
}

// timeLayout is how times are stored: UTC, microseconds, fixed width, so
// that text order is time order.
const timeLayout = "2006-01-02T15:04:05.000000Z"

// formatTime returns t in UTC, truncated to microseconds (PostgreSQL's
// precision), as stored.
func formatTime(t time.Time) string {
	var b [len(timeLayout) + 8]byte
	return string(t.UTC().AppendFormat(b[:0], timeLayout))
}

// parseTime parses a stored time (timeLayout, or any RFC 3339 time written
// into the table by hand), in UTC.
func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, err
	}
	return t.UTC(), nil
}
