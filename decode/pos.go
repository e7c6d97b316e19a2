package decode

import (
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/admitgate/admit/gate"
)

// POS decodes the input reports of a scanner in HID POS mode (USB HID
// usage page 0x8C, "Bar Code Scanner"), in the report layout Honeywell and
// Access-IS scanners use (see POSReportLen): report ID, data length, the AIM
// identifier in bytes 2-4, data from byte 5, the vendor's code ID in the
// third byte from the end and a flags byte whose bit 0 says the barcode
// continues in the next report. Reports with another report ID (status,
// replies to commands) are ignored. The AIM identifier gives the
// symbology; when it is empty the vendor code ID (Honeywell's) does. A
// trailing CR or LF suffix inside the data is dropped. Not safe for
// concurrent use.
type POS struct {
	a       assembler
	reports int
	foreign int     // reports with another report ID, ignored
	aimRaw  [3]byte // the AIM field of the first report of the pending read
}

var _ ReportDecoder = (*POS)(nil)

// NewPOS returns a decoder of HID POS reports for the scanner cfg describes.
// Layout, Terminators, AIM and Framing do not apply. EINVALID for a config
// it cannot honour.
func NewPOS(cfg Config, log zerolog.Logger) (*POS, error) {
	s, err := cfg.resolve(kindPOS)
	if err != nil {
		return nil, err
	}
	p := &POS{}
	log = log.With().Str("component", "decode").Str("decoder", "pos").Str("source", s.source).Logger()
	p.a.init(s, log, "last report of the barcode")
	p.a.trimTerminators = true
	return p, nil
}

// posMinLen is the shortest report that can hold the header, one data byte
// and the trailer.
const posMinLen = 9

// Feed takes one input report. It returns the read the report completes.
func (p *POS) Feed(report []byte, at time.Time) (gate.Read, bool) {
	p.reports++
	a := &p.a
	if a.expired(at) {
		a.finish(endTimeout, a.last)
	}
	if len(report) == 0 || report[0] != a.s.posReportID {
		p.ignored(report)
		return a.pop()
	}
	if len(report) < posMinLen {
		a.fail(at, "HID POS report %d is %d bytes, want at least %d", p.reports, len(report), posMinLen)
		return a.pop()
	}
	end := len(report)
	if a.active && p.otherBarcode(report[2:5]) {
		// A continuation names another symbology: the scanner began a new
		// barcode without finishing the last one. Joining them would make
		// one read of two barcodes; the last one is cut short instead.
		a.breakOff(fmt.Sprintf("incomplete read: the next report began another barcode (%s after %s)",
			aimField(report[2:5]), aimField(p.aimRaw[:])))
	}
	if !a.active {
		copy(p.aimRaw[:], report[2:5])
		// The first report of a read names the symbology.
		if id, k := splitAIM(report[2:5]); k > 0 {
			a.aim = id
		} else {
			a.hint = honeywellSymbology(report[end-3])
		}
	}
	n, room := int(report[1]), end-8
	if n > room {
		a.fail(at, "HID POS report %d says it holds %d data bytes; it has room for %d", p.reports, n, room)
		n = room
	}
	a.addBytes(report[5:5+n], at)
	if report[end-1]&0x01 == 0 {
		a.finish(endFrame, at)
	}
	return a.pop()
}

// otherBarcode reports whether a continuation report's AIM field names
// another identifier than the first report of the read did. Scanners repeat
// the identifier in every report of a barcode; an empty field says nothing.
func (p *POS) otherBarcode(field []byte) bool {
	return field[0]|field[1]|field[2] != 0 && [3]byte(field) != p.aimRaw
}

// aimField shows an AIM field of a report for a detail.
func aimField(field []byte) string {
	if field[0]|field[1]|field[2] == 0 {
		return "no AIM identifier"
	}
	return fmt.Sprintf("%q", field)
}

// ignored notes a report with another ID. Scanners send a few (status,
// replies to commands), but a stream of them most likely means barcodes
// arrive under an ID the config does not name: say so, loudly and rarely.
func (p *POS) ignored(report []byte) {
	p.foreign++
	if p.foreign%1000 != 1 {
		return
	}
	id := -1
	if len(report) > 0 {
		id = int(report[0])
	}
	p.a.log.Warn().Int("report_id", id).Int("want", int(p.a.s.posReportID)).Int("ignored", p.foreign).
		Msg("HID POS report with another report ID ignored; if barcodes go missing, set pos_report_id")
}

// Ignored returns how many reports Feed ignored because their report ID
// was not Config.POSReportID, for the lane's status.
func (p *POS) Ignored() int { return p.foreign }

// Expire completes a read whose continuation report never came (malformed,
// incomplete), or hands out a completed read still waiting.
func (p *POS) Expire(now time.Time) (gate.Read, bool) { return p.a.expire(now, p.a.finish) }

// Deadline is when Expire should be called next; zero when nothing is
// pending.
func (p *POS) Deadline() time.Time { return p.a.deadline() }

// Flush ends a pending read at once, as when the scanner is unplugged.
// Call it until it returns false.
func (p *POS) Flush(at time.Time) (gate.Read, bool) { return p.a.flush(at, p.a.finish) }
