package turnstile

import (
	"fmt"
	"strings"
	"time"

	"github.com/admitgate/admit/gate"
)

// Limits of a pattern, so that a typo cannot chatter a relay to death.
const (
	MaxPatternSteps = 32                     // steps in one pattern
	MinPatternStep  = 20 * time.Millisecond  // the shortest step
	MaxPatternStep  = time.Minute            // the longest step
	MinRepeatPeriod = 200 * time.Millisecond // one round of a repeating pattern
)

// Step is one part of a pattern: the output on or off for a while. A zero
// For, allowed only on the last step, holds the level until the pattern is
// replaced.
type Step struct {
	On  bool
	For time.Duration
}

// Pattern is how a light or the buzzer shows a lane event: steps played once,
// or repeated until the lane's state changes. Its text form, as config files
// write it, is one of
//
//	off                          nothing (the output stays off)
//	on                           on until the lane's state changes
//	on:150ms off:100ms on:150ms  steps played once, then off
//	on:500ms off:500ms repeat    steps repeated
//
// and a last bare "on" holds after timed steps ("off:100ms on"). The zero
// Pattern is unset: the lane uses its default for that output and event.
type Pattern struct {
	Steps  []Step
	Repeat bool
	set    bool
}

// PatternOff is an explicitly empty pattern: the output does nothing.
var PatternOff = Pattern{set: true}

// ParsePattern reads a pattern's text form. Errors are gate.EINVALID.
func ParsePattern(s string) (Pattern, error) {
	p := Pattern{set: true}
	fields := strings.Fields(s)
	if len(fields) == 0 {
		return p, gate.Errorf(gate.EINVALID, "empty pattern (write \"off\" for none)")
	}
	if len(fields) == 1 && fields[0] == "off" {
		return p, nil
	}
	if fields[len(fields)-1] == "repeat" {
		p.Repeat = true
		fields = fields[:len(fields)-1]
		if len(fields) == 0 {
			return Pattern{}, gate.Errorf(gate.EINVALID, "pattern %q repeats nothing", s)
		}
	}
	if len(fields) > MaxPatternSteps {
		return Pattern{}, gate.Errorf(gate.EINVALID, "pattern %q has more than %d steps", s, MaxPatternSteps)
	}
	for i, f := range fields {
		level, dur, timed := strings.Cut(f, ":")
		var st Step
		switch level {
		case "on":
			st.On = true
		case "off":
		default:
			return Pattern{}, gate.Errorf(gate.EINVALID, "pattern %q: step %d %q must be on:DURATION or off:DURATION", s, i+1, f)
		}
		if timed {
			d, err := time.ParseDuration(dur)
			if err != nil {
				return Pattern{}, gate.Errorf(gate.EINVALID, "pattern %q: step %d: bad duration %q", s, i+1, dur)
			}
			if d < MinPatternStep || d > MaxPatternStep {
				return Pattern{}, gate.Errorf(gate.EINVALID, "pattern %q: step %d lasts %v; steps last %v to %v", s, i+1, d, MinPatternStep, MaxPatternStep)
			}
			st.For = d
		} else if !st.On || i != len(fields)-1 {
			return Pattern{}, gate.Errorf(gate.EINVALID, "pattern %q: only the last step may be a bare \"on\" (held); give step %d a duration", s, i+1)
		}
		p.Steps = append(p.Steps, st)
	}
	if p.Repeat {
		var period time.Duration
		for _, st := range p.Steps {
			if st.For == 0 {
				return Pattern{}, gate.Errorf(gate.EINVALID, "pattern %q: a repeating pattern cannot hold a step", s)
			}
			period += st.For
		}
		if period < MinRepeatPeriod {
			return Pattern{}, gate.Errorf(gate.EINVALID, "pattern %q repeats every %v; the least is %v", s, period, MinRepeatPeriod)
		}
	}
	return p, nil
}

// MustParsePattern is ParsePattern for patterns known to be good; it panics otherwise.
func MustParsePattern(s string) Pattern {
	p, err := ParsePattern(s)
	if err != nil {
		panic(err)
	}
	return p
}

// IsSet reports whether the pattern was given (parsed or PatternOff), as
// opposed to the zero value that stands for the default.
func (p Pattern) IsSet() bool { return p.set }

// IsOff reports whether the pattern never switches its output on.
func (p Pattern) IsOff() bool {
	for _, st := range p.Steps {
		if st.On {
			return false
		}
	}
	return true
}

// holds reports whether the pattern ends holding its last level.
func (p Pattern) holds() bool {
	return !p.Repeat && len(p.Steps) > 0 && p.Steps[len(p.Steps)-1].For == 0
}

// String returns the text form ParsePattern reads; "" for an unset pattern.
func (p Pattern) String() string {
	if !p.set {
		return ""
	}
	if len(p.Steps) == 0 {
		return "off"
	}
	var b strings.Builder
	for i, st := range p.Steps {
		if i > 0 {
			b.WriteByte(' ')
		}
		if st.On {
			b.WriteString("on")
		} else {
			b.WriteString("off")
		}
		if st.For > 0 {
			b.WriteByte(':')
			b.WriteString(st.For.String())
		}
	}
	if p.Repeat {
		b.WriteString(" repeat")
	}
	return b.String()
}

// MarshalText implements encoding.TextMarshaler.
func (p Pattern) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler, so a TOML string maps
// straight onto a Pattern.
func (p *Pattern) UnmarshalText(b []byte) error {
	v, err := ParsePattern(string(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// GoString shows a pattern in test failures.
func (p Pattern) GoString() string { return fmt.Sprintf("turnstile.Pattern(%q)", p.String()) }
