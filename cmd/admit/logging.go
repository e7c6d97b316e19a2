package main

import (
	"time"

	"github.com/rs/zerolog"

	"github.com/admitgate/admit/gate"
)

// The process's log lines: one JSON object per line (or a human line on a
// terminal), each key once, timestamps with milliseconds, durations in
// milliseconds under keys that say so (took_ms), one line per decision at
// info (index/decisionlog.go) with the barcode shortened as [log] barcodes
// says, and the operator page's polls at debug (httpapi/logging.go).
// TestDaemonLogLines holds a running daemon's lines to all of it.

// logTimeFormat is RFC 3339 with milliseconds: lines a scan apart are told
// apart, and ordered, by their time.
const logTimeFormat = "2006-01-02T15:04:05.000Z07:00"

func init() {
	// zerolog's settings are the process's: set once, before any line.
	zerolog.TimeFieldFormat = logTimeFormat
	zerolog.DurationFieldUnit = time.Millisecond // Dur("took_ms", …)
	zerolog.DurationFieldInteger = false
}

// logBarcodes is how log lines show barcodes ([log] barcodes; Validate
// has checked it).
func (c *Config) logBarcodes() gate.BarcodeLog {
	m, _ := gate.ParseBarcodeLog(c.Log.Barcodes)
	return m
}

// withoutDecisions drops the decision lines (admit bench -v: a line per
// scan of a benchmark buries the rest).
type withoutDecisions struct{}

func (withoutDecisions) Run(e *zerolog.Event, _ zerolog.Level, msg string) {
	if msg == "decision" {
		e.Discard()
	}
}
