package sqlite

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/internal/incarnation"
	"github.com/messagedb-go/messagedb/internal/wakeup"
	"github.com/messagedb-go/messagedb/ports"
)

// Namespace is the message store of one namespace of a Store. It implements
// ports.MessageStore, ports.Importer and ports.Watcher, and is safe for
// concurrent use. It fails with domain.ErrNamespaceNotFound once the
// namespace is deleted through its Store, and with ErrClosed once the Store
// is closed.
type Namespace struct {
	s   *Store
	id  string
	inc *incarnation.Incarnation[nsState]
}

var (
	_ ports.MessageStore = (*Namespace)(nil)
	_ ports.Importer     = (*Namespace)(nil)
	_ ports.Watcher      = (*Namespace)(nil)
)

// ID returns the namespace's id.
func (n *Namespace) ID() string { return n.id }

// nsState is what a Store holds for one incarnation of a namespace: its
// database, opened on first use, and its watchers.
type nsState struct {
	openMu sync.Mutex // one open at a time
	db     atomic.Pointer[nsDB]
	watch  wakeup.Hub
}

// acquire returns the namespace's database, opening and migrating it on
// first use. On success the caller must call release when done with it: the
// namespace's deletion waits for it.
func (n *Namespace) acquire(ctx context.Context) (*nsDB, error) {
	if err := n.inc.Enter(); err != nil {
		return nil, err
	}
	st := &n.inc.State
	if d := st.db.Load(); d != nil {
		return d, nil
	}
	st.openMu.Lock()
	defer st.openMu.Unlock()
	if d := st.db.Load(); d != nil {
		return d, nil
	}
	d, err := n.s.openNamespace(ctx, n.id)
	if err != nil {
		n.inc.Leave()
		if errors.Is(err, domain.ErrNamespaceNotFound) {
			return nil, err
		}
		return nil, domain.Wrapf(err, "sqlite: open namespace %s", n.id)
	}
	st.db.Store(d)
	return d, nil
}

func (n *Namespace) release() { n.inc.Leave() }

// releaseState closes an ended incarnation's watchers and database (the
// calls in progress are done).
func releaseState(st *nsState) error {
	st.watch.Close()
	if d := st.db.Swap(nil); d != nil {
		return d.close()
	}
	return nil
}
