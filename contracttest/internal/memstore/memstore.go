// Package memstore is a small in-memory ports.Store used to check the
// contract suite itself: every rule comes from the domain package, the
// wake-ups of watchers from internal/wakeup (as on every backend), and one
// mutex serialises everything, so its behaviour is easy to trust.
package memstore

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/internal/wakeup"
	"github.com/messagedb-go/messagedb/ports"
)

// Store is an in-memory backend.
type Store struct {
	limits     domain.Limits
	mu         sync.Mutex
	closed     bool
	namespaces map[string]*namespace
}

var (
	_ ports.Store         = (*Store)(nil)
	_ ports.LimitReporter = (*Store)(nil)
	_ ports.Importer      = (*messageStore)(nil)
	_ ports.Watcher       = (*messageStore)(nil)
)

type namespace struct {
	info     domain.Namespace
	deleted  bool
	msgs     []domain.Message // in global position order
	streams  map[string][]int // stream name -> indexes into msgs
	ids      map[uuid.UUID]int
	lastGP   int64
	watchers wakeup.Hub // by category
}

// New returns an empty store with the default limits.
func New() *Store { return NewWithLimits(domain.Limits{}) }

// NewWithLimits returns an empty store that applies limits to writes and
// imports.
func NewWithLimits(limits domain.Limits) *Store {
	return &Store{limits: limits, namespaces: map[string]*namespace{}}
}

// Capabilities declares message stores that are Importers and Watchers.
func (s *Store) Capabilities() ports.Capabilities {
	return ports.Capabilities{System: ports.SystemOther, Importer: true, Watcher: true}
}

// Limits returns the limits the store applies.
func (s *Store) Limits() domain.Limits { return s.limits }

// Close makes the store and its message stores fail.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for _, ns := range s.namespaces {
		ns.watchers.Close()
	}
	return nil
}

// CreateNamespace implements ports.NamespaceRegistry.
func (s *Store) CreateNamespace(_ context.Context, id string, opts domain.NamespaceOptions) (domain.Namespace, error) {
	if err := domain.ValidateNamespaceID(id); err != nil {
		return domain.Namespace{}, err
	}
	if err := opts.Validate(); err != nil {
		return domain.Namespace{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return domain.Namespace{}, domain.ErrClosed
	}
	if _, ok := s.namespaces[id]; ok {
		return domain.Namespace{}, domain.NamespaceExists(id)
	}
	ns := &namespace{
		info: domain.Namespace{
			ID:          id,
			Description: opts.Description,
			CreatedAt:   time.Now().UTC().Truncate(time.Microsecond),
		},
		streams: map[string][]int{},
		ids:     map[uuid.UUID]int{},
	}
	s.namespaces[id] = ns
	return ns.info, nil
}

// DeleteNamespace implements ports.NamespaceRegistry.
func (s *Store) DeleteNamespace(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ns, err := s.lookup(id)
	if err != nil {
		return err
	}
	ns.deleted = true
	ns.watchers.Close()
	delete(s.namespaces, id)
	return nil
}

// GetNamespace implements ports.NamespaceRegistry.
func (s *Store) GetNamespace(_ context.Context, id string) (domain.Namespace, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ns, err := s.lookup(id)
	if err != nil {
		return domain.Namespace{}, err
	}
	return ns.info, nil
}

// ListNamespaces implements ports.NamespaceRegistry.
func (s *Store) ListNamespaces(_ context.Context) ([]domain.Namespace, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, domain.ErrClosed
	}
	out := make([]domain.Namespace, 0, len(s.namespaces))
	for _, ns := range s.namespaces {
		out = append(out, ns.info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// MessageStore implements ports.NamespaceRegistry.
func (s *Store) MessageStore(_ context.Context, id string) (ports.MessageStore, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ns, err := s.lookup(id)
	if err != nil {
		return nil, err
	}
	return &messageStore{s: s, ns: ns}, nil
}

func (s *Store) lookup(id string) (*namespace, error) {
	if err := domain.ValidateNamespaceID(id); err != nil {
		return nil, err
	}
	if s.closed {
		return nil, domain.ErrClosed
	}
	ns, ok := s.namespaces[id]
	if !ok {
		return nil, domain.NamespaceNotFound(id)
	}
	return ns, nil
}

type messageStore struct {
	s  *Store
	ns *namespace
}

// lock takes the store's mutex and checks the namespace still exists.
func (m *messageStore) lock() error {
	m.s.mu.Lock()
	if m.s.closed {
		m.s.mu.Unlock()
		return domain.ErrClosed
	}
	if m.ns.deleted {
		m.s.mu.Unlock()
		return domain.NamespaceNotFound(m.ns.info.ID)
	}
	return nil
}

func (m *messageStore) unlock() { m.s.mu.Unlock() }

func (m *messageStore) version(stream string) int64 {
	return int64(len(m.ns.streams[stream])) - 1
}

func (m *messageStore) WriteMessage(ctx context.Context, streamName string, msg domain.NewMessage, expected domain.ExpectedVersion) (domain.WriteResult, error) {
	res, err := m.WriteMessages(ctx, streamName, []domain.NewMessage{msg}, expected)
	if err != nil {
		return domain.WriteResult{}, err
	}
	return res[0], nil
}

func (m *messageStore) WriteMessages(ctx context.Context, streamName string, msgs []domain.NewMessage, expected domain.ExpectedVersion) ([]domain.WriteResult, error) {
	prepared, err := m.s.limits.PrepareWrite(streamName, msgs, expected)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("write %s: %w", streamName, err)
	}
	if err := m.lock(); err != nil {
		return nil, err
	}
	defer m.unlock()

	var stored []domain.Message
	for _, p := range prepared {
		if i, ok := m.ns.ids[p.ID]; ok {
			stored = append(stored, m.ns.msgs[i])
		}
	}
	if res, err := domain.ResolveStoredIDs(streamName, prepared, stored); err != nil || res != nil {
		return res, err
	}

	if err := expected.Check(streamName, m.version(streamName)); err != nil {
		return nil, err
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	out := make([]domain.WriteResult, len(prepared))
	for i, p := range prepared {
		m.ns.lastGP++
		msg := domain.Message{
			ID:             p.ID,
			StreamName:     streamName,
			Type:           p.Type,
			Position:       m.version(streamName) + 1,
			GlobalPosition: m.ns.lastGP,
			Data:           slices.Clone(p.Data),
			Metadata:       slices.Clone(p.Metadata),
			Time:           now,
		}
		m.append(msg)
		out[i] = domain.WriteResult{Position: msg.Position, GlobalPosition: msg.GlobalPosition}
	}
	m.ns.watchers.Wake(domain.Category(streamName))
	return out, nil
}

func (m *messageStore) append(msg domain.Message) {
	m.ns.msgs = append(m.ns.msgs, msg)
	idx := len(m.ns.msgs) - 1
	m.ns.streams[msg.StreamName] = append(m.ns.streams[msg.StreamName], idx)
	m.ns.ids[msg.ID] = idx
}

func (m *messageStore) GetStreamMessages(_ context.Context, streamName string, opts domain.GetOpts) ([]domain.Message, error) {
	if err := domain.ValidateStreamName(streamName); err != nil {
		return nil, err
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if err := m.lock(); err != nil {
		return nil, err
	}
	defer m.unlock()
	var out []domain.Message
	limit := opts.Limit()
	for _, i := range m.ns.streams[streamName] {
		if limit >= 0 && int64(len(out)) >= limit {
			break
		}
		if msg := m.ns.msgs[i]; msg.Position >= opts.Position {
			out = append(out, clone(msg))
		}
	}
	return out, nil
}

func (m *messageStore) GetCategoryMessages(_ context.Context, category string, opts domain.CategoryOpts) ([]domain.Message, error) {
	if err := domain.ValidateCategory(category); err != nil {
		return nil, err
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	return m.scan(opts, func(msg domain.Message) bool {
		if domain.Category(msg.StreamName) != category {
			return false
		}
		if opts.Correlation != "" {
			c := msg.CorrelationStreamName()
			if c == "" || domain.Category(c) != opts.Correlation {
				return false
			}
		}
		if g := opts.ConsumerGroup; g != nil && !domain.IsMember(msg.StreamName, g.Member, g.Size) {
			return false
		}
		return true
	})
}

func (m *messageStore) GetLastGlobalPosition(_ context.Context, category string) (int64, error) {
	if err := domain.ValidateCategory(category); err != nil {
		return 0, err
	}
	if err := m.lock(); err != nil {
		return 0, err
	}
	defer m.unlock()
	for i := len(m.ns.msgs) - 1; i >= 0; i-- {
		if msg := m.ns.msgs[i]; domain.Category(msg.StreamName) == category {
			return msg.GlobalPosition, nil
		}
	}
	return 0, nil
}

func (m *messageStore) GetAllMessages(_ context.Context, opts domain.AllOpts) ([]domain.Message, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	return m.scan(domain.CategoryOpts{Position: opts.Position, BatchSize: opts.BatchSize}, func(domain.Message) bool { return true })
}

func (m *messageStore) scan(opts domain.CategoryOpts, keep func(domain.Message) bool) ([]domain.Message, error) {
	if err := m.lock(); err != nil {
		return nil, err
	}
	defer m.unlock()
	var out []domain.Message
	limit, start := opts.Limit(), opts.StartPosition()
	for _, msg := range m.ns.msgs {
		if limit >= 0 && int64(len(out)) >= limit {
			break
		}
		if msg.GlobalPosition >= start && keep(msg) {
			out = append(out, clone(msg))
		}
	}
	return out, nil
}

func (m *messageStore) GetLastStreamMessage(_ context.Context, streamName string, messageType string) (domain.Message, error) {
	if err := domain.ValidateStreamName(streamName); err != nil {
		return domain.Message{}, err
	}
	if err := domain.ValidateTypeFilter(messageType); err != nil {
		return domain.Message{}, err
	}
	if err := m.lock(); err != nil {
		return domain.Message{}, err
	}
	defer m.unlock()
	idx := m.ns.streams[streamName]
	for j := len(idx) - 1; j >= 0; j-- {
		if msg := m.ns.msgs[idx[j]]; messageType == "" || msg.Type == messageType {
			return clone(msg), nil
		}
	}
	return domain.Message{}, domain.StreamNotFound(streamName, messageType)
}

func (m *messageStore) GetStreamVersion(_ context.Context, streamName string) (int64, error) {
	if err := domain.ValidateStreamName(streamName); err != nil {
		return 0, err
	}
	if err := m.lock(); err != nil {
		return 0, err
	}
	defer m.unlock()
	return m.version(streamName), nil
}

func (m *messageStore) ImportMessages(_ context.Context, msgs []domain.Message) error {
	msgs, err := m.s.limits.PrepareImport(msgs)
	if err != nil {
		return err
	}
	if err := m.lock(); err != nil {
		return err
	}
	defer m.unlock()
	versions := map[string]int64{}
	stored := map[uuid.UUID]bool{}
	for _, msg := range msgs {
		if v := m.version(msg.StreamName); v != domain.NoStream {
			versions[msg.StreamName] = v
		}
		if _, ok := m.ns.ids[msg.ID]; ok {
			stored[msg.ID] = true
		}
	}
	if err := domain.CheckImport(msgs, m.ns.lastGP, versions, stored); err != nil {
		return err
	}
	cats := map[string]struct{}{}
	for _, msg := range msgs {
		m.append(clone(msg))
		m.ns.lastGP = msg.GlobalPosition
		cats[domain.Category(msg.StreamName)] = struct{}{}
	}
	for c := range cats {
		m.ns.watchers.Wake(c)
	}
	return nil
}

func (m *messageStore) WatchCategory(ctx context.Context, category string) (<-chan struct{}, error) {
	if err := domain.ValidateCategory(category); err != nil {
		return nil, err
	}
	if err := m.lock(); err != nil {
		return nil, err
	}
	defer m.unlock()
	return m.ns.watchers.Watch(ctx, category), nil
}

func clone(msg domain.Message) domain.Message {
	msg.Data = slices.Clone(msg.Data)
	msg.Metadata = slices.Clone(msg.Metadata)
	return msg
}
