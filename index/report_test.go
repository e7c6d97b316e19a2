package index

import (
	"context"
	"testing"
)

// TestReportKeepsPriceTypeName: a row's price type name stays when a later
// import adds tickets of that price type without naming it (a file with a
// price type column but no name column), as a rebuild from the store would
// show it; an import that names it renames the row.
func TestReportKeepsPriceTypeName(t *testing.T) {
	ctx := context.Background()
	ix, _ := openMem(t)
	load(t, ix, tk("N1", "derby"))
	unnamed := tk("N2", "derby")
	unnamed.PriceType.Name = ""
	load(t, ix, unnamed)
	name := func() string {
		t.Helper()
		rep, err := ix.Report(ctx, "derby", during)
		if err != nil || len(rep.Rows) != 1 || rep.Rows[0].Sold != 2 {
			t.Fatalf("report: %+v %v", rep, err)
		}
		return rep.Rows[0].PriceTypeName
	}
	if got := name(); got != "Adult" {
		t.Fatalf("price type name after an import without names: %q, want %q", got, "Adult")
	}
	renamed := tk("N2", "derby")
	renamed.PriceType.Name = "Adults"
	load(t, ix, renamed) // updates N2: its counts are taken out and added back
	if got := name(); got != "Adults" {
		t.Fatalf("price type name after an import naming it: %q, want %q", got, "Adults")
	}
	checkCounters(t, ix)
}
