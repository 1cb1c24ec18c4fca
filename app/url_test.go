package app

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseURL(t *testing.T) {
	for raw, want := range map[string]target{
		"sqlite:./data":                        {kind: kindSQLiteFile, dir: "./data"},
		"sqlite:data":                          {kind: kindSQLiteFile, dir: "data"},
		"sqlite:/var/lib/app":                  {kind: kindSQLiteFile, dir: "/var/lib/app"},
		"sqlite:///var/lib/app":                {kind: kindSQLiteFile, dir: "/var/lib/app"},
		"sqlite://./data":                      {kind: kindSQLiteFile, dir: "./data"},
		"sqlite:./data?synchronous=normal":     {kind: kindSQLiteFile, dir: "./data", synchronous: "NORMAL"},
		"sqlite:d?busy_timeout=10s":            {kind: kindSQLiteFile, dir: "d", busyTimeout: 10 * time.Second},
		"sqlite::memory:":                      {kind: kindSQLiteMemory},
		"sqlite://:memory:":                    {kind: kindSQLiteMemory},
		"memory:":                              {kind: kindSQLiteMemory},
		"postgres://u@localhost/db":            {kind: kindPostgres, postgresURL: "postgres://u@localhost/db"},
		"postgresql://u:p@h:5432/db?sslmode=x": {kind: kindPostgres, postgresURL: "postgresql://u:p@h:5432/db?sslmode=x"},
		"postgres:///db?host=/tmp/sock":        {kind: kindPostgres, postgresURL: "postgres:///db?host=/tmp/sock"},
		"sqlite:d?max_message_size=100":        {kind: kindSQLiteFile, dir: "d", maxMessageSize: 100},
		"memory:?max_message_size=-1":          {kind: kindSQLiteMemory, maxMessageSize: -1},
		"sqlite::memory:?max_message_size=0":   {kind: kindSQLiteMemory},
		// max_message_size is taken out of a PostgreSQL URL; the rest is
		// kept as written.
		"postgres://u@h/db?max_message_size=7":                 {kind: kindPostgres, postgresURL: "postgres://u@h/db", maxMessageSize: 7},
		"postgres://u@h/db?sslmode=x&max_message_size=7&a=%2F": {kind: kindPostgres, postgresURL: "postgres://u@h/db?sslmode=x&a=%2F", maxMessageSize: 7},
		"postgres://u@h/db?max%5Fmessage%5Fsize=-1&sslmode=x":  {kind: kindPostgres, postgresURL: "postgres://u@h/db?sslmode=x", maxMessageSize: -1},
		"postgres://u@h/db?sslmode=x#max_message_size=7":       {kind: kindPostgres, postgresURL: "postgres://u@h/db?sslmode=x#max_message_size=7"},
	} {
		got, err := parseURL(raw)
		if err != nil {
			t.Errorf("parseURL(%q): %v", raw, err)
			continue
		}
		if got != want {
			t.Errorf("parseURL(%q) = %+v, want %+v", raw, got, want)
		}
	}
}

func TestParseURL_Invalid(t *testing.T) {
	for _, raw := range []string{
		"", "  ", "./data", "mysql://localhost/db", "sqlite:", "sqlite://", "memory:x",
		"postgres:localhost", "postgres://u:p@h:badport/db", "sqlite:d?synchronous=off",
		"sqlite:d?busy_timeout=soon", "sqlite:d?journal=wal", "sqlite:d?%zz",
		"sqlite:d?max_message_size=1MiB", "memory:?max_message_size=", "memory:x?max_message_size=1",
		"postgres://u@h/db?max_message_size=big", "postgres://u@h/db?max_message_size=%zz",
	} {
		_, err := parseURL(raw)
		if !errors.Is(err, ErrInvalidURL) {
			t.Errorf("parseURL(%q) = %v, want ErrInvalidURL", raw, err)
		}
	}
}

func TestParseURL_ErrorHidesPassword(t *testing.T) {
	for _, raw := range []string{"postgres:secret@host", "postgres://u:secret@h:badport/db"} {
		_, err := parseURL(raw)
		if err == nil || strings.Contains(err.Error(), "secret") {
			t.Errorf("parseURL(%q) error %v: want an error that does not show the password", raw, err)
		}
	}
}
