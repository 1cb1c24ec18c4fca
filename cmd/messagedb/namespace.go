package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/messagedb-go/messagedb/domain"
)

var namespaceCommand = command{
	name:    "namespace",
	args:    "create ID [--description D] | delete ID | list | show ID",
	minArgs: 0,
	maxArgs: -1,
	short:   "create, delete, list or show namespaces",
	long: `
A namespace is an isolated tenant: its own streams and global positions, in
its own SQLite file or PostgreSQL schema. "delete" removes it with all its
messages, without asking. The namespace given by --namespace is created by
the first write, so "create" is only needed for a description.`,
	setup: func(fs *flag.FlagSet) runner {
		description := fs.String("description", "", "description `D` of a new namespace (create)")
		return func(ctx context.Context, c *cli, args []string) error {
			const synopsis = "create ID [--description D] | delete ID | list | show ID"
			if len(args) == 0 {
				return usagef("usage: messagedb namespace %s", synopsis)
			}
			action, args := args[0], args[1:]
			want := 1
			switch action {
			case "list":
				want = 0
			case "create", "delete", "show":
			default:
				return usagef("namespace: unknown action %q (use create, delete, list or show)", action)
			}
			if len(args) != want || (*description != "" && action != "create") {
				return usagef("usage: messagedb namespace %s", synopsis)
			}
			open := c.openExisting // reads and deletes find a store, never make one
			if action == "create" {
				open = c.open
			}
			s, err := open(ctx)
			if err != nil {
				return err
			}
			switch action {
			case "create":
				n, err := s.CreateNamespace(ctx, args[0], domain.NamespaceOptions{Description: *description})
				if err != nil {
					return err
				}
				return c.printNamespaces([]domain.Namespace{n})
			case "delete":
				if err := s.DeleteNamespace(ctx, args[0]); err != nil {
					return err
				}
				if c.json {
					return c.emitJSON(map[string]string{"deleted": args[0]})
				}
				_, err := fmt.Fprintf(c.stdout, "deleted namespace %s\n", args[0])
				return err
			case "list":
				nss, err := s.ListNamespaces(ctx)
				if err != nil {
					return err
				}
				return c.printNamespaces(nss)
			case "show":
				n, err := s.GetNamespace(ctx, args[0])
				if err != nil {
					return err
				}
				return c.printNamespaces([]domain.Namespace{n})
			}
			return nil
		}
	},
}
