package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"

	"github.com/messagedb-go/messagedb/app"
	"github.com/messagedb-go/messagedb/domain"
)

// Open an in-memory store, make sure a namespace exists, write to a stream
// with expected versions and read it back.
func Example() {
	ctx := context.Background()
	store, err := app.Open(ctx, "memory:", nil) // or "sqlite:./data", "postgres://..."
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	ns, err := store.EnsureNamespace(ctx, "bank", domain.NamespaceOptions{Description: "accounts"})
	if err != nil {
		log.Fatal(err)
	}

	// The first write requires a new stream; the next one the version the
	// first left.
	opened := domain.NewMessage{Type: "Opened", Data: json.RawMessage(`{"owner":"ada"}`)}
	if _, err := ns.Write(ctx, "account-1", opened, domain.ExpectVersion(domain.NoStream)); err != nil {
		log.Fatal(err)
	}
	deposited := domain.NewMessage{Type: "Deposited", Data: json.RawMessage(`{"amount": 100}`)}
	res, err := ns.Write(ctx, "account-1", deposited, domain.ExpectVersion(0))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("deposited at position", res.Position)

	// A writer that read an older version is refused.
	_, err = ns.Write(ctx, "account-1", deposited, domain.ExpectVersion(0))
	var conflict *domain.VersionConflictError
	if errors.As(err, &conflict) {
		fmt.Printf("conflict: expected %d, stream is at %d\n", conflict.Expected, conflict.Actual)
	}

	msgs, err := ns.Read(ctx, "account-1", domain.GetOpts{})
	if err != nil {
		log.Fatal(err)
	}
	for _, m := range msgs {
		fmt.Println(m.Position, m.Type, string(m.Data))
	}
	// Output:
	// deposited at position 1
	// conflict: expected 0, stream is at 1
	// 0 Opened {"owner":"ada"}
	// 1 Deposited {"amount":100}
}

// A consumer hands the messages of a category to a handler in global order
// and stores its position, so that it resumes where it stopped. OnCaughtUp
// says when it has handled everything written so far.
func ExampleNamespace_NewConsumer() {
	ctx := context.Background()
	store, err := app.Open(ctx, "memory:", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	ns, err := store.EnsureNamespace(ctx, "bank", domain.NamespaceOptions{})
	if err != nil {
		log.Fatal(err)
	}
	for i, amount := range []int{10, 20, 30} {
		stream := fmt.Sprintf("account-%d", i%2+1)
		data := fmt.Appendf(nil, `{"amount":%d}`, amount)
		if _, err := ns.Write(ctx, stream, domain.NewMessage{Type: "Deposited", Data: data}, domain.AnyVersion); err != nil {
			log.Fatal(err)
		}
	}

	balances := map[string]int{}
	runCtx, stop := context.WithCancel(ctx)
	consumer, err := ns.NewConsumer("account", func(ctx context.Context, m domain.Message) error {
		var d struct{ Amount int }
		if err := json.Unmarshal(m.Data, &d); err != nil {
			return err
		}
		balances[m.StreamName] += d.Amount
		return nil
	}, app.ConsumerOptions{
		ID:         "balances",
		OnCaughtUp: func(int64) { stop() }, // a service would keep running instead
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := consumer.Run(runCtx); err != nil {
		log.Fatal(err)
	}
	fmt.Println(balances["account-1"], balances["account-2"])

	pos, err := consumer.Position(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("position", pos, "stored in", consumer.PositionStream())
	// Output:
	// 40 20
	// position 3 stored in account:position-balances
}

// Open reads MESSAGEDB_URL when given no URL; a URL it does not understand
// is an error naming the forms it accepts.
func ExampleOpen_invalidURL() {
	_, err := app.Open(context.Background(), "mysql://localhost/db", nil)
	fmt.Println(errors.Is(err, app.ErrInvalidURL))
	// Output:
	// true
}
