package app

import (
	"context"
	"fmt"

	"github.com/messagedb-go/messagedb/domain"
)

// CopyOptions adjust CopyNamespace. The zero value copies into an empty
// namespace in batches of domain.DefaultBatchSize without progress reports.
type CopyOptions struct {
	// BatchSize is how many messages are read and imported at a time (each
	// batch is one transaction on the target); default
	// domain.DefaultBatchSize.
	BatchSize int64
	// Resume continues an interrupted copy: the target may hold messages
	// when they are the start of the source (the same id at its last global
	// position), and the copy goes on after them. Without Resume a target
	// holding any message is refused.
	Resume bool
	// Progress, when set, is called after each batch with the number of
	// messages the target holds and the number the source held when the copy
	// started (counted first, which reads the source once more). Writes to
	// the source during the copy can make done exceed total.
	Progress func(done, total int64)
}

// CopyResult says what CopyNamespace did.
type CopyResult struct {
	// Copied is the number of messages imported by this call.
	Copied int64
	// Kept is the number of messages the target already held (Resume).
	Kept int64
	// LastGlobalPosition is the global position of the last message in the
	// target, 0 when it is empty.
	LastGlobalPosition int64
}

// CopyNamespace copies every message of src into dst as it is — ids, stream
// positions, global positions, times — so that reads of dst return what
// reads of src returned. dst must be empty, or hold the start of src with
// opts.Resume; otherwise the error matches ErrTargetNotEmpty. dst's backend
// must support import (both bundled backends do), else the error matches
// ErrUnsupported.
//
// Each batch is imported all or nothing, so a copy that fails or is
// cancelled leaves dst holding the start of src, and can be resumed.
// Messages written to src while the copy runs are copied if the copy reaches
// them; run it again with Resume to copy later ones.
func CopyNamespace(ctx context.Context, src, dst *Namespace, opts CopyOptions) (CopyResult, error) {
	batch := opts.BatchSize
	if batch <= 0 {
		batch = domain.DefaultBatchSize
	}
	var res CopyResult
	kept, last, err := scanAll(ctx, dst, batch)
	if err != nil {
		return res, domain.Wrapf(err, "copy: read target namespace %s", dst.id)
	}
	res.Kept = kept
	if kept > 0 {
		if !opts.Resume {
			return res, fmt.Errorf("%w: copy: %s holds %d message(s) (resume an interrupted copy of the same source, or copy into an empty namespace)",
				ErrTargetNotEmpty, dst.id, kept)
		}
		at, err := src.ReadAll(ctx, domain.AllOpts{Position: last.GlobalPosition, BatchSize: new(int64(1))})
		if err != nil {
			return res, domain.Wrapf(err, "copy: read source namespace %s", src.id)
		}
		if len(at) == 0 || at[0].GlobalPosition != last.GlobalPosition || at[0].ID != last.ID {
			return res, fmt.Errorf("%w: copy: %s is not a copy of the start of %s (its message %s at global position %d is not in the source)",
				ErrTargetNotEmpty, dst.id, src.id, last.ID, last.GlobalPosition)
		}
		res.LastGlobalPosition = last.GlobalPosition
	}
	var total int64
	if opts.Progress != nil {
		if total, _, err = scanAll(ctx, src, batch); err != nil {
			return res, domain.Wrapf(err, "copy: count source namespace %s", src.id)
		}
		opts.Progress(kept, total)
	}
	for {
		msgs, err := src.ReadAll(ctx, domain.AllOpts{Position: res.LastGlobalPosition + 1, BatchSize: &batch})
		if err != nil {
			return res, domain.Wrapf(err, "copy: read source namespace %s from %d", src.id, res.LastGlobalPosition+1)
		}
		if len(msgs) == 0 {
			return res, nil
		}
		if err := dst.Import(ctx, msgs); err != nil {
			return res, domain.Wrapf(err, "copy: import %d message(s) from global position %d", len(msgs), msgs[0].GlobalPosition)
		}
		res.Copied += int64(len(msgs))
		res.LastGlobalPosition = msgs[len(msgs)-1].GlobalPosition
		if opts.Progress != nil {
			opts.Progress(res.Kept+res.Copied, total)
		}
	}
}

// scanAll counts a namespace's messages and returns its last one.
func scanAll(ctx context.Context, n *Namespace, batch int64) (count int64, last domain.Message, err error) {
	next := domain.FirstGlobalPosition
	for {
		msgs, err := n.ReadAll(ctx, domain.AllOpts{Position: next, BatchSize: &batch})
		if err != nil {
			return count, last, err
		}
		if len(msgs) == 0 {
			return count, last, nil
		}
		count += int64(len(msgs))
		last = msgs[len(msgs)-1]
		next = last.GlobalPosition + 1
	}
}
