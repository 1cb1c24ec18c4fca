package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
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
	if limit == 0 {
		return []domain.Message{}, nil
	}
	d, err := n.e.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer n.e.release()
	rows, err := d.stream.QueryContext(ctx, streamName, opts.Position, limit)
	return collect(ctx, "read stream "+streamName, rows, err, limit)
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
	if limit == 0 {
		return []domain.Message{}, nil
	}
	d, err := n.e.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer n.e.release()
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
	rows, err := d.category[variant].QueryContext(ctx, args...)
	return collect(ctx, "read category "+category, rows, err, limit)
}

// GetAllMessages returns the namespace's messages from global position
// opts.StartPosition(); see ports.MessageStore.
func (n *Namespace) GetAllMessages(ctx context.Context, opts domain.CategoryOpts) ([]domain.Message, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.Correlation != "" || opts.ConsumerGroup != nil {
		return nil, fmt.Errorf("%w: reading all messages takes only a position and a batch size", domain.ErrInvalidOptions)
	}
	limit := opts.Limit()
	if limit == 0 {
		return []domain.Message{}, nil
	}
	d, err := n.e.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer n.e.release()
	rows, err := d.all.QueryContext(ctx, opts.StartPosition(), limit)
	return collect(ctx, "read all messages", rows, err, limit)
}

// GetLastStreamMessage returns the stream's last message (of messageType
// when not empty), or an error matching domain.ErrStreamNotFound.
func (n *Namespace) GetLastStreamMessage(ctx context.Context, streamName string, messageType string) (domain.Message, error) {
	if err := domain.ValidateStreamName(streamName); err != nil {
		return domain.Message{}, err
	}
	d, err := n.e.acquire(ctx)
	if err != nil {
		return domain.Message{}, err
	}
	defer n.e.release()
	var rows *sql.Rows
	if messageType == "" {
		rows, err = d.last.QueryContext(ctx, streamName)
	} else {
		rows, err = d.lastType.QueryContext(ctx, streamName, messageType)
	}
	msgs, err := collect(ctx, "read last message of "+streamName, rows, err, 1)
	if err != nil {
		return domain.Message{}, err
	}
	if len(msgs) == 0 {
		if messageType != "" {
			return domain.Message{}, fmt.Errorf("%w: %s has no message of type %s", domain.ErrStreamNotFound, streamName, messageType)
		}
		return domain.Message{}, fmt.Errorf("%w: %s", domain.ErrStreamNotFound, streamName)
	}
	return msgs[0], nil
}

// GetStreamVersion returns the stream's last position, or domain.NoStream.
func (n *Namespace) GetStreamVersion(ctx context.Context, streamName string) (int64, error) {
	if err := domain.ValidateStreamName(streamName); err != nil {
		return 0, err
	}
	d, err := n.e.acquire(ctx)
	if err != nil {
		return 0, err
	}
	defer n.e.release()
	v, err := streamVersion(ctx, d.version, streamName)
	if err != nil {
		return 0, dbError(ctx, "read version of "+streamName, err)
	}
	return v, nil
}

// collect reads the rows of a message query (msgColumns).
func collect(ctx context.Context, op string, rows *sql.Rows, err error, limit int64) ([]domain.Message, error) {
	if err != nil {
		return nil, dbError(ctx, op, err)
	}
	defer rows.Close()
	size := limit
	if size < 0 || size > 128 {
		size = 128
	}
	out := make([]domain.Message, 0, size)
	var packed string
	for rows.Next() {
		var m domain.Message
		if err := rows.Scan(&m.GlobalPosition, &m.Position, &packed); err != nil {
			return nil, dbError(ctx, op, err)
		}
		if err := unpackMessage(&m, packed); err != nil {
			return nil, fmt.Errorf("messagedb: sqlite: %s: message %d: %w", op, m.GlobalPosition, err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError(ctx, op, err)
	}
	return out, nil
}

// unpackMessage fills m from the packed text of msgColumns: id (36
// characters), time, stream name, type, data and metadata, NUL-separated.
func unpackMessage(m *domain.Message, packed string) error {
	const idLen = 36
	if len(packed) < idLen {
		return fmt.Errorf("malformed row")
	}
	id, rest := packed[:idLen], packed[idLen:]
	var parts [4]string
	for i := range parts {
		var ok bool
		if parts[i], rest, ok = strings.Cut(rest, "\x00"); !ok {
			return fmt.Errorf("malformed row")
		}
	}
	var err error
	if m.ID, err = uuid.Parse(id); err != nil {
		return fmt.Errorf("id %q: %w", id, err)
	}
	if m.Time, err = parseTime(parts[0]); err != nil {
		return fmt.Errorf("time %q: %w", parts[0], err)
	}
	// Copies, so that the messages do not keep the packed text alive.
	m.StreamName = strings.Clone(parts[1])
	m.Type = strings.Clone(parts[2])
	m.Data = json.RawMessage(parts[3])
	if rest != "" {
		m.Metadata = json.RawMessage(rest)
	}
	return nil
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

// parseTime parses a stored time. The usual layout is parsed by hand, as
// reads parse one per message; anything else goes to time.Parse.
func parseTime(s string) (time.Time, error) {
	if len(s) == len(timeLayout) && s[4] == '-' && s[7] == '-' && s[10] == 'T' && s[13] == ':' &&
		s[16] == ':' && s[19] == '.' && s[26] == 'Z' {
		year, ok1 := digits(s[0:4])
		month, ok2 := digits(s[5:7])
		day, ok3 := digits(s[8:10])
		hour, ok4 := digits(s[11:13])
		minute, ok5 := digits(s[14:16])
		sec, ok6 := digits(s[17:19])
		micro, ok7 := digits(s[20:26])
		if ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7 && month >= 1 && month <= 12 && day >= 1 &&
			day <= 31 && hour < 24 && minute < 60 && sec < 60 {
			return time.Date(year, time.Month(month), day, hour, minute, sec, micro*1000, time.UTC), nil
		}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, err
	}
	return t.UTC(), nil
}

func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}
