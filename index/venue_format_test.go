package index

import (
	"time"

	"github.com/admitgate/admit/gate"
)

// The venue's records, frozen like the others (format_test.go).
var (
	fmtOfflineAdmission2 = offlineRec{Seq: 12, Key: 42, Event: "derby", Ticket: "9836900602677354", Kind: gate.ReasonOK,
		Move: gate.Movement{At: t0.Add(20 * time.Minute), Lane: "north-1", Seq: 12, Appliance: "north"}}
	fmtOfflineAnnulment = offlineRec{Seq: 14, Key: 42, Event: "derby", Ticket: "9836900602677354", Kind: gate.ReasonOK, Annul: true,
		Move: gate.Movement{At: t0.Add(20 * time.Minute), Lane: "north-1", Seq: 12, Appliance: "north"}}
	fmtHubRedemption = gate.HubRedemption{Event: "derby", Ticket: "OLD-1",
		Redemption: gate.Redemption{Event: "derby", Admissions: 1, Inside: true, First: fmtMove, Last: fmtMove, Entries: []time.Time{fmtMove.At}, Revision: 31},
		Prev:       &gate.Redemption{Event: "derby"},
		By:         gate.ClaimRef{Appliance: "gate-a", Seq: 5, At: fmtMove.At}}
	fmtLearnedMinutes = []minuteDelta{{event: "derby", minute: minuteOf(fmtMove.At), entries: 2, exits: 1},
		{event: "derby", minute: minuteOf(fmtMove.At) + 3, entries: -1}}
)

func venueGoldenRecords() []goldenRecord {
	offline := func(o offlineRec, file, about string) goldenRecord {
		return goldenRecord{file: file, about: about, key: offlineKey(o.Seq), want: &o,
			encode: func() []byte { return encodeOffline(&o) },
			decode: func(k, v []byte) (any, error) { return decodeOffline(k, v) }}
	}
	return []goldenRecord{
		offline(fmtOfflineAdmission2, "venue.offline.v1", "a venue's offline write waiting for its replay, version 1: o<seq:8> -> encodeOffline; an admission"),
		offline(fmtOfflineAnnulment, "venue.offline.v1-annulment", "a venue's offline write, version 1: an annulment of the admission Move.Seq"),
		{file: "venue.learned.v1", about: "a venue's learned redemption waiting for its ticket, version 1: vu<ticket>\\x00<event> -> encodeHub",
			key: pendingKey(fmtHubRedemption.Ticket, fmtHubRedemption.Event), want: &fmtHubRedemption,
			encode: func() []byte { return encodeHub(&fmtHubRedemption) },
			decode: func(_, v []byte) (any, error) { return decodeHub(v) }},
		{file: "venue.minutes.v1", about: "a venue's report minutes of a learned revision, version 1: vm<rev:8> -> encodeMinutes",
			key: learnedMinutesKey(31), want: fmtLearnedMinutes,
			encode: func() []byte { return encodeMinutes(fmtLearnedMinutes) },
			decode: func(_, v []byte) (any, error) { return decodeMinutes(v) }},
		{file: "venue.since", about: "when the store first joined a venue: vsince -> Unix ns (big-endian uint64)",
			key: metaVenueSince, want: uint64(1796493600000000000), encode: func() []byte { return u64(1796493600000000000) },
			decode: func(_, v []byte) (any, error) { return decodeU64(v) }},
		{file: "venue.position", about: "a venue's learned position: vpos -> the last hub revision learned (big-endian uint64)",
			key: metaVenuePos, want: uint64(31), encode: func() []byte { return u64(31) },
			decode: func(_, v []byte) (any, error) { return decodeU64(v) }},
	}
}
