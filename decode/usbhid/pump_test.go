package usbhid

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/internal/testkit"
)

// fakeClock is a clock the fake reader advances.
type fakeClock = testkit.Clock

// step is one scripted answer of the fake reader.
type step struct {
	report  string        // a report to return
	err     error         // an error to return
	timeout bool          // wait out the read's deadline
	wait    time.Duration // advance the clock by this much first
}

// fakeReader returns scripted answers and records each read's deadline.
type fakeReader struct {
	clk       *fakeClock
	steps     []step
	deadlines []time.Time
}

func (r *fakeReader) ReadContext(ctx context.Context, buf []byte) (int, error) {
	d, _ := ctx.Deadline()
	r.deadlines = append(r.deadlines, d)
	if len(r.steps) == 0 {
		return 0, errors.New("script ended")
	}
	s := r.steps[0]
	r.steps = r.steps[1:]
	r.clk.Add(s.wait)
	if s.timeout {
		// The deadline passes (on the fake clock) with no report.
		r.clk.Set(d)
		return 0, errors.New("transfer was cancelled")
	}
	if s.err != nil {
		return 0, s.err
	}
	return copy(buf, s.report), nil
}

// lineDecoder is a fake decoder: bytes up to '\n' make a read; a read
// pending 100ms without a byte ends as malformed.
type lineDecoder struct {
	buf  strings.Builder
	last time.Time
	done []gate.Read
}

func (d *lineDecoder) Feed(report []byte, at time.Time) (gate.Read, bool) {
	for _, c := range report {
		if c == '\n' {
			d.done = append(d.done, gate.Read{Text: d.buf.String(), At: at})
			d.buf.Reset()
			continue
		}
		d.buf.WriteByte(c)
		d.last = at
	}
	if len(d.done) == 0 {
		return gate.Read{}, false
	}
	r := d.done[0]
	d.done = d.done[1:]
	return r, true
}

func (d *lineDecoder) Expire(now time.Time) (gate.Read, bool) {
	if len(d.done) > 0 {
		r := d.done[0]
		d.done = d.done[1:]
		return r, true
	}
	if d.buf.Len() > 0 && !now.Before(d.last.Add(100*time.Millisecond)) {
		r := gate.Read{Text: d.buf.String(), At: now, Malformed: "incomplete"}
		d.buf.Reset()
		return r, true
	}
	return gate.Read{}, false
}

func (d *lineDecoder) Deadline() time.Time {
	if len(d.done) > 0 {
		return time.Time{}.Add(1) // in the past: a read waits
	}
	if d.buf.Len() > 0 {
		return d.last.Add(100 * time.Millisecond)
	}
	return time.Time{}
}

func (d *lineDecoder) Flush(at time.Time) (gate.Read, bool) {
	if d.buf.Len() == 0 {
		return gate.Read{}, false
	}
	r := gate.Read{Text: d.buf.String(), At: at, Malformed: "scanner unplugged"}
	d.buf.Reset()
	return r, true
}

func TestPump(t *testing.T) {
	// Deadlines are real contexts: start the fake clock now so they lie
	// ahead, and let the fake reader move the clock past them.
	t0 := time.Now().Round(0)
	errGone := errors.New("device was disconnected")
	tests := []struct {
		name  string
		steps []step
		want  []gate.Read
		err   error
		// deadlines of the reads, as offsets from t0
		deadlines []time.Duration
	}{
		{
			name:      "one report one read",
			steps:     []step{{report: "ABC\n"}, {err: errGone}},
			want:      []gate.Read{{Text: "ABC", At: t0}},
			err:       errGone,
			deadlines: []time.Duration{time.Second, time.Second},
		},
		{
			name:  "two reads in one report",
			steps: []step{{report: "A\nB\n", wait: 10 * time.Millisecond}, {err: errGone}},
			want:  []gate.Read{{Text: "A", At: t0.Add(10 * time.Millisecond)}, {Text: "B", At: t0.Add(10 * time.Millisecond)}},
			err:   errGone,
		},
		{
			name: "a pending read ends at the decoder's deadline, not the read timeout",
			steps: []step{
				{report: "12"},
				{timeout: true},
				{err: errGone},
			},
			want:      []gate.Read{{Text: "12", At: t0.Add(100 * time.Millisecond), Malformed: "incomplete"}},
			err:       errGone,
			deadlines: []time.Duration{time.Second, 100 * time.Millisecond, 100*time.Millisecond + time.Second},
		},
		{
			name:  "idle reads time out and go on",
			steps: []step{{timeout: true}, {timeout: true}, {report: "X\n"}, {err: errGone}},
			want:  []gate.Read{{Text: "X", At: t0.Add(2 * time.Second)}},
			err:   errGone,
		},
		{
			name:  "a read cut by unplugging is flushed",
			steps: []step{{report: "HALF"}, {err: errGone}},
			want:  []gate.Read{{Text: "HALF", At: t0, Malformed: "scanner unplugged"}},
			err:   errGone,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := testkit.NewClock(t0)
			r := &fakeReader{clk: clk, steps: tt.steps}
			p := newPump(&lineDecoder{}, time.Second, clk.Now, zerolog.Nop())
			out := make(chan gate.Read, 10)
			err := p.run(context.Background(), r, 8, out)
			p.Flush(context.Background(), out)
			close(out)
			if !errors.Is(err, tt.err) {
				t.Errorf("run = %v, want %v", err, tt.err)
			}
			var got []gate.Read
			for r := range out {
				got = append(got, r)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("reads %+v, want %+v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("read %d = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
			for i, d := range tt.deadlines {
				if i >= len(r.deadlines) {
					t.Fatalf("%d reads, want at least %d", len(r.deadlines), i+1)
				}
				if want := t0.Add(d); !r.deadlines[i].Equal(want) {
					t.Errorf("read %d deadline t0+%v, want t0+%v", i, r.deadlines[i].Sub(t0), d)
				}
			}
		})
	}
}

func TestPumpStopsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	p := newPump(&lineDecoder{}, time.Hour, time.Now, zerolog.Nop())
	done := make(chan error)
	go func() { done <- p.run(ctx, blockingReader{}, 8, make(chan gate.Read)) }()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("run = %v, want context.Canceled", err)
	}
}

func TestPumpDoesNotBlockOnAGoneConsumer(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	clk := testkit.NewClock(time.Now())
	r := &fakeReader{clk: clk, steps: []step{{report: "A\n"}}}
	p := newPump(&lineDecoder{}, time.Second, clk.Now, zerolog.Nop())
	done := make(chan error)
	go func() { done <- p.run(ctx, r, 8, make(chan gate.Read)) }() // nobody receives
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("run = %v, want context.Canceled", err)
	}
}

type blockingReader struct{}

func (blockingReader) ReadContext(ctx context.Context, buf []byte) (int, error) {
	<-ctx.Done()
	return 0, ctx.Err()
}
