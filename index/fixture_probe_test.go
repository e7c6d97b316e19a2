package index_test

import (
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/admitgate/admit/index/indextest"
)

// TestBuildFixtureTiming is a manual helper: ADMIT_FIXTURE=N builds a fixture
// of N tickets and logs how long it took.
func TestBuildFixtureTiming(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("ADMIT_FIXTURE"))
	if n == 0 {
		t.Skip("set ADMIT_FIXTURE=N to time building a fixture of N tickets")
	}
	start := time.Now()
	if err := indextest.Build(t.TempDir(), n); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d tickets in %v", n, time.Since(start))
}
