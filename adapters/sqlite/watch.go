package sqlite

import (
	"context"

	"github.com/messagedb-go/messagedb/domain"
)

// WatchCategory returns a channel that receives a value after messages
// written to the category through this Store have committed; see
// ports.Watcher. Writes made by other processes (or other Stores) on the same
// file do not wake it: readers still poll. The channel is closed when ctx is
// done, the namespace is deleted or the Store closed. Watching takes no
// goroutine.
func (n *Namespace) WatchCategory(ctx context.Context, category string) (<-chan struct{}, error) {
	if err := domain.ValidateCategory(category); err != nil {
		return nil, err
	}
	if err := n.inc.Enter(); err != nil {
		return nil, err
	}
	defer n.inc.Leave()
	// An incarnation ends under its write lock, so its watchers are open.
	return n.inc.State.watch.Watch(ctx, category), nil
}
