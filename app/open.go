package app

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/messagedb-go/messagedb/adapters/postgres"
	"github.com/messagedb-go/messagedb/adapters/sqlite"
	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/ports"
)

// Options adjust Open. The zero value (or nil) uses each backend's defaults.
type Options struct {
	// Synchronous is SQLite's durability in file mode: sqlite.SynchronousFull
	// (the default: an acknowledged write survives power loss) or
	// sqlite.SynchronousNormal (faster; the last writes before a power loss
	// may be lost, never corrupted). It overrides the URL's synchronous
	// parameter. Unused by the other backends.
	Synchronous sqlite.Synchronous
	// BusyTimeout is how long a SQLite write waits for another process's
	// lock on the same file; default sqlite.DefaultBusyTimeout. It overrides
	// the URL's busy_timeout parameter.
	BusyTimeout time.Duration
	// MaxMessageSize is the most bytes of data and metadata one message may
	// hold together, in canonical form, on any backend; a negative value
	// means no limit. 0 leaves it to Postgres.MaxMessageSize (PostgreSQL),
	// else the URL's max_message_size, else domain.DefaultMaxMessageSize
	// (1 MiB). It overrides both.
	// A larger message is refused with an error matching
	// domain.ErrMessageTooLarge (and domain.ErrInvalidMessage).
	MaxMessageSize int64
	// Postgres is passed to postgres.Open; nil means its defaults. Its
	// Standbys and MaxStandbyLag send category reads and consumers to hot
	// standbys of the primary (see the package documentation of postgres).
	Postgres *postgres.Options
	// Settings are handed to the backend as they are, for a backend added
	// with Register: it uses those of its own types (see
	// ports.OpenOptions.Settings).
	Settings []any
	// Getenv reads the environment (MESSAGEDB_URL); nil means os.Getenv.
	Getenv func(string) string
	// MustExist makes Open fail, creating nothing, when the URL names a
	// store that does not exist yet: a SQLite data directory that is
	// missing or holds no store. The error matches domain.ErrStoreNotFound
	// and names the directory. It is for tools that only read, so that a
	// mistyped path is reported rather than created. In memory it changes
	// nothing; a PostgreSQL database must exist in any case (Open still
	// creates the registry's schema in it).
	MustExist bool

	// Observer is told of every call on the store and its namespaces
	// (ports.StoreObserver), such as an *otelobserver.Observer for
	// OpenTelemetry; nil means none, at no cost (the namespaces' calls go
	// straight to the backend). When it is also a
	// ports.ConsumerObserver, the store's consumers report to it unless
	// their options name another; when it is a ports.ConnectionObserver,
	// it is told of the PostgreSQL listener's lost and restored
	// connections; when it is a ports.ContextInjector, the messages
	// written carry its context in their metadata (see
	// domain.TraceContextKey).
	Observer ports.StoreObserver
	// Logger receives the store's records: opened and closed, connection
	// lost and restored; and, unless their options name another, those of
	// its consumers (see ConsumerOptions.Logger). The attribute keys are
	// the Log constants. Nil means silent.
	Logger *slog.Logger
}

// Open opens the store a URL designates, creating and migrating what it
// needs (the SQLite data directory, the PostgreSQL metadata schema and the
// schemas of existing namespaces as they are used):
//
//	sqlite:DIR         SQLite files in directory DIR: sqlite:./data, sqlite:/var/lib/app,
//	                   also sqlite://./data and sqlite:///var/lib/app
//	sqlite::memory:    SQLite in memory (also memory:), gone when closed; for tests
//	postgres://...     PostgreSQL (also postgresql://...), any URL pgx accepts:
//	                   postgres://user:pass@host:5432/db?sslmode=disable
//
// The scheme picks the backend, whatever its case; the backend reads the
// rest (see sqlite.URLOpener and postgres.URLOpener), and Register adds
// backends. SQLite URLs take the query parameters synchronous=full|normal
// and busy_timeout=DURATION, e.g. sqlite:./data?synchronous=normal. Every
// URL of the built-in backends takes max_message_size=BYTES, the largest
// message the store accepts (see Options.MaxMessageSize), e.g.
// postgres://host/db?max_message_size=4194304; it is removed from a
// PostgreSQL URL before the URL goes to pgx.
//
// PostgreSQL URLs also take standby_hosts=HOST[:PORT],... (hot standbys that
// category reads and consumers go to, reached as the primary is but for host
// and port) and max_standby_lag=DURATION (how far behind the primary a
// standby that serves reads may be), which package postgres reads (see
// postgres.Options.Standbys and MaxStandbyLag, set through
// Options.Postgres), and pgx's multi-host form for failover:
//
//	postgres://app@db1,db2/events?target_session_attrs=read-write&standby_hosts=db2
//
// An empty url means the value of the MESSAGEDB_URL environment variable
// (EnvURL). A URL that is empty, has an unknown scheme or is malformed
// returns an error matching ErrInvalidURL that names the accepted forms.
func Open(ctx context.Context, url string, opts *Options) (*Store, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if url == "" {
		getenv := o.Getenv
		if getenv == nil {
			getenv = os.Getenv
		}
		url = getenv(EnvURL)
	}
	open, err := parseURL(url)
	if err != nil {
		return nil, err
	}
	s, err := open(ctx, o.openOptions())
	if err != nil {
		return nil, domain.Wrapf(err, "open %s", redactURL(url))
	}
	return opened(NewStoreWith(s, &o), url), nil
}

// openOptions are what o asks of the backend.
func (o *Options) openOptions() ports.OpenOptions {
	oo := ports.OpenOptions{MaxMessageSize: o.MaxMessageSize, MustExist: o.MustExist}
	if co, _ := o.Observer.(ports.ConnectionObserver); co != nil || o.Logger != nil {
		oo.Connections = connectionEvents{obs: co, log: o.Logger}
	}
	if o.Postgres != nil {
		oo.Settings = append(oo.Settings, o.Postgres)
	}
	if o.Synchronous != "" || o.BusyTimeout != 0 {
		oo.Settings = append(oo.Settings, sqlite.Options{Synchronous: o.Synchronous, BusyTimeout: o.BusyTimeout})
	}
	oo.Settings = append(oo.Settings, o.Settings...)
	return oo
}

// opened logs that s is open.
func opened(s *Store, url string) *Store {
	if s.log != nil {
		s.log.Info("store opened", LogBackend, s.system, LogURL, redactURL(url))
	}
	return s
}

// OpenFromEnv opens the store named by the MESSAGEDB_URL environment
// variable (EnvURL), as Open does with an empty url. An unset variable is an
// error matching ErrInvalidURL.
func OpenFromEnv(ctx context.Context, opts *Options) (*Store, error) {
	return Open(ctx, "", opts)
}
