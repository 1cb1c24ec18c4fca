package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/messagedb-go/messagedb/domain"
)

// TestCanonicalJSONIsJSONBText checks domain's canonical JSON against a live
// server: JSON written through SQL, where jsonb normalises it, reads back as
// the same bytes that domain.NewMessage.Prepare gives for it — which is what
// the SQLite backend stores. This is what makes reads byte-identical on both
// backends.
func TestCanonicalJSONIsJSONBText(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, sharedURL(t), nil)
	ns := newNamespace(t, s)
	conn := sqlConn(t, sharedURL(t))
	inputs := []string{
		`{"b":1,"a":2,"aa":3,"A":4}`,
		`{"a":1,"a":2}`,
		`[1.0,1.50,1e2,1E+2,1.5e3,1e-2,1.50e1,-0,-0.0,0.000,12345678901234567890,-1.2e-3,0e10,100e-2,1e-20,-5E+3]`,
		`{"s":"\u00e9\/\"\\\b\f\n\r\t\u0001\u001f\u007f\ud83d\ude00 ü \ufffd"}`,
		`{"nested":{"z":[{"y":1,"x":2}],"é":true,"e":false,"n":null}}`,
		`{"ab":1,"b":2,"ba":3,"é":4,"z":5,"\n":6,"\u00e9":7}`,
		`"just a string"`, `[]`, `{}`, `0`, `-1`, `true`, `null`, `1e300`, `123.456e-7`,
		` { "spaced" : [ 1 , 2 ] } `,
	}
	for i, in := range inputs {
		stream := fmt.Sprintf("json-%d", i)
		_, err := conn.Exec(ctx, "SELECT "+ns.Schema()+".write_message($1, $2, 'T', $3::jsonb, $3::jsonb)",
			uuid.NewString(), stream, in)
		require.NoError(t, err, "write_message %s", in)
		msgs, err := ns.GetStreamMessages(ctx, stream, domain.GetOpts{})
		require.NoError(t, err)
		require.Len(t, msgs, 1)
		want, err := domain.Limits{}.Prepare(domain.NewMessage{Type: "T", Data: json.RawMessage(in), Metadata: json.RawMessage(in)})
		require.NoError(t, err)
		require.Equal(t, string(want.Data), string(msgs[0].Data), "data of %s", in)
		require.Equal(t, string(want.Metadata), string(msgs[0].Metadata), "metadata of %s", in)
	}
}
