package turnstile

import (
	"errors"
	"sync"
)

// scene is what a lane shows on its lights and buzzer.
type scene uint8

const (
	sceneIdle      scene = iota // nothing: every signal off
	sceneAdmit                  // unlocked for an admission
	sceneFault                  // the lane is faulted
	sceneEmergency              // an emergency release is active
	sceneDeny                   // a refusal, played once over the others
)

// signals drives a lane's green light, red light and buzzer. Each output has
// its own player; a missing output has none.
type signals struct {
	players []*player
}

func newSignals(c *Config, green, red, buzzer Output, onErr func(Output, error)) *signals {
	s := &signals{}
	for _, o := range [...]struct {
		out  Output
		pats SignalPatterns
	}{{green, c.Signals.Green}, {red, c.Signals.Red}, {buzzer, c.Signals.Buzzer}} {
		if o.out != nil {
			s.players = append(s.players, &player{out: o.out, pats: o.pats, clock: c.Clock, onErr: onErr})
		}
	}
	return s
}

// show sets the lane's standing scene (idle, admit, fault, emergency),
// restarting its patterns; a refusal still playing finishes first.
func (s *signals) show(sc scene) {
	for _, p := range s.players {
		p.show(sc)
	}
}

// deny plays the refusal patterns once over the standing scene.
func (s *signals) deny() {
	for _, p := range s.players {
		p.flashDeny()
	}
}

// halt stops every pattern and switches every output off.
func (s *signals) halt() error {
	var errs []error
	for _, p := range s.players {
		errs = append(errs, p.halt())
	}
	return errors.Join(errs...)
}

// player plays patterns on one output. A standing scene's pattern runs until
// the scene changes; a refusal plays once over it, then the standing pattern
// resumes if it repeats or holds a level.
type player struct {
	out   Output
	pats  SignalPatterns
	clock Clock
	onErr func(Output, error)

	mu      sync.Mutex
	scene   scene // the standing scene
	denying bool  // a refusal pattern is playing
	halted  bool
	gen     uint64 // bumped whenever a new pattern starts; stale timers see it
	timer   Timer
	level   bool // the level last set successfully
	known   bool // level is what the output shows
}

func (p *player) pattern(sc scene) Pattern {
	switch sc {
	case sceneAdmit:
		return p.pats.Admit
	case sceneFault:
		return p.pats.Fault
	case sceneEmergency:
		return p.pats.Emergency
	case sceneDeny:
		return p.pats.Deny
	}
	return PatternOff
}

func (p *player) show(sc scene) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.halted {
		return
	}
	p.scene = sc
	if !p.denying {
		p.play(p.pattern(sc))
	}
}

func (p *player) flashDeny() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.halted {
		return
	}
	pat := p.pattern(sceneDeny)
	if pat.IsOff() {
		return // leave the standing pattern alone
	}
	p.denying = true
	p.play(pat)
}

func (p *player) halt() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.halted = true
	p.stop()
	if err := p.out.Set(false); err != nil {
		p.known = false
		return err
	}
	p.level, p.known = false, true
	return nil
}

// play starts pat from its first step. p.mu is held.
func (p *player) play(pat Pattern) {
	p.stop()
	if len(pat.Steps) == 0 {
		p.set(false)
		p.denying = false
		return
	}
	p.step(pat, 0, p.gen)
}

func (p *player) stop() {
	p.gen++
	if p.timer != nil {
		p.timer.Stop()
		p.timer = nil
	}
}

// step sets step i of pat and schedules the next. p.mu is held.
func (p *player) step(pat Pattern, i int, gen uint64) {
	st := pat.Steps[i]
	p.set(st.On)
	if st.For == 0 {
		return // held until the next pattern
	}
	p.timer = p.clock.AfterFunc(st.For, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.gen != gen || p.halted {
			return
		}
		switch next := i + 1; {
		case next < len(pat.Steps):
			p.step(pat, next, gen)
		case pat.Repeat:
			p.step(pat, 0, gen)
		case p.denying:
			p.denying = false
			p.resume()
		default:
			p.set(false)
		}
	})
}

// resume continues the standing pattern after a refusal: a repeating one
// starts again, a held one goes straight to its held level, a one-shot
// (already played) stays off. p.mu is held.
func (p *player) resume() {
	pat := p.pattern(p.scene)
	switch {
	case pat.Repeat:
		p.play(pat)
	case pat.holds():
		p.stop()
		p.set(pat.Steps[len(pat.Steps)-1].On)
	default:
		p.stop()
		p.set(false)
	}
}

// set switches the output when its level changes or is unknown. p.mu is held.
func (p *player) set(on bool) {
	if p.known && p.level == on {
		return
	}
	if err := p.out.Set(on); err != nil {
		p.known = false
		if p.onErr != nil {
			p.onErr(p.out, err)
		}
		return
	}
	p.level, p.known = on, true
}
