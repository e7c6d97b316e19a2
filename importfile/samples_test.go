package importfile_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/importfile"
	"github.com/admitgate/admit/index"
	"github.com/admitgate/admit/internal/samples"
)

// openStore opens a real index on a temporary directory with the two events
// the samples name (windows open now) and returns the importer in front of it.
func openStore(t *testing.T) (*index.Index, *importfile.Service) {
	t.Helper()
	ix, err := index.Open(t.TempDir(), &index.Options{BloomMinCapacity: 1000, DisableWALWarmup: true, Appliance: "test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ix.Close() })
	ctx := context.Background()
	for _, id := range []string{"MATCH-2026-12-05", "MATCH-2026-12-19"} {
		if _, err := ix.PutEvent(ctx, gate.Event{ID: id, Name: id}); err != nil {
			t.Fatal(err)
		}
	}
	return ix, importfile.NewService(ix, testLogger(t), &importfile.Options{Location: time.UTC})
}

type counts struct{ lines, added, updated, unchanged, rejected int }

func countsOf(r gate.ImportResult) counts {
	return counts{r.Lines, r.Added, r.Updated, r.Unchanged, r.Rejected}
}

func importSample(t *testing.T, svc *importfile.Service, data []byte, req gate.ImportRequest) (gate.ImportResult, error) {
	t.Helper()
	return svc.Import(context.Background(), req, bytes.NewReader(data))
}

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	b, err := samples.Read(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSamplesImportIntoTheStore imports each sample file through the
// Service into a real store: exact counts the first time, all unchanged the
// second time (idempotent), and the format and digest recorded.
func TestSamplesImportIntoTheStore(t *testing.T) {
	tests := []struct {
		name   string
		file   string
		req    gate.ImportRequest
		format gate.Format
		want   counts
	}{
		{"secutix", samples.Secutix, gate.ImportRequest{Provider: "secutix-main"}, gate.FormatSecutix, counts{40, 40, 0, 0, 0}},
		{"box office", samples.BoxOffice, gate.ImportRequest{Provider: "box-office"}, gate.FormatCSV, counts{15, 15, 0, 0, 0}},
		{"paste", samples.Paste, gate.ImportRequest{Provider: "paste", Event: "MATCH-2026-12-05", PriceType: "ADU"}, gate.FormatLines, counts{28, 28, 0, 0, 0}},
	}
	ix, svc := openStore(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := mustRead(t, tt.file)
			req := tt.req
			req.Source, req.By = tt.file, "test"
			res, err := importSample(t, svc, data, req)
			if err != nil || !res.Applied || res.ID == 0 || res.Format != tt.format || countsOf(res) != tt.want {
				t.Fatalf("first import: %+v, %v; want %+v applied as %s", res, err, tt.want, tt.format)
			}
			again, err := importSample(t, svc, data, req)
			want := counts{tt.want.lines, 0, 0, tt.want.lines, 0}
			if err != nil || countsOf(again) != want || again.Digest != res.Digest || len(res.Digest) != 64 {
				t.Fatalf("second import: %+v, %v; want %+v and the same digest", again, err, want)
			}
		})
	}
	recs, err := ix.Imports(context.Background())
	if err != nil || len(recs) != 2*len(tests) {
		t.Fatalf("%d import records, %v; want %d", len(recs), err, 2*len(tests))
	}
	if r := recs[0]; r.Provider != "paste" || r.Format != gate.FormatLines || r.Source != samples.Paste || r.Unchanged != 28 {
		t.Errorf("newest record %+v", r)
	}
	view, err := ix.Ticket(context.Background(), "BO-adB8QkXAtQVX")
	if err != nil || view.Holder != `O'Brien, "Sean"` || view.PriceType.Code != "VIP" || view.Provider != "box-office" {
		t.Errorf("stored box-office ticket %+v, %v", view.Ticket, err)
	}
}

// TestSecutixReimportAfterScans: scans redeem tickets, the same file again
// changes nothing, a file with changed states updates only those tickets,
// and no redemption is reset.
func TestSecutixReimportAfterScans(t *testing.T) {
	ix, svc := openStore(t)
	ctx := context.Background()
	data := mustRead(t, samples.Secutix)
	req := gate.ImportRequest{Provider: "secutix-main", Source: samples.Secutix, By: "test"}
	if res, err := importSample(t, svc, data, req); err != nil || countsOf(res) != (counts{40, 40, 0, 0, 0}) {
		t.Fatalf("first import: %+v, %v", res, err)
	}
	lane := gate.Lane{ID: "north-1", Direction: gate.In}
	scan := func(barcode string) gate.Decision {
		return ix.Scan(ctx, lane.Scan(barcode, time.Now()))
	}
	const used, controlled, cancelled = "9836900602677354", "2149479505772588", "2630583082198227"
	if d := scan(used); !d.Admit {
		t.Fatalf("first scan: %+v", d)
	}
	if d := scan(controlled); d.Admit || d.Reason != gate.ReasonAlreadyUsed {
		t.Errorf("CONTROLLED ticket: %+v, want already_used", d)
	}
	if d := scan(cancelled); d.Reason != gate.ReasonCancelled {
		t.Errorf("CANCELLED ticket: %+v, want cancelled", d)
	}

	if res, err := importSample(t, svc, data, req); err != nil || countsOf(res) != (counts{40, 0, 0, 40, 0}) {
		t.Fatalf("same file after scans: %+v, %v", res, err)
	}
	if d := scan(used); d.Admit || d.Reason != gate.ReasonAlreadyUsed {
		t.Errorf("after the re-import the used ticket scans %+v, want already_used", d)
	}

	// Three states change upstream: a used ticket and another are cancelled,
	// a cancelled one is printed again.
	changed := string(data)
	for _, c := range []struct{ barcode, from, to string }{
		{used, "PRINTED", "CANCELLED"},
		{"6848745268596938", "PRINTED", "CANCELLED"},
		{cancelled, "CANCELLED", "PRINTED"},
	} {
		changed = strings.Replace(changed, c.barcode+";"+c.from+";", c.barcode+";"+c.to+";", 1)
	}
	res, err := importSample(t, svc, []byte(changed), req)
	if err != nil || countsOf(res) != (counts{40, 0, 3, 37, 0}) {
		t.Fatalf("changed states: %+v, %v; want 3 updated", res, err)
	}
	if d := scan("6848745268596938"); d.Reason != gate.ReasonCancelled {
		t.Errorf("newly cancelled ticket: %+v", d)
	}
	if d := scan(cancelled); !d.Admit {
		t.Errorf("ticket printed again: %+v, want admitted", d)
	}
	view, err := ix.Ticket(ctx, used)
	if err != nil || view.State != gate.StateCancelled || len(view.Redemptions) != 1 || view.Redemptions[0].Admissions != 1 {
		t.Errorf("used then cancelled ticket: %+v, %v; want cancelled with its redemption kept", view, err)
	}
}

// TestImportRejections goes through the store's own checks and the default
// and skip policies with real files.
func TestImportRejections(t *testing.T) {
	ix, svc := openStore(t)
	ctx := context.Background()
	box := mustRead(t, samples.BoxOffice)
	paste := mustRead(t, samples.Paste)

	// A list without an event: every line is refused and nothing changes.
	res, err := importSample(t, svc, paste, gate.ImportRequest{Provider: "paste"})
	if gate.ErrorCode(err) != gate.EREJECTED || res.Applied || countsOf(res) != (counts{28, 0, 0, 0, 28}) ||
		len(res.Errors) != 28 || res.Errors[0].Reason != gate.RejectMissingEvent || res.Errors[0].Line != 1 {
		t.Fatalf("paste without event: %+v, %v", res, err)
	}
	// An event the appliance does not know: in the request, the request is
	// refused; in the file, the line is.
	if _, err = importSample(t, svc, paste, gate.ImportRequest{Provider: "paste", Event: "NOPE"}); gate.ErrorCode(err) != gate.EINVALID {
		t.Fatalf("unknown event in the request: %v, want EINVALID", err)
	}
	unknown := strings.Replace(string(box), "BO-hvm3ZNdjS8Fm,MATCH-2026-12-05", "BO-hvm3ZNdjS8Fm,MATCH-2027-01-01", 1)
	res, err = importSample(t, svc, []byte(unknown), gate.ImportRequest{Provider: "box-office"})
	if gate.ErrorCode(err) != gate.EREJECTED || res.Applied || res.Rejected != 1 || res.Errors[0].Reason != gate.RejectUnknownEvent || res.Errors[0].Line != 3 {
		t.Fatalf("unknown event in the file: %+v, %v", res, err)
	}
	// A dry run reports and writes nothing.
	res, err = importSample(t, svc, box, gate.ImportRequest{Provider: "box-office", DryRun: true})
	if err != nil || res.Applied || !res.DryRun || countsOf(res) != (counts{15, 15, 0, 0, 0}) {
		t.Fatalf("dry run: %+v, %v", res, err)
	}
	if _, err := ix.Ticket(ctx, "BO-WTekurHSvCp4"); gate.ErrorCode(err) != gate.ENOTFOUND {
		t.Fatalf("after a dry run the ticket is there: %v", err)
	}
	if _, err := importSample(t, svc, box, gate.ImportRequest{Provider: "box-office"}); err != nil {
		t.Fatal(err)
	}
	// The same barcodes from another provider are refused.
	res, err = importSample(t, svc, box, gate.ImportRequest{Provider: "reseller"})
	if gate.ErrorCode(err) != gate.EREJECTED || res.Rejected != 15 || res.Errors[0].Reason != gate.RejectOtherProvider {
		t.Fatalf("other provider: %+v, %v", res, err)
	}
	// With on_error=skip the good lines load and the bad one is listed: a
	// broken line and a duplicate with other content are added to the file.
	file := string(box) + "BO-new-1,MATCH-2026-12-05,Adult,New\r\nBO-bad\x01,MATCH-2026-12-05,Adult,X\r\nBO-new-1,MATCH-2026-12-05,Child,New\r\n"
	res, err = importSample(t, svc, []byte(file), gate.ImportRequest{Provider: "box-office", OnError: gate.OnErrorSkip})
	if err != nil || !res.Applied || countsOf(res) != (counts{18, 1, 0, 15, 2}) {
		t.Fatalf("skip: %+v, %v; want 1 added, 15 unchanged, 2 rejected", res, err)
	}
	reasons := map[gate.RejectReason]int{}
	for _, e := range res.Errors {
		reasons[e.Reason] = e.Line
	}
	if reasons[gate.RejectControlChar] != 18 || reasons[gate.RejectConflictingDup] != 19 {
		t.Errorf("rejected lines %+v", res.Errors)
	}
}

// TestOneBadLineWithOnErrorSkip (issue 21, items 8 and 10): through the
// Service into a real store with on_error=skip, a NUL byte early in the file
// or late, a byte order mark at the start of a later line and a trailing
// zero-width space each reject their own line; every other line is added,
// and what was added scans.
func TestOneBadLineWithOnErrorSkip(t *testing.T) {
	const n = 600 // about 12 KiB: the parser looks for binary files in the first 4
	for _, tc := range []struct {
		name   string
		bad    int // the bad line
		text   string
		reason gate.RejectReason
	}{
		{"NUL in the first 4 KiB", 2, "T-\x00-00002", gate.RejectControlChar},
		{"NUL after 4 KiB", 500, "T-\x00-00500", gate.RejectControlChar},
		{"BOM on a later line", 300, "\ufeffT-00300", gate.RejectInvisibleChar},
		{"trailing zero-width space", 10, "T-00010\u200b", gate.RejectInvisibleChar},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ix, svc := openStore(t)
			var b strings.Builder
			for i := 1; i <= n; i++ {
				if i == tc.bad {
					b.WriteString(tc.text + "\r\n")
					continue
				}
				fmt.Fprintf(&b, "T-%05d-%s\r\n", i, strings.Repeat("x", 10))
			}
			req := gate.ImportRequest{Provider: "paste", Event: "MATCH-2026-12-05", OnError: gate.OnErrorSkip, Source: "t", By: "test"}
			res, err := importSample(t, svc, []byte(b.String()), req)
			if err != nil || !res.Applied || res.Format != gate.FormatLines || countsOf(res) != (counts{n, n - 1, 0, 0, 1}) {
				t.Fatalf("import: %+v, %v; want %d added and line %d rejected", res, err, n-1, tc.bad)
			}
			if e := res.Errors[0]; e.Line != tc.bad || e.Reason != tc.reason {
				t.Errorf("rejected %+v, want line %d %s", e, tc.bad, tc.reason)
			}
			lane := gate.Lane{ID: "north-1", Direction: gate.In}
			for _, i := range []int{1, tc.bad + 1, n} {
				bc := fmt.Sprintf("T-%05d-%s", i, strings.Repeat("x", 10))
				if d := ix.Scan(context.Background(), lane.Scan(bc, time.Now())); !d.Admit {
					t.Errorf("scan of line %d's %s: %+v", i, bc, d)
				}
			}
		})
	}
}
