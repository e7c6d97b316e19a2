package index

import (
	"time"

	"github.com/admitgate/admit/gate"
)

// The change records and the venue position in testdata/format (see
// TestRecordFormats).

var (
	fmtCancelChange = gate.Change{Seq: 7, ID: "4f1c9e0a2b7d4e6f8a1b3c5d7e9f0a2b", Kind: gate.ChangeCancel, By: "admin-anna",
		At: t0.Add(-time.Hour), Appliance: "north", Position: 812, Barcode: "9836900602677354"}
	fmtEventChange = gate.Change{Seq: 2, ID: "0a2b", Kind: gate.ChangePutEvent, By: "admin-ben", At: t0.Add(-48 * time.Hour),
		Event: &fmtEvent}
	fmtPassChange = gate.Change{Seq: 3, ID: "pass-1", Kind: gate.ChangeUpdateEvents, By: "admin-ben", At: t0.Add(-47 * time.Hour),
		Barcode: "SEASON-1", Add: []string{"cup", "derby"}, Remove: []string{"fest"}}
	fmtProviderChange = gate.Change{Seq: 1, ID: "p-1", Kind: gate.ChangePutProvider, By: "admin-ben", At: t0.Add(-49 * time.Hour),
		Provider: &fmtProvider, Detail: "d"}
	fmtImportChange = gate.Change{Seq: 4, ID: "imp-1", Kind: gate.ChangeImport, By: "drop:secutix-main", At: t0.Add(-24 * time.Hour),
		Appliance: "south", Position: 9, ImportID: 9, Import: &gate.ImportChange{Provider: "secutix-main", Event: "derby",
			PriceType: "ADU", Format: gate.FormatSecutix, OnError: gate.OnErrorSkip, Source: "export.csv",
			File: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", Size: 1 << 33,
			Lines: 10, Added: 6, Updated: 2, Unchanged: 1, Rejected: 1}}
)

func changeGoldens() []goldenRecord {
	change := func(c gate.Change, imp bool, file, about string) goldenRecord {
		return goldenRecord{file: file, about: about, key: changeKey(c.Seq, imp), want: c,
			encode: func() []byte { return encodeChange(&c) },
			decode: func(k, v []byte) (any, error) {
				seq, err := decodeU64(k[len(k)-8:])
				if err != nil {
					return nil, err
				}
				return decodeChange(seq, v)
			}}
	}
	position := func(k []byte, pos uint64, at time.Time, file, about string) goldenRecord {
		return goldenRecord{file: file, about: about, key: k, want: [2]any{pos, at},
			encode: func() []byte { return encodePosition(pos, at) },
			decode: func(_, v []byte) (any, error) {
				p, a, err := decodePosition(v)
				return [2]any{p, a}, err
			}}
	}
	return []goldenRecord{
		change(fmtCancelChange, false, "change.v1-cancel", "change record, version 1: cr<seq:8> -> encodeChange; a venue's cancel"),
		change(fmtEventChange, false, "change.v1-event", "change record, version 1: an event put on a single appliance"),
		change(fmtPassChange, false, "change.v1-pass", "change record, version 1: a pass's events changed"),
		change(fmtProviderChange, false, "change.v1-provider", "change record, version 1: a provider put"),
		change(fmtImportChange, true, "change.v1-import", "change record, version 1: xcr<seq:8> -> encodeChange; a venue's import, applied"),
		position(metaChangePos, 812, fmtCancelChange.At, "position.v1", "the venue position applied, version 1: cp -> seq, at"),
		position(metaImportChangePos, 9, fmtImportChange.At, "position.v1-import", "the venue position an import applied, version 1: xcp -> seq, at"),
	}
}
