package postgres

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/stretchr/testify/require"
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

	for _, in := range []string{uuid.NewString(), "00000000-0000-0000-0000-000000000000", "FFFFFFFF-ABCD-ef01-2345-6789abcdefAB"} {
		var got uuid.UUID
		require.True(t, parseUUID([]byte(in), &got), in)
		require.Equal(t, uuid.MustParse(in), got, in)
	}
	for _, in := range []string{"", "{" + uuid.NewString() + "}", "0000000000000000000000000000000000000", "g0000000-0000-0000-0000-000000000000"} {
		var got uuid.UUID
		require.False(t, parseUUID([]byte(in), &got), in)
	}

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
