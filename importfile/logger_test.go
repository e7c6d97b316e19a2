package importfile_test

import (
	"os"
	"testing"

	"github.com/rs/zerolog"
)

// testLogger logs to the test only when ADMIT_TEST_LOG is set.
func testLogger(t testing.TB) zerolog.Logger {
	if os.Getenv("ADMIT_TEST_LOG") == "" {
		return zerolog.Nop()
	}
	return zerolog.New(zerolog.NewTestWriter(t))
}
