package postgres

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/messagedb-go/messagedb/domain"
)

// TestSetJSON checks the compaction of jsonb text, done in place on the
// copies pgx scans: PostgreSQL's blanks after ":" and "," go, white space
// and escapes inside strings stay, NULL data reads as JSON null and NULL
// metadata as none.
func TestSetJSON(t *testing.T) {
	for in, want := range map[string]string{
		`{"a": 1, "b": [1, 2, {"c": null}]}`:               `{"a":1,"b":[1,2,{"c":null}]}`,
		`{"s": "x: 1, y", "t": "q\" , \\", "u": "\u0041"}`: `{"s":"x: 1, y","t":"q\" , \\","u":"\u0041"}`,
		`"a , b"`: `"a , b"`,
		`[]`:      `[]`,
		`12`:      `12`,
	} {
		var m domain.Message
		data, meta := []byte(in), []byte(in)
		setJSON(&m, data, meta)
		assert.Equal(t, want, string(m.Data), in)
		assert.Equal(t, want, string(m.Metadata), in)
	}
	var m domain.Message
	setJSON(&m, nil, nil)
	assert.Equal(t, json.RawMessage("null"), m.Data, "NULL data")
	assert.Nil(t, m.Metadata, "NULL metadata")
}
