// Command bank is a small event-sourced application on messagedb: commands
// append events to account streams with expected versions, and a consumer
// projects the balances from the account category.
//
//	go run ./examples/bank
//	MESSAGEDB_URL=sqlite:./bank-data go run ./examples/bank
//	MESSAGEDB_OTEL=stdout go run ./examples/bank 2>telemetry.json
//
// It opens the store $MESSAGEDB_URL names, by default an in-memory one, on
// which every run starts empty and prints the same story: accounts opened,
// deposits, withdrawals (one rejected for insufficient funds), two tellers
// racing on one account (a version conflict, retried), and the balances
// the consumer projected. On a store that outlives the run, run it twice:
// the second run finds the accounts open, and its consumer resumes after
// the position the first one stored, handling only the new messages.
//
// With MESSAGEDB_OTEL=stdout it reports to OpenTelemetry (see the README's
// Observability): the spans of every store call and handler, one trace
// from each command's write to the consumer's handling of it, the metrics,
// and the store's and consumer's logs, all written to stderr as JSON.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"sync"

	"github.com/messagedb-go/messagedb/app"
	"github.com/messagedb-go/messagedb/domain"
)

func main() {
	ctx := context.Background()
	opts, shutdown, err := telemetry(os.Getenv, os.Stderr)
	if err == nil {
		err = run(ctx, os.Stdout, storeURL(os.Getenv), opts)
		err = errors.Join(err, shutdown(ctx))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bank:", err)
		os.Exit(1)
	}
}

// storeURL is the store to run on: $MESSAGEDB_URL, else one in memory.
func storeURL(getenv func(string) string) string {
	if url := getenv(app.EnvURL); url != "" {
		return url
	}
	return "memory:"
}

// balances is the read model the consumer builds.
type balances struct {
	mu      sync.Mutex
	owner   map[string]string
	amount  map[string]int64
	applied map[string]int64 // stream position applied last, per account
}

// project is the consumer's handler: it folds each account event into the
// read model. Delivery is at least once (after a crash, the messages since
// the consumer's last stored position come again), so it skips what it has
// applied already, by stream position.
func (b *balances) project(_ context.Context, m domain.Message) error {
	var e event
	if err := json.Unmarshal(m.Data, &e); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if last, ok := b.applied[m.StreamName]; ok && m.Position <= last {
		return nil
	}
	b.applied[m.StreamName] = m.Position
	switch m.Type {
	case Opened:
		b.owner[m.StreamName] = e.Owner
	case Deposited:
		b.amount[m.StreamName] += e.Amount
	case Withdrawn:
		b.amount[m.StreamName] -= e.Amount
	}
	return nil
}

// run tells the story on the store at url, opened with opts (nil: the
// defaults).
func run(ctx context.Context, out io.Writer, url string, opts *app.Options) error {
	store, err := app.Open(ctx, url, opts)
	if err != nil {
		return err
	}
	defer store.Close()
	ns, err := store.EnsureNamespace(ctx, "bank", domain.NamespaceOptions{Description: "examples/bank"})
	if err != nil {
		return err
	}
	logf := func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...) }
	b := &bank{ns: ns, log: logf}

	// The projection runs alongside the commands, as it would in a service.
	view := &balances{owner: map[string]string{}, amount: map[string]int64{}, applied: map[string]int64{}}
	caughtUp := make(chan int64, 1)
	consumer, err := ns.NewConsumer("account", view.project, app.ConsumerOptions{
		ID: "balances",
		OnCaughtUp: func(gp int64) {
			select { // keep only the latest position
			case <-caughtUp:
			default:
			}
			caughtUp <- gp
		},
	})
	if err != nil {
		return err
	}
	resumed, err := consumer.Position(ctx)
	if err != nil {
		return err
	}
	lag, err := consumer.Lag(ctx)
	if err != nil {
		return err
	}
	logf("consumer %q resumes after global position %d, %d behind the account category", "balances", resumed, lag)
	consumerCtx, stopConsumer := context.WithCancel(ctx)
	defer stopConsumer()
	consumed := make(chan error, 1)
	go func() { consumed <- consumer.Run(consumerCtx) }()

	steps := []func() error{
		func() error { return b.Open(ctx, "1", "ada") },
		func() error { return b.Open(ctx, "2", "grace") },
		func() error { return b.Deposit(ctx, "1", 100) },
		func() error { return b.Deposit(ctx, "2", 50) },
		func() error { return b.Withdraw(ctx, "1", 30) },
		func() error { return b.Withdraw(ctx, "2", 80) }, // more than the balance: rejected
		func() error { return b.Deposit(ctx, "3", 10) },  // no such account: rejected
		func() error { return b.Open(ctx, "1", "ada") },  // already open: rejected
		func() error {
			// Two tellers withdraw from account 1 at once. Teller B loads the
			// account (version 2, balance 70), then teller A's withdrawal
			// lands before B writes: B's expected version is stale, its write
			// is refused, and B runs again on the new state.
			tellerA := &bank{ns: ns, log: func(format string, args ...any) { logf("    "+format, args...) }}
			logf("two tellers withdraw from account 1 at once; teller B:")
			return b.withdraw(ctx, "1", 40, func(attempt int) error {
				if attempt > 1 {
					return nil
				}
				logf("  teller A, between B's read and B's write:")
				return tellerA.Withdraw(ctx, "1", 20)
			})
		},
		func() error { return b.Deposit(ctx, "2", 25) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}

	// Wait until the consumer has handled everything written.
	last, err := ns.LastGlobalPosition(ctx, "account")
	if err != nil {
		return err
	}
	for gp := int64(0); gp < last; {
		select {
		case gp = <-caughtUp:
		case err := <-consumed:
			return fmt.Errorf("consumer stopped: %w", err)
		}
	}
	stopConsumer()
	if err := <-consumed; err != nil {
		return err
	}
	pos, err := consumer.Position(ctx)
	if err != nil {
		return err
	}
	if lag, err = consumer.Lag(ctx); err != nil {
		return err
	}

	logf("")
	logf("balances projected by consumer %q (position %d in %s, %d behind):", "balances", pos, consumer.PositionStream(), lag)
	if resumed > 0 {
		// The read model lives in memory: it holds what this run handled.
		logf("  (from the messages after global position %d: the read model is rebuilt in memory on each run)", resumed)
	}
	streams := make([]string, 0, len(view.applied))
	for s := range view.applied {
		streams = append(streams, s)
	}
	sort.Strings(streams)
	for _, s := range streams {
		logf("  %-10s %-6s %4d", s, view.owner[s], view.amount[s])
	}
	return nil
}
