package app

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/messagedb-go/messagedb/ports"
)

// EnvURL is the environment variable Open and OpenFromEnv read the store URL
// from when none is given.
const EnvURL = "MESSAGEDB_URL"

// parseURL finds the backend of a store URL by its scheme, whatever its
// case, and has it read the rest. Errors match ErrInvalidURL, name the
// accepted forms and show no password.
func parseURL(raw string) (ports.OpenFunc, error) {
	invalid := func(why string) (ports.OpenFunc, error) {
		return nil, fmt.Errorf("%w %q: %s; %s", ErrInvalidURL, redactURL(raw), why, backends.forms())
	}
	if strings.TrimSpace(raw) == "" {
		return invalid("empty (set " + EnvURL + " or pass a URL)")
	}
	scheme, _, ok := strings.Cut(raw, ":")
	if !ok {
		return invalid("no scheme")
	}
	backend, ok := backends.lookup(scheme)
	if !ok {
		return invalid(fmt.Sprintf("unknown scheme %q", scheme))
	}
	open, err := backend.ParseURL(raw)
	if err != nil {
		return invalid(err.Error())
	}
	return open, nil
}

// redactURL returns raw with any password masked, for error messages. A URL
// too malformed to tell where a password would be is cut to its scheme.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" {
		if scheme, _, ok := strings.Cut(raw, ":"); ok && strings.Contains(raw, "@") {
			return scheme + ":..."
		}
		return raw
	}
	if u.User == nil {
		return raw
	}
	return u.Redacted()
}
