package importfile_test

import (
	"testing"

	"github.com/rs/zerolog"

	"github.com/admitgate/admit/internal/testkit"
)

// testLogger logs to the test only when ADMIT_TEST_LOG is set.
func testLogger(t testing.TB) zerolog.Logger { return testkit.Logger(t) }
