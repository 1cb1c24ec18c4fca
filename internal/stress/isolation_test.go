package stress

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messagedb-go/messagedb/app"
	"github.com/messagedb-go/messagedb/domain"
)

// TestIsolation_SQLiteFilesStayInDataDirectory gives SQLite stores stream
// and category names that look like paths and file names of other
// namespaces, and namespace ids that could collide with the registry, and
// lists the file trees before and after: in file mode nothing appears
// outside the data directory, and in it only the registry and one database
// per namespace (gone once the namespace is deleted); in memory mode no file
// appears at all.
func TestIsolation_SQLiteFilesStayInDataDirectory(t *testing.T) {
	for _, mode := range []string{"File", "Memory"} {
		t.Run(mode, func(t *testing.T) {
			root := t.TempDir()
			// The data directory has a neighbour, which must stay as it is.
			require.NoError(t, os.MkdirAll(filepath.Join(root, "app", "other"), 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(root, "app", "keep.txt"), []byte("keep"), 0o644))
			dataDir := filepath.Join(root, "app", "data")
			cwd, err := os.Getwd()
			require.NoError(t, err)
			suffix := randomSuffix(t)
			beforeRoot, beforeCwd := listTree(t, root), listTree(t, cwd)

			url := "sqlite:" + dataDir
			if mode == "Memory" {
				url = "sqlite::memory:"
			}
			store := openURL(t, url)
			ids := []string{"a" + suffix, "b" + suffix, "registry", "namespaces", "db"}
			exerciseHostileNames(t, store, ids)

			afterCwd := listTree(t, cwd)
			assert.Equal(t, beforeCwd, afterCwd, "files appeared in or vanished from the working directory")
			assertNoFileNamed(t, os.TempDir(), suffix)
			if mode == "Memory" {
				assert.Equal(t, beforeRoot, listTree(t, root), "an in-memory store creates no file")
				return
			}

			afterRoot := listTree(t, root)
			var outside, inside []string
			for _, p := range afterRoot {
				if rel, ok := strings.CutPrefix(p, "app/data/"); ok {
					inside = append(inside, rel)
				} else if p != "app/data" {
					outside = append(outside, p)
				}
			}
			assert.Equal(t, beforeRoot, outside, "files appeared or vanished outside the data directory")
			allowed := []string{`registry\.db`, `namespaces`}
			for _, id := range ids {
				allowed = append(allowed, `namespaces/`+regexp.QuoteMeta(id)+`\.db`)
			}
			pattern := regexp.MustCompile(`^(` + strings.Join(allowed, "|") + `)(-wal|-shm|-journal)?$`)
			for _, p := range inside {
				assert.Regexp(t, pattern, p, "the data directory holds only the registry and one database per namespace")
			}
			for _, id := range ids {
				assert.Contains(t, inside, "namespaces/"+id+".db", "namespace %s has its file", id)
			}

			// Deleting a namespace removes its files, and only those.
			ctx := t.Context()
			require.NoError(t, store.DeleteNamespace(ctx, ids[0]))
			for _, p := range listTree(t, dataDir) {
				assert.NotContains(t, p, ids[0], "a file of the deleted namespace is left")
			}
			assert.Contains(t, listTree(t, dataDir), "namespaces/"+ids[1]+".db", "the other namespace keeps its file")
		})
	}
}

// exerciseHostileNames creates the namespaces, tries namespace ids that are
// paths, and writes and reads stream and category names that are paths or
// file names in every namespace; each namespace must read back exactly
// its own messages.
func exerciseHostileNames(t *testing.T, store *app.Store, ids []string) {
	t.Helper()
	ctx := t.Context()
	for _, bad := range []string{"../" + ids[0], ids[0] + ".db", "namespaces/" + ids[0], "/tmp/" + ids[0], ".", "..", "registry.db", ids[0] + "\x00"} {
		_, err := store.CreateNamespace(ctx, bad, domain.NamespaceOptions{})
		assert.ErrorIs(t, err, domain.ErrInvalidNamespace, "namespace id %q", bad)
	}
	names := []string{"registry.db-1", "registry-1", "..-1", "./-1", "/-1", "main-1", "temp-1"}
	for _, id := range ids {
		names = append(names,
			id+"-1", "../"+id+"-1", "../../"+id+".db-1", "namespaces/"+id+".db-1", id+".db-1",
			"/tmp/"+id+".db-1", "file:"+id+".db?mode=rwc-1", `..\`+id+"-1")
	}
	slices.Sort(names)
	names = slices.Compact(names)
	for _, id := range ids {
		_, err := store.CreateNamespace(ctx, id, domain.NamespaceOptions{})
		require.NoError(t, err, "create namespace %s", id)
	}
	for _, id := range ids {
		ns, err := store.Namespace(ctx, id)
		require.NoError(t, err)
		for i, n := range names {
			data := json.RawMessage(fmt.Sprintf(`{"namespace":%q,"n":%d}`, id, i))
			_, err := ns.Write(ctx, n, domain.NewMessage{Type: "Tested", Data: data}, domain.ExpectVersion(domain.NoStream))
			require.NoError(t, err, "namespace %s: write %q as a new stream", id, n)
		}
	}
	for _, id := range ids {
		ns, err := store.Namespace(ctx, id)
		require.NoError(t, err)
		all, err := ns.ReadAll(ctx, domain.AllOpts{BatchSize: new(domain.Unlimited)})
		require.NoError(t, err)
		assert.Len(t, all, len(names), "namespace %s holds exactly its own messages", id)
		for _, m := range all {
			var d struct{ Namespace string }
			require.NoError(t, json.Unmarshal(m.Data, &d))
			assert.Equal(t, id, d.Namespace, "namespace %s reads a message of namespace %s in %q", id, d.Namespace, m.StreamName)
		}
		for _, n := range names {
			msgs, err := ns.ReadCategory(ctx, domain.Category(n), domain.CategoryOpts{BatchSize: new(domain.Unlimited)})
			require.NoError(t, err)
			for _, m := range msgs {
				assert.Equal(t, domain.Category(n), domain.Category(m.StreamName))
				assert.Contains(t, string(m.Data), fmt.Sprintf("%q", id), "namespace %s reads category %q", id, domain.Category(n))
			}
		}
	}
}

// listTree returns the paths under dir, relative to it, sorted.
func listTree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != dir {
			rel, err := filepath.Rel(dir, p)
			if err != nil {
				return err
			}
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	require.NoError(t, err, "list %s", dir)
	slices.Sort(out)
	return out
}

// assertNoFileNamed checks that no entry of dir (not recursive: it is
// shared with other processes) has a name containing s.
func assertNoFileNamed(t *testing.T, dir, s string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		assert.NotContains(t, e.Name(), s, "a file named after a namespace appeared in %s", dir)
	}
}

func randomSuffix(t *testing.T) string {
	t.Helper()
	b := make([]byte, 5)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return hex.EncodeToString(b)
}
