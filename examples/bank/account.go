package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/messagedb-go/messagedb/app"
	"github.com/messagedb-go/messagedb/domain"
)

// Events of an account, written to its stream "account-<id>".
const (
	Opened             = "Opened"
	Deposited          = "Deposited"
	Withdrawn          = "Withdrawn"
	WithdrawalRejected = "WithdrawalRejected"
)

// event is the data of every account event; unused fields are omitted.
type event struct {
	Owner  string `json:"owner,omitempty"`
	Amount int64  `json:"amount,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// account is an account's state, folded from its stream.
type account struct {
	stream  string
	version int64 // the stream's version: the expected version of the next write
	opened  bool
	owner   string
	balance int64
}

// apply folds one event into the state.
func (a *account) apply(m domain.Message) error {
	var e event
	if err := json.Unmarshal(m.Data, &e); err != nil {
		return fmt.Errorf("%s/%d: %w", m.StreamName, m.Position, err)
	}
	switch m.Type {
	case Opened:
		a.opened, a.owner = true, e.Owner
	case Deposited:
		a.balance += e.Amount
	case Withdrawn:
		a.balance -= e.Amount
	}
	a.version = m.Position
	return nil
}

// bank handles commands: each loads an account from its stream, decides, and
// appends the resulting event with the version it loaded as the expected
// version, so that two commands racing on one account cannot both act on
// the same state.
type bank struct {
	ns *app.Namespace
	// log receives one line per thing that happened.
	log func(format string, args ...any)
}

func streamOf(id string) string { return "account-" + id }

// load reads an account's stream from the start.
func (b *bank) load(ctx context.Context, id string) (*account, error) {
	a := &account{stream: streamOf(id), version: domain.NoStream}
	for {
		msgs, err := b.ns.Read(ctx, a.stream, domain.GetOpts{Position: a.version + 1})
		if err != nil {
			return nil, err
		}
		if len(msgs) == 0 {
			return a, nil
		}
		for _, m := range msgs {
			if err := a.apply(m); err != nil {
				return nil, err
			}
		}
	}
}

// errRejected is a command refused by the account's rules.
var errRejected = errors.New("rejected")

// decision is what a command decided: the event to append.
type decision struct {
	typ string
	evt event
}

// execute runs a command against an account: load, decide, append with the
// loaded version expected. When another writer appended in between, the
// write is refused with a version conflict, and the command runs again on
// the new state, up to a few times.
func (b *bank) execute(ctx context.Context, id string, decide func(a *account, attempt int) (decision, error)) (*account, decision, error) {
	const maxAttempts = 3
	for attempt := 1; ; attempt++ {
		a, err := b.load(ctx, id)
		if err != nil {
			return nil, decision{}, err
		}
		d, err := decide(a, attempt)
		if err != nil {
			return a, d, err
		}
		data, err := json.Marshal(d.evt)
		if err != nil {
			return a, d, err
		}
		res, err := b.ns.Write(ctx, a.stream, domain.NewMessage{Type: d.typ, Data: data}, domain.ExpectVersion(a.version))
		var conflict *domain.VersionConflictError
		if errors.As(err, &conflict) && attempt < maxAttempts {
			b.log("  version conflict on %s: loaded version %d, stream is at %d; retrying",
				conflict.StreamName, conflict.Expected, conflict.Actual)
			continue
		}
		if err != nil {
			return a, d, err
		}
		// Reflect the write in the state returned.
		if err := a.apply(domain.Message{StreamName: a.stream, Type: d.typ, Position: res.Position, Data: data}); err != nil {
			return a, d, err
		}
		return a, d, nil
	}
}

// Open opens an account.
func (b *bank) Open(ctx context.Context, id, owner string) error {
	b.log("open account %s for %s", id, owner)
	a, _, err := b.execute(ctx, id, func(a *account, _ int) (decision, error) {
		if a.opened {
			return decision{}, fmt.Errorf("%w: account %s is already open", errRejected, id)
		}
		return decision{Opened, event{Owner: owner}}, nil
	})
	return b.report(err, a)
}

// Deposit adds money to an open account.
func (b *bank) Deposit(ctx context.Context, id string, amount int64) error {
	b.log("deposit %d into account %s", amount, id)
	a, _, err := b.execute(ctx, id, func(a *account, _ int) (decision, error) {
		if !a.opened {
			return decision{}, fmt.Errorf("%w: account %s is not open", errRejected, id)
		}
		return decision{Deposited, event{Amount: amount}}, nil
	})
	return b.report(err, a)
}

// Withdraw takes money from an account that holds enough; otherwise it
// records a rejection.
func (b *bank) Withdraw(ctx context.Context, id string, amount int64) error {
	return b.withdraw(ctx, id, amount, nil)
}

// withdraw is Withdraw with a hook run after the account is loaded and
// before the event is written, which the demonstration of a conflict uses
// to let another teller act in between.
func (b *bank) withdraw(ctx context.Context, id string, amount int64, between func(attempt int) error) error {
	b.log("withdraw %d from account %s", amount, id)
	a, d, err := b.execute(ctx, id, func(a *account, attempt int) (decision, error) {
		if between != nil {
			if err := between(attempt); err != nil {
				return decision{}, err
			}
		}
		if !a.opened {
			return decision{}, fmt.Errorf("%w: account %s is not open", errRejected, id)
		}
		if a.balance < amount {
			return decision{WithdrawalRejected, event{Amount: amount, Reason: "insufficient funds"}}, nil
		}
		return decision{Withdrawn, event{Amount: amount}}, nil
	})
	if err == nil && d.typ == WithdrawalRejected {
		b.log("  rejected: insufficient funds (balance %d), recorded as %s at %s/%d", a.balance, d.typ, a.stream, a.version)
		return nil
	}
	return b.report(err, a)
}

// report logs a command's outcome.
func (b *bank) report(err error, a *account) error {
	switch {
	case errors.Is(err, errRejected):
		b.log("  %v", err)
		return nil
	case err != nil:
		return err
	default:
		b.log("  ok: balance %d, %s at version %d", a.balance, a.stream, a.version)
	}
	return nil
}
