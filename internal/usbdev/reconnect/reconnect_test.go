package reconnect_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/admitgate/admit/internal/logtest"
	"github.com/admitgate/admit/internal/testkit"
	"github.com/admitgate/admit/internal/usbdev/reconnect"
)

func TestBackoffDelay(t *testing.T) {
	tests := []struct {
		b    reconnect.Backoff
		want []time.Duration
	}{
		{reconnect.Backoff{}, []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, 1600 * time.Millisecond, 3200 * time.Millisecond, 5 * time.Second, 5 * time.Second}},
		{reconnect.Backoff{Min: time.Second, Max: 3 * time.Second, Factor: 1.5}, []time.Duration{time.Second, 1500 * time.Millisecond, 2250 * time.Millisecond, 3 * time.Second}},
		{reconnect.Backoff{Min: time.Second, Max: time.Millisecond}, []time.Duration{time.Second, time.Second}},
		{reconnect.Backoff{Min: 10 * time.Millisecond, Factor: 0.5}, []time.Duration{10 * time.Millisecond, 20 * time.Millisecond}},
	}
	for _, tt := range tests {
		for i, w := range tt.want {
			if got := tt.b.Delay(i + 1); got != w {
				t.Errorf("%+v.Delay(%d) = %v, want %v", tt.b, i+1, got, w)
			}
		}
	}
	if got := (reconnect.Backoff{}).Delay(1 << 20); got != reconnect.DefaultMax {
		t.Errorf("Delay(huge) = %v, want the maximum", got)
	}
}

// clock is a fake clock whose Sleep advances time instead of waiting.
type clock struct {
	testkit.Clock
	mu     sync.Mutex
	sleeps []time.Duration
}

func (c *clock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	c.sleeps = append(c.sleeps, d)
	c.mu.Unlock()
	c.Add(d)
	return nil
}

// step is what one scripted session does.
type step struct {
	up    bool          // connects
	stay  time.Duration // how long it stays up before failing
	err   error
	check func(t *testing.T, l *reconnect.Link) // runs while the session is up
}

func TestRunRetriesWithBackoffAndResetsAfterStableSession(t *testing.T) {
	errGone := errors.New("no device")
	script := []step{
		{err: errGone}, // 1 failure: 100ms
		{err: errGone}, // 2: 200ms
		{up: true, stay: time.Second, err: errGone}, // up briefly: 3: 400ms
		{err: errGone}, // 4: 800ms
		{up: true, stay: time.Minute, err: errGone}, // stable: reset, 1: 100ms
		{err: errGone}, // 2: 200ms
	}
	wantSleeps := []time.Duration{100, 200, 400, 800, 100, 200}
	for i := range wantSleeps {
		wantSleeps[i] *= time.Millisecond
	}
	clk := &clock{}
	clk.Set(time.Unix(1000, 0))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var changes []bool
	l := reconnect.New("test", &reconnect.Options{
		Now:      clk.Now,
		Sleep:    clk.Sleep,
		OnChange: func(s reconnect.Status) { changes = append(changes, s.Connected) },
	}, zerolog.Nop())
	n := 0
	err := l.Run(ctx, func(ctx context.Context, up func(string)) error {
		if n == len(script) {
			cancel()
			return errGone
		}
		s := script[n]
		n++
		if s.up {
			up(fmt.Sprintf("dev%d", n))
			if !l.Connected() {
				t.Errorf("session %d: not connected after up", n)
			}
			clk.Add(s.stay)
		}
		return s.err
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}
	if !reflect.DeepEqual(clk.sleeps, wantSleeps) {
		t.Errorf("sleeps %v, want %v", clk.sleeps, wantSleeps)
	}
	// down (first attempt), up, down, up, down, and down at cancel adds nothing.
	if want := []bool{false, true, false, true, false}; !reflect.DeepEqual(changes, want) {
		t.Errorf("status changes %v, want %v", changes, want)
	}
	st := l.Status()
	if st.Connected || st.Device != "dev5" || st.Reconnect != 1 || st.LastError == "" {
		t.Errorf("final status %+v", st)
	}
}

func TestStatusShowsDisconnectAtOnce(t *testing.T) {
	clk := &clock{}
	clk.Set(time.Unix(0, 0))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var l *reconnect.Link
	l = reconnect.New("scanner", &reconnect.Options{
		Now: clk.Now,
		Sleep: func(ctx context.Context, d time.Duration) error {
			// The backoff has started: the lane must already see the drop.
			if st := l.Status(); st.Connected || st.LastError != "unplugged" || !st.Since.Equal(clk.Now()) {
				t.Errorf("during backoff status %+v, want disconnected since now with the error", st)
			}
			cancel()
			return ctx.Err()
		},
	}, zerolog.Nop())
	err := l.Run(ctx, func(ctx context.Context, up func(string)) error {
		up("usb 1-2")
		clk.Add(time.Hour)
		return errors.New("unplugged")
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v", err)
	}
}

func TestRunStopsWhenContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	l := reconnect.New("relay", nil, zerolog.Nop())
	done := make(chan error)
	go func() {
		done <- l.Run(ctx, func(ctx context.Context, up func(string)) error {
			up("board")
			<-ctx.Done()
			return ctx.Err()
		})
	}()
	for !l.Connected() {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}
	if l.Connected() {
		t.Error("still connected after Run returned")
	}
}

func TestRealSleepIsATimerNotASpin(t *testing.T) {
	// With the real clock a failing device costs one attempt per backoff
	// period: count attempts over a window much longer than Min.
	ctx, cancel := context.WithTimeout(context.Background(), 250*time.Millisecond)
	defer cancel()
	attempts := 0
	l := reconnect.New("gone", &reconnect.Options{Backoff: reconnect.Backoff{Min: 20 * time.Millisecond, Max: 40 * time.Millisecond}}, zerolog.Nop())
	l.Run(ctx, func(ctx context.Context, up func(string)) error {
		attempts++
		return errors.New("no device")
	})
	// 250ms at 20, 40, 40, ... ms is at most 8 attempts; a spin would be thousands.
	if attempts > 20 {
		t.Errorf("%d attempts in 250ms with 20-40ms backoff", attempts)
	}
}

// TestLogLinesNameTheirComponentOnce: the link logs with the device's own
// logger, which names its component; the link adds no second one.
func TestLogLinesNameTheirComponentOnce(t *testing.T) {
	var buf syncBuffer
	log := zerolog.New(&buf).With().Str("component", "usbrelay").Str("board", "QWERT").Logger()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sessions := 0
	l := reconnect.New("relay QWERT", &reconnect.Options{
		Sleep: func(ctx context.Context, d time.Duration) error {
			if sessions >= 2 {
				cancel()
			}
			return ctx.Err()
		},
	}, log)
	_ = l.Run(ctx, func(ctx context.Context, up func(string)) error {
		sessions++
		if sessions == 1 {
			up("usb 1-2")
			return errors.New("unplugged")
		}
		return errors.New("not there")
	})
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) < 2 {
		t.Fatalf("%d lines: %q", len(lines), lines)
	}
	for _, line := range lines {
		dups, err := logtest.DuplicateKeys([]byte(line))
		if err != nil || len(dups) > 0 {
			t.Errorf("%s: keys twice %v (%v)", line, dups, err)
		}
		if !strings.Contains(line, `"component":"usbrelay"`) || !strings.Contains(line, `"device":"relay QWERT"`) {
			t.Errorf("%s: not the device's component and name", line)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for the link's goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Drop ends the session that runs now, and only that one: a drop left
// from an earlier session does not end the next.
func TestDropEndsTheSessionNow(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errGone := errors.New("request failed: board gone")
	l := reconnect.New("relay", &reconnect.Options{Sleep: func(ctx context.Context, d time.Duration) error { return ctx.Err() }}, zerolog.Nop())
	var ends []error
	err := l.Run(ctx, func(ctx context.Context, up func(string)) error {
		up("board")
		switch len(ends) {
		case 0:
			l.Drop(errGone)
			l.Drop(errors.New("a second drop")) // forgotten: one is enough
		case 1:
			l.Drop(errors.New("left over")) // the session ends on its own first
			ends = append(ends, errors.New("session ended itself"))
			return ends[1]
		default:
			select {
			case err := <-l.Dropped():
				t.Errorf("a drop from an earlier session ended this one: %v", err)
			default:
			}
			cancel()
			return ctx.Err()
		}
		select {
		case err := <-l.Dropped():
			ends = append(ends, err)
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}
	if len(ends) != 2 || ends[0] != errGone {
		t.Fatalf("sessions ended with %v, want the drop's error first", ends)
	}
	if st := l.Status(); st.Reconnect != 2 {
		t.Errorf("reconnects %d, want 2", st.Reconnect)
	}
}
