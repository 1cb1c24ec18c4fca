package app

import (
	"context"
	"errors"

	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/ports"
)

// observed is a namespace's message store under its Store's observer: a
// Namespace of a Store with an observer holds one in place of the
// backend's, so that a Store without one calls the backend directly, at no
// cost.
type observed struct {
	ms ports.MessageStore
	s  *Store
	id string // the namespace's
}

var (
	_ ports.MessageStore = (*observed)(nil)
	_ ports.Importer     = observedImporter{}
	_ ports.Watcher      = observedWatcher{}
	_ ports.Importer     = observedBoth{}
	_ ports.Watcher      = observedBoth{}
)

// The observed message store implements the optional ports that the
// backend's does, no more: a caller that finds no Importer or Watcher does
// without, as it would on the backend.
type (
	observedImporter struct{ *observed }
	observedWatcher  struct{ *observed }
	observedBoth     struct{ *observed }
)

func (o observedImporter) ImportMessages(ctx context.Context, msgs []domain.Message) error {
	return o.importMessages(ctx, msgs)
}

func (o observedWatcher) WatchCategory(ctx context.Context, category string) (<-chan struct{}, error) {
	return o.watchCategory(ctx, category)
}

func (o observedBoth) ImportMessages(ctx context.Context, msgs []domain.Message) error {
	return o.importMessages(ctx, msgs)
}

func (o observedBoth) WatchCategory(ctx context.Context, category string) (<-chan struct{}, error) {
	return o.watchCategory(ctx, category)
}

// observed returns ms under the Store's observer.
func (s *Store) observed(ms ports.MessageStore, id string) ports.MessageStore {
	o := &observed{ms: ms, s: s, id: id}
	_, imports := ms.(ports.Importer)
	_, watches := ms.(ports.Watcher)
	switch {
	case imports && watches:
		return observedBoth{o}
	case imports:
		return observedImporter{o}
	case watches:
		return observedWatcher{o}
	}
	return o
}

// consumerKey is the context key under which a consumer marks the store
// calls it makes for itself (see Consumer.storeContext): its id.
type consumerKey struct{}

// call describes a call on the namespace, on stream or category.
func (o *observed) call(ctx context.Context, op ports.Operation, stream, category string) *ports.Call {
	if stream != "" {
		category = domain.Category(stream)
	}
	consumer, _ := ctx.Value(consumerKey{}).(string)
	return &ports.Call{Operation: op, System: o.s.system, Namespace: o.id, Stream: stream, Category: category, Consumer: consumer}
}

// observe makes the call f under the observer.
func (s *Store) observe(ctx context.Context, c *ports.Call, f func(context.Context) error) error {
	ctx = s.obs.StartCall(ctx, c)
	err := f(ctx)
	s.obs.EndCall(ctx, c, err)
	return err
}

func (o *observed) read(ctx context.Context, c *ports.Call, read func(context.Context) ([]domain.Message, error)) ([]domain.Message, error) {
	ctx = o.s.obs.StartCall(ctx, c)
	msgs, err := read(ctx)
	c.Returned = len(msgs)
	o.s.obs.EndCall(ctx, c, err)
	return msgs, err
}

func (o *observed) WriteMessage(ctx context.Context, stream string, msg domain.NewMessage, expected domain.ExpectedVersion) (domain.WriteResult, error) {
	res, err := o.write(ctx, ports.OpWriteMessage, stream, []domain.NewMessage{msg}, expected)
	if err != nil {
		return domain.WriteResult{}, err
	}
	return res[0], nil
}

func (o *observed) WriteMessages(ctx context.Context, stream string, msgs []domain.NewMessage, expected domain.ExpectedVersion) ([]domain.WriteResult, error) {
	return o.write(ctx, ports.OpWriteMessages, stream, msgs, expected)
}

func (o *observed) GetStreamMessages(ctx context.Context, stream string, opts domain.GetOpts) ([]domain.Message, error) {
	return o.read(ctx, o.call(ctx, ports.OpGetStreamMessages, stream, ""), func(ctx context.Context) ([]domain.Message, error) {
		return o.ms.GetStreamMessages(ctx, stream, opts)
	})
}

func (o *observed) GetCategoryMessages(ctx context.Context, category string, opts domain.CategoryOpts) ([]domain.Message, error) {
	return o.read(ctx, o.call(ctx, ports.OpGetCategoryMessages, "", category), func(ctx context.Context) ([]domain.Message, error) {
		return o.ms.GetCategoryMessages(ctx, category, opts)
	})
}

func (o *observed) GetAllMessages(ctx context.Context, opts domain.AllOpts) ([]domain.Message, error) {
	return o.read(ctx, o.call(ctx, ports.OpGetAllMessages, "", ""), func(ctx context.Context) ([]domain.Message, error) {
		return o.ms.GetAllMessages(ctx, opts)
	})
}

func (o *observed) GetLastStreamMessage(ctx context.Context, stream, msgType string) (domain.Message, error) {
	c := o.call(ctx, ports.OpGetLastStreamMessage, stream, "")
	var msg domain.Message
	err := o.s.observe(ctx, c, func(ctx context.Context) (err error) {
		msg, err = o.ms.GetLastStreamMessage(ctx, stream, msgType)
		if err == nil {
			c.Returned = 1
		}
		return err
	})
	return msg, err
}

func (o *observed) GetStreamVersion(ctx context.Context, stream string) (int64, error) {
	var v int64
	err := o.s.observe(ctx, o.call(ctx, ports.OpStreamVersion, stream, ""), func(ctx context.Context) (err error) {
		v, err = o.ms.GetStreamVersion(ctx, stream)
		return err
	})
	return v, err
}

func (o *observed) GetLastGlobalPosition(ctx context.Context, category string) (int64, error) {
	var last int64
	err := o.s.observe(ctx, o.call(ctx, ports.OpGetLastGlobalPosition, "", category), func(ctx context.Context) (err error) {
		last, err = o.ms.GetLastGlobalPosition(ctx, category)
		return err
	})
	return last, err
}

// importMessages imports into the backend's message store, an Importer.
func (o *observed) importMessages(ctx context.Context, msgs []domain.Message) error {
	imp := o.ms.(ports.Importer)
	c := o.call(ctx, ports.OpImportMessages, "", "")
	c.Messages = len(msgs)
	return o.s.observe(ctx, c, func(ctx context.Context) error {
		err := imp.ImportMessages(ctx, msgs)
		if err == nil && len(msgs) > 0 {
			c.GlobalPosition = msgs[len(msgs)-1].GlobalPosition
		}
		return err
	})
}

// watchCategory watches the backend's message store, a Watcher (not an
// observed call).
func (o *observed) watchCategory(ctx context.Context, category string) (<-chan struct{}, error) {
	return o.ms.(ports.Watcher).WatchCategory(ctx, category)
}

// write makes a write (op: OpWriteMessage with one message, or
// OpWriteMessages) under the observer.
func (o *observed) write(ctx context.Context, op ports.Operation, stream string, msgs []domain.NewMessage, expected domain.ExpectedVersion) ([]domain.WriteResult, error) {
	c := o.call(ctx, op, stream, "")
	c.Messages, c.Expected = len(msgs), expected
	ctx = o.s.obs.StartCall(ctx, c)
	var res []domain.WriteResult
	var err error
	if c.Consumer == "" {
		res, err = o.carryingWrite(ctx, op, stream, msgs, expected)
	} else { // a consumer's position: no one handles it
		res, err = o.backendWrite(ctx, op, stream, msgs, expected)
	}
	if err == nil && len(res) > 0 {
		c.GlobalPosition = res[len(res)-1].GlobalPosition
	}
	o.s.obs.EndCall(ctx, c, err)
	return res, err
}

// backendWrite makes a write as op says.
func (o *observed) backendWrite(ctx context.Context, op ports.Operation, stream string, msgs []domain.NewMessage, expected domain.ExpectedVersion) ([]domain.WriteResult, error) {
	if op == ports.OpWriteMessages {
		return o.ms.WriteMessages(ctx, stream, msgs, expected)
	}
	res, err := o.ms.WriteMessage(ctx, stream, msgs[0], expected)
	if err != nil {
		return nil, err
	}
	return []domain.WriteResult{res}, nil
}

// carryingWrite writes msgs with the observer's context in their metadata,
// when it carries context (ports.ContextInjector), under
// domain.TraceContextKey. The caller's messages are not modified, and
// messages whose metadata has the key, or is not an object, are written as
// they are.
//
// Carrying context must not change what a write does:
//   - A message that the context makes too large is written without it:
//     the write fails with domain.ErrMessageTooLarge (writing nothing) and
//     is made again as the caller gave it.
//   - A retry of a write (the same ids) stored under another context is
//     still an idempotent retry: when the write fails with a
//     *domain.DuplicateMessageIDError on metadata, the messages stored under
//     those ids are read, and the write is made again with their context in
//     place of this one's, so that the store compares the rest as ever.
func (o *observed) carryingWrite(ctx context.Context, op ports.Operation, stream string, msgs []domain.NewMessage, expected domain.ExpectedVersion) ([]domain.WriteResult, error) {
	if o.s.inject == nil {
		return o.backendWrite(ctx, op, stream, msgs, expected)
	}
	tc := o.s.inject.InjectContext(ctx)
	var carried []domain.NewMessage
	var added []bool
	for i, m := range msgs {
		meta, ok := domain.WithTraceContext(m.Metadata, tc)
		if !ok {
			continue
		}
		if carried == nil {
			carried, added = append([]domain.NewMessage(nil), msgs...), make([]bool, len(msgs))
		}
		carried[i].Metadata, added[i] = meta, true
	}
	if carried == nil {
		return o.backendWrite(ctx, op, stream, msgs, expected)
	}
	res, err := o.backendWrite(ctx, op, stream, carried, expected)
	if errors.Is(err, domain.ErrMessageTooLarge) {
		return o.backendWrite(ctx, op, stream, msgs, expected)
	}
	var dup *domain.DuplicateMessageIDError
	if !errors.As(err, &dup) || dup.Differs != "metadata" || dup.StoredStreamName != stream {
		return res, err
	}
	// The batch was stored at consecutive positions, message dup.Index at
	// dup.StoredPosition.
	first := dup.StoredPosition - int64(dup.Index)
	count := int64(len(msgs))
	stored, rerr := o.ms.GetStreamMessages(ctx, stream, domain.GetOpts{Position: first, BatchSize: &count})
	if rerr != nil || len(stored) != len(msgs) {
		return res, err
	}
	again := append([]domain.NewMessage(nil), msgs...)
	for i := range again {
		if stored[i].ID != msgs[i].ID {
			return res, err
		}
		if added[i] {
			again[i].Metadata, _ = domain.WithTraceContext(msgs[i].Metadata, domain.TraceContext(stored[i].Metadata))
		}
	}
	return o.backendWrite(ctx, op, stream, again, expected)
}
