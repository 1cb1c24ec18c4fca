package postgres

import "io/fs"

// WithNamespaceMigrations makes a Store created with opts apply fsys as
// the namespace migrations instead of the embedded ones.
func WithNamespaceMigrations(opts *Options, fsys fs.FS) { opts.namespaceMigrations = fsys }

// ListenerPID returns the backend process id of the Store's listener
// connection, 0 when it is not connected.
func (s *Store) ListenerPID() uint32 { return s.listener.backendPID() }

// NotifierPID returns the backend process id of the Store's notifier
// connection, 0 when it is not connected.
func (s *Store) NotifierPID() uint32 { return s.notifier.pid.Load() }

// NotificationsSent returns how many statements the Store's notifier has
// sent.
func (s *Store) NotificationsSent() int64 { return s.notifier.sent.Load() }

// ReadsServed returns how many category reads (and reads of all messages)
// the Store's standbys served, and how many went to the primary instead,
// since it opened; both 0 without standbys.
func (s *Store) ReadsServed() (standbys, primary int64) {
	if s.reads == nil {
		return 0, 0
	}
	for _, sb := range s.reads.standbys {
		standbys += sb.served.Load()
	}
	return standbys, s.reads.primaryReads.Load()
}

// ReadsServedBy returns how many reads each of the Store's standbys
// served, in the order they were given.
func (s *Store) ReadsServedBy() []int64 {
	if s.reads == nil {
		return nil
	}
	out := make([]int64, len(s.reads.standbys))
	for i, sb := range s.reads.standbys {
		out[i] = sb.served.Load()
	}
	return out
}
