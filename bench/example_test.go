package bench_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/admitgate/admit/bench"
	"github.com/admitgate/admit/index"
)

// Hold budgets against a result: here the unknown-barcode p99 of three
// runs, one of them disturbed; the gate reads the median.
func ExampleGate() {
	budgets, err := bench.ParseBudgets(strings.NewReader(`
[[budget]]
metric = "validate/unknown/lanes=1"
stat = "p99"
at_most = 2.0
profiles = ["full"]
why = "issue 8"
`), "example.toml")
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := bench.DecodeResult(strings.NewReader(`{"version": 1, "profile": "full",
		"settings": {"workloads": ["validate"]},
		"measurements": [{"name": "validate/unknown/lanes=1", "unit": "scan",
			"runs": [{"p99": 0.9}, {"p99": 7.5}, {"p99": 1.1}]}]}`), "example.json")
	if err != nil {
		fmt.Println(err)
		return
	}
	g := bench.Gate(res, budgets)
	_ = g.Write(os.Stdout)
	// Output:
	// gate (full profile):
	//   ok   validate/unknown/lanes=1 p99 ≤ 2.00µs: median 1.10µs (runs 0.90µs … 7.50µs)
	// gate: PASS (1 budgets)
}

// Run the in-process workloads on a small fixture and print the table.
func ExampleRun() {
	dir, err := os.MkdirTemp("", "bench-example-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	res, err := bench.Run(context.Background(), bench.Config{
		Workloads: []string{bench.WorkloadValidate}, Tickets: 2000, Runs: 1,
		Duration: 20 * time.Millisecond, Lanes: []int{1, 8}, Used: 100, CacheDir: dir,
		IndexOptions: &index.Options{MemTableSize: 4 << 20},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Find("validate/first-use/lanes=8") != nil, len(res.Errors()))
	// Output: true 0
}
