package domain

import (
	"fmt"
	"strings"
	"time"
	"unicode"
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
}

// NamespaceOptions are the optional attributes of a new namespace.
type NamespaceOptions struct {
	Description string
	// Grant names database roles that may use the namespace as an
	// application does, and nothing more. On PostgreSQL each receives, in
	// the transaction that creates the namespace: USAGE on its schema,
	// EXECUTE on its functions (Message DB's, and the two through which an
	// import locks the table and advances the global position), SELECT and
	// INSERT on its messages table, USAGE and SELECT on the global position
	// sequence, SELECT on its report views and on its record of migrations,
	// and USAGE on the registry's schema with SELECT on its tables. Such a
	// role cannot update, delete or truncate messages, create, alter or drop
	// anything, or reach another namespace's schema. A role that does not
	// exist is refused like an invalid name, and nothing is created.
	//
	// SQLite has no roles: access to a namespace is access to its file. The
	// names are validated there too, so that a configuration that one
	// backend refuses is refused by every backend, and then have no effect.
	Grant []string
}

// MaxRoleNameLength is the longest role name, in bytes: PostgreSQL's
// identifier length.
const MaxRoleNameLength = 63

// Validate checks the options of a new namespace: the description must be
// valid UTF-8 without NUL, as PostgreSQL's text requires, so that every
// backend stores it alike, and each role to grant must be a valid role name
// (ValidateRoleName). The error matches ErrInvalidOptions, and
// ErrInvalidRole for a role.
func (o NamespaceOptions) Validate() error {
	switch {
	case !utf8.ValidString(o.Description):
		return fmt.Errorf("%w: namespace description is not valid UTF-8: %q", ErrInvalidOptions, o.Description)
	case strings.IndexByte(o.Description, 0) >= 0:
		return fmt.Errorf("%w: namespace description contains NUL: %q", ErrInvalidOptions, o.Description)
	}
	for _, r := range o.Grant {
		if err := ValidateRoleName(r); err != nil {
			return err
		}
	}
	return nil
}

// ValidateRoleName checks the name of a role to grant a namespace to: 1 to
// MaxRoleNameLength bytes of valid UTF-8 without control characters, and
// none of the names PostgreSQL gives a meaning of their own: "public" (every
// role), "none", or a name starting with "pg_" (its predefined roles). The
// name is the role's name exactly as stored (case-sensitive, never folded
// or quoted by the caller). The error matches ErrInvalidRole.
func ValidateRoleName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty", ErrInvalidRole)
	case len(name) > MaxRoleNameLength:
		return fmt.Errorf("%w: %q is longer than %d bytes", ErrInvalidRole, name, MaxRoleNameLength)
	case !utf8.ValidString(name):
		return fmt.Errorf("%w: %q is not valid UTF-8", ErrInvalidRole, name)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return fmt.Errorf("%w: %q contains a control character", ErrInvalidRole, name)
	case name == "public" || name == "none":
		return fmt.Errorf("%w: %q is reserved (grant to each role by name)", ErrInvalidRole, name)
	case strings.HasPrefix(name, "pg_"):
		return fmt.Errorf("%w: %q: names starting with pg_ are reserved for PostgreSQL's roles", ErrInvalidRole, name)
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
