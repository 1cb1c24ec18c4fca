package app

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/messagedb-go/messagedb/adapters/postgres"
	"github.com/messagedb-go/messagedb/adapters/sqlite"
	"github.com/messagedb-go/messagedb/ports"
)

// builtin are the backends Open reaches without registration, in the order
// an invalid URL's message lists their forms. A backend that ships with
// messagedb adds its URLOpener here: this is the only line of this package
// that names it.
func builtin() []ports.URLOpener {
	return []ports.URLOpener{
		sqlite.URLOpener{},
		postgres.URLOpener{},
	}
}

// backends are the registered backends, by scheme. Like database/sql's
// drivers, they are the one state this package keeps for the process.
var backends = newRegistry(builtin())

type registry struct {
	mu       sync.RWMutex
	openers  []ports.URLOpener // in registration order
	byScheme map[string]ports.URLOpener
}

func newRegistry(openers []ports.URLOpener) *registry {
	r := &registry{byScheme: map[string]ports.URLOpener{}}
	for _, o := range openers {
		_ = r.register(o) // a clash among the built-in ones fails their test
	}
	return r
}

// scheme is what a URL scheme may be (RFC 3986), in lower case.
var scheme = regexp.MustCompile(`^[a-z][a-z0-9+.-]*$`)

// Register makes Open reach a backend by the URL schemes it owns (see
// ports.URLOpener), as database/sql.Register does a driver, so that a
// backend outside messagedb, or one for tests, opens by URL. A scheme that
// is not valid or already taken (the built-in ones: sqlite, sqlite3,
// memory, postgres, postgresql) is an error, and nothing is registered.
// Register is safe to call at any time, from any goroutine.
func Register(o ports.URLOpener) error {
	return backends.register(o)
}

func (r *registry) register(o ports.URLOpener) error {
	if o == nil {
		return fmt.Errorf("messagedb: register a backend: nil URLOpener")
	}
	schemes := o.Schemes()
	if len(schemes) == 0 {
		return fmt.Errorf("messagedb: register a backend: %T owns no URL scheme", o)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, s := range schemes {
		if !scheme.MatchString(s) {
			return fmt.Errorf("messagedb: register a backend: %q is not a URL scheme in lower case", s)
		}
		if _, taken := r.byScheme[s]; taken || slices.Contains(schemes[:i], s) {
			return fmt.Errorf("messagedb: register a backend: scheme %q is taken", s)
		}
	}
	for _, s := range schemes {
		r.byScheme[s] = o
	}
	r.openers = append(r.openers, o)
	return nil
}

// lookup returns the backend of a scheme, whatever its case.
func (r *registry) lookup(s string) (ports.URLOpener, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	o, ok := r.byScheme[strings.ToLower(s)]
	return o, ok
}

// forms says what URLs would have worked: the forms of every backend.
func (r *registry) forms() string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	forms := make([]string, len(r.openers))
	for i, o := range r.openers {
		forms[i] = o.URLForms()
	}
	if len(forms) > 1 {
		forms[len(forms)-1] = "or " + forms[len(forms)-1]
	}
	return "use " + strings.Join(forms, ", ")
}
