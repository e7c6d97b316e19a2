//go:build !linux

package gpio

import (
	"context"

	"github.com/admitgate/admit/turnstile"
)

var (
	_ turnstile.Output = (*Output)(nil)
	_ turnstile.Input  = (*Input)(nil)
)

// Output is a GPIO output line; without Linux it cannot be opened.
type Output struct{ name string }

// OpenOutput fails with ErrUnsupported.
func OpenOutput(chip string, offset int, cfg OutputConfig) (*Output, error) {
	return nil, ErrUnsupported
}

// Set fails with ErrUnsupported.
func (o *Output) Set(on bool) error { return ErrUnsupported }

// String returns the line's name.
func (o *Output) String() string { return o.name }

// Halt fails with ErrUnsupported.
func (o *Output) Halt() error { return ErrUnsupported }

// Close does nothing.
func (o *Output) Close() error { return nil }

// Input is a GPIO input line; without Linux it cannot be opened.
type Input struct{ name string }

// OpenInput fails with ErrUnsupported.
func OpenInput(chip string, offset int, cfg InputConfig) (*Input, error) { return nil, ErrUnsupported }

// Watch fails with ErrUnsupported.
func (in *Input) Watch(ctx context.Context, fn func(turnstile.Edge)) error { return ErrUnsupported }

// String returns the line's name.
func (in *Input) String() string { return in.name }

// Dropped returns 0.
func (in *Input) Dropped() uint64 { return 0 }

// Close does nothing.
func (in *Input) Close() error { return nil }

// Chips returns nothing.
func Chips() []string { return nil }
