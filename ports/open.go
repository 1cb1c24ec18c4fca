package ports

import "context"

// URLOpener is a backend reached by URL: it owns its URL schemes and their
// parameters, as a database/sql driver owns its name. Package app
// registers the built-in ones and opens a store by handing its URL to the
// opener of the URL's scheme.
type URLOpener interface {
	// Schemes are the URL schemes the backend owns, in lower case and
	// without the colon ("postgres"). Schemes match whatever their case.
	Schemes() []string
	// URLForms says how the backend's URLs are written, for the message
	// of an invalid URL: "postgres://USER@HOST/DB (also postgresql://)".
	URLForms() string
	// ParseURL checks url, one of the backend's schemes, and returns what
	// opens it. An error says what is wrong with the URL, in a few words
	// that do not quote a password ("busy_timeout=soon (use a duration
	// such as 5s)"); the caller adds the URL and the accepted forms.
	ParseURL(url string) (OpenFunc, error)
}

// OpenFunc opens the store a URL designates.
type OpenFunc func(ctx context.Context, opts OpenOptions) (Store, error)

// OpenOptions are what the opening application asks of any backend. The
// zero value asks nothing.
type OpenOptions struct {
	// MaxMessageSize, when not 0, overrides the URL's and the backend's
	// own options' largest message (negative: no limit).
	MaxMessageSize int64
	// MustExist asks to create nothing: a store that does not exist yet is
	// an error matching domain.ErrStoreNotFound (where the backend can
	// tell; a server's database must exist in any case).
	MustExist bool
	// Connections, when not nil, is told when a connection the store keeps
	// open (such as a listener's) is lost and restored.
	Connections ConnectionObserver
	// Settings are options of particular backends, such as a
	// *postgres.Options: a backend uses those of its own types and ignores
	// the others.
	Settings []any
}
