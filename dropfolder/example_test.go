package dropfolder_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"

	"github.com/admitgate/admit/dropfolder"
	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/gate/gatetest"
)

// A SecuTix export dropped into the folder is imported once it has settled,
// then filed in done/ with its report. (cmd/admit passes an
// importfile.Service as the importer and the index as Options.Imports, and
// calls Run.)
func Example() {
	root, _ := os.MkdirTemp("", "drop")
	defer os.RemoveAll(root)
	dir := filepath.Join(root, "secutix")

	importer := &gatetest.Importer{ImportFunc: func(ctx context.Context, req gate.ImportRequest, file io.Reader) (gate.ImportResult, error) {
		b, _ := io.ReadAll(file)
		fmt.Printf("import %d bytes for %s by %s\n", len(b), req.Provider, req.By)
		return gate.ImportResult{ID: 1, Applied: true, Lines: 1, Added: 1}, nil
	}}
	now := time.Date(2026, 12, 5, 20, 15, 0, 0, time.UTC)
	w, err := dropfolder.New(importer, []dropfolder.Folder{{Dir: dir, Provider: "secutix-main", Format: gate.FormatSecutix}},
		zerolog.Nop(), &dropfolder.Options{Settle: 10 * time.Second, Now: func() time.Time { return now }, NoNotify: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = os.WriteFile(filepath.Join(dir, "reseller.csv"), []byte("9836900602677354;PRINTED;880000;MATCH-2026-12-05;Derby;05/12/2026 20:00;ADU;Adult;45.00;2026-11-01 10:00;1000\n"), 0o644)

	w.Sweep(context.Background()) // first sight
	now = now.Add(10 * time.Second)
	w.Sweep(context.Background()) // settled: imported and filed

	done, _ := os.ReadDir(filepath.Join(dir, "done"))
	for _, e := range done {
		fmt.Println("done/" + e.Name())
	}
	// Output:
	// import 110 bytes for secutix-main by drop:secutix-main
	// done/reseller.csv
	// done/reseller.csv.report.json
}
