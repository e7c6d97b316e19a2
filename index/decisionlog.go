package index

import (
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/rs/zerolog"
)

// Every decision the store makes, whatever its source (the API, a lane's
// scanner, a door device), gets one line at info level, so that
// `journalctl -u admit | grep already_used` finds the refusals:
//
//	{"level":"info","component":"index","lane":"north-1","direction":"in","reason":"already_used",
//	 "admit":false,"seq":1042,"event":"MATCH-2026-12-05","barcode":"…7354","source":"http:handheld",
//	 "took_ms":0.043,"time":"…","message":"decision"}
//
// The barcode shows as Options.LogBarcodes says (its last four characters
// by default). A check (POST /v1/check) is logged at debug. The line costs
// no allocation (zerolog's events are pooled, the barcode is shortened into
// a buffer on the stack; TestDecisionLogAllocatesNothing) and no system
// call on the scan's path when the process logs through an asynchronous
// writer (admit serve does); when info is off it costs a level check.

// decisionStart is the time a decision's latency counts from, or the zero
// time when its line would not be logged (no clock read then).
func (ix *Index) decisionStart() time.Time {
	if ix.log.GetLevel() > zerolog.InfoLevel || zerolog.GlobalLevel() > zerolog.InfoLevel {
		return time.Time{}
	}
	return time.Now()
}

// logDecision writes d's line; redeem false is a check.
func (ix *Index) logDecision(s *gate.Scan, d *gate.Decision, start time.Time, redeem bool) {
	var e *zerolog.Event
	if redeem {
		e = ix.log.Info()
	} else {
		e = ix.log.Debug().Bool("check", true)
	}
	if e == nil {
		return
	}
	e = e.Str("lane", d.Lane).Str("direction", d.Direction.String()).Str("reason", d.Reason.String()).
		Bool("admit", d.Admit).Uint64("seq", d.Seq)
	if d.Event != "" {
		e = e.Str("event", d.Event)
	}
	if m := ix.opts.LogBarcodes; m.Shown() {
		var buf [24]byte
		e = e.Bytes("barcode", m.Append(buf[:0], d.Barcode))
	}
	if s.Source != "" {
		e = e.Str("source", s.Source)
	}
	if d.Replayed {
		e = e.Bool("replayed", true)
	}
	if d.Offline {
		e = e.Bool("offline", true)
	}
	if d.Detail != "" {
		e = e.Str("detail", d.Detail)
	}
	if !start.IsZero() {
		e = e.Float64("took_ms", float64(time.Since(start).Microseconds())/1000)
	}
	e.Msg("decision")
}

// logBarcode is what the index's other log lines show of a barcode
// (Options.LogBarcodes).
func (ix *Index) logBarcode(barcode string) string { return ix.opts.LogBarcodes.Redact(barcode) }
