package domain

import "fmt"

// NoStream is the version of a stream that has no message. As an expected
// version it means "the stream must not exist yet".
const NoStream int64 = -1

// ExpectedVersion is the optimistic concurrency check of a write. Its zero
// value, AnyVersion, checks nothing; ExpectVersion(v) requires the stream's
// version (the position of its last message, NoStream when empty) to be v.
type ExpectedVersion struct {
	version int64
	check   bool
}

// AnyVersion writes whatever the stream's version is.
var AnyVersion = ExpectedVersion{}

// ExpectVersion returns an expected version that requires the stream's
// version to be v. Use NoStream for a stream that must not exist yet.
func ExpectVersion(v int64) ExpectedVersion {
	return ExpectedVersion{version: v, check: true}
}

// Value returns the required version and true, or false for AnyVersion.
func (e ExpectedVersion) Value() (int64, bool) { return e.version, e.check }

// Validate reports an expected version below NoStream, matching
// ErrInvalidExpectedVersion.
func (e ExpectedVersion) Validate() error {
	if e.check && e.version < NoStream {
		return fmt.Errorf("%w: %d (must be %d or more)", ErrInvalidExpectedVersion, e.version, NoStream)
	}
	return nil
}

// Check compares the expected version with the stream's actual version and
// returns a *VersionConflictError when they differ.
func (e ExpectedVersion) Check(streamName string, actual int64) error {
	if e.check && e.version != actual {
		return &VersionConflictError{StreamName: streamName, Expected: e.version, Actual: actual}
	}
	return nil
}

// String returns "any" or the version.
func (e ExpectedVersion) String() string {
	if !e.check {
		return "any"
	}
	return fmt.Sprint(e.version)
}
