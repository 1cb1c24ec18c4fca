package sqlite

import "github.com/messagedb-go/messagedb/domain"

// Limits returns the limits the Store applies to every write (see
// Options.MaxMessageSize), so that a caller can check a message as the Store
// will before doing anything else.
func (s *Store) Limits() domain.Limits { return s.opts.limits() }
