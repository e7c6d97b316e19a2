package indextest_test

import (
	"errors"
	"io"
	"testing"

	"github.com/admitgate/admit/index/indextest"
)

func TestSource(t *testing.T) {
	src := indextest.Tickets(1000)
	seen := map[string]bool{}
	for {
		l, err := src.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Ticket.Validate(); err != nil {
			t.Fatalf("line %d: %v", l.Line, err)
		}
		if seen[l.Ticket.Barcode] || len(l.Ticket.Barcode) != 16 {
			t.Fatalf("line %d: barcode %q repeated or not 16 digits", l.Line, l.Ticket.Barcode)
		}
		seen[l.Ticket.Barcode] = true
		if seen[indextest.Unknown(l.Line-1)] {
			t.Fatalf("unknown barcode %q is in the source", indextest.Unknown(l.Line-1))
		}
	}
	if len(seen) != 1000 || src.Digest() == "" {
		t.Fatalf("%d barcodes, digest %q", len(seen), src.Digest())
	}
}

func TestFsyncProbe(t *testing.T) {
	h, err := indextest.FsyncProbe(t.TempDir(), 5)
	if err != nil {
		t.Fatal(err)
	}
	if h.TotalCount() != 5 || h.Min() <= 0 {
		t.Fatalf("probe: %d samples, min %d", h.TotalCount(), h.Min())
	}
}
