package defaults_test

import (
	"testing"
	"time"

	"github.com/admitgate/admit/internal/defaults"
)

func TestSet(t *testing.T) {
	for _, tc := range []struct{ v, want time.Duration }{
		{0, time.Second},
		{-time.Millisecond, time.Second}, // a negative value is unset too
		{time.Millisecond, time.Millisecond},
	} {
		v := tc.v
		defaults.Set(&v, time.Second)
		if v != tc.want {
			t.Errorf("Set(%v, 1s) = %v, want %v", tc.v, v, tc.want)
		}
	}
	var n uint64
	defaults.Set(&n, 100)
	if n != 100 {
		t.Errorf("an unsigned zero became %d, want 100", n)
	}
	n = 1
	defaults.Set(&n, 100)
	if n != 1 {
		t.Errorf("an unsigned 1 became %d, want 1", n)
	}
	s := ""
	defaults.Set(&s, "secutix")
	if s != "secutix" {
		t.Errorf("an empty string became %q, want secutix", s)
	}
	s = "csv"
	defaults.Set(&s, "secutix")
	if s != "csv" {
		t.Errorf("a set string became %q, want csv", s)
	}
}
