package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messagedb-go/messagedb/app"
	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/internal/pgtest"
)

// withQuery appends a query parameter to a store URL.
func withQuery(url, param string) string {
	if strings.Contains(url, "?") {
		return url + "&" + param
	}
	return url + "?" + param
}

// sized returns a message whose canonical data is exactly n bytes (n ≥ 8).
func sized(n int) domain.NewMessage {
	// {"s":"…"} is 8 bytes around the string's content.
	return domain.NewMessage{Type: "Sized", Data: json.RawMessage(`{"s":"` + strings.Repeat("x", n-8) + `"}`)}
}

// The size limit comes from the URL's max_message_size, which
// Options.MaxMessageSize overrides, and applies alike on every backend.
func TestOpen_MaxMessageSize(t *testing.T) {
	urls := map[string]func(t *testing.T) string{
		"SQLiteMemory": func(*testing.T) string { return "memory:" },
		"SQLiteFile":   func(t *testing.T) string { return "sqlite:" + t.TempDir() },
		"Postgres":     func(t *testing.T) string { return pgtest.NewDatabase(t) },
	}
	for name, base := range urls {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			url := withQuery(base(t), "max_message_size=100")

			s, err := app.Open(ctx, url, nil)
			require.NoError(t, err)
			assert.Equal(t, int64(100), s.Limits().MessageSizeLimit(), "the store reports the limit it applies")
			ns, err := s.EnsureNamespace(ctx, "limits", domain.NamespaceOptions{})
			require.NoError(t, err)
			_, err = ns.Write(ctx, "thing-1", sized(100), domain.AnyVersion)
			assert.NoError(t, err, "a message of exactly the limit is accepted")
			_, err = ns.Write(ctx, "thing-1", sized(101), domain.AnyVersion)
			assert.ErrorIs(t, err, domain.ErrMessageTooLarge)
			assert.ErrorIs(t, err, domain.ErrInvalidMessage)
			var tooLarge *domain.MessageTooLargeError
			if assert.ErrorAs(t, err, &tooLarge) {
				assert.Equal(t, int64(101), tooLarge.Size)
				assert.Equal(t, int64(100), tooLarge.Limit)
			}
			// Metadata counts too.
			m := sized(90)
			m.Metadata = json.RawMessage(`{"abcdefg":1}`) // 13 bytes
			_, err = ns.Write(ctx, "thing-1", m, domain.AnyVersion)
			assert.ErrorIs(t, err, domain.ErrMessageTooLarge, "data and metadata together")
			v, err := ns.Version(ctx, "thing-1")
			require.NoError(t, err)
			assert.Equal(t, int64(0), v, "refused messages are not written")
			require.NoError(t, s.Close())

			// Options override the URL: no limit at all.
			s, err = app.Open(ctx, url, &app.Options{MaxMessageSize: -1})
			require.NoError(t, err)
			defer s.Close()
			assert.Equal(t, int64(-1), s.Limits().MessageSizeLimit())
			ns, err = s.EnsureNamespace(ctx, "limits", domain.NamespaceOptions{})
			require.NoError(t, err)
			big := sized(int(domain.DefaultMaxMessageSize) + 1)
			_, err = ns.Write(ctx, "thing-2", big, domain.AnyVersion)
			require.NoError(t, err, "no limit: a message above the default is accepted")
			msgs, err := ns.Read(ctx, "thing-2", domain.GetOpts{})
			require.NoError(t, err)
			require.Len(t, msgs, 1)
			assert.Equal(t, string(big.Data), string(msgs[0].Data), "read back byte for byte")
		})
	}
}

func TestOpen_DefaultMaxMessageSize(t *testing.T) {
	ctx := context.Background()
	s, err := app.Open(ctx, "memory:", nil)
	require.NoError(t, err)
	defer s.Close()
	assert.Equal(t, domain.DefaultMaxMessageSize, s.Limits().MessageSizeLimit())
	ns, err := s.EnsureNamespace(ctx, "limits", domain.NamespaceOptions{})
	require.NoError(t, err)
	_, err = ns.Write(ctx, "thing-1", sized(int(domain.DefaultMaxMessageSize)), domain.AnyVersion)
	assert.NoError(t, err)
	_, err = ns.Write(ctx, "thing-1", sized(int(domain.DefaultMaxMessageSize)+1), domain.AnyVersion)
	assert.ErrorIs(t, err, domain.ErrMessageTooLarge)
}

// Every backend closes with the one domain.ErrClosed.
func TestStore_ClosedIsDomainErrClosed(t *testing.T) {
	eachStore(t, func(t *testing.T, s *app.Store) {
		ctx := context.Background()
		ns, err := s.EnsureNamespace(ctx, "closing", domain.NamespaceOptions{})
		require.NoError(t, err)
		require.NoError(t, s.Close())
		require.NoError(t, s.Close(), "closing twice is fine")

		_, err = s.ListNamespaces(ctx)
		assert.ErrorIs(t, err, domain.ErrClosed, "ListNamespaces")
		_, err = s.Namespace(ctx, "closing")
		assert.ErrorIs(t, err, domain.ErrClosed, "Namespace")
		_, err = ns.Write(ctx, "thing-1", domain.NewMessage{Type: "Made"}, domain.AnyVersion)
		assert.ErrorIs(t, err, domain.ErrClosed, "Write")
		assert.False(t, errors.Is(err, domain.ErrNamespaceNotFound), "closed, not deleted: %v", err)
	})
}
