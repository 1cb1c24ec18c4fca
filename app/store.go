package app

import (
	"context"
	"errors"
	"log/slog"

	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/ports"
)

// Store is an open backend: the registry of its namespaces. It is safe for
// concurrent use. Get one with Open, or wrap a backend you opened yourself
// with NewStore or NewStoreWith.
type Store struct {
	backend ports.Store
	system  string // ports.SystemPostgreSQL, ...
	// What watches it (see Options.Observer and Options.Logger): nil for
	// nothing. inject and consumers are obs as those interfaces, when it
	// implements them.
	obs       ports.StoreObserver
	inject    ports.ContextInjector
	consumers ports.ConsumerObserver
	log       *slog.Logger
}

// NewStore wraps a backend opened by the caller, such as a *sqlite.Store or a
// *postgres.Store. Closing the returned Store closes the backend.
func NewStore(backend ports.Store) *Store {
	return NewStoreWith(backend, nil)
}

// NewStoreWith is NewStore with the options that apply to an open backend:
// Observer and Logger (see Options); the others are the backend's, and
// opts may be nil. A PostgreSQL backend reports its listener's reconnections
// to the observer of its own options (postgres.Options.Observer).
func NewStoreWith(backend ports.Store, opts *Options) *Store {
	s := &Store{backend: backend, system: backend.Capabilities().System}
	if opts == nil {
		return s
	}
	s.obs, s.log = opts.Observer, opts.Logger
	s.inject, _ = opts.Observer.(ports.ContextInjector)
	s.consumers, _ = opts.Observer.(ports.ConsumerObserver)
	return s
}

// Backend returns the backend the store wraps, for what this package does
// not offer.
func (s *Store) Backend() ports.Store { return s.backend }

// Limits returns the limits the backend applies to every write, for checking
// a message as the store will (domain.Limits.PrepareWrite) before doing
// anything else. A backend that does not report its limits (no
// ports.LimitReporter) is assumed to apply the defaults.
func (s *Store) Limits() domain.Limits {
	if l, ok := s.backend.(ports.LimitReporter); ok {
		return l.Limits()
	}
	return domain.Limits{}
}

// Capabilities returns what the backend declares: its database system, and
// whether its namespaces can import messages (Namespace.Import) and wake
// consumers (otherwise they poll).
func (s *Store) Capabilities() ports.Capabilities { return s.backend.Capabilities() }

// Close closes the backend. Afterwards every call on the Store and on the
// namespaces it handed out fails with an error matching domain.ErrClosed,
// whatever the backend. Close may be called again, and concurrently with
// other calls.
func (s *Store) Close() error {
	err := s.backend.Close()
	if s.log != nil {
		if err != nil {
			s.log.Error("store closed", LogBackend, s.system, LogError, err)
		} else {
			s.log.Info("store closed", LogBackend, s.system)
		}
	}
	return err
}

// Namespace returns a handle on an existing namespace. A namespace that does
// not exist matches domain.ErrNamespaceNotFound.
func (s *Store) Namespace(ctx context.Context, id string) (*Namespace, error) {
	ms, err := s.backend.MessageStore(ctx, id)
	if err != nil {
		return nil, err // it names the namespace
	}
	if s.obs != nil {
		ms = s.observed(ms, id)
	}
	return &Namespace{id: id, store: ms, s: s}, nil
}

// EnsureNamespace returns a handle on the namespace, creating it with opts
// when it does not exist yet; opts are not applied to an existing namespace.
// It is meant for application start-up, and is safe when several processes
// start at once: losing the race to create it is not an error.
func (s *Store) EnsureNamespace(ctx context.Context, id string, opts domain.NamespaceOptions) (*Namespace, error) {
	n, err := s.Namespace(ctx, id)
	if err == nil || !errors.Is(err, domain.ErrNamespaceNotFound) {
		return n, err
	}
	if _, err := s.CreateNamespace(ctx, id, opts); err != nil && !errors.Is(err, domain.ErrNamespaceExists) {
		return nil, domain.Wrapf(err, "create namespace %s", id)
	}
	return s.Namespace(ctx, id)
}

// CreateNamespace creates an empty namespace. A taken id matches
// domain.ErrNamespaceExists, an invalid one domain.ErrInvalidNamespace.
func (s *Store) CreateNamespace(ctx context.Context, id string, opts domain.NamespaceOptions) (domain.Namespace, error) {
	if s.obs == nil {
		return s.backend.CreateNamespace(ctx, id, opts)
	}
	var ns domain.Namespace
	err := s.observe(ctx, &ports.Call{Operation: ports.OpCreateNamespace, System: s.system, Namespace: id}, func(ctx context.Context) (err error) {
		ns, err = s.backend.CreateNamespace(ctx, id, opts)
		return err
	})
	return ns, err
}

// DeleteNamespace deletes the namespace and all its messages. A missing
// namespace matches domain.ErrNamespaceNotFound.
func (s *Store) DeleteNamespace(ctx context.Context, id string) error {
	if s.obs == nil {
		return s.backend.DeleteNamespace(ctx, id)
	}
	return s.observe(ctx, &ports.Call{Operation: ports.OpDeleteNamespace, System: s.system, Namespace: id}, func(ctx context.Context) error {
		return s.backend.DeleteNamespace(ctx, id)
	})
}

// GetNamespace returns a namespace's attributes, or an error matching
// domain.ErrNamespaceNotFound.
func (s *Store) GetNamespace(ctx context.Context, id string) (domain.Namespace, error) {
	return s.backend.GetNamespace(ctx, id)
}

// ListNamespaces returns every namespace, ordered by id.
func (s *Store) ListNamespaces(ctx context.Context) ([]domain.Namespace, error) {
	return s.backend.ListNamespaces(ctx)
}

// Namespace is a handle on one namespace's messages, which an application
// keeps for its lifetime. It is safe for concurrent use. Its methods are thin
// wrappers over ports.MessageStore: see there for the full contract. When
// the Store has an observer, the message store is wrapped once, here, in
// one that tells it of each call; otherwise the calls go straight to the
// backend.
type Namespace struct {
	id    string
	store ports.MessageStore // observed, when the Store has an observer
	s     *Store
}

// ID returns the namespace's id.
func (n *Namespace) ID() string { return n.id }

// MessageStore returns the namespace's message store, for what this type
// does not offer; its calls are observed as the Namespace's are. It
// implements ports.Importer and ports.Watcher when the backend's does (see
// Store.Capabilities), and not otherwise.
func (n *Namespace) MessageStore() ports.MessageStore { return n.store }

// Write appends msg to the stream and returns where it was stored. With an
// expected version other than domain.AnyVersion, a stream at another version
// is an error matching domain.ErrVersionConflict (a
// *domain.VersionConflictError) and nothing is written. An id names one
// message: writing the same message again (same id, stream, type, data and
// metadata) is an idempotent retry, while a stored id with anything else is
// a *domain.DuplicateMessageIDError.
func (n *Namespace) Write(ctx context.Context, stream string, msg domain.NewMessage, expected domain.ExpectedVersion) (domain.WriteResult, error) {
	return n.store.WriteMessage(ctx, stream, msg, expected)
}

// WriteBatch appends msgs to one stream, all or nothing, at consecutive
// positions. expected is checked before the first message.
func (n *Namespace) WriteBatch(ctx context.Context, stream string, msgs []domain.NewMessage, expected domain.ExpectedVersion) ([]domain.WriteResult, error) {
	return n.store.WriteMessages(ctx, stream, msgs, expected)
}

// Read returns a stream's messages from opts.Position (inclusive), at most
// opts.Limit() of them (1000 by default). A stream that does not exist has
// no messages.
func (n *Namespace) Read(ctx context.Context, stream string, opts domain.GetOpts) ([]domain.Message, error) {
	return n.store.GetStreamMessages(ctx, stream, opts)
}

// ReadCategory returns the messages of a category's streams in global
// position order from opts.StartPosition() (inclusive), filtered by consumer
// group and correlation. Consumers (NewConsumer) page through a category
// with it.
func (n *Namespace) ReadCategory(ctx context.Context, category string, opts domain.CategoryOpts) ([]domain.Message, error) {
	return n.store.GetCategoryMessages(ctx, category, opts)
}

// LastGlobalPosition returns the global position of the category's last
// message, or 0 when the category has none: where a reader of the category
// (a consumer, see Consumer.Lag) has to get to. One indexed look-up on
// every backend.
func (n *Namespace) LastGlobalPosition(ctx context.Context, category string) (int64, error) {
	return n.store.GetLastGlobalPosition(ctx, category)
}

// ReadAll returns the messages of every stream of the namespace in global
// position order from opts.StartPosition(), at most opts.Limit() of them.
func (n *Namespace) ReadAll(ctx context.Context, opts domain.AllOpts) ([]domain.Message, error) {
	return n.store.GetAllMessages(ctx, opts)
}

// Last returns the stream's last message, or its last of msgType when
// msgType is not empty. When there is none the error matches
// domain.ErrStreamNotFound.
func (n *Namespace) Last(ctx context.Context, stream, msgType string) (domain.Message, error) {
	return n.store.GetLastStreamMessage(ctx, stream, msgType)
}

// Version returns the position of the stream's last message, or
// domain.NoStream (-1) when it has none: the expected version of the next
// write.
func (n *Namespace) Version(ctx context.Context, stream string) (int64, error) {
	return n.store.GetStreamVersion(ctx, stream)
}

// Import stores messages as they are, keeping ids, positions, global
// positions and times (see ports.Importer). Backends that cannot return an
// error matching ErrUnsupported.
func (n *Namespace) Import(ctx context.Context, msgs []domain.Message) error {
	imp, ok := n.store.(ports.Importer)
	if !ok {
		return domain.Wrapf(ErrUnsupported, "import into namespace %s", n.id)
	}
	return imp.ImportMessages(ctx, msgs)
}
