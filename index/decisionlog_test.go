package index

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/admitgate/admit/gate"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/rs/zerolog"
)

// lockedBuffer is a bytes.Buffer safe for the index's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// decisions returns the decision lines logged, decoded.
func (l *lockedBuffer) decisions(t *testing.T) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.b.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("a log line is not JSON: %q", line)
		}
		if m["message"] == "decision" {
			out = append(out, m)
		}
	}
	return out
}

func TestDecisionLog(t *testing.T) {
	for _, tc := range []struct {
		mode    gate.BarcodeLog
		barcode string // what the lines show of DL-9836900602677354
	}{
		{gate.BarcodeLast4, "…7354"},
		{gate.BarcodeFull, "DL-9836900602677354"},
		{gate.BarcodeNone, ""},
	} {
		t.Run(tc.mode.String(), func(t *testing.T) {
			var logs lockedBuffer
			o := testOptions(vfs.NewMem())
			o.Logger = zerolog.New(&logs).Level(zerolog.DebugLevel)
			o.LogBarcodes = tc.mode
			ix := openDerby(t, o)
			load(t, ix, tk("DL-9836900602677354", "derby"))
			ctx := context.Background()
			scan := gate.Scan{Barcode: "DL-9836900602677354", Lane: "north-1", Direction: gate.In, At: during, Source: "http:handheld"}
			ix.Check(ctx, scan)
			ok := ix.Scan(ctx, scan)
			used := ix.Scan(ctx, scan)
			ix.Scan(ctx, gate.Scan{Barcode: "nope-1234567", Lane: "south-1", At: during})
			lines := logs.decisions(t)
			if len(lines) != 4 {
				t.Fatalf("%d decision lines, want 4:\n%s", len(lines), logs.b.String())
			}
			want := []struct {
				reason string
				admit  bool
				seq    uint64
				check  bool
			}{{"ok", true, 0, true}, {"ok", true, ok.Seq, false}, {"already_used", false, used.Seq, false}, {"unknown", false, used.Seq + 1, false}}
			for i, l := range lines {
				w := want[i]
				if l["reason"] != w.reason || l["admit"] != w.admit || l["seq"] != float64(w.seq) || (l["check"] == true) != w.check {
					t.Errorf("line %d: %v, want %+v", i, l, w)
				}
				if ms, ok := l["took_ms"].(float64); !ok || ms < 0 || ms > 60_000 {
					t.Errorf("line %d: took_ms %v", i, l["took_ms"])
				}
				if w.check && l["level"] != "debug" || !w.check && l["level"] != "info" {
					t.Errorf("line %d at level %v", i, l["level"])
				}
			}
			first := lines[1]
			if first["lane"] != "north-1" || first["event"] != "derby" || first["direction"] != "in" || first["source"] != "http:handheld" {
				t.Errorf("the admission's line: %v", first)
			}
			bc, has := first["barcode"]
			if tc.mode == gate.BarcodeNone && has || tc.mode != gate.BarcodeNone && bc != tc.barcode {
				t.Errorf("the barcode shows as %v (present %t), want %q", bc, has, tc.barcode)
			}
			if tc.mode != gate.BarcodeFull && strings.Contains(logs.b.String(), "9836900602677") {
				t.Errorf("the log holds the whole barcode:\n%s", logs.b.String())
			}
		})
	}
}

// TestDecisionLogAllocatesNothing: a decision's log line adds no
// allocation to a scan, whether the store logs at info or not.
func TestDecisionLogAllocatesNothing(t *testing.T) {
	if underRace {
		t.Skip("the race detector's sync.Pool drops pooled values at random: allocations are not counted")
	}
	allocs := func(log zerolog.Logger) (used, unknown float64) {
		o := testOptions(vfs.NewMem())
		o.Logger = log
		ix := openDerby(t, o)
		load(t, ix, tk("AL-0001-5678", "derby"))
		ctx := context.Background()
		s := gate.Scan{Barcode: "AL-0001-5678", Lane: "north-1", Direction: gate.In, At: during, Source: "usb:0c2e:0b61"}
		if d := ix.Scan(ctx, s); d.Reason != gate.ReasonOK {
			t.Fatalf("first scan: %+v", d)
		}
		used = testing.AllocsPerRun(500, func() { ix.Scan(ctx, s) })
		u := gate.Scan{Barcode: "AL-unknown-1", Lane: "north-1", Direction: gate.In, At: during}
		unknown = testing.AllocsPerRun(500, func() { ix.Scan(ctx, u) })
		waitWritten(t, ix)
		return used, unknown
	}
	offUsed, offUnknown := allocs(zerolog.Nop())
	onUsed, onUnknown := allocs(zerolog.New(io.Discard).Level(zerolog.InfoLevel))
	if onUsed > offUsed || onUnknown > offUnknown {
		t.Errorf("allocations per scan with the decision logged: already used %v, unknown %v; without: %v, %v",
			onUsed, onUnknown, offUsed, offUnknown)
	}
	t.Logf("allocations per scan (already used, unknown): logged %v %v, not logged %v %v", onUsed, onUnknown, offUsed, offUnknown)
}
