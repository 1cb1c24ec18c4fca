package domain

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
)

// Every error of the list is its own kind, also wrapped: none is shadowed
// by a more general one listed before it. The finer errors that wrap a
// listed one take its kind, and an error of no listed kind has none.
func TestErrorKind(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range errorKinds {
		assert.Equal(t, k.kind, ErrorKind(fmt.Errorf("open: %w", k.err)), "%v", k.err)
		assert.False(t, seen[k.kind], "%s named twice", k.kind)
		seen[k.kind] = true
	}
	for err, want := range map[error]string{
		ErrInvalidRole:            "invalid_options",
		ErrInvalidPosition:        "invalid_options",
		NamespaceNotFound("shop"): "namespace_not_found",
		StreamNotFound("a-1", ""): "stream_not_found",
		&MessageTooLargeError{}:   "message_too_large",
		errors.New("other"):       "",
		nil:                       "",
	} {
		assert.Equal(t, want, ErrorKind(err), "%v", err)
	}
}
