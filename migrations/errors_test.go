package migrations_test

import (
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/migrations"
)

func TestErrorsMatchTheirSentinels(t *testing.T) {
	cause := errors.New("syntax error")
	var err error = &migrations.Error{File: "001_x.sql", Err: cause}
	if !errors.Is(err, domain.ErrMigrationFailed) || !errors.Is(err, cause) || errors.Is(err, domain.ErrMigrationPending) {
		t.Error("Error must match ErrMigrationFailed only, and unwrap to its cause")
	}
	if !strings.Contains(err.Error(), "001_x.sql") {
		t.Errorf("Error does not name its file: %v", err)
	}

	err = &migrations.PendingError{Schema: "messagedb_shop", Versions: []string{"004_a", "005_b"}, Role: "app", Owner: "admin"}
	if !errors.Is(err, domain.ErrMigrationPending) || errors.Is(err, domain.ErrMigrationFailed) {
		t.Error("PendingError must match ErrMigrationPending only")
	}
	for _, want := range []string{"messagedb_shop", "004_a, 005_b", "role app", `"messagedb migrate" as role admin`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not say %q", err, want)
		}
	}
}

// Each backend names its folders; a name without folders is an error, not
// an empty set of migrations that would leave a database unmigrated.
func TestFolders(t *testing.T) {
	for _, c := range []struct {
		open    func(string) (fs.FS, error)
		backend string
		first   string
	}{
		{migrations.Metadata, "postgres", "001_namespace_registry.sql"},
		{migrations.Metadata, "sqlite", "001_namespace_registry.sql"},
		{migrations.Namespace, "postgres", "001_message_db.sql"},
		{migrations.Namespace, "sqlite", "001_message_db.sql"},
	} {
		fsys, err := c.open(c.backend)
		if err != nil {
			t.Fatalf("%s: %v", c.backend, err)
		}
		names, err := fs.Glob(fsys, "*.sql")
		if err != nil || len(names) == 0 || names[0] != c.first {
			t.Errorf("%s: files %v, %v: want %s first", c.backend, names, err, c.first)
		}
	}
	for _, bad := range []string{"oracle", "", ".", "..", "postgres/..", "../namespace/postgres", "postgres/x"} {
		if _, err := migrations.Namespace(bad); err == nil {
			t.Errorf("Namespace(%q): no error", bad)
		}
		if _, err := migrations.Metadata(bad); err == nil {
			t.Errorf("Metadata(%q): no error", bad)
		}
	}
}
