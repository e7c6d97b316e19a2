package turnstile_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/gate/gatetest"
	"github.com/admitgate/admit/turnstile"
	"github.com/rs/zerolog"
)

// nopOutput is a relay that switches instantly: the benchmarks measure the
// lane, not a USB control transfer.
type nopOutput struct{ name string }

func (o nopOutput) Set(bool) error { return nil }
func (o nopOutput) String() string { return o.name }

// fastIndex admits every barcode but "unknown", with increasing sequence
// numbers, as fast as a function call can.
func fastIndex() *gatetest.Index {
	var seq atomic.Uint64
	return &gatetest.Index{
		ScanFunc: func(_ context.Context, s gate.Scan) gate.Decision {
			d := s.Refusal(s.Deny, s.Detail)
			d.Seq = seq.Add(1)
			if s.Deny == 0 && s.Barcode != "unknown" {
				d.Admit, d.Reason = true, gate.ReasonOK
			} else if s.Deny == 0 {
				d.Reason = gate.ReasonUnknown
			}
			return d
		},
		AnnulFunc: func(context.Context, uint64, string) (gate.JournalEntry, error) { return gate.JournalEntry{}, nil },
	}
}

// BenchmarkLane measures what a lane adds to a decision: the validator
// called directly, then a full admission through the lane (decide, unlock,
// passage, lock, lights and buzzer on the system clock), a refusal (deny
// signals), and a lane_busy refusal. Latencies per operation are reported as
// p50/p99/p99.9 from an HDR histogram.
//
//	go test -run '^$' -bench Lane -benchtime 2s ./turnstile/
func BenchmarkLane(b *testing.B) {
	read := gate.Read{Text: "9836900602677354", Source: "bench"}
	ctx := context.Background()
	newLane := func(b *testing.B) *turnstile.Lane {
		// Unlocks long enough that the lane_busy run never sees its admission time out.
		cfg := turnstile.Config{Confirm: turnstile.ConfirmPassage, Metrics: turnstile.NewMetrics(),
			UnlockTime: turnstile.MaxUnlockTime, PassageTimeout: turnstile.MaxUnlockTime}
		l, err := turnstile.NewLane(gate.Lane{ID: "bench-1"}, fastIndex(),
			turnstile.Parts{Lock: nopOutput{"relay"}, Passage: nopInput{}, Green: nopOutput{"green"}, Red: nopOutput{"red"}, Buzzer: nopOutput{"buzzer"}},
			&cfg, zerolog.Nop())
		if err != nil {
			b.Fatal(err)
		}
		return l
	}
	run := func(b *testing.B, op func()) {
		h := hdrhistogram.New(1, int64(time.Second), 3)
		b.ReportAllocs()
		for b.Loop() {
			t := time.Now()
			op()
			_ = h.RecordValue(time.Since(t).Nanoseconds())
		}
		b.ReportMetric(float64(h.ValueAtQuantile(50)), "p50-ns")
		b.ReportMetric(float64(h.ValueAtQuantile(99)), "p99-ns")
		b.ReportMetric(float64(h.ValueAtQuantile(99.9)), "p99.9-ns")
	}
	b.Run("validator-only", func(b *testing.B) {
		v := fastIndex()
		gl := gate.Lane{ID: "bench-1"}
		run(b, func() { v.Scan(ctx, gl.Scan(read.Text, time.Now())) })
	})
	b.Run("admit+passage", func(b *testing.B) {
		l := newLane(b)
		run(b, func() {
			r := read
			r.At = time.Now()
			if d := l.Handle(ctx, r); !d.Admit {
				b.Fatalf("%+v", d)
			}
			l.Passage(turnstile.Edge{Active: true, At: time.Now()})
		})
	})
	b.Run("refusal", func(b *testing.B) {
		l := newLane(b)
		r := gate.Read{Text: "unknown"}
		run(b, func() { l.Handle(ctx, r) })
	})
	b.Run("lane_busy", func(b *testing.B) {
		l := newLane(b)
		l.Handle(ctx, read) // holds the lane unlocked for the whole run
		run(b, func() {
			if d := l.Handle(ctx, read); d.Reason != gate.ReasonLaneBusy {
				b.Fatalf("%+v", d)
			}
		})
	})
}

type nopInput struct{}

func (nopInput) Watch(ctx context.Context, fn func(turnstile.Edge)) error {
	<-ctx.Done()
	return ctx.Err()
}
func (nopInput) String() string { return "sensor" }
