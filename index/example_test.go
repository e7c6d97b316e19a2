package index_test

import (
	"context"
	"fmt"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/index"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// Open a store, create an event, load two tickets and scan them: the first
// scan admits, the second is refused as already used, an unknown barcode is
// refused without a disk read.
func Example() {
	ctx := context.Background()
	ix, err := index.Open("data", &index.Options{FS: vfs.NewMem(), Appliance: "gate-1", DisableWALWarmup: true})
	if err != nil {
		panic(err)
	}
	defer ix.Close()

	opens := time.Date(2026, 12, 5, 18, 0, 0, 0, time.UTC)
	if _, err := ix.PutEvent(ctx, gate.Event{ID: "derby", Name: "Derby", OpensAt: opens, ClosesAt: opens.Add(6 * time.Hour)}); err != nil {
		panic(err)
	}
	res, err := ix.Load(ctx, gate.ImportRequest{Provider: "secutix-main", Event: "derby", Source: "example"}, gate.Lines(
		gate.Ticket{Barcode: "9836900602677354", PriceType: gate.Code{Code: "ADU", Name: "Adult"}},
		gate.Ticket{Barcode: "6848745268596938", PriceType: gate.Code{Code: "CHI", Name: "Child"}},
	))
	if err != nil {
		panic(err)
	}
	fmt.Println("added", res.Added)

	lane := gate.Lane{ID: "north-1", Direction: gate.In}
	at := opens.Add(time.Hour)
	for _, barcode := range []string{"9836900602677354", "9836900602677354", "0000000000000"} {
		d := ix.Scan(ctx, lane.Scan(barcode, at))
		fmt.Println(d.Seq, d.Admit, d.Reason)
	}
	rep, err := ix.Report(ctx, "derby", at)
	if err != nil {
		panic(err)
	}
	fmt.Printf("sold %d used %d inside %d\n", rep.Total.Sold, rep.Total.Used, rep.Total.Inside)
	// Output:
	// added 2
	// 1 true ok
	// 2 false already_used
	// 3 false unknown
	// sold 2 used 1 inside 1
}
