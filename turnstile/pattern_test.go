package turnstile_test

import (
	"bufio"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/turnstile"
)

func TestParsePattern(t *testing.T) {
	tests := []struct {
		in      string
		want    string // String() of the result; "" for an error
		steps   int
		repeat  bool
		errPart string
	}{
		{in: "off", want: "off"},
		{in: "on", want: "on", steps: 1},
		{in: "  on:150ms   off:100ms on:150ms ", want: "on:150ms off:100ms on:150ms", steps: 3},
		{in: "on:500ms off:500ms repeat", want: "on:500ms off:500ms repeat", steps: 2, repeat: true},
		{in: "off:100ms on", want: "off:100ms on", steps: 2},
		{in: "on:1.5s", want: "on:1.5s", steps: 1},
		{in: "", errPart: "empty pattern"},
		{in: "blink", errPart: "on:DURATION"},
		{in: "on:fast", errPart: "bad duration"},
		{in: "on:5ms", errPart: "lasts 5ms"},
		{in: "on:2m", errPart: "lasts 2m0s"},
		{in: "on off:1s", errPart: "only the last step"},
		{in: "off", want: "off"},
		{in: "off:1s off", errPart: "only the last step"},
		{in: "on:500ms on repeat", errPart: "cannot hold"},
		{in: "on:50ms off:50ms repeat", errPart: "repeats every 100ms"},
		{in: "repeat", errPart: "repeats nothing"},
		{in: strings.Repeat("on:1s ", 33), errPart: "more than 32 steps"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			p, err := turnstile.ParsePattern(tt.in)
			if tt.errPart != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errPart) || gate.ErrorCode(err) != gate.EINVALID {
					t.Fatalf("ParsePattern(%q) = %v, %v; want an invalid error mentioning %q", tt.in, p, err, tt.errPart)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.String() != tt.want || len(p.Steps) != tt.steps || p.Repeat != tt.repeat || !p.IsSet() {
				t.Fatalf("ParsePattern(%q) = %#v", tt.in, p)
			}
		})
	}
	var zero turnstile.Pattern
	if zero.IsSet() || zero.String() != "" || !turnstile.PatternOff.IsSet() || !turnstile.PatternOff.IsOff() {
		t.Error("unset and off patterns")
	}
	var p turnstile.Pattern
	if err := p.UnmarshalText([]byte("on:80ms")); err != nil || p.Steps[0] != (turnstile.Step{On: true, For: 80 * time.Millisecond}) {
		t.Errorf("UnmarshalText = %#v, %v", p, err)
	}
	if b, _ := p.MarshalText(); string(b) != "on:80ms" {
		t.Errorf("MarshalText = %s", b)
	}
}

// FuzzParsePattern: no input panics, and whatever parses prints back to text
// that parses to the same pattern.
func FuzzParsePattern(f *testing.F) {
	seeds, err := os.Open("testdata/patterns.txt")
	if err != nil {
		f.Fatal(err)
	}
	defer seeds.Close()
	sc := bufio.NewScanner(seeds)
	for sc.Scan() {
		f.Add(sc.Text())
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := turnstile.ParsePattern(s)
		if err != nil {
			if gate.ErrorCode(err) != gate.EINVALID {
				t.Fatalf("error without the invalid code: %v", err)
			}
			return
		}
		again, err := turnstile.ParsePattern(p.String())
		if err != nil {
			t.Fatalf("%q parsed, but its text %q does not: %v", s, p.String(), err)
		}
		if again.String() != p.String() || again.Repeat != p.Repeat || len(again.Steps) != len(p.Steps) {
			t.Fatalf("round trip %q → %q → %q", s, p.String(), again.String())
		}
		for i := range p.Steps {
			if again.Steps[i] != p.Steps[i] {
				t.Fatalf("step %d: %v → %v", i, p.Steps[i], again.Steps[i])
			}
		}
	})
}

func TestConfigDefaultsAndValidate(t *testing.T) {
	c := (*turnstile.Config)(nil).EnsureDefaults()
	if c.UnlockTime != 5*time.Second || c.PassageTimeout != 8*time.Second || c.Confirm != turnstile.ConfirmNone ||
		c.Emergency != turnstile.EmergencyOpen || c.MaxQueue != 3 || c.RetestInterval != 2*time.Second || c.Clock == nil {
		t.Fatalf("defaults = %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Signals.Green.Admit.String() != "on" || c.Signals.Red.Emergency.String() != "off" || c.Signals.Green.Emergency.String() != "on" {
		t.Errorf("signals = %+v", c.Signals)
	}
	hold := (&turnstile.Config{Emergency: turnstile.EmergencyHold, Signals: turnstile.Signals{Buzzer: turnstile.SignalPatterns{Deny: turnstile.PatternOff}}}).EnsureDefaults()
	if hold.Signals.Red.Emergency.String() != "on" || hold.Signals.Green.Emergency.String() != "off" || hold.Signals.Buzzer.Deny.String() != "off" {
		t.Errorf("hold signals = %+v", hold.Signals)
	}
	tests := []struct {
		name string
		cfg  turnstile.Config
		want string
	}{
		{"negative unlock", turnstile.Config{UnlockTime: -time.Second}, "unlock time"},
		{"long unlock", turnstile.Config{UnlockTime: time.Hour}, "unlock time"},
		{"confirm", turnstile.Config{Confirm: "sometimes"}, "confirm"},
		{"timeout below unlock", turnstile.Config{UnlockTime: 5 * time.Second, PassageTimeout: 4 * time.Second}, "passage timeout"},
		{"queue", turnstile.Config{MaxQueue: 500}, "max queue"},
		{"emergency", turnstile.Config{Emergency: "panic"}, "emergency"},
		{"retest", turnstile.Config{RetestInterval: time.Millisecond}, "retest"},
		{"attempts", turnstile.Config{AnnulAttempts: 50}, "annul attempts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.EnsureDefaults().Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) || gate.ErrorCode(err) != gate.EINVALID {
				t.Fatalf("Validate = %v, want an invalid error mentioning %q", err, tt.want)
			}
		})
	}
	var cm turnstile.Confirm
	if err := cm.UnmarshalText([]byte("passage")); err != nil || cm != turnstile.ConfirmPassage {
		t.Error("confirm passage")
	}
	if err := cm.UnmarshalText([]byte("Passage")); err == nil {
		t.Error("confirm is case-sensitive like every config word")
	}
	var em turnstile.EmergencyMode
	if err := em.UnmarshalText([]byte("hold")); err != nil || em != turnstile.EmergencyHold {
		t.Error("emergency hold")
	}
	if err := em.UnmarshalText([]byte("")); err == nil {
		t.Error("empty emergency mode accepted")
	}
}
