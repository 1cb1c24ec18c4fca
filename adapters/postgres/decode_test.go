package postgres

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/stretchr/testify/require"

	"github.com/messagedb-go/messagedb/domain"
)

// TestDecodeRowMatchesPgx checks the direct text parsers of scanMessages
// against pgx's own text decoding: each form they accept gives the value pgx
// gives, and the forms they reject (left to rows.Scan) are the unusual ones.
func TestDecodeRowMatchesPgx(t *testing.T) {
	tm := pgtype.NewMap()
	for _, in := range []string{
		"2026-11-26 07:26:25", "2026-11-26 07:26:25.1", "2026-11-26 07:26:25.123456",
		"1999-12-31 23:59:59.999999", "0001-01-01 00:00:00", "2024-02-29 12:00:00.000001",
	} {
		var got time.Time
		require.True(t, parseTimestamp([]byte(in), &got), in)
		var want time.Time
		require.NoError(t, tm.Scan(pgtype.TimestampOID, pgx.TextFormatCode, []byte(in), &want), in)
		require.Equal(t, want.UTC(), got, in)
	}
	for _, in := range []string{
		"", "infinity", "-infinity", "0044-03-15 12:00:00 BC", "12026-11-26 07:26:25",
		"2026-11-26T07:26:25", "2026-11-26 07:26:25+00", "2026-11-26 07:26:25.", "2026-11-26 07:26:25.1234567",
		"11/26/2026 07:26:25",
	} {
		var got time.Time
		require.False(t, parseTimestamp([]byte(in), &got), in)
	}

	// A row in text format (the simple protocol): the id in PostgreSQL's
	// text form, in either case.
	for _, in := range []string{uuid.NewString(), "00000000-0000-0000-0000-000000000000", "FFFFFFFF-ABCD-ef01-2345-6789abcdefAB"} {
		raw := [][]byte{[]byte(in), []byte("acct-1"), []byte("Opened"), []byte("3"), []byte("9"), nil, nil, []byte("2026-01-02 03:04:05.000006")}
		var m domain.Message
		require.True(t, decodeRow(&[8]bool{}, raw, &m), in)
		require.Equal(t, domain.Message{ID: uuid.MustParse(in), StreamName: "acct-1", Type: "Opened", Position: 3, GlobalPosition: 9,
			Time: time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)}, m, in)
	}
	var m domain.Message
	bad := [][]byte{[]byte("g0000000-0000-0000-0000-000000000000"), []byte("acct-1"), []byte("Opened"), []byte("3"), []byte("9"), nil, nil, []byte("2026-01-02 03:04:05")}
	require.False(t, decodeRow(&[8]bool{}, bad, &m), "an id that is not a uuid is left to rows.Scan")

	for _, in := range []string{"0", "1", "42", "999999999999999999"} {
		var got, want int64
		require.True(t, parseInt([]byte(in), &got), in)
		require.NoError(t, tm.Scan(pgtype.Int8OID, pgx.TextFormatCode, []byte(in), &want), in)
		require.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "-1", "+1", "9223372036854775807", "1a"} {
		var got int64
		require.False(t, parseInt([]byte(in), &got), in)
	}
}

// TestDecodeBinaryMatchesPgx checks the binary decoders of scanMessages
// (prepared statements return uuid, bigint and timestamp in binary) against
// values pgx encodes in binary.
func TestDecodeBinaryMatchesPgx(t *testing.T) {
	tm := pgtype.NewMap()
	encode := func(oid uint32, v any) []byte {
		t.Helper()
		b, err := tm.Encode(oid, pgx.BinaryFormatCode, v, nil)
		require.NoError(t, err)
		return b
	}
	for _, in := range []time.Time{
		time.Date(2026, 11, 26, 7, 26, 25, 123456000, time.UTC), time.Date(1999, 12, 31, 23, 59, 59, 999999000, time.UTC),
		time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 1000, time.UTC),
	} {
		var got time.Time
		require.True(t, decodeTimestamp(encode(pgtype.TimestampOID, in), &got), in)
		require.Equal(t, in, got)
		require.Equal(t, time.UTC, got.Location())
	}
	for _, in := range []pgtype.Timestamp{{InfinityModifier: pgtype.Infinity, Valid: true}, {InfinityModifier: pgtype.NegativeInfinity, Valid: true}} {
		var got time.Time
		require.False(t, decodeTimestamp(encode(pgtype.TimestampOID, in), &got), "infinity is left to rows.Scan")
	}
	var got time.Time
	require.False(t, decodeTimestamp([]byte{1, 2, 3}, &got))

	for _, in := range []int64{0, 1, 42, 1 << 40, 9223372036854775807} {
		var got int64
		require.True(t, decodeInt(true, encode(pgtype.Int8OID, in), &got), in)
		require.Equal(t, in, got)
	}
	var n int64
	require.False(t, decodeInt(true, []byte{0, 1}, &n))

	id := uuid.New()
	raw := [][]byte{encode(pgtype.UUIDOID, id), []byte("acct-1"), []byte("Opened"), encode(pgtype.Int8OID, int64(3)),
		encode(pgtype.Int8OID, int64(9)), nil, nil, encode(pgtype.TimestampOID, time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC))}
	bin := [8]bool{true, false, false, true, true, true, true, true}
	var m domain.Message
	require.True(t, decodeRow(&bin, raw, &m))
	require.Equal(t, domain.Message{ID: id, StreamName: "acct-1", Type: "Opened", Position: 3, GlobalPosition: 9,
		Time: time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)}, m)

	doc, ok := jsonbText(true, encode(pgtype.JSONBOID, map[string]any{"a": 1}))
	require.True(t, ok)
	require.JSONEq(t, `{"a": 1}`, string(doc))
	_, ok = jsonbText(true, []byte{2, '{', '}'})
	require.False(t, ok, "an unknown jsonb version")
	doc, ok = jsonbText(true, nil)
	require.True(t, ok)
	require.Nil(t, doc, "NULL")
}
