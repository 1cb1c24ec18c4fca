package sqlite

import (
	"context"
	"database/sql"
)

// Test hooks: what the package's tests look at inside a Store.

// OpenedCount returns how many times the Store opened a namespace database.
func (s *Store) OpenedCount() int64 { return s.opened.Load() }

// IsOpen reports whether the Store holds the namespace's database open.
func (s *Store) IsOpen(id string) bool {
	s.mu.Lock()
	e := s.entries[id]
	s.mu.Unlock()
	return e != nil && e.db.Load() != nil
}

// RegistryDB returns the pool of the registry database.
func (s *Store) RegistryDB() *sql.DB { return s.registry.db }

// DB returns the pool of the namespace's database, opening it if needed.
func (n *Namespace) DB(ctx context.Context) (*sql.DB, error) {
	d, err := n.e.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer n.e.release()
	return d.db, nil
}
