package postgres

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messagedb-go/messagedb/internal/pgtest"
)

func TestParseURL(t *testing.T) {
	for raw, want := range map[string]struct {
		conn string
		size int64
	}{
		"postgres://u@localhost/db":            {conn: "postgres://u@localhost/db"},
		"postgresql://u:p@h:5432/db?sslmode=x": {conn: "postgresql://u:p@h:5432/db?sslmode=x"},
		"postgres:///db?host=/tmp/sock":        {conn: "postgres:///db?host=/tmp/sock"},
		// pgx reads the scheme in lower case only.
		"POSTGRES://u@h/db":   {conn: "postgres://u@h/db"},
		"PostgreSQL://u@h/db": {conn: "postgresql://u@h/db"},
		// max_message_size is taken out; the rest is kept as written.
		"postgres://u@h/db?max_message_size=7":                 {conn: "postgres://u@h/db", size: 7},
		"postgres://u@h/db?sslmode=x&max_message_size=7&a=%2F": {conn: "postgres://u@h/db?sslmode=x&a=%2F", size: 7},
		"postgres://u@h/db?max%5Fmessage%5Fsize=-1&sslmode=x":  {conn: "postgres://u@h/db?sslmode=x", size: -1},
		"postgres://u@h/db?sslmode=x#max_message_size=7":       {conn: "postgres://u@h/db?sslmode=x#max_message_size=7"},
		"postgres://u@h/db?max_message_size=7#f":               {conn: "postgres://u@h/db#f", size: 7},
		"postgres://u@h/db?standby_hosts=b&max_message_size=0": {conn: "postgres://u@h/db?standby_hosts=b"},
	} {
		conn, size, err := parseURL(raw)
		if assert.NoError(t, err, raw) {
			assert.Equal(t, want.conn, conn, raw)
			assert.Equal(t, want.size, size, raw)
		}
	}
}

func TestParseURL_Invalid(t *testing.T) {
	for raw, why := range map[string]string{
		"postgres:localhost":                     "a PostgreSQL URL starts with postgres://",
		"postgres://u:p@h:badport/db":            "malformed URL",
		"postgres://u@h/db?max_message_size=big": "max_message_size=big (use a number of bytes, such as 4194304; -1 for no limit)",
		"postgres://u@h/db?max_message_size=%zz": "malformed max_message_size",
	} {
		_, _, err := parseURL(raw)
		assert.EqualError(t, err, why, raw)
	}
}

// Open reads a URL whose scheme is in capitals as PostgreSQL's, as app does.
func TestOpen_SchemeInCapitals(t *testing.T) {
	scheme, rest, _ := strings.Cut(pgtest.SharedDatabase(t), "://")
	s, err := Open(t.Context(), strings.ToUpper(scheme)+"://"+rest, nil)
	require.NoError(t, err)
	defer s.Close()
	_, err = s.ListNamespaces(t.Context())
	assert.NoError(t, err)
}
