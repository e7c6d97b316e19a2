package gatetest

import (
	"context"

	"github.com/admitgate/admit/gate"
)

var _ gate.Overrider = (*Overrider)(nil)

// Overrider is a gate.Validator that also overrides (gate.Overrider): the
// Validator's methods, and Override calling OverrideFunc (nil: an
// EINTERNAL error naming it).
type Overrider struct {
	gate.Validator
	OverrideFunc func(ctx context.Context, req gate.OverrideRequest) (gate.Decision, error)
}

// Override calls OverrideFunc.
func (x *Overrider) Override(ctx context.Context, req gate.OverrideRequest) (gate.Decision, error) {
	if x.OverrideFunc == nil {
		return gate.Decision{}, notSet("Override")
	}
	return x.OverrideFunc(ctx, req)
}
