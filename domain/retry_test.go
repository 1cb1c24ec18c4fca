package domain_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messagedb-go/messagedb/domain"
)

func TestResolveStoredIDs(t *testing.T) {
	a := domain.NewMessage{ID: uuid.New(), Type: "Opened", Data: []byte(`{"owner":"ada"}`)}
	b := domain.NewMessage{ID: uuid.New(), Type: "Deposited", Data: []byte(`{"amount":5}`), Metadata: []byte(`{"k":1}`)}
	storedA := domain.Message{ID: a.ID, StreamName: "account-1", Type: "Opened", Position: 0, GlobalPosition: 7, Data: a.Data}
	storedB := domain.Message{ID: b.ID, StreamName: "account-1", Type: "Deposited", Position: 1, GlobalPosition: 9, Data: b.Data, Metadata: b.Metadata}

	res, err := domain.ResolveStoredIDs("account-1", []domain.NewMessage{a, b}, nil)
	require.NoError(t, err)
	assert.Nil(t, res, "no id stored: the write goes on")

	res, err = domain.ResolveStoredIDs("account-1", []domain.NewMessage{b, a}, []domain.Message{storedA, storedB})
	require.NoError(t, err)
	assert.Equal(t, []domain.WriteResult{{Position: 1, GlobalPosition: 9}, {Position: 0, GlobalPosition: 7}}, res,
		"a retry returns the stored results in the write's order")

	with := func(m domain.NewMessage, f func(*domain.NewMessage)) domain.NewMessage { f(&m); return m }
	for _, c := range []struct {
		name    string
		stream  string
		msgs    []domain.NewMessage
		differs string
		index   int
		text    string
	}{
		{"OtherStream", "account-2", []domain.NewMessage{a}, "stream", 0,
			"messagedb: duplicate message id: id " + a.ID.String() + " is stored at account-1/0 (global position 7, type Opened), not in account-2: the write to account-2 is not a retry of it"},
		{"OtherType", "account-1", []domain.NewMessage{with(a, func(m *domain.NewMessage) { m.Type = "Closed" })}, "type", 0,
			"messagedb: duplicate message id: id " + a.ID.String() + " is stored at account-1/0 (global position 7, type Opened), not of type Closed: the write to account-1 is not a retry of it"},
		{"OtherData", "account-1", []domain.NewMessage{with(a, func(m *domain.NewMessage) { m.Data = []byte(`{"owner":"bob"}`) })}, "data", 0, ""},
		{"OtherMetadata", "account-1", []domain.NewMessage{a, with(b, func(m *domain.NewMessage) { m.Metadata = nil })}, "metadata", 1,
			"messagedb: duplicate message id: id " + b.ID.String() + " is stored at account-1/1 (global position 9, type Deposited), with other metadata: the write (message 1) to account-1 is not a retry of it"},
		{"PartlyStored", "account-1", []domain.NewMessage{{ID: uuid.New(), Type: "X", Data: []byte(`{}`)}, a}, "batch", 1,
			"messagedb: duplicate message id: id " + a.ID.String() + " is stored at account-1/0 (global position 7, type Opened), but message 0 of this write to account-1 is new: a retry repeats a whole write"},
	} {
		t.Run(c.name, func(t *testing.T) {
			res, err := domain.ResolveStoredIDs(c.stream, c.msgs, []domain.Message{storedA, storedB})
			assert.Nil(t, res)
			require.ErrorIs(t, err, domain.ErrDuplicateMessageID)
			var dup *domain.DuplicateMessageIDError
			require.ErrorAs(t, err, &dup)
			assert.Equal(t, c.differs, dup.Differs)
			assert.Equal(t, c.index, dup.Index)
			assert.Equal(t, c.msgs[c.index].ID, dup.ID)
			stored := storedA
			if dup.ID == b.ID {
				stored = storedB
			}
			assert.Equal(t, stored.Position, dup.StoredPosition)
			assert.Equal(t, stored.GlobalPosition, dup.StoredGlobalPosition)
			assert.Equal(t, stored.StreamName, dup.StoredStreamName)
			if c.text != "" {
				assert.Equal(t, c.text, err.Error())
			}
			assert.Equal(t, 1, strings.Count(err.Error(), "messagedb:"), "one prefix: %s", err)
		})
	}
}

func TestWrapf(t *testing.T) {
	inner := domain.NamespaceNotFound("bank")
	err := domain.Wrapf(inner, "write %s", "account-1")
	assert.Equal(t, "messagedb: write account-1: namespace not found: bank", err.Error())
	assert.ErrorIs(t, err, domain.ErrNamespaceNotFound)
	assert.Nil(t, domain.Wrapf(nil, "x"))

	conflict := &domain.VersionConflictError{StreamName: "a-1", Expected: 0, Actual: 1}
	err = domain.Wrapf(domain.Wrapf(conflict, "one"), "two")
	assert.Equal(t, "messagedb: two: one: wrong expected version: 0 (stream: a-1, stream version: 1)", err.Error())
	var vc *domain.VersionConflictError
	assert.ErrorAs(t, err, &vc)

	foreign := errors.New("disk full")
	assert.Equal(t, "messagedb: write: disk full", domain.Wrapf(foreign, "write").Error())
}

func TestWrapAs(t *testing.T) {
	outer := errors.New("messagedb: invalid consumer")
	err := domain.WrapAs(outer, domain.ConsumerGroup{Member: 3, Size: 2}.Validate())
	assert.Equal(t, "messagedb: invalid consumer: invalid options: consumer group: member 3 (must be from 0 to size-1, 1)", err.Error())
	assert.ErrorIs(t, err, outer)
	assert.ErrorIs(t, err, domain.ErrInvalidConsumerGroup)
	assert.ErrorIs(t, err, domain.ErrInvalidOptions)
	assert.Nil(t, domain.WrapAs(outer, nil))
}

func TestErrorTexts(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{domain.NamespaceNotFound("bank"), "messagedb: namespace not found: bank"},
		{domain.NamespaceExists("bank"), "messagedb: namespace already exists: bank"},
		{domain.StreamNotFound("a-1", ""), "messagedb: stream not found: a-1 has no message"},
		{domain.StreamNotFound("a-1", "Opened"), "messagedb: stream not found: a-1 has no message of type Opened"},
	} {
		assert.Equal(t, c.want, c.err.Error())
	}
	_, err := domain.Limits{}.PrepareWrite("a-1", []domain.NewMessage{{Type: "A"}, {Type: "B", Data: []byte("{")}}, domain.AnyVersion)
	assert.Equal(t, "messagedb: message 1: invalid message: data is not valid JSON: unexpected end of JSON input", err.Error())
	assert.ErrorIs(t, err, domain.ErrInvalidMessage)
}
