package turnstile

import (
	"context"
	"time"

	"github.com/admitgate/admit/gate"
)

// Override lets through the guest the lane refused last, in a supervisor's
// name (gate.Overrider): the lane's validator forces the refusal, and the
// lane unlocks for the override as for any admission (with confirm
// "passage" an override nobody passes on is annulled at its timeout). A
// supervisor card scanned at the lane takes the same way through Handle,
// its decision being the override. ECONFLICT while the lane cannot take
// an admission (busy, faulted, in an emergency, halted) and for whatever
// the validator refuses; EUNAVAILABLE when the validator cannot override.
func (l *Lane) Override(ctx context.Context, req gate.OverrideRequest) (gate.Decision, error) {
	o, ok := l.v.(gate.Overrider)
	if !ok {
		return gate.Decision{}, gate.Errorf(gate.EUNAVAILABLE, "lane %s cannot override: its validator does not", l.id)
	}
	if req.Lane == "" {
		req.Lane = l.id
	}
	if req.Lane != l.id {
		return gate.Decision{}, gate.Errorf(gate.EINVALID, "an override for lane %s reached lane %s", req.Lane, l.id)
	}
	start := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.started && !l.halted {
		return gate.Decision{}, gate.Errorf(gate.ECONFLICT, "lane %s is starting", l.id)
	}
	if r, why := l.refusal(); r != 0 {
		return gate.Decision{}, gate.Errorf(gate.ECONFLICT, "%s: the override waits until the lane can open", why)
	}
	if req.At.IsZero() {
		req.At = l.clock.Now()
	}
	d, err := o.Override(ctx, req)
	if err != nil {
		return d, err
	}
	d = l.admit(d)
	if !d.Admit {
		l.sig.deny()
	}
	last := d
	l.last = &last
	l.m.decision(d.Reason, time.Since(start))
	l.log.Info().Uint64("seq", d.Seq).Str("by", req.By).Str("barcode", d.Barcode).Bool("opened", d.Admit).Msg("override")
	l.publish()
	return d, nil
}
