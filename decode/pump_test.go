package decode

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/admitgate/admit/gate"
)

// The Pump waits no longer than a pending read's timeout, hands out what the
// timeout ends, flushes what an unplug cuts short, and gives up on a
// consumer that has gone.
func TestPump(t *testing.T) {
	now := t0
	k := newKeyboard(t, Config{Timeout: 50 * time.Millisecond})
	p := &Pump{Decoder: k, Now: func() time.Time { return now }, Log: zerolog.Nop()}
	out := make(chan gate.Read, 4)
	rep := func(keys ...byte) []byte { b := make([]byte, 8); copy(b[2:], keys); return b }

	if d, wait := p.ReadDeadline(time.Second); !d.Equal(t0.Add(time.Second)) || wait != time.Second {
		t.Fatalf("idle: deadline %v wait %v, want the limit", d.Sub(t0), wait)
	}
	k.Feed(rep(0x04), now)
	if d, wait := p.ReadDeadline(time.Second); !d.Equal(t0.Add(50*time.Millisecond)) || wait != 50*time.Millisecond {
		t.Fatalf("pending: deadline %v wait %v, want the read's timeout", d.Sub(t0), wait)
	}
	if err := p.Due(context.Background(), out); err != nil || len(out) != 0 {
		t.Fatalf("Due before the timeout: %v, %d reads", err, len(out))
	}
	now = now.Add(50 * time.Millisecond)
	if err := p.Due(context.Background(), out); err != nil || len(out) != 1 {
		t.Fatalf("Due at the timeout: %v, %d reads", err, len(out))
	}
	if r := <-out; r.Text != "a" || r.Malformed == "" {
		t.Fatalf("timed-out read %+v, want a malformed \"a\"", r)
	}

	k.Feed(rep(0x05), now)
	p.Flush(context.Background(), out)
	if r := <-out; r.Text != "b" || r.Malformed != "incomplete read: the scanner stopped before the Enter, LF or Tab" {
		t.Fatalf("flushed read %+v", r)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.Send(ctx, make(chan gate.Read), gate.Read{Text: "x"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Send to a gone consumer = %v, want context.Canceled", err)
	}
}
