package atomicfile_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/admitgate/admit/internal/atomicfile"
)

func ExampleWrite() {
	dir, err := os.MkdirTemp("", "atomicfile")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "position.json")
	if err := atomicfile.Write(path, []byte(`{"position":42}`+"\n"), 0o600); err != nil {
		fmt.Println(err)
		return
	}
	b, _ := os.ReadFile(path)
	fmt.Print(string(b))
	// Output: {"position":42}
}
