package app

import "errors"

// Errors of this package. Errors from the store itself match the sentinels of
// the domain package (domain.ErrVersionConflict, domain.ErrNamespaceNotFound,
// ...), which this package returns wrapped, never replaced.
var (
	// ErrInvalidURL is returned by Open when the store URL is empty, has an
	// unknown scheme or is malformed. The message names the accepted forms.
	ErrInvalidURL = errors.New("messagedb: invalid store URL")

	// ErrInvalidConsumer is returned by NewConsumer when its category, id or
	// options are not valid.
	ErrInvalidConsumer = errors.New("messagedb: invalid consumer")

	// ErrConsumerRunning is returned by Consumer.Run when the consumer is
	// already running: one Consumer value runs once at a time.
	ErrConsumerRunning = errors.New("messagedb: consumer already running")

	// ErrUnsupported is returned when the backend does not offer an
	// operation, such as importing messages as they are.
	ErrUnsupported = errors.New("messagedb: operation not supported by this backend")

	// ErrTargetNotEmpty is returned by CopyNamespace when the target
	// namespace already holds messages that are not the start of the source
	// namespace, or when it holds any and resuming was not asked for.
	ErrTargetNotEmpty = errors.New("messagedb: target namespace is not empty")
)
