package defaults

import "cmp"

// Set sets *v to d when *v is zero or less: a number or duration of zero or
// below, or an empty string.
func Set[T cmp.Ordered](v *T, d T) {
	var zero T
	if *v <= zero {
		*v = d
	}
}
