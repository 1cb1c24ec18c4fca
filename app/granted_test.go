package app_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/messagedb-go/messagedb/app"
	"github.com/messagedb-go/messagedb/contracttest"
	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/internal/pgtest"
	"github.com/messagedb-go/messagedb/ports"
)

// grantedStore is what an application connected as a role that namespaces
// are granted to (domain.NamespaceOptions.Grant) sees, with an operator
// beside it in the same process: the operator's store creates namespaces,
// granting them to the role, and deletes them; every other call (registry
// reads, reads and writes, imports and watches) goes through the role's own
// store, opened by app.Open with the role's credentials. As a store does for
// its own deletes, the message stores it handed out for a namespace it
// deleted stay dead, even when a namespace of that id is created again, and
// their watchers' channels are closed: the role's store cannot know of the
// operator's deletes by itself.
type grantedStore struct {
	ports.Store // the role's
	owner       ports.Store
	role        string

	mu      sync.Mutex
	deleted map[string]*life // per namespace id, the current incarnation's
}

func (g *grantedStore) CreateNamespace(ctx context.Context, id string, opts domain.NamespaceOptions) (domain.Namespace, error) {
	opts.Grant = append(slices.Clone(opts.Grant), g.role)
	return g.owner.CreateNamespace(ctx, id, opts)
}

func (g *grantedStore) DeleteNamespace(ctx context.Context, id string) error {
	err := g.owner.DeleteNamespace(ctx, id)
	if err == nil {
		g.mu.Lock()
		if d := g.deleted[id]; d != nil {
			d.end()
			delete(g.deleted, id)
		}
		g.mu.Unlock()
	}
	return err
}

func (g *grantedStore) MessageStore(ctx context.Context, id string) (ports.MessageStore, error) {
	g.mu.Lock()
	d := g.deleted[id]
	if d == nil {
		d = new(life)
		d.ctx, d.end = context.WithCancel(context.Background())
		g.deleted[id] = d
	}
	g.mu.Unlock()
	ms, err := g.Store.MessageStore(ctx, id)
	if err != nil {
		return nil, err
	}
	return &grantedNamespace{ms: ms, id: id, deleted: d}, nil
}

func (g *grantedStore) Close() error { return errors.Join(g.Store.Close(), g.owner.Close()) }

// life is one incarnation of a namespace: its context is done once
// grantedStore deleted it.
type life struct {
	ctx context.Context
	end context.CancelFunc
}

// grantedNamespace is a message store of the role's store, which fails as
// deleted once grantedStore deleted its namespace.
type grantedNamespace struct {
	ms      ports.MessageStore
	id      string
	deleted *life
}

func (n *grantedNamespace) gone() error {
	if n.deleted.ctx.Err() != nil {
		return domain.NamespaceNotFound(n.id)
	}
	return nil
}

func (n *grantedNamespace) WriteMessage(ctx context.Context, stream string, msg domain.NewMessage, expected domain.ExpectedVersion) (domain.WriteResult, error) {
	if err := n.gone(); err != nil {
		return domain.WriteResult{}, err
	}
	return n.ms.WriteMessage(ctx, stream, msg, expected)
}

func (n *grantedNamespace) WriteMessages(ctx context.Context, stream string, msgs []domain.NewMessage, expected domain.ExpectedVersion) ([]domain.WriteResult, error) {
	if err := n.gone(); err != nil {
		return nil, err
	}
	return n.ms.WriteMessages(ctx, stream, msgs, expected)
}

func (n *grantedNamespace) GetStreamMessages(ctx context.Context, stream string, opts domain.GetOpts) ([]domain.Message, error) {
	if err := n.gone(); err != nil {
		return nil, err
	}
	return n.ms.GetStreamMessages(ctx, stream, opts)
}

func (n *grantedNamespace) GetCategoryMessages(ctx context.Context, category string, opts domain.CategoryOpts) ([]domain.Message, error) {
	if err := n.gone(); err != nil {
		return nil, err
	}
	return n.ms.GetCategoryMessages(ctx, category, opts)
}

func (n *grantedNamespace) GetLastGlobalPosition(ctx context.Context, category string) (int64, error) {
	if err := n.gone(); err != nil {
		return 0, err
	}
	return n.ms.GetLastGlobalPosition(ctx, category)
}

func (n *grantedNamespace) GetLastStreamMessage(ctx context.Context, stream, typ string) (domain.Message, error) {
	if err := n.gone(); err != nil {
		return domain.Message{}, err
	}
	return n.ms.GetLastStreamMessage(ctx, stream, typ)
}

func (n *grantedNamespace) GetStreamVersion(ctx context.Context, stream string) (int64, error) {
	if err := n.gone(); err != nil {
		return 0, err
	}
	return n.ms.GetStreamVersion(ctx, stream)
}

func (n *grantedNamespace) GetAllMessages(ctx context.Context, opts domain.AllOpts) ([]domain.Message, error) {
	if err := n.gone(); err != nil {
		return nil, err
	}
	return n.ms.GetAllMessages(ctx, opts)
}

func (n *grantedNamespace) ImportMessages(ctx context.Context, msgs []domain.Message) error {
	if err := n.gone(); err != nil {
		return err
	}
	return n.ms.(ports.Importer).ImportMessages(ctx, msgs)
}

func (n *grantedNamespace) WatchCategory(ctx context.Context, category string) (<-chan struct{}, error) {
	if err := n.gone(); err != nil {
		return nil, err
	}
	// The watch ends when grantedStore deletes the namespace.
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(n.deleted.ctx, cancel)
	context.AfterFunc(ctx, func() { stop() })
	return n.ms.(ports.Watcher).WatchCategory(ctx, category)
}

// TestContract_PostgresGrantedRole runs the conformance suite as a role
// that has nothing but what a namespace grants it: no CREATE on the
// database, not the owner of any schema.
func TestContract_PostgresGrantedRole(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	role, roleURL := pgtest.NewRole(t, url)
	owner, err := app.Open(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A first namespace grants the role the registry.
	if _, err := owner.CreateNamespace(ctx, "first", domain.NamespaceOptions{Grant: []string{role}}); err != nil {
		t.Fatal(err)
	}
	if err := owner.Close(); err != nil {
		t.Fatal(err)
	}
	contracttest.Run(t, func(t *testing.T) ports.Store {
		owner, err := app.Open(ctx, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		mine, err := app.Open(ctx, roleURL, nil)
		if err != nil {
			_ = owner.Close()
			t.Fatalf("open as the role: %v", err)
		}
		s := &grantedStore{Store: mine.Backend(), owner: owner.Backend(), role: role, deleted: map[string]*life{}}
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}
