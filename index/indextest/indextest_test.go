package indextest_test

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/importfile"
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

// The SecuTix file of a range parses back to the very tickets the source
// yields for that range.
func TestWriteSecutixParsesToTheSource(t *testing.T) {
	var file bytes.Buffer
	if err := indextest.WriteSecutix(&file, 7, 500); err != nil {
		t.Fatal(err)
	}
	req := gate.ImportRequest{Provider: indextest.Provider, Event: indextest.EventID}
	parsed := importfile.NewSource(&file, req, &importfile.Options{Location: time.UTC})
	want := &indextest.Source{N: 500, From: 7}
	for {
		got, err := parsed.Next()
		w, werr := want.Next()
		if errors.Is(err, io.EOF) && errors.Is(werr, io.EOF) {
			break
		}
		if err != nil || werr != nil {
			t.Fatalf("line %d: %v / %v", got.Line, err, werr)
		}
		if got.Reject != nil {
			t.Fatalf("line %d rejected: %v", got.Line, got.Reject)
		}
		if !reflect.DeepEqual(got.Ticket, w.Ticket) {
			t.Fatalf("line %d:\n got %+v\nwant %+v", got.Line, got.Ticket, w.Ticket)
		}
	}
	if parsed.Format() != gate.FormatSecutix {
		t.Errorf("format %q", parsed.Format())
	}
}

func TestPebbleProbe(t *testing.T) {
	res, err := indextest.PebbleProbe(t.TempDir(), 4, 40)
	if err != nil {
		t.Fatal(err)
	}
	if h := res.Latency; h.TotalCount() != 40 || h.Min() <= 0 || res.PerSecond <= 0 || res.CPU <= 0 {
		t.Fatalf("probe: %d samples, min %d, %.0f/s, CPU %v", h.TotalCount(), h.Min(), res.PerSecond, res.CPU)
	}
}
