package index

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
)

func sampleTicket() ticketRec {
	return ticketRec{Key: 42, Upstream: gate.StateValid, Admin: adminBlocked, T: gate.Ticket{
		Barcode: "9836900602677354", Provider: "secutix-main", Events: []string{"cup", "derby"},
		Period:    gate.Period{From: t0, Until: t0.Add(48 * time.Hour)},
		PriceType: gate.Code{Code: "ADU", Name: "Adult"}, Product: gate.Code{Code: "MATCH", Name: "FC Example – Derby"},
		Holder: "Müller, Anna", Order: "880000", Contact: "1000", Price: "45.00", ValidityAt: t0, OrderedAt: t0.Add(-time.Hour),
		UsedUpstream: true, Replaces: "old", ImportID: 7,
	}}
}

func sampleEntry() storedEntry {
	m := gate.Movement{At: t0, Lane: "north-1", Seq: 3, Appliance: "a"}
	return storedEntry{Key: 9, Events: []string{"derby"}, JournalEntry: gate.JournalEntry{Seq: 5, Kind: gate.KindDecision, Nonce: "n",
		Source: "http:x", Annulled: 8, By: "me", Decision: gate.Decision{Admit: false, Reason: gate.ReasonAlreadyUsed, Seq: 5,
			Barcode: "B", Lane: "l", Direction: gate.In, At: t0, Event: "derby", FirstUsed: &m, Detail: "d", Replayed: true,
			Ticket: &gate.TicketInfo{Provider: "p", PriceType: "ADU", PriceTypeName: "Adult", Product: "x", State: gate.StateValid}}}}
}

func TestCodecRoundTrip(t *testing.T) {
	rec := sampleTicket()
	rec.fixState()
	got, err := decodeTicket(rec.T.Barcode, encodeTicket(nil, &rec))
	if err != nil || !reflect.DeepEqual(got, rec) {
		t.Fatalf("ticket:\n%+v\n%+v %v", got, rec, err)
	}
	rs := []gate.Redemption{{Event: "derby", Admissions: 2, Reentries: 1, Exits: 1, Inside: true,
		First: gate.Movement{At: t0, Lane: "l", Seq: 1, Appliance: "a"}, Last: gate.Movement{At: t0.Add(time.Minute), Lane: "x", Seq: 9}}}
	gotRs, err := decodeRedemptions(encodeRedemptions(nil, rs))
	if err != nil || !reflect.DeepEqual(gotRs, rs) {
		t.Fatalf("redemptions: %+v %v", gotRs, err)
	}
	se := sampleEntry()
	gotSe, err := decodeEntry(se.Seq, encodeEntry(nil, &se))
	if err != nil || !reflect.DeepEqual(gotSe, se) {
		t.Fatalf("entry:\n%+v\n%+v %v", gotSe, se, err)
	}
	imp := gate.ImportRecord{ID: 3, Provider: "p", Event: "e", Format: gate.FormatCSV, Source: "f", By: "b", At: t0, Lines: 10,
		Added: 5, Updated: 2, Unchanged: 2, Rejected: 1, Digest: "abc", WithdrawnAt: t0, WithdrawnBy: "x", Cancelled: 4}
	gotImp, err := decodeImport(3, encodeImport(&imp))
	if err != nil || !reflect.DeepEqual(gotImp, imp) {
		t.Fatalf("import: %+v %v", gotImp, err)
	}
	imp.WithdrawPending = true
	if gotImp, err := decodeImport(3, encodeImport(&imp)); err != nil || !reflect.DeepEqual(gotImp, imp) {
		t.Fatalf("import, withdrawal pending: %+v %v", gotImp, err)
	}
	gotEv, err := decodeEvent("fest", encodeEvent(fest))
	if err != nil || !reflect.DeepEqual(gotEv, fest) {
		t.Fatalf("event: %+v %v", gotEv, err)
	}
}

// TestDecodeImportVersions: records written before the withdrawal flags
// (version 1) still read; unknown versions and flags are corruption.
func TestDecodeImportVersions(t *testing.T) {
	imp := gate.ImportRecord{ID: 7, Provider: "p", Format: gate.FormatLines, At: t0, Lines: 3, Added: 3, Digest: "d"}
	v2 := encodeImport(&imp)
	v1 := append([]byte{1}, v2[1:len(v2)-1]...) // no flags byte
	for _, tc := range []struct {
		name string
		b    []byte
		ok   bool
	}{
		{"version 2", v2, true},
		{"version 1", v1, true},
		{"version 1 with a flags byte", append(append([]byte(nil), v1...), 0), false},
		{"version 2 without its flags byte", append([]byte{2}, v1[1:]...), false},
		{"version 3", append([]byte{3}, v2[1:]...), false},
		{"version 0", append([]byte{0}, v2[1:]...), false},
		{"unknown flag", append(append([]byte(nil), v2[:len(v2)-1]...), 2), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeImport(7, tc.b)
			if !tc.ok {
				if !errors.Is(err, errCorrupt) {
					t.Fatalf("decoded %+v, err %v; want corruption", got, err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, imp) {
				t.Fatalf("got %+v %v, want %+v", got, err, imp)
			}
		})
	}
}

// FuzzDecode feeds arbitrary bytes to every record decoder: no panic, and a
// record that decodes survives a round trip unchanged (the decoders accept
// non-minimal varints, so the bytes themselves may differ).
func FuzzDecode(f *testing.F) {
	rec := sampleTicket()
	f.Add(encodeTicket(nil, &rec))
	se := sampleEntry()
	f.Add(encodeEntry(nil, &se))
	f.Add(encodeRedemptions(nil, []gate.Redemption{{Event: "e", Admissions: 1}}))
	imp := gate.ImportRecord{Provider: "p"}
	f.Add(encodeImport(&imp))
	f.Add(encodeEvent(derby))
	f.Add([]byte{1, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01})
	f.Add(fmtSnapshot())
	f.Add(nonceValue(5, t0))
	f.Fuzz(func(t *testing.T, b []byte) {
		if r, err := decodeTicket("x", b); err == nil {
			again, err := decodeTicket("x", encodeTicket(nil, &r))
			if err != nil || !reflect.DeepEqual(again, r) {
				t.Fatalf("ticket round trip: %+v\n%+v %v", r, again, err)
			}
		}
		if rs, err := decodeRedemptions(b); err == nil {
			again, err := decodeRedemptions(encodeRedemptions(nil, rs))
			if err != nil || !reflect.DeepEqual(again, rs) && len(rs) > 0 {
				t.Fatalf("redemptions round trip: %+v\n%+v %v", rs, again, err)
			}
		}
		if e, err := decodeEntry(1, b); err == nil {
			again, err := decodeEntry(1, encodeEntry(nil, &e))
			if err != nil || !reflect.DeepEqual(again, e) {
				t.Fatalf("entry round trip: %+v\n%+v %v", e, again, err)
			}
		}
		_, _ = decodeImport(1, b)
		_, _ = decodeEvent("e", b)
		_, _ = decodeCounters(b)
		_, _, _ = decodeNonce(b)
		_, _ = decodeStoreID(b)
		if h, f, err := decodeSnapshot(b); err == nil {
			again, err := encodeSnapshot(h, f)
			if err != nil {
				t.Fatalf("snapshot round trip: %v", err)
			}
			if h2, _, err := decodeSnapshot(again); err != nil || h2 != h {
				t.Fatalf("snapshot round trip: %+v %+v %v", h, h2, err)
			}
		}
	})
}
