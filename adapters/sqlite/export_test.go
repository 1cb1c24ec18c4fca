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
	inc, err := s.nss.Take(id)
	if err != nil {
		return false
	}
	defer s.nss.Release(id, inc, false)
	return inc.State.db.Load() != nil
}

// RegistryDB returns the pool of the registry database (file mode; in memory
// mode its one working connection is shared with the Store).
func (s *Store) RegistryDB() *sql.DB { return s.registry.db }

// WithConn runs f on a connection to the namespace's database, opening it if
// needed: the writer's, under the namespace's lock, in memory mode (it is
// the only one); one from the pool in file mode.
func (n *Namespace) WithConn(ctx context.Context, f func(*sql.Conn) error) error {
	d, err := n.acquire(ctx)
	if err != nil {
		return err
	}
	defer n.release()
	if d.shared {
		if err := d.lockWriter(ctx); err != nil {
			return err
		}
		defer d.unlock()
		return f(d.w)
	}
	c, err := d.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	return f(c)
}

// ReplaceWriter discards the namespace's writer connection and takes
// another, as after a failed rollback.
func (n *Namespace) ReplaceWriter(ctx context.Context) error {
	d, err := n.acquire(ctx)
	if err != nil {
		return err
	}
	defer n.release()
	if err := d.lock(ctx); err != nil {
		return err
	}
	defer d.unlock()
	d.closeWriter()
	return d.openWriter(ctx)
}
