package postgres

import (
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTakeStandbyParams(t *testing.T) {
	for _, c := range []struct {
		name, conn, rest string
		hosts            []string
		lag              time.Duration
	}{
		{"URLWithout", "postgres://u:p@h/db?sslmode=disable", "postgres://u:p@h/db?sslmode=disable", nil, 0},
		{"URLNoQuery", "postgres://h/db", "postgres://h/db", nil, 0},
		{"URL", "postgres://u:p%20w@a:5432,b:5433/db?sslmode=disable&standby_hosts=r1,r2:5434,%5B::1%5D:5435&target_session_attrs=read-write&max_standby_lag=250ms",
			"postgres://u:p%20w@a:5432,b:5433/db?sslmode=disable&target_session_attrs=read-write",
			[]string{"r1", "r2:5434", "[::1]:5435"}, 250 * time.Millisecond},
		{"URLOnlyOurs", "postgresql://h/db?standby_hosts=%2Ftmp%2Fs", "postgresql://h/db", []string{"/tmp/s"}, 0},
		// The scheme in any case is a URL's, given to pgx in lower case.
		{"URLInCapitals", "POSTGRES://h/db?standby_hosts=r1&sslmode=disable", "postgres://h/db?sslmode=disable", []string{"r1"}, 0},
		{"URLMixedCase", "PostgreSQL://h/db", "postgresql://h/db", nil, 0},
		{"DSN", `host=a  standby_hosts=r1,r2 password='it\'s' dbname=db max_standby_lag = 3s`,
			`host=a password='it\'s' dbname=db`, []string{"r1", "r2"}, 3 * time.Second},
		{"DSNQuoted", `standby_hosts='/tmp/a b' user=x password='p\'q'`, `user=x password='p\'q'`, []string{"/tmp/a b"}, 0},
		{"DSNWithout", "host=/tmp dbname=x", "host=/tmp dbname=x", nil, 0},
		{"Empty", "", "", nil, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			rest, p, err := takeStandbyParams(c.conn)
			require.NoError(t, err)
			assert.Equal(t, c.rest, rest, "the rest, as written")
			assert.Equal(t, c.hosts, p.hosts)
			assert.Equal(t, c.lag, p.maxLag)
		})
	}
	for _, conn := range []string{
		"postgres://h/db?max_standby_lag=soon",
		"postgres://h/db?max_standby_lag=-1s",
		"postgres://h/db?standby_hosts=a,,b",
		"postgres://h/db?standby_hosts=%zz",
		"host=a standby_hosts='unterminated",
		"host=a standby_hosts",
	} {
		_, _, err := takeStandbyParams(conn)
		assert.Error(t, err, conn)
	}
}

func TestStandbyConnString(t *testing.T) {
	for _, c := range []struct {
		name, primary, host string
		wantHost            string
		wantPort            uint16
	}{
		{"URLMultiHost", "postgres://u:pw@a:5432,b:5433/db?sslmode=disable&target_session_attrs=read-write", "r1", "r1", 5432},
		{"URLPort", "postgres://u@a/db?sslmode=disable", "r1:6543", "r1", 6543},
		{"URLSocket", "postgres://postgres@/postgres?host=%2Ftmp%2Fp&sslmode=disable&target_session_attrs=read-write", "/tmp/s", "/tmp/s", 5432},
		{"URLIPv6", "postgres://u@a:7000/db?sslmode=disable", "[::1]:7001", "::1", 7001},
		{"URLDefaultPortIsThePrimarys", "postgres://u@a:7000/db?sslmode=disable", "r1", "r1", 7000},
		{"DSN", "host=a,b port=5432,5433 user=u dbname=db sslmode=disable target_session_attrs=read-write", "/tmp/it's", "/tmp/it's", 5432},
	} {
		t.Run(c.name, func(t *testing.T) {
			primary, err := pgconn.ParseConfig(c.primary)
			require.NoError(t, err)
			conn, err := standbyConnString(c.primary, c.host, primary.Port)
			require.NoError(t, err)
			cfg, err := pgconn.ParseConfig(conn)
			require.NoError(t, err, conn)
			assert.Equal(t, c.wantHost, cfg.Host)
			assert.Equal(t, c.wantPort, cfg.Port)
			assert.Empty(t, cfg.Fallbacks, "one host")
			assert.Nil(t, cfg.ValidateConnect, "no target_session_attrs: a standby is read-only")
			assert.Equal(t, primary.User, cfg.User)
			assert.Equal(t, primary.Password, cfg.Password)
			assert.Equal(t, primary.Database, cfg.Database)
		})
	}
	for _, host := range []string{"r1:", "r1:0", "r1:99999", "[::1", "[::1]x"} {
		_, err := standbyConnString("postgres://a/db", host, 5432)
		assert.Error(t, err, host)
	}
}

func TestParseLSN(t *testing.T) {
	for text, want := range map[string]lsn{"0/0": 0, "0/16B3748": 0x16B3748, "16/B374D848": 0x16_B374D848, "FFFFFFFF/FFFFFFFF": 1<<64 - 1} {
		got, err := parseLSN(text)
		require.NoError(t, err, text)
		assert.Equal(t, want, got, text)
		assert.Equal(t, text, got.String())
	}
	for _, text := range []string{"", "0", "x/1", "1/", "/1", "1/100000000", "-1/0"} {
		_, err := parseLSN(text)
		assert.Error(t, err, text)
	}
}

// The insert position just past a page header is the page's start, where
// the last record ended; anywhere else it is where the last record ended.
func TestRecordEnd(t *testing.T) {
	const page = 8192
	assert.Equal(t, lsn(3*page), recordEnd(3*page+walShortPageHeader, page))
	assert.Equal(t, lsn(2048*page), recordEnd(2048*page+walLongPageHeader, page))
	assert.Equal(t, lsn(3*page+200), recordEnd(3*page+200, page))
	assert.Equal(t, lsn(3*page+walShortPageHeader), recordEnd(3*page+walShortPageHeader, 0), "unknown page size")
}

func TestParsePayload(t *testing.T) {
	token, at := parsePayload("abc 1/2")
	assert.Equal(t, "abc", token)
	assert.Equal(t, lsn(1<<32|2), at)
	for _, p := range []string{"abc", "", "abc x/y", "a b c"} {
		token, at := parsePayload(p)
		assert.Equal(t, p, token, "a payload without position is all token")
		assert.Zero(t, at)
	}
}
