package sqlite

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/ports"
)

// Namespace is the message store of one namespace of a Store. It implements
// ports.MessageStore, ports.Importer and ports.Watcher, and is safe for
// concurrent use. It fails with domain.ErrNamespaceNotFound once the
// namespace is deleted through its Store, and with ErrClosed once the Store
// is closed.
type Namespace struct {
	e *entry
}

var (
	_ ports.MessageStore = (*Namespace)(nil)
	_ ports.Importer     = (*Namespace)(nil)
	_ ports.Watcher      = (*Namespace)(nil)
)

// ID returns the namespace's id.
func (n *Namespace) ID() string { return n.e.id }

// entry is a namespace as a Store holds it: its database, opened on first
// use, and its watchers.
type entry struct {
	store *Store
	id    string

	// rw is held shared by every call using the database and exclusively
	// to retire the entry, which therefore waits for the calls in progress.
	rw   sync.RWMutex
	gone error // why calls fail; set once, under rw

	openMu sync.Mutex // one open at a time
	db     atomic.Pointer[nsDB]

	watch watchers
}

func newEntry(s *Store, id string) *entry {
	return &entry{store: s, id: id}
}

// acquire returns the namespace's database, opening and migrating it on first
// use. On success the caller must call release when done with it.
func (e *entry) acquire(ctx context.Context) (*nsDB, error) {
	e.rw.RLock()
	if e.gone != nil {
		err := e.gone
		e.rw.RUnlock()
		return nil, err
	}
	if d := e.db.Load(); d != nil {
		return d, nil
	}
	e.openMu.Lock()
	defer e.openMu.Unlock()
	if d := e.db.Load(); d != nil {
		return d, nil
	}
	d, err := e.store.openNamespace(ctx, e.id)
	if err != nil {
		e.rw.RUnlock()
		if errors.Is(err, domain.ErrNamespaceNotFound) {
			return nil, err
		}
		return nil, domain.Wrapf(err, "sqlite: open namespace %s", e.id)
	}
	e.db.Store(d)
	return d, nil
}

func (e *entry) release() { e.rw.RUnlock() }

// retire makes every later call fail with domain.ErrNamespaceNotFound or
// ErrClosed (reason), closes the watchers' channels and closes the database
// once the calls in progress are done.
func (e *entry) retire(reason error) error {
	if errors.Is(reason, domain.ErrNamespaceNotFound) {
		reason = domain.NamespaceNotFound(e.id)
	}
	e.rw.Lock()
	defer e.rw.Unlock()
	if e.gone != nil {
		return nil
	}
	e.gone = reason
	e.watch.closeAll()
	if d := e.db.Swap(nil); d != nil {
		return d.close()
	}
	return nil
}
