package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/messagedb-go/messagedb/domain"
)

var namespaceCommand = command{
	name:    "namespace",
	args:    "create ID [--description D] [--grant ROLE]... | delete ID | list | show ID",
	minArgs: 0,
	maxArgs: -1,
	short:   "create, delete, list or show namespaces",
	long: `
A namespace is an isolated tenant: its own streams and global positions, in
its own SQLite file or PostgreSQL schema. "delete" removes it with all its
messages, without asking. The namespace given by --namespace is created by
the first write, so "create" is only needed for a description or roles.

--grant ROLE (repeatable) gives a PostgreSQL role what an application needs
to use the new namespace and nothing more: Message DB's functions, reading
and inserting messages, the report views, reading the registry. The role
must exist. SQLite has no roles: the names are checked, then ignored.`,
	setup: func(fs *flag.FlagSet) runner {
		description := fs.String("description", "", "description `D` of a new namespace (create)")
		var grant roles
		fs.Var(&grant, "grant", "a `ROLE` to grant a new namespace to (create; repeatable)")
		return func(ctx context.Context, c *cli, args []string) error {
			const synopsis = "create ID [--description D] [--grant ROLE]... | delete ID | list | show ID"
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
			if len(args) != want || ((*description != "" || len(grant) > 0) && action != "create") {
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
				n, err := s.CreateNamespace(ctx, args[0], domain.NamespaceOptions{Description: *description, Grant: grant})
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

// roles is a repeatable flag's values.
type roles []string

func (r *roles) String() string { return strings.Join(*r, ",") }

func (r *roles) Set(v string) error {
	*r = append(*r, v)
	return nil
}
