package index

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/bits-and-blooms/bloom/v3"
)

var update = flag.Bool("update", false,
	"rewrite the golden records of the versions the encoders write (testdata/format), and create the store fixture named by storeFixture if it is missing (testdata/stores)")

// The on-disk format is frozen: a store written by any earlier admit must
// open with this one. testdata/format holds the bytes of every record
// version the store has written, one record a file (its key and value in
// hex); TestRecordFormats decodes each into the value it was made from and,
// where the encoder still writes that version, checks that it writes the
// same bytes. A change of encoding therefore needs a new record version:
// keep the old file (and its decoder), add a file for the new version, and
// run `go test ./index -run TestRecordFormats -update` to write it. Files
// of versions no encoder writes any more are never rewritten.

// goldenRecord is one record version kept in testdata/format.
type goldenRecord struct {
	file    string // under testdata/format
	about   string // the first line of the file
	key     []byte // the key the store writes it under
	encode  func() []byte
	initial func() []byte // a version no encoder writes: how the file was made (used only when it is missing)
	decode  func(key, value []byte) (any, error)
	want    any
}

var (
	fmtMove   = gate.Movement{At: t0.Add(10 * time.Minute), Lane: "north-1", Seq: 5, Appliance: "gate-a"}
	fmtTicket = ticketRec{Key: 42, Upstream: gate.StateValid, Admin: adminBlocked, T: gate.Ticket{
		Barcode: "9836900602677354", Provider: "secutix-main", Events: []string{"cup", "derby"},
		Period:    gate.Period{From: t0, Until: t0.Add(48 * time.Hour)},
		PriceType: gate.Code{Code: "ADU", Name: "Adult"}, Product: gate.Code{Code: "MATCH", Name: "FC Example – Derby"},
		Holder: "Müller, Anna", Order: "880000", Contact: "1000", Price: "45.00", ValidityAt: t0, OrderedAt: t0.Add(-time.Hour),
		UsedUpstream: true, Replaces: "old-barcode", ImportID: 7, State: gate.StateBlocked,
	}}
	fmtRevoked = ticketRec{Key: 43, Upstream: gate.StateCancelled, Admin: adminRevoked, T: gate.Ticket{
		Barcode: "OLD-1", Provider: "box-office", Events: []string{"derby"}, ReplacedBy: "NEW-1", ImportID: 1,
		State: gate.StateRevoked,
	}}
	fmtRedemptions = []gate.Redemption{
		{Event: "derby", Admissions: 1, Exits: 1, First: fmtMove, Last: gate.Movement{At: t0.Add(2 * time.Hour), Lane: "exit-1", Seq: 9, Appliance: "gate-b"}},
		{Event: "fest", Admissions: 1, Reentries: 2, Inside: true, First: fmtMove, Last: fmtMove},
	}
	fmtRedemptionsV2 = []gate.Redemption{
		{Event: "derby", Admissions: 1, Exits: 1, First: fmtMove, Last: gate.Movement{At: t0.Add(2 * time.Hour), Lane: "exit-1", Seq: 9, Appliance: "gate-b"},
			Entries: []time.Time{fmtMove.At}, Revision: 17},
		{Event: "fest", Admissions: 1, Reentries: 2, Inside: true, First: fmtMove, Last: fmtMove,
			Entries: []time.Time{fmtMove.At, fmtMove.At.Add(time.Hour), fmtMove.At.Add(3 * time.Hour)}},
	}
	fmtOfflineAdmission = func() storedEntry { se := fmtAdmission; se.Decision.Offline = true; return se }()
	fmtOverride         = func() storedEntry {
		se := fmtAdmission
		se.Decision.Override = &gate.Override{By: "supervisor-kim", Why: "wristband checked by hand", Refused: gate.ReasonAlreadyUsed, RefusedSeq: 7}
		return se
	}()
	fmtAdmission = storedEntry{Key: 42, JournalEntry: gate.JournalEntry{Seq: 5, Kind: gate.KindDecision, Nonce: "n-1", Source: "usbhid:north-1",
		Decision: gate.Decision{Admit: true, Reason: gate.ReasonOK, Seq: 5, Barcode: "9836900602677354", Lane: "north-1",
			Direction: gate.In, At: fmtMove.At, Event: "derby",
			Ticket: &gate.TicketInfo{Provider: "secutix-main", PriceType: "ADU", PriceTypeName: "Adult", Product: "MATCH",
				ProductName: "FC Example – Derby", State: gate.StateValid}}}}
	fmtRefusal = storedEntry{Events: []string{"cup", "derby"}, JournalEntry: gate.JournalEntry{Seq: 6, Kind: gate.KindDecision, Source: "http:door",
		Decision: gate.Decision{Reason: gate.ReasonUnknown, Seq: 6, Barcode: "nope", Lane: "north-1", Direction: gate.In, At: t0.Add(11 * time.Minute)}}}
	fmtAlreadyUsed = storedEntry{Key: 42, Events: []string{"derby"}, JournalEntry: gate.JournalEntry{Seq: 7, Kind: gate.KindDecision, Annulled: 0,
		Decision: gate.Decision{Reason: gate.ReasonAlreadyUsed, Seq: 7, Barcode: "9836900602677354", Lane: "south-2", Direction: gate.In,
			At: t0.Add(12 * time.Minute), Event: "derby", FirstUsed: &fmtMove, Detail: "d", Replayed: true}}}
	fmtAnnulment = storedEntry{Key: 42, JournalEntry: gate.JournalEntry{Seq: 8, Kind: gate.KindAnnulment, By: "admin-anna",
		Decision: fmtAdmission.Decision}}
	fmtAnnulled = func() storedEntry { se := fmtAdmission; se.Annulled = 8; return se }()
	fmtEvent    = gate.Event{ID: "derby", Name: "Derby", OpensAt: t0, ClosesAt: t0.Add(6 * time.Hour), Reentry: true, Entries: 2}
	fmtEventV2  = gate.Event{ID: "dayfest", Name: "Day festival", OpensAt: t0, ClosesAt: t0.Add(72 * time.Hour), Entries: 3,
		TimeZone: "Europe/Zurich", StartsAt: t0.Add(time.Hour), EndsAt: t0.Add(70 * time.Hour),
		Rule: `{"<": [{"var": "entries_today"}, 1]}`}
	fmtProvider = gate.Provider{ID: "secutix-main", Name: "SecuTix (main)"}
	fmtImport   = gate.ImportRecord{ID: 3, Provider: "secutix-main", Event: "derby", Format: gate.FormatSecutix, Source: "upload:export.csv",
		By: "admin-anna", At: t0.Add(-24 * time.Hour), Lines: 10, Added: 6, Updated: 2, Unchanged: 1, Rejected: 1, Digest: "sha256:abc"}
	fmtWithdrawn = func() gate.ImportRecord {
		r := fmtImport
		r.WithdrawnAt, r.WithdrawnBy, r.Cancelled = t0.Add(-time.Hour), "admin-ben", 4
		return r
	}()
	fmtPending = func() gate.ImportRecord {
		r := fmtImport
		r.WithdrawnBy, r.Cancelled, r.WithdrawPending = "admin-ben", 2, true
		return r
	}()
)

var (
	fmtZoneLoc = zoneLoc{zone: "north-stand", at: t0.Add(10 * time.Minute), seq: 5}
	fmtPassage = passage{key: 42, prev: zoneLoc{zone: "concourse", at: t0, seq: 3}, next: fmtZoneLoc}
)

var fmtStoreID = [storeIDLen]byte{0x9a, 0x1f, 0x03, 0x77, 0xc2, 0x5e, 0x10, 0x8b, 0x44, 0xd0, 0x6e, 0x21, 0xfa, 0x39, 0x07, 0xb5}

// snapshotView is what a bloom snapshot holds, comparable: its header and
// whether its filter has the two barcodes it was made with.
type snapshotView struct {
	Header snapshotHeader
	HasA   bool
	HasB   bool
}

func fmtSnapshotView() snapshotView {
	return snapshotView{snapshotHeader{Store: fmtStoreID, Gen: 0x5f3c9e0012ab77d1, Capacity: 1000}, true, true}
}

// fmtSnapshot is a bloom snapshot of a small filter holding A and B.
func fmtSnapshot() []byte {
	f := bloom.NewWithEstimates(1000, 0.001)
	f.AddString("A")
	f.AddString("B")
	b, err := encodeSnapshot(fmtSnapshotView().Header, f)
	if err != nil {
		panic(err)
	}
	return b
}

// fmtCounters are report counters with one of everything (encodeCounters
// writes maps in their random order, so more would not be stable bytes).
func fmtCounters() *counters {
	c := newCounters()
	c.imports.Store(3)
	c.rows[rowKey{"derby", "secutix-main", "ADU"}] = &rowCounts{name: "Adult", sold: 10, used: 4, inside: 3, cancelled: 1}
	c.periods[periodKey{nanos(t0), nanos(t0.Add(48 * time.Hour)), "box-office", "SEASON"}] = &rowCounts{name: "Season", sold: 2, used: 1, cancelled: 1}
	c.denials["derby"] = map[gate.Reason]int64{gate.ReasonUnknown: 7}
	c.minutes["derby"] = map[int64]*minuteCounts{minuteOf(t0.Add(10 * time.Minute)): {entries: 4, exits: 1}}
	return c
}

// countersView is what the counters hold, comparable.
type countersView struct {
	Imports uint64
	Rows    map[rowKey]rowCounts
	Periods map[periodKey]rowCounts
	Denials map[string]map[gate.Reason]int64
	Minutes map[string]map[int64]minuteCounts
}

func viewCounters(c *counters) countersView {
	v := countersView{Imports: c.imports.Load(), Rows: map[rowKey]rowCounts{}, Periods: map[periodKey]rowCounts{},
		Denials: c.denials, Minutes: map[string]map[int64]minuteCounts{}}
	for k, r := range c.rows {
		v.Rows[k] = *r
	}
	for k, r := range c.periods {
		v.Periods[k] = *r
	}
	for ev, m := range c.minutes {
		v.Minutes[ev] = map[int64]minuteCounts{}
		for k, mc := range m {
			v.Minutes[ev][k] = *mc
		}
	}
	return v
}

func goldenRecords() []goldenRecord {
	ticket := func(r ticketRec) goldenRecord {
		return goldenRecord{key: ticketKey(r.T.Barcode), want: r,
			encode: func() []byte { return encodeTicket(nil, &r) },
			decode: func(k, v []byte) (any, error) { return decodeTicket(string(k[1:]), v) }}
	}
	entry := func(se storedEntry) goldenRecord {
		return goldenRecord{key: journalKey(se.Seq), want: se,
			encode: func() []byte { return encodeEntry(nil, &se) },
			decode: func(k, v []byte) (any, error) {
				seq, err := decodeU64(k[1:])
				if err != nil {
					return nil, err
				}
				return decodeEntry(seq, v)
			}}
	}
	imp := func(r gate.ImportRecord) goldenRecord {
		return goldenRecord{key: importKey(r.ID), want: r,
			encode: func() []byte { return encodeImport(&r) },
			decode: func(k, v []byte) (any, error) {
				id, err := decodeU64(k[len(prefixImport):])
				if err != nil {
					return nil, err
				}
				return decodeImport(id, v)
			}}
	}
	meta := func(k []byte, n uint64) goldenRecord {
		return goldenRecord{key: k, want: n, encode: func() []byte { return u64(n) },
			decode: func(_, v []byte) (any, error) { return decodeU64(v) }}
	}
	named := func(g goldenRecord, file, about string) goldenRecord {
		g.file, g.about = file, about
		return g
	}
	v1import := imp(fmtWithdrawn)
	v1import.encode = nil
	v1import.initial = func() []byte {
		v2 := encodeImport(&fmtWithdrawn)
		return append([]byte{1}, v2[1:len(v2)-1]...) // version 1 had no flags byte
	}
	// Version 1 of tickets, redemptions, journal entries and providers: no
	// encoder writes them any more; the files were made by the encoder of
	// their day.
	frozen := func(g goldenRecord) goldenRecord {
		g.encode = nil
		g.initial = func() []byte { panic("the version 1 file is missing from testdata/format") }
		return g
	}
	redemptions := func(rs []gate.Redemption) goldenRecord {
		return goldenRecord{key: redemptionKey(42), want: rs,
			encode: func() []byte { return encodeRedemptions(nil, rs) },
			decode: func(_, v []byte) (any, error) { return decodeRedemptions(v) }}
	}
	return append(changeGoldens(), append([]goldenRecord{
		named(frozen(ticket(fmtTicket)), "ticket.v1", "ticket record, version 1: t<barcode> -> no encoder writes it any more"),
		named(frozen(ticket(fmtRevoked)), "ticket.v1-revoked", "ticket record, version 1, a barcode revoked by a reissue"),
		named(ticket(fmtTicket), "ticket.v2", "ticket record, version 2 (the customer key of a rotating provider's ticket): t<barcode> -> encodeTicket"),
		named(ticket(fmtRotatingTicket), "ticket.v2-customer-key", "ticket record, version 2: a rotating provider's ticket with its customer key"),
		named(frozen(redemptions(fmtRedemptions)), "redemptions.v1", "redemptions of a ticket key, version 1: r<key:8> -> no encoder writes it any more"),
		named(redemptions(fmtRedemptionsV2), "redemptions.v2", "redemptions of a ticket key, version 2 (entry times, hub revision): r<key:8> -> encodeRedemptions"),
		named(frozen(entry(fmtAdmission)), "entry.v1-admission", "journal entry, version 1: j<seq:8> -> no encoder writes it any more; an admission"),
		named(frozen(entry(fmtAnnulled)), "entry.v1-annulled", "journal entry, version 1: an admission an annulment took back"),
		named(frozen(entry(fmtRefusal)), "entry.v1-refusal", "journal entry, version 1: a refusal counted against the lane's events"),
		named(frozen(entry(fmtAlreadyUsed)), "entry.v1-already-used", "journal entry, version 1: a refusal naming the first use, replayed for a nonce"),
		named(frozen(entry(fmtAnnulment)), "entry.v1-annulment", "journal entry, version 1: an annulment"),
		named(frozen(entry(lostEntry(9, "not yet written when admit stopped"))), "entry.v1-lost", "journal entry, version 1: a number a crash left unwritten"),
		named(entry(fmtAdmission), "entry.v2-admission", "journal entry, version 2 (offline, override): j<seq:8> -> encodeEntry; an admission"),
		named(entry(fmtOfflineAdmission), "entry.v2-offline", "journal entry, version 2: an admission made while the venue's hub did not answer"),
		named(entry(fmtOverride), "entry.v2-override", "journal entry, version 2: a supervisor's override of a refusal"),
		named(entry(fmtRefusal), "entry.v2-refusal", "journal entry, version 2: a refusal counted against the lane's events"),
		named(goldenRecord{key: historyKey(42, 5), want: [2]uint64{42, 5},
			encode: func() []byte { return nil },
			decode: func(k, v []byte) (any, error) {
				if len(v) != 0 || len(k) != 17 {
					return nil, errCorrupt
				}
				key, _ := decodeU64(k[1:9])
				seq, err := decodeU64(k[9:])
				return [2]uint64{key, seq}, err
			}},
			"history", "history index: h<key:8><seq:8> -> nothing"),
		named(goldenRecord{key: nonceKey("n-1"), want: [2]any{uint64(5), fmtMove.At},
			encode: func() []byte { return nonceValue(5, fmtMove.At) },
			decode: func(_, v []byte) (any, error) {
				seq, at, ok := decodeNonce(v)
				if !ok {
					return nil, errCorrupt
				}
				return [2]any{seq, at.UTC()}, nil
			}},
			"nonce", "nonce: n<nonce> -> seq:8, at:8 (Unix ns)"),
		named(frozen(goldenRecord{key: eventKey(fmtEvent.ID), want: fmtEvent,
			decode: func(k, v []byte) (any, error) { return decodeEvent(string(k[1:]), v) }}),
			"event.v1", "event, version 1: e<id> -> no encoder writes it any more"),
		named(goldenRecord{key: eventKey(fmtEventV2.ID), want: fmtEventV2,
			encode: func() []byte { return encodeEvent(fmtEventV2) },
			decode: func(k, v []byte) (any, error) { return decodeEvent(string(k[1:]), v) }},
			"event.v2", "event, version 2 (time zone, start, end, entry rule): e<id> -> encodeEvent"),
		named(goldenRecord{key: eventKey(fmtEvent.ID), want: fmtEvent,
			encode: func() []byte { return encodeEvent(fmtEvent) },
			decode: func(k, v []byte) (any, error) { return decodeEvent(string(k[1:]), v) }},
			"event.v2-plain", "event, version 2: an event without the version 2 fields"),
		named(frozen(goldenRecord{key: providerKey(fmtProvider.ID), want: ProviderSpec{Provider: fmtProvider, Kind: ProviderList},
			decode: func(k, v []byte) (any, error) { return decodeProvider(k, v) }}),
			"provider", "provider, version 1: p<id> -> the name; no encoder writes it any more"),
		named(v1import, "import.v1", "import record, version 1 (no flags byte): xi<id:8> -> no encoder writes it any more"),
		named(imp(fmtWithdrawn), "import.v2", "import record, version 2: xi<id:8> -> encodeImport; a withdrawn import"),
		named(imp(fmtPending), "import.v2-withdraw-pending", "import record, version 2: a withdrawal begun and not finished"),
		named(meta(metaNextKey, 1234), "meta.nextkey", "meta: the next ticket key (big-endian uint64)"),
		named(meta(metaNextImport, 4), "meta.nextimport", "meta: the next import id"),
		named(meta(metaTickets, 1233), "meta.tickets", "meta: the barcodes stored"),
		named(meta(metaBloomGen, 17), "meta.bloomgen", "meta: the bloom generation"),
		named(meta(metaJournalWM, 9), "meta.journalwm", "meta: every journal sequence at or below is on disk"),
		named(goldenRecord{key: metaStoreID, want: fmtStoreID,
			encode: func() []byte { return fmtStoreID[:] },
			decode: func(_, v []byte) (any, error) { return decodeStoreID(v) }},
			"meta.storeid", "meta: the store's id, 16 random bytes written when it is created"),
		named(goldenRecord{key: []byte(bloomFile), want: fmtSnapshotView(),
			encode: func() []byte { return fmtSnapshot() },
			decode: func(_, v []byte) (any, error) {
				h, f, err := decodeSnapshot(v)
				if err != nil {
					return nil, err
				}
				return snapshotView{h, f.TestString("A"), f.TestString("B")}, nil
			}},
			"bloom.v2", "the bloom snapshot file, format 2 (ADMBLM02: store id, generation, capacity, filter, CRC-32C)"),
		named(goldenRecord{key: []byte(bloomFile), want: "rebuilt",
			initial: func() []byte {
				// The first format: magic, generation, capacity, filter,
				// CRC-32C; no store id.
				v2 := fmtSnapshot()
				v1 := append([]byte(bloomMagicV1), v2[len(bloomMagic)+storeIDLen:len(v2)-4]...)
				var sum [4]byte
				binary.BigEndian.PutUint32(sum[:], crc32.Checksum(v1, castagnoli))
				return append(v1, sum[:]...)
			},
			decode: func(_, v []byte) (any, error) {
				if _, _, err := decodeSnapshot(v); !errors.Is(err, errStaleFilter) {
					return nil, fmt.Errorf("a snapshot of the first format was not refused: %v", err)
				}
				return "rebuilt", nil
			}},
			"bloom.v1", "the bloom snapshot file, format 1 (ADMBLM01, no store id): refused, the filter is rebuilt"),
		named(goldenRecord{key: zoneKey(zoneLocation, 42), want: fmtZoneLoc,
			encode: func() []byte { return encodeZoneLoc(fmtZoneLoc) },
			decode: func(_, v []byte) (any, error) { return decodeZoneLoc(v) }},
			"zone.location.v1", "zone record, version 1: zt<key:8> -> where a ticket is (zone, since, by which passage)"),
		named(goldenRecord{key: zoneKey(zoneAnon, 12), want: zoneLoc{zone: "north-stand", at: t0, seq: 12},
			encode: func() []byte { return encodeZoneLoc(zoneLoc{zone: "north-stand", at: t0, seq: 12}) },
			decode: func(_, v []byte) (any, error) { return decodeZoneLoc(v) }},
			"zone.anon.v1", "zone record, version 1: za<seq:8> -> a guest a supervisor let in without a ticket"),
		named(goldenRecord{key: zoneKey(zonePassage, 11), want: fmtPassage,
			encode: func() []byte { return encodePassage(&fmtPassage) },
			decode: func(_, v []byte) (any, error) { return decodePassage(v) }},
			"zone.passage.v1", "zone record, version 1: zp<seq:8> -> what a passage moved (ticket key, from, to)"),
		named(goldenRecord{key: zoneResetKey("north-stand"), want: t0.Add(10 * time.Hour),
			encode: func() []byte { return encodeZoneReset(t0.Add(10 * time.Hour)) },
			decode: func(_, v []byte) (any, error) { return decodeZoneReset(v) }},
			"zone.reset.v1", "zone record, version 1: zr<zone> -> when the zone was last emptied (exit_all_at)"),
		named(goldenRecord{key: zoneKey(zoneOverride, 13), want: uint64(13),
			encode: func() []byte { return nil },
			decode: func(k, v []byte) (any, error) {
				if len(v) != 0 || len(k) != 10 {
					return nil, errCorrupt
				}
				return decodeU64(k[2:])
			}},
			"zone.override", "override index: zo<seq:8> -> nothing (the overrides the report lists)"),
		named(goldenRecord{key: metaCounters, want: viewCounters(fmtCounters()),
			encode: func() []byte { return encodeCounters(fmtCounters()) },
			decode: func(_, v []byte) (any, error) {
				c, err := decodeCounters(v)
				if err != nil {
					return nil, err
				}
				return viewCounters(c), nil
			}},
			"counters.v1", "report counters saved by Close, version 1: mcounters -> encodeCounters"),
	}, append(venueGoldenRecords(), signedGoldenRecords()...)...)...) // changes_format_test.go, venue_format_test.go, signed_format_test.go
}

// TestRecordFormats: every record version in testdata/format decodes into
// the value it was made from, and the encoders that still write a version
// write its bytes. See the comment above goldenRecord.
func TestRecordFormats(t *testing.T) {
	dir := filepath.Join("testdata", "format")
	records := goldenRecords()
	for _, g := range records {
		t.Run(g.file, func(t *testing.T) {
			path := filepath.Join(dir, g.file)
			switch {
			case *update && g.encode != nil:
				writeGolden(t, path, g.about, g.key, g.encode())
			case *update && g.initial != nil:
				if _, err := os.Stat(path); os.IsNotExist(err) {
					writeGolden(t, path, g.about, g.key, g.initial())
				}
			}
			key, value := readGolden(t, path)
			if !bytes.Equal(key, g.key) {
				t.Errorf("key %x; the store writes this record under %x", key, g.key)
			}
			if g.encode != nil {
				if enc := g.encode(); !bytes.Equal(enc, value) {
					t.Errorf("the encoder writes\n%x\nwhere %s holds\n%x\n"+
						"a changed encoding needs a new record version: keep this file and add one for the new version", enc, path, value)
				}
			}
			got, err := g.decode(key, value)
			if err != nil {
				t.Fatalf("a store holding this record can no longer be read: %v", err)
			}
			if !reflect.DeepEqual(got, g.want) {
				t.Fatalf("decoded\n%+v\nwant\n%+v", got, g.want)
			}
		})
	}
	// Every file is read by a test: a record version is never dropped.
	files, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if !slices.ContainsFunc(records, func(g goldenRecord) bool { return g.file == f.Name() }) {
			t.Errorf("%s is not decoded by TestRecordFormats", f.Name())
		}
	}
}

func writeGolden(t *testing.T, path, about string, key, value []byte) {
	t.Helper()
	text := fmt.Sprintf("# %s\nkey %x\nvalue %x\n", about, key, value)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readGolden(t *testing.T, path string) (key, value []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (create it with -update)", err)
	}
	var haveKey, haveValue bool
	for _, line := range strings.Split(string(b), "\n") {
		field, hexed, _ := strings.Cut(line, " ")
		var dst *[]byte
		switch field {
		case "key":
			dst, haveKey = &key, true
		case "value":
			dst, haveValue = &value, true
		default:
			continue
		}
		if *dst, err = hex.DecodeString(strings.TrimSpace(hexed)); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	if !haveKey || !haveValue {
		t.Fatalf("%s: want a key line and a value line", path)
	}
	return key, value
}
