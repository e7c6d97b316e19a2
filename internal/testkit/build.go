package testkit

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// AdmitPackage is the import path of the admit binary.
const AdmitPackage = "github.com/admitgate/admit/cmd/admit"

// BuildAdmit builds the admit binary into a temporary directory of tb, as
// users build it, with -race when race is true and flags (such as
// -ldflags) added, and returns its path. The toolchain runs outside the
// emulated USB bus: LD_PRELOAD and UMOCKDEV_DIR are dropped from its
// environment.
func BuildAdmit(tb testing.TB, race bool, flags ...string) string {
	tb.Helper()
	bin := filepath.Join(tb.TempDir(), "admit")
	args := []string{"build", "-o", bin}
	if race {
		args = append(args, "-race")
	}
	args = append(append(args, flags...), AdmitPackage)
	cmd := exec.Command("go", args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LD_PRELOAD=") && !strings.HasPrefix(kv, "UMOCKDEV_DIR=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}
