package migrate

import (
	"database/sql"
	"strings"
	"testing"
	"testing/fstest"
)

// stub is a dialect that names its folders and registry, and may not be
// asked anything else.
type stub struct {
	Dialect
	name, registry string
}

func (s stub) Name() string           { return s.name }
func (s stub) RegistrySchema() string { return s.registry }

// A dialect without migration folders, or whose registry scope would need
// quoting, is refused: it never gets another backend's files.
func TestNewRefuses(t *testing.T) {
	db := &sql.DB{}
	for _, d := range []Dialect{nil, stub{name: "oracle", registry: "main"}, stub{name: "sqlite", registry: "Bad-Name"}} {
		if _, err := New(db, d, nil); err == nil {
			t.Errorf("New(%#v): no error", d)
		}
	}
	if _, err := New(db, stub{name: "sqlite", registry: "main"}, nil); err != nil {
		t.Errorf("New with the sqlite folders: %v", err)
	}
}

func TestReadSetSplitsSteps(t *testing.T) {
	files, err := readSet(fstest.MapFS{
		"002_steps.sql": {Data: []byte("-- messagedb:no-transaction\nCREATE TABLE a (x int);\n-- messagedb:commit\nINSERT INTO a VALUES (1);\n-- messagedb:commit \n")},
		"001_plain.sql": {Data: []byte("CREATE TABLE b (x int);\n-- messagedb:commit\n")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 || files[0].version != "001_plain" || files[1].version != "002_steps" {
		t.Fatalf("files %+v: want 001_plain then 002_steps", files)
	}
	if files[0].steps != nil {
		t.Errorf("a file without the directive has steps: %q", files[0].steps)
	}
	if len(files[1].steps) != 2 || !strings.Contains(files[1].steps[1], "INSERT") {
		t.Errorf("steps %q: want the CREATE, then the INSERT", files[1].steps)
	}
	if len(files[0].checksum) != 64 {
		t.Errorf("checksum %q", files[0].checksum)
	}
}
