package domain

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxNamespaceIDLength is the longest namespace id. It keeps every derived
// name (a PostgreSQL schema "messagedb_<id>", a file "<id>.db") within the
// limits of both backends.
const MaxNamespaceIDLength = 50

// Namespace is an isolated tenant: its streams, positions and global
// positions are its own, in its own schema or database file.
type Namespace struct {
	ID          string    `json:"id"`
	Description string    `json:"description"`
	CreatedAt   time.Time `json:"createdAt"`
	// TokenHash is an optional hash of an access token, kept for a server
	// in front of the store; the store itself does not check it.
	TokenHash string `json:"tokenHash,omitempty"`
}

// NamespaceOptions are the optional attributes of a new namespace.
type NamespaceOptions struct {
	Description string
	TokenHash   string
}

// Validate checks the options of a new namespace: the description and the
// token hash must be valid UTF-8 without NUL, as PostgreSQL's text requires,
// so that every backend stores them alike. The error matches
// ErrInvalidOptions.
func (o NamespaceOptions) Validate() error {
	for _, f := range []struct{ name, value string }{{"description", o.Description}, {"token hash", o.TokenHash}} {
		switch {
		case !utf8.ValidString(f.value):
			return fmt.Errorf("%w: namespace %s is not valid UTF-8: %q", ErrInvalidOptions, f.name, f.value)
		case strings.IndexByte(f.value, 0) >= 0:
			return fmt.Errorf("%w: namespace %s contains NUL: %q", ErrInvalidOptions, f.name, f.value)
		}
	}
	return nil
}

// ValidateNamespaceID checks a namespace id: 1 to MaxNamespaceIDLength
// characters, a lowercase ASCII letter first, then lowercase ASCII letters,
// digits or "_". Such an id is a safe SQL identifier and file name on every
// system, so it is used as it is: ids are never rewritten, and two different
// ids never share a schema or a file. The error matches ErrInvalidNamespace.
func ValidateNamespaceID(id string) error {
	if id == "" {
		return fmt.Errorf("%w: empty", ErrInvalidNamespace)
	}
	if len(id) > MaxNamespaceIDLength {
		return fmt.Errorf("%w: %q is longer than %d characters", ErrInvalidNamespace, id, MaxNamespaceIDLength)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z':
		case i > 0 && (c >= '0' && c <= '9' || c == '_'):
		default:
			return fmt.Errorf("%w: %q (use a lowercase letter, then lowercase letters, digits or _)", ErrInvalidNamespace, id)
		}
	}
	return nil
}
