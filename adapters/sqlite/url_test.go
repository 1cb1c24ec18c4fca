package sqlite

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/ports"
)

func TestParseURL(t *testing.T) {
	for raw, want := range map[string]Options{
		"sqlite:./data":                      {Dir: "./data"},
		"sqlite:data":                        {Dir: "data"},
		"sqlite:/var/lib/app":                {Dir: "/var/lib/app"},
		"sqlite:///var/lib/app":              {Dir: "/var/lib/app"},
		"sqlite://./data":                    {Dir: "./data"},
		"sqlite3:d":                          {Dir: "d"},
		"SQLite:d":                           {Dir: "d"},
		"sqlite:./data?synchronous=normal":   {Dir: "./data", Synchronous: SynchronousNormal},
		"sqlite:./data?synchronous=FULL":     {Dir: "./data", Synchronous: SynchronousFull},
		"sqlite:d?busy_timeout=10s":          {Dir: "d", BusyTimeout: 10 * time.Second},
		"sqlite::memory:":                    {InMemory: true},
		"sqlite://:memory:":                  {InMemory: true},
		"memory:":                            {InMemory: true},
		"Memory:":                            {InMemory: true},
		"sqlite:d?max_message_size=100":      {Dir: "d", MaxMessageSize: 100},
		"memory:?max_message_size=-1":        {InMemory: true, MaxMessageSize: -1},
		"sqlite::memory:?max_message_size=0": {InMemory: true},
	} {
		got, err := parseURL(raw)
		if assert.NoError(t, err, raw) {
			assert.Equal(t, want, got, raw)
		}
	}
}

func TestParseURL_Invalid(t *testing.T) {
	for raw, why := range map[string]string{
		"sqlite:":                        "no directory after sqlite:",
		"sqlite://":                      "no directory after sqlite:",
		"memory:x":                       "memory: takes nothing after the colon but a query",
		"memory:x?max_message_size=1":    "memory: takes nothing after the colon but a query",
		"sqlite:d?synchronous=off":       "synchronous=off (use full or normal)",
		"sqlite:d?busy_timeout=soon":     "busy_timeout=soon (use a duration such as 5s)",
		"sqlite:d?busy_timeout=-1s":      "busy_timeout=-1s (use a duration such as 5s)",
		"sqlite:d?journal=wal":           `unknown parameter "journal" (sqlite takes synchronous, busy_timeout and max_message_size)`,
		"sqlite:d?max_message_size=1MiB": "max_message_size=1MiB (use a number of bytes, such as 4194304; -1 for no limit)",
		"memory:?max_message_size=":      "max_message_size= (use a number of bytes, such as 4194304; -1 for no limit)",
		"sqlite:d?%zz":                   `malformed query: invalid URL escape "%zz"`,
	} {
		_, err := parseURL(raw)
		assert.EqualError(t, err, why, raw)
	}
}

// What the application asks overrides the URL.
func TestURLOpener_Options(t *testing.T) {
	open, err := URLOpener{}.ParseURL("memory:?max_message_size=100&busy_timeout=1s")
	require.NoError(t, err)
	s, err := open(context.Background(), ports.OpenOptions{Settings: []any{Options{BusyTimeout: 2 * time.Second}, "ignored"}})
	require.NoError(t, err)
	defer s.Close()
	store := s.(*Store)
	assert.Equal(t, domain.Limits{MaxMessageSize: 100}, store.Limits())
	assert.Equal(t, 2*time.Second, store.opts.BusyTimeout)
	assert.Equal(t, SynchronousFull, store.opts.Synchronous)

	s, err = open(context.Background(), ports.OpenOptions{MaxMessageSize: -1, Settings: []any{Options{Synchronous: SynchronousNormal}}})
	require.NoError(t, err)
	defer s.Close()
	store = s.(*Store)
	assert.Equal(t, domain.Limits{MaxMessageSize: -1}, store.Limits())
	assert.Equal(t, time.Second, store.opts.BusyTimeout)
	assert.Equal(t, SynchronousNormal, store.opts.Synchronous)
}
