package postgres

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/messagedb-go/messagedb/internal/urlparam"
	"github.com/messagedb-go/messagedb/ports"
)

// URLOpener opens the stores of postgres:// and postgresql:// URLs (any
// URL pgx accepts, the scheme in any case); package app registers it. The
// URL may take, besides pgx's parameters, max_message_size=BYTES
// (Options.MaxMessageSize), and standby_hosts and max_standby_lag (see
// Open). An OpenOptions setting of type *Options is the Options of Open.
type URLOpener struct{}

var _ ports.URLOpener = URLOpener{}

// Schemes returns postgres and postgresql.
func (URLOpener) Schemes() []string { return []string{"postgres", "postgresql"} }

// URLForms says how a PostgreSQL URL is written.
func (URLOpener) URLForms() string { return "postgres://USER@HOST/DB (also postgresql://)" }

// ParseURL checks a PostgreSQL URL and takes max_message_size out of it.
func (URLOpener) ParseURL(raw string) (ports.OpenFunc, error) {
	conn, size, err := parseURL(raw)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, o ports.OpenOptions) (ports.Store, error) {
		var po Options
		for _, set := range o.Settings {
			if p, ok := set.(*Options); ok && p != nil {
				po = *p
			}
		}
		if po.MaxMessageSize == 0 {
			po.MaxMessageSize = size
		}
		if o.MaxMessageSize != 0 {
			po.MaxMessageSize = o.MaxMessageSize
		}
		if o.Connections != nil {
			if po.Observer != nil {
				po.Observer = bothConnections{po.Observer, o.Connections}
			} else {
				po.Observer = o.Connections
			}
		}
		return Open(ctx, conn, &po)
	}, nil
}

// parseURL returns the connection URL for pgx (the scheme in lower case,
// as pgx reads it, and without max_message_size) and the max_message_size
// parameter (0 when absent).
func parseURL(raw string) (string, int64, error) {
	scheme, rest, _ := strings.Cut(raw, ":")
	raw = strings.ToLower(scheme) + ":" + rest
	if _, err := url.Parse(raw); err != nil {
		return "", 0, errors.New("malformed URL")
	}
	if !strings.HasPrefix(rest, "//") {
		return "", 0, errors.New("a PostgreSQL URL starts with postgres://")
	}
	conn, values, err := takeURLParams(raw, urlparam.MaxMessageSize)
	if err != nil {
		return "", 0, err
	}
	var size int64
	if v, ok := values[urlparam.MaxMessageSize]; ok {
		if size, err = urlparam.ParseMaxMessageSize(v); err != nil {
			return "", 0, err
		}
	}
	return conn, size, nil
}

// bothConnections tells two connection observers.
type bothConnections [2]ports.ConnectionObserver

func (b bothConnections) ConnectionLost(conn string, attempt int, backoff time.Duration, err error) {
	for _, o := range b {
		o.ConnectionLost(conn, attempt, backoff, err)
	}
}

func (b bothConnections) ConnectionRestored(conn string, attempts int) {
	for _, o := range b {
		o.ConnectionRestored(conn, attempts)
	}
}
