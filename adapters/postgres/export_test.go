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
