package domain

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Stream names follow Message DB 1.3.0. A stream name is a category, a "-",
// then an id: "account-123". Everything before the first "-" is the category,
// so "account:command-123" is in the category "account:command" (a category
// type), never in "account". An id may be compound: "account-123+abc" has the
// id "123+abc" and the cardinal id "123", which is what consumer groups hash.

// Category returns the text before the first "-", or the whole name when it
// has none (Message DB's category()).
func Category(name string) string {
	if i := strings.IndexByte(name, '-'); i >= 0 {
		return name[:i]
	}
	return name
}

// ID returns the text after the first "-", or "" when the name has none
// (Message DB's id()): ID("a-1-2") is "1-2".
func ID(name string) string {
	if i := strings.IndexByte(name, '-'); i >= 0 {
		return name[i+1:]
	}
	return ""
}

// CardinalID returns the id up to its first "+" (Message DB's cardinal_id()):
// CardinalID("account-123+abc") is "123". It is "" when the name has no id.
func CardinalID(name string) string {
	id := ID(name)
	if i := strings.IndexByte(id, '+'); i >= 0 {
		return id[:i]
	}
	return id
}

// IsCategory reports whether name contains no "-" (Message DB's
// is_category()).
func IsCategory(name string) bool {
	return !strings.Contains(name, "-")
}

// hasID reports whether name has an id part, even an empty one. Message DB's
// id() returns NULL only when there is no "-".
func hasID(name string) bool {
	return strings.IndexByte(name, '-') >= 0
}

// ValidateStreamName checks a name given where a stream is needed: writes and
// stream reads. It must be valid UTF-8 without NUL, and have a non-empty
// category, a "-" and a non-empty id. The error matches ErrInvalidStreamName.
func ValidateStreamName(name string) error {
	if err := validateName(name); err != nil {
		return err
	}
	if IsCategory(name) {
		return fmt.Errorf("%w: must be a stream name, not a category: %q", ErrInvalidStreamName, name)
	}
	if Category(name) == "" {
		return fmt.Errorf("%w: empty category: %q", ErrInvalidStreamName, name)
	}
	if ID(name) == "" {
		return fmt.Errorf("%w: empty id: %q", ErrInvalidStreamName, name)
	}
	return nil
}

// ValidateCategory checks a name given where a category is needed: category
// reads and correlation filters. It must be non-empty valid UTF-8 without NUL
// and contain no "-". The error matches ErrInvalidStreamName.
func ValidateCategory(name string) error {
	if err := validateName(name); err != nil {
		return err
	}
	if !IsCategory(name) {
		return fmt.Errorf("%w: must be a category: %q", ErrInvalidStreamName, name)
	}
	return nil
}

func validateName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty name", ErrInvalidStreamName)
	case !utf8.ValidString(name):
		return fmt.Errorf("%w: not valid UTF-8: %q", ErrInvalidStreamName, name)
	case strings.IndexByte(name, 0) >= 0:
		return fmt.Errorf("%w: contains NUL: %q", ErrInvalidStreamName, name)
	}
	return nil
}
