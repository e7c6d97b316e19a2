package turnstile_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/turnstile"
	"github.com/admitgate/admit/turnstile/turnstiletest"
)

// timeline returns an output's successful switches as "+offset on|off",
// offsets from t0, for comparing with what a person would see.
func timeline(o *turnstiletest.Output) string {
	var s string
	for _, sw := range o.Switches() {
		if sw.Err != nil {
			continue
		}
		level := "off"
		if sw.On {
			level = "on"
		}
		s += fmt.Sprintf(" %v:%s", sw.At.Sub(t0), level)
	}
	return s
}

// The default patterns: green for the unlock, a short beep on admit, red and
// a double beep on deny, a blinking red on fault, green held in an emergency.
func TestSignals(t *testing.T) {
	t.Run("admit", func(t *testing.T) {
		r := newRig(t, noneCfg)
		r.scan("A")
		r.clock.Advance(10 * time.Second)
		if got, want := timeline(r.green), " 0s:off 0s:on 5s:off"; got != want {
			t.Errorf("green %s, want %s", got, want)
		}
		if got, want := timeline(r.buzzer), " 0s:off 0s:on 80ms:off"; got != want {
			t.Errorf("buzzer %s, want %s", got, want)
		}
		if got, want := timeline(r.red), " 0s:off"; got != want {
			t.Errorf("red %s, want %s", got, want)
		}
	})
	t.Run("deny", func(t *testing.T) {
		r := newRig(t, noneCfg)
		r.scan("unknown")
		r.clock.Advance(10 * time.Second)
		if got, want := timeline(r.red), " 0s:off 0s:on 1.5s:off"; got != want {
			t.Errorf("red %s, want %s", got, want)
		}
		if got, want := timeline(r.buzzer), " 0s:off 0s:on 150ms:off 250ms:on 400ms:off"; got != want {
			t.Errorf("buzzer %s, want %s", got, want)
		}
	})
	t.Run("deny while unlocked resumes the held green", func(t *testing.T) {
		r := newRig(t, noneCfg)
		r.scan("A")
		r.clock.Advance(time.Second)
		r.scan("B") // lane_busy
		r.clock.Advance(10 * time.Second)
		// Green has no deny pattern: it stays on through the refusal.
		if got, want := timeline(r.green), " 0s:off 0s:on 5s:off"; got != want {
			t.Errorf("green %s, want %s", got, want)
		}
		if got, want := timeline(r.red), " 0s:off 1s:on 2.5s:off"; got != want {
			t.Errorf("red %s, want %s", got, want)
		}
	})
	t.Run("fault blinks until the relay answers", func(t *testing.T) {
		r := newRig(t, noneCfg)
		r.lock.Fail(errUSB)
		r.scan("A")
		r.clock.Advance(1900 * time.Millisecond)
		r.lock.Fail(nil)
		r.clock.Advance(time.Second) // the retest at 2s clears the fault before the next blink
		if got, want := timeline(r.red), " 0s:off 0s:on 500ms:off 1s:on 1.5s:off"; got != want {
			t.Errorf("red %s, want %s", got, want)
		}
		if got, want := timeline(r.buzzer), " 0s:off 0s:on 1s:off"; got != want {
			t.Errorf("buzzer %s, want %s", got, want)
		}
	})
	t.Run("emergency", func(t *testing.T) {
		r := newRig(t, noneCfg)
		set, _ := turnstile.NewSet(r.clock, testLogger(t), r.lane)
		set.Release("test")
		r.clock.Advance(time.Minute)
		if _, err := set.Clear("test"); err != nil {
			t.Fatal(err)
		}
		if got, want := timeline(r.green), " 0s:off 0s:on 1m0s:off"; got != want {
			t.Errorf("green %s, want %s", got, want)
		}
	})
	t.Run("configured patterns and a failing light", func(t *testing.T) {
		cfg := noneCfg
		cfg.Signals.Green.Admit = turnstile.MustParsePattern("on:1s off:1s repeat")
		cfg.Signals.Buzzer.Admit = turnstile.PatternOff
		r := newRig(t, cfg)
		r.red.Fail(errUSB)
		r.scan("A")
		r.clock.Advance(3500 * time.Millisecond)
		r.pass()
		if got, want := timeline(r.green), " 0s:off 0s:on 1s:off 2s:on 3s:off"; got != want {
			t.Errorf("green %s, want %s", got, want)
		}
		if got := timeline(r.buzzer); got != " 0s:off" {
			t.Errorf("buzzer %s, want it silent", got)
		}
		r.scan("unknown") // the red light fails to show the refusal
		if d := r.scan("B"); d.Reason != gate.ReasonOK {
			t.Fatalf("a failing light must not stop the lane: %+v", d)
		}
		if got := metricValue(t, r.metrics, "admit_lane_output_errors_total", "lane", laneID, "output", "red"); got < 1 {
			t.Errorf("output errors = %v", got)
		}
	})
}
