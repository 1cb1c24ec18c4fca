package postgres_test

import (
	"fmt"
	"io/fs"
	"runtime"
)

func fsReadFile(fsys fs.FS, name string) ([]byte, error) { return fs.ReadFile(fsys, name) }

func typeName(v any) string { return fmt.Sprintf("%T", v) }

func runtimeProcs() int { return runtime.GOMAXPROCS(0) }
