package sqlite_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messagedb-go/messagedb/adapters/sqlite"
	"github.com/messagedb-go/messagedb/domain"
)

// files returns every path under root, relative to it.
func files(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	require.NoError(t, filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		out = append(out, rel)
		return err
	}))
	return out
}

// Hostile namespace ids are refused before any path is built from them: no
// file or directory appears inside or outside the data directory.
func TestStore_HostileNamespaceIDsCreateNoFile(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "data")
	s := openStore(t, sqlite.Options{Dir: dir})
	ctx := context.Background()
	before := files(t, parent)

	b := make([]byte, 6)
	_, _ = rand.Read(b)
	tag := "pwned" + hex.EncodeToString(b) // unique to this run
	outside := filepath.Join(os.TempDir(), tag)
	hostile := []string{
		"../" + tag, "../../" + tag, "../data/" + tag, outside, "/" + tag, "x/../../" + tag,
		tag + "/x", tag + `\..\x`, tag + "\x00", tag + "\x00/../x", ".", "..", "", tag + ".db",
		"namespaces/" + tag, "../registry", "registry", // "registry" is valid: a namespace, not the registry file
		strings.ToUpper(tag), "\u0440" + tag[1:], tag + strings.Repeat("x", domain.MaxNamespaceIDLength),
		"~/" + tag, "$HOME/" + tag, tag + "*", tag + "?", tag + ":x",
	}
	for _, id := range hostile {
		if id == "registry" {
			continue
		}
		_, err := s.CreateNamespace(ctx, id, domain.NamespaceOptions{})
		assert.ErrorIs(t, err, domain.ErrInvalidNamespace, "CreateNamespace(%q)", id)
		_, err = s.Namespace(ctx, id)
		assert.ErrorIs(t, err, domain.ErrInvalidNamespace, "Namespace(%q)", id)
		assert.ErrorIs(t, s.DeleteNamespace(ctx, id), domain.ErrInvalidNamespace, "DeleteNamespace(%q)", id)
	}
	assert.Equal(t, before, files(t, parent), "no file was created or removed around the data directory")
	for _, p := range []string{outside, outside + ".db", filepath.Join(parent, tag), filepath.Join(parent, tag+".db"), "/" + tag, "/" + tag + ".db"} {
		_, err := os.Stat(p)
		assert.True(t, errors.Is(err, fs.ErrNotExist), "%s must not exist: %v", p, err)
	}

	// "registry" is a valid id: its file is namespaces/registry.db, apart
	// from the registry's registry.db.
	_, err := s.CreateNamespace(ctx, "registry", domain.NamespaceOptions{})
	require.NoError(t, err)
	got := files(t, dir)
	assert.Contains(t, got, filepath.Join("namespaces", "registry.db"))
	assert.Contains(t, got, "registry.db")
	list, err := s.ListNamespaces(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, "registry", list[0].ID)
}

// Distinct valid ids never share a file: each has namespaces/<id>.db,
// holding only its own messages.
func TestStore_NamespaceFilesAreDistinct(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, sqlite.Options{Dir: dir})
	ctx := context.Background()
	ids := []string{"a", "a_", "a__", "a_0", "a0", "b" + strings.Repeat("z", domain.MaxNamespaceIDLength-1)}
	for _, id := range ids {
		_, err := s.CreateNamespace(ctx, id, domain.NamespaceOptions{})
		require.NoError(t, err, "create %q", id)
		ns, err := s.Namespace(ctx, id)
		require.NoError(t, err)
		_, err = ns.WriteMessage(ctx, "acct-1", domain.NewMessage{Type: "T", Data: []byte(`{"id":"` + id + `"}`)}, domain.AnyVersion)
		require.NoError(t, err)
	}
	var dbs []string
	for _, f := range files(t, filepath.Join(dir, "namespaces")) {
		if strings.HasSuffix(f, ".db") {
			dbs = append(dbs, strings.TrimSuffix(f, ".db"))
		}
	}
	slices.Sort(dbs)
	want := slices.Clone(ids)
	slices.Sort(want)
	assert.Equal(t, want, dbs, "one file per id, named after it")
	for _, id := range ids {
		ns, err := s.Namespace(ctx, id)
		require.NoError(t, err)
		msgs, err := ns.GetAllMessages(ctx, domain.AllOpts{})
		require.NoError(t, err)
		if assert.Len(t, msgs, 1, "namespace %q", id) {
			assert.JSONEq(t, `{"id":"`+id+`"}`, string(msgs[0].Data))
		}
	}
}

// The size limit comes from Options: the default, a smaller one, none.
func TestStore_MaxMessageSize(t *testing.T) {
	for _, tc := range []struct {
		max, accepted, refused int64
	}{
		{0, domain.DefaultMaxMessageSize, domain.DefaultMaxMessageSize + 1},
		{64, 64, 65},
		{-1, 2 * domain.DefaultMaxMessageSize, 0},
	} {
		s := openStore(t, sqlite.Options{InMemory: true, MaxMessageSize: tc.max})
		ctx := context.Background()
		_, err := s.CreateNamespace(ctx, "limits", domain.NamespaceOptions{})
		require.NoError(t, err)
		ns, err := s.Namespace(ctx, "limits")
		require.NoError(t, err)
		_, err = ns.WriteMessage(ctx, "acct-1", sizedMessage(tc.accepted), domain.AnyVersion)
		assert.NoError(t, err, "MaxMessageSize %d: %d bytes", tc.max, tc.accepted)
		if tc.refused > 0 {
			_, err = ns.WriteMessage(ctx, "acct-1", sizedMessage(tc.refused), domain.AnyVersion)
			var e *domain.MessageTooLargeError
			if assert.True(t, errors.As(err, &e), "MaxMessageSize %d: %d bytes: %v", tc.max, tc.refused, err) {
				assert.Equal(t, tc.refused, e.Size)
			}
		}
	}
}

// sizedMessage returns a message whose canonical data is n bytes (n ≥ 8).
func sizedMessage(n int64) domain.NewMessage {
	return domain.NewMessage{Type: "Sized", Data: []byte(`{"s":"` + strings.Repeat("x", int(n)-8) + `"}`)}
}
