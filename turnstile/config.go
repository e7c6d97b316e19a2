package turnstile

import (
	"time"

	"github.com/admitgate/admit/gate"
)

// Confirm says when an admission at a lane is final.
type Confirm string

// Confirm modes.
const (
	// ConfirmNone: the admission is final when the index answers and the
	// arm unlocks. The passage sensor, if any, only ends the unlock early.
	ConfirmNone Confirm = "none"
	// ConfirmPassage: the admission is final only when the passage sensor
	// fires; if nobody passes within the passage timeout it is annulled and
	// the ticket can be used again. Needs a passage sensor.
	ConfirmPassage Confirm = "passage"
)

// EmergencyMode says what an emergency release does to a lane.
type EmergencyMode string

// Emergency modes.
const (
	// EmergencyOpen unlocks the lane and keeps it unlocked (fail-safe: people
	// can leave) until the emergency is cleared.
	EmergencyOpen EmergencyMode = "open"
	// EmergencyHold keeps the lane locked until the emergency is cleared.
	EmergencyHold EmergencyMode = "hold"
)

// Defaults of Config.
const (
	DefaultUnlockTime     = 5 * time.Second
	DefaultPassageGrace   = 3 * time.Second // PassageTimeout's default is UnlockTime plus this
	DefaultMaxQueue       = 3
	DefaultRetestInterval = 2 * time.Second
	DefaultAnnulAttempts  = 5
	DefaultAnnulTimeout   = 5 * time.Second
	MaxUnlockTime         = 5 * time.Minute // longer is a lane propped open, not an unlock
)

// Config is how one lane behaves. The zero value (or a nil *Config) is the
// default lane: 5 s unlocks, final at once, no queue, open on emergency.
// cmd/admit maps the TOML lane section onto it; Confirm, EmergencyMode and
// Pattern read their TOML strings themselves (encoding.TextUnmarshaler).
type Config struct {
	// UnlockTime is how long the unlock relay stays on after an admission,
	// unless the passage sensor fires first. Default 5s, at most 5m.
	UnlockTime time.Duration
	// Confirm is "none" (default) or "passage".
	Confirm Confirm
	// PassageTimeout, with Confirm "passage", is how long after unlocking
	// the lane waits for the passage sensor before it annuls the admission.
	// It may exceed UnlockTime so that a rotation begun just before the arm
	// locks still counts. Default UnlockTime + 3s; never below UnlockTime.
	PassageTimeout time.Duration
	// Queue lets admissions that arrive while the lane is unlocked for an
	// earlier one wait their turn (each gets its own unlock) instead of
	// being refused with lane_busy. Default false.
	Queue bool
	// MaxQueue is how many admissions may wait when Queue is set; scans
	// beyond it are refused with lane_busy. Default 3.
	MaxQueue int
	// Emergency is "open" (default: unlock and stay unlocked) or "hold"
	// (stay locked) while an emergency release is active.
	Emergency EmergencyMode
	// RetestInterval is how often a faulted lane switches its relay to the
	// safe state to find out whether it answers again, and how long a failed
	// passage sensor is left before it is watched again. Default 2s.
	RetestInterval time.Duration
	// AnnulAttempts is how many times an annulment the index could not
	// write (a storage fault, not a conflict) is tried, RetestInterval
	// apart, doubling. Default 5.
	AnnulAttempts int
	// AnnulTimeout bounds one call to Validator.Annul. Default 5s.
	AnnulTimeout time.Duration
	// Signals are the light and buzzer patterns; unset ones take the
	// defaults in DefaultSignals.
	Signals Signals

	// Clock is the time source (not from TOML). Default SystemClock().
	Clock Clock
	// Metrics, when set, receives the lane's counters and histograms (not
	// from TOML).
	Metrics *Metrics
}

// Signals are the patterns of a lane's green light, red light and buzzer.
type Signals struct {
	Green  SignalPatterns
	Red    SignalPatterns
	Buzzer SignalPatterns
}

// SignalPatterns are what one output plays for each lane event: Admit while
// the lane is unlocked for an admission (a held step ends when the lane
// locks), Deny once per refusal, Fault and Emergency while the lane is in
// that state.
type SignalPatterns struct {
	Admit     Pattern
	Deny      Pattern
	Fault     Pattern
	Emergency Pattern
}

// DefaultSignals returns the default patterns for a lane whose emergency
// mode is mode:
//
//	         admit     deny                         fault                      emergency
//	green    on        off                          off                        on (open) / off (hold)
//	red      off       on:1.5s                      on:500ms off:500ms repeat  off (open) / on (hold)
//	buzzer   on:80ms   on:150ms off:100ms on:150ms  on:1s                      off
func DefaultSignals(mode EmergencyMode) Signals {
	s := Signals{
		Green:  SignalPatterns{Admit: MustParsePattern("on"), Deny: PatternOff, Fault: PatternOff},
		Red:    SignalPatterns{Admit: PatternOff, Deny: MustParsePattern("on:1.5s"), Fault: MustParsePattern("on:500ms off:500ms repeat")},
		Buzzer: SignalPatterns{Admit: MustParsePattern("on:80ms"), Deny: MustParsePattern("on:150ms off:100ms on:150ms"), Fault: MustParsePattern("on:1s"), Emergency: PatternOff},
	}
	if mode == EmergencyHold {
		s.Green.Emergency, s.Red.Emergency = PatternOff, MustParsePattern("on")
	} else {
		s.Green.Emergency, s.Red.Emergency = MustParsePattern("on"), PatternOff
	}
	return s
}

// EnsureDefaults fills every unset field with its default and returns c; a
// nil c gets a new default Config.
func (c *Config) EnsureDefaults() *Config {
	if c == nil {
		c = &Config{}
	}
	if c.UnlockTime == 0 {
		c.UnlockTime = DefaultUnlockTime
	}
	if c.Confirm == "" {
		c.Confirm = ConfirmNone
	}
	if c.PassageTimeout == 0 {
		c.PassageTimeout = c.UnlockTime + DefaultPassageGrace
	}
	if c.MaxQueue == 0 {
		c.MaxQueue = DefaultMaxQueue
	}
	if c.Emergency == "" {
		c.Emergency = EmergencyOpen
	}
	if c.RetestInterval == 0 {
		c.RetestInterval = DefaultRetestInterval
	}
	if c.AnnulAttempts == 0 {
		c.AnnulAttempts = DefaultAnnulAttempts
	}
	if c.AnnulTimeout == 0 {
		c.AnnulTimeout = DefaultAnnulTimeout
	}
	def := DefaultSignals(c.Emergency)
	fill := func(p *SignalPatterns, d SignalPatterns) {
		for _, f := range [...]struct{ p, d *Pattern }{{&p.Admit, &d.Admit}, {&p.Deny, &d.Deny}, {&p.Fault, &d.Fault}, {&p.Emergency, &d.Emergency}} {
			if !f.p.IsSet() {
				*f.p = *f.d
			}
		}
	}
	fill(&c.Signals.Green, def.Green)
	fill(&c.Signals.Red, def.Red)
	fill(&c.Signals.Buzzer, def.Buzzer)
	if c.Clock == nil {
		c.Clock = SystemClock()
	}
	return c
}

// Validate checks a Config after EnsureDefaults. Errors are gate.EINVALID
// and name the setting.
func (c *Config) Validate() error {
	switch {
	case c.UnlockTime <= 0 || c.UnlockTime > MaxUnlockTime:
		return gate.Errorf(gate.EINVALID, "unlock time %v must be positive and at most %v", c.UnlockTime, MaxUnlockTime)
	case c.Confirm != ConfirmNone && c.Confirm != ConfirmPassage:
		return gate.Errorf(gate.EINVALID, "confirm must be \"none\" or \"passage\", not %q", c.Confirm)
	case c.PassageTimeout < c.UnlockTime:
		return gate.Errorf(gate.EINVALID, "passage timeout %v is shorter than the unlock time %v", c.PassageTimeout, c.UnlockTime)
	case c.PassageTimeout > MaxUnlockTime+time.Minute:
		return gate.Errorf(gate.EINVALID, "passage timeout %v is longer than %v", c.PassageTimeout, MaxUnlockTime+time.Minute)
	case c.MaxQueue < 1 || c.MaxQueue > 100:
		return gate.Errorf(gate.EINVALID, "max queue %d must be between 1 and 100", c.MaxQueue)
	case c.Emergency != EmergencyOpen && c.Emergency != EmergencyHold:
		return gate.Errorf(gate.EINVALID, "emergency must be \"open\" or \"hold\", not %q", c.Emergency)
	case c.RetestInterval < 10*time.Millisecond || c.RetestInterval > time.Hour:
		return gate.Errorf(gate.EINVALID, "retest interval %v must be between 10ms and 1h", c.RetestInterval)
	case c.AnnulAttempts < 1 || c.AnnulAttempts > 20:
		return gate.Errorf(gate.EINVALID, "annul attempts %d must be between 1 and 20", c.AnnulAttempts)
	case c.AnnulTimeout <= 0:
		return gate.Errorf(gate.EINVALID, "annul timeout %v must be positive", c.AnnulTimeout)
	}
	return nil
}

// UnmarshalText implements encoding.TextUnmarshaler ("none", "passage").
func (c *Confirm) UnmarshalText(b []byte) error {
	switch v := Confirm(b); v {
	case ConfirmNone, ConfirmPassage:
		*c = v
		return nil
	}
	return gate.Errorf(gate.EINVALID, "confirm must be \"none\" or \"passage\", not %q", b)
}

// UnmarshalText implements encoding.TextUnmarshaler ("open", "hold").
func (m *EmergencyMode) UnmarshalText(b []byte) error {
	switch v := EmergencyMode(b); v {
	case EmergencyOpen, EmergencyHold:
		*m = v
		return nil
	}
	return gate.Errorf(gate.EINVALID, "emergency must be \"open\" or \"hold\", not %q", b)
}
