package domain

import (
	"bytes"
	"fmt"

	"github.com/google/uuid"
)

// ResolveStoredIDs is the rule every backend applies when some ids of a
// write are stored already: an id names one message. msgs are the write's
// messages as PrepareWrite returned them (canonical data and metadata), and
// stored the messages found under their ids, in any order (the ids not
// found are absent). Backends call it under the same lock as the write, so
// that what they found is what the write would meet.
//
//   - No id stored: it returns nil, nil and the write goes on.
//   - Every id stored in streamName with the same type, data and metadata
//     (canonical forms compared byte for byte): the write is an idempotent
//     retry. It returns the stored results, in the order of msgs; nothing is
//     written and no expected version is checked.
//   - Otherwise a *DuplicateMessageIDError (matching ErrDuplicateMessageID)
//     about the first message of msgs stored differently, else, when the
//     stored ones are the same but others are new, about the first stored
//     one and the first new one.
func ResolveStoredIDs(streamName string, msgs []NewMessage, stored []Message) ([]WriteResult, error) {
	if len(stored) == 0 {
		return nil, nil
	}
	byID := make(map[uuid.UUID]*Message, len(stored))
	for i := range stored {
		byID[stored[i].ID] = &stored[i]
	}
	results := make([]WriteResult, len(msgs))
	firstStored, firstNew := -1, -1
	for i, m := range msgs {
		s, ok := byID[m.ID]
		if !ok {
			if firstNew < 0 {
				firstNew = i
			}
			continue
		}
		if firstStored < 0 {
			firstStored = i
		}
		if differs := difference(streamName, m, s); differs != "" {
			return nil, duplicate(streamName, i, m, s, differs)
		}
		results[i] = WriteResult{Position: s.Position, GlobalPosition: s.GlobalPosition}
	}
	switch {
	case firstStored < 0:
		return nil, nil
	case firstNew >= 0:
		err := duplicate(streamName, firstStored, msgs[firstStored], byID[msgs[firstStored].ID], "batch")
		err.NewIndex = firstNew
		return nil, err
	}
	return results, nil
}

// difference names what differs between a message to write and the one
// stored under its id, or "" when it is the same message.
func difference(streamName string, m NewMessage, s *Message) string {
	switch {
	case s.StreamName != streamName:
		return "stream"
	case s.Type != m.Type:
		return "type"
	case !bytes.Equal(s.Data, m.Data):
		return "data"
	case !bytes.Equal(s.Metadata, m.Metadata):
		return "metadata"
	}
	return ""
}

func duplicate(streamName string, i int, m NewMessage, s *Message, differs string) *DuplicateMessageIDError {
	return &DuplicateMessageIDError{
		ID: m.ID, StreamName: streamName, Index: i, Type: m.Type, Differs: differs,
		StoredStreamName: s.StreamName, StoredType: s.Type,
		StoredPosition: s.Position, StoredGlobalPosition: s.GlobalPosition,
	}
}

// CheckImport applies an import's rules (see ports.Importer) to messages
// that PrepareImport returned, against what the namespace holds, so that
// every backend refuses an import the same way: lastGlobalPosition is the
// highest global position stored (0 when none), versions the version of
// each stream of msgs that holds messages (a stream absent holds none), and
// stored the ids of msgs stored already. The first message that breaks a
// rule, in order, gives the error: a global position not above the stored
// ones (ErrInvalidMessage), a position that is not its stream's version +
// 1 (a *VersionConflictError), an id stored already
// (ErrDuplicateMessageID).
func CheckImport(msgs []Message, lastGlobalPosition int64, versions map[string]int64, stored map[uuid.UUID]bool) error {
	if len(msgs) > 0 && msgs[0].GlobalPosition <= lastGlobalPosition {
		return fmt.Errorf("%w: import message 0 (%s): global position %d is not above the highest stored, %d",
			ErrInvalidMessage, msgs[0].ID, msgs[0].GlobalPosition, lastGlobalPosition)
	}
	next := make(map[string]int64)
	for i, m := range msgs {
		v, ok := next[m.StreamName]
		if !ok {
			if v, ok = versions[m.StreamName]; !ok {
				v = NoStream
			}
		}
		if m.Position != v+1 {
			return Wrapf(&VersionConflictError{StreamName: m.StreamName, Expected: m.Position - 1, Actual: v},
				"import message %d (%s)", i, m.ID)
		}
		if stored[m.ID] {
			return fmt.Errorf("%w: import message %d: id %s is stored already", ErrDuplicateMessageID, i, m.ID)
		}
		next[m.StreamName] = m.Position
	}
	return nil
}
