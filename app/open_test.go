package app_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messagedb-go/messagedb/app"
	"github.com/messagedb-go/messagedb/domain"
)

func TestOpen_InvalidURL(t *testing.T) {
	for _, url := range []string{"mysql://localhost/db", "./data", "sqlite:", "memory:x", "sqlite:d?synchronous=off"} {
		_, err := app.Open(context.Background(), url, nil)
		assert.ErrorIs(t, err, app.ErrInvalidURL, "Open(%q)", url)
	}
}

func TestOpen_FromEnvironment(t *testing.T) {
	ctx := context.Background()
	env := map[string]string{}
	opts := &app.Options{Getenv: func(k string) string { return env[k] }}

	_, err := app.Open(ctx, "", opts)
	assert.ErrorIs(t, err, app.ErrInvalidURL, "no URL and MESSAGEDB_URL unset")

	dir := t.TempDir()
	env[app.EnvURL] = "sqlite:" + dir
	s, err := app.Open(ctx, "", opts)
	require.NoError(t, err)
	_, err = s.CreateNamespace(ctx, "from_env", domain.NamespaceOptions{})
	require.NoError(t, err)
	require.NoError(t, s.Close())

	// The process environment, through OpenFromEnv: the same directory.
	t.Setenv(app.EnvURL, "sqlite:"+dir)
	s, err = app.OpenFromEnv(ctx, nil)
	require.NoError(t, err)
	defer s.Close()
	_, err = s.GetNamespace(ctx, "from_env")
	assert.NoError(t, err, "namespace created through MESSAGEDB_URL's directory")
}

func TestOpen_SQLiteFilePersists(t *testing.T) {
	ctx := context.Background()
	url := "sqlite:" + t.TempDir()
	s, err := app.Open(ctx, url, &app.Options{Synchronous: "NORMAL"})
	require.NoError(t, err)
	ns, err := s.EnsureNamespace(ctx, "kept", domain.NamespaceOptions{})
	require.NoError(t, err)
	_, err = ns.Write(ctx, "thing-1", domain.NewMessage{Type: "Made"}, domain.AnyVersion)
	require.NoError(t, err)
	require.NoError(t, s.Close())

	s, err = app.Open(ctx, url, nil)
	require.NoError(t, err)
	defer s.Close()
	ns, err = s.Namespace(ctx, "kept")
	require.NoError(t, err)
	v, err := ns.Version(ctx, "thing-1")
	require.NoError(t, err)
	assert.Equal(t, int64(0), v)
}

func TestOpen_MemoryStoresAreSeparate(t *testing.T) {
	ctx := context.Background()
	a := openStore(t, "memory:")
	b := openStore(t, "sqlite::memory:")
	_, err := a.CreateNamespace(ctx, "only_a", domain.NamespaceOptions{})
	require.NoError(t, err)
	_, err = b.GetNamespace(ctx, "only_a")
	assert.ErrorIs(t, err, domain.ErrNamespaceNotFound)
}

// With MustExist, opening a SQLite directory that holds no store creates
// nothing and names the directory; an existing store opens.
func TestOpen_MustExistCreatesNothing(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	missing := filepath.Join(root, "typo")
	empty := t.TempDir()
	for _, dir := range []string{missing, empty} {
		_, err := app.Open(ctx, "sqlite:"+dir, &app.Options{MustExist: true})
		require.ErrorIs(t, err, domain.ErrStoreNotFound, dir)
		assert.Contains(t, err.Error(), dir)
		assert.Equal(t, 1, strings.Count(err.Error(), "messagedb:"), "one prefix: %q", err)
	}
	_, err := os.Stat(missing)
	assert.ErrorIs(t, err, fs.ErrNotExist, "the missing directory is not made")
	entries, err := os.ReadDir(empty)
	require.NoError(t, err)
	assert.Empty(t, entries, "nothing is made in an empty directory")

	s, err := app.Open(ctx, "sqlite:"+empty, nil)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	s, err = app.Open(ctx, "sqlite:"+empty, &app.Options{MustExist: true})
	require.NoError(t, err, "a store that exists opens")
	require.NoError(t, s.Close())
	s, err = app.Open(ctx, "memory:", &app.Options{MustExist: true})
	require.NoError(t, err, "in memory, MustExist changes nothing")
	require.NoError(t, s.Close())
}
