package app

import (
	"context"
	"errors"

	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/ports"
)

// The observed paths of Namespace's methods: each method checks its
// observer once, and comes here only when there is one.

// call describes a call on the namespace, made by consumer ("" for the
// application) on stream or category.
func (n *Namespace) call(op ports.Operation, consumer, stream, category string) *ports.Call {
	if stream != "" {
		category = domain.Category(stream)
	}
	return &ports.Call{Operation: op, System: n.s.system, Namespace: n.id, Stream: stream, Category: category, Consumer: consumer}
}

// observe makes the call f under the observer.
func (s *Store) observe(ctx context.Context, c *ports.Call, f func(context.Context) error) error {
	ctx = s.obs.StartCall(ctx, c)
	err := f(ctx)
	s.obs.EndCall(ctx, c, err)
	return err
}

func (n *Namespace) observeRead(ctx context.Context, c *ports.Call, read func(context.Context) ([]domain.Message, error)) ([]domain.Message, error) {
	ctx = n.obs.StartCall(ctx, c)
	msgs, err := read(ctx)
	c.Returned = len(msgs)
	n.obs.EndCall(ctx, c, err)
	return msgs, err
}

func (n *Namespace) observeReadCategory(ctx context.Context, consumer, category string, opts domain.CategoryOpts) ([]domain.Message, error) {
	return n.observeRead(ctx, n.call(ports.OpGetCategoryMessages, consumer, "", category), func(ctx context.Context) ([]domain.Message, error) {
		return n.store.GetCategoryMessages(ctx, category, opts)
	})
}

func (n *Namespace) observeLastGlobalPosition(ctx context.Context, consumer, category string) (int64, error) {
	var last int64
	err := n.s.observe(ctx, n.call(ports.OpGetLastGlobalPosition, consumer, "", category), func(ctx context.Context) (err error) {
		last, err = n.store.GetLastGlobalPosition(ctx, category)
		return err
	})
	return last, err
}

func (n *Namespace) observeLast(ctx context.Context, consumer, stream, msgType string) (domain.Message, error) {
	c := n.call(ports.OpGetLastStreamMessage, consumer, stream, "")
	var msg domain.Message
	err := n.s.observe(ctx, c, func(ctx context.Context) (err error) {
		msg, err = n.store.GetLastStreamMessage(ctx, stream, msgType)
		if err == nil {
			c.Returned = 1
		}
		return err
	})
	return msg, err
}

// The calls a consumer makes, as the namespace's methods but told apart.

func (n *Namespace) readCategoryBy(ctx context.Context, consumer, category string, opts domain.CategoryOpts) ([]domain.Message, error) {
	if n.obs == nil {
		return n.store.GetCategoryMessages(ctx, category, opts)
	}
	return n.observeReadCategory(ctx, consumer, category, opts)
}

func (n *Namespace) lastGlobalPositionBy(ctx context.Context, consumer, category string) (int64, error) {
	if n.obs == nil {
		return n.store.GetLastGlobalPosition(ctx, category)
	}
	return n.observeLastGlobalPosition(ctx, consumer, category)
}

func (n *Namespace) lastBy(ctx context.Context, consumer, stream, msgType string) (domain.Message, error) {
	if n.obs == nil {
		return n.store.GetLastStreamMessage(ctx, stream, msgType)
	}
	return n.observeLast(ctx, consumer, stream, msgType)
}

func (n *Namespace) writeBy(ctx context.Context, consumer, stream string, msg domain.NewMessage, expected domain.ExpectedVersion) (domain.WriteResult, error) {
	if n.obs == nil {
		return n.store.WriteMessage(ctx, stream, msg, expected)
	}
	return n.observeWrite(ctx, consumer, stream, msg, expected)
}

func (n *Namespace) observeWrite(ctx context.Context, consumer, stream string, msg domain.NewMessage, expected domain.ExpectedVersion) (domain.WriteResult, error) {
	res, err := n.observeWrites(ctx, ports.OpWriteMessage, consumer, stream, []domain.NewMessage{msg}, expected)
	if err != nil {
		return domain.WriteResult{}, err
	}
	return res[0], nil
}

// observeWrites makes a write (op: OpWriteMessage with one message, or
// OpWriteMessages) under the observer.
func (n *Namespace) observeWrites(ctx context.Context, op ports.Operation, consumer, stream string, msgs []domain.NewMessage, expected domain.ExpectedVersion) ([]domain.WriteResult, error) {
	c := n.call(op, consumer, stream, "")
	c.Messages, c.Expected = len(msgs), expected
	ctx = n.obs.StartCall(ctx, c)
	var res []domain.WriteResult
	var err error
	if consumer == "" {
		res, err = n.carryingWrite(ctx, op, stream, msgs, expected)
	} else { // a position: no one handles it
		res, err = n.write(ctx, op, stream, msgs, expected)
	}
	if err == nil && len(res) > 0 {
		c.GlobalPosition = res[len(res)-1].GlobalPosition
	}
	n.obs.EndCall(ctx, c, err)
	return res, err
}

// write makes a write as op says.
func (n *Namespace) write(ctx context.Context, op ports.Operation, stream string, msgs []domain.NewMessage, expected domain.ExpectedVersion) ([]domain.WriteResult, error) {
	if op == ports.OpWriteMessages {
		return n.store.WriteMessages(ctx, stream, msgs, expected)
	}
	res, err := n.store.WriteMessage(ctx, stream, msgs[0], expected)
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
func (n *Namespace) carryingWrite(ctx context.Context, op ports.Operation, stream string, msgs []domain.NewMessage, expected domain.ExpectedVersion) ([]domain.WriteResult, error) {
	if n.s.inject == nil {
		return n.write(ctx, op, stream, msgs, expected)
	}
	tc := n.s.inject.InjectContext(ctx)
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
		return n.write(ctx, op, stream, msgs, expected)
	}
	res, err := n.write(ctx, op, stream, carried, expected)
	if errors.Is(err, domain.ErrMessageTooLarge) {
		return n.write(ctx, op, stream, msgs, expected)
	}
	var dup *domain.DuplicateMessageIDError
	if !errors.As(err, &dup) || dup.Differs != "metadata" || dup.StoredStreamName != stream {
		return res, err
	}
	// The batch was stored at consecutive positions, message dup.Index at
	// dup.StoredPosition.
	first := dup.StoredPosition - int64(dup.Index)
	count := int64(len(msgs))
	stored, rerr := n.store.GetStreamMessages(ctx, stream, domain.GetOpts{Position: first, BatchSize: &count})
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
	return n.write(ctx, op, stream, again, expected)
}
