package deploy

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"
)

// root is the repository, from this package's folder.
const root = ".."

// sharedBin is where both tests have make build the binary: the second
// build finds it up to date instead of linking it again.
var sharedBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "admit-deploy-test-")
	if err != nil {
		panic(err)
	}
	sharedBin = filepath.Join(dir, "admit")
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// need returns the path of a program the test cannot run without, or
// skips the test saying which is missing.
func need(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s is not installed: %v", name, err)
	}
	return p
}

// run runs a command (bounded) and returns its output; a failure fails the
// test with that output.
func run(t *testing.T, dir string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	// Under `make test` the outer make's flags and variables would reach
	// the inner one through the environment.
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); k != "MAKEFLAGS" && k != "MFLAGS" && k != "MAKELEVEL" && k != "MAKEOVERRIDES" {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// readSecrets returns each token file's content under dir.
func readSecrets(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = string(b)
	}
	return out
}

// checkTokens makes the token files of the configuration under etc with
// admit-setup, as docs/install.md says, and checks them: one per token,
// random, private, and kept when admit-setup runs again.
func checkTokens(t *testing.T, setup, etc string) {
	t.Helper()
	conf := filepath.Join(etc, "admit", "admit.toml")
	run(t, root, setup, "tokens", "-c", conf)
	tokens := filepath.Join(etc, "admit", "tokens")
	first := readSecrets(t, tokens)
	if len(first) != 3 {
		t.Fatalf("token files %v, want admin, viewer, scanner", first)
	}
	seen := map[string]bool{}
	secretRE := regexp.MustCompile(`^[A-Za-z0-9_-]{32}\n$`)
	for name, s := range first {
		if !secretRE.MatchString(s) || seen[s] {
			t.Errorf("token file %s = %q: want 32 random base64url characters, different from the others", name, s)
		}
		seen[s] = true
		if m := mode(t, filepath.Join(tokens, name)); m&0o007 != 0 {
			t.Errorf("token file %s has mode %v: others may read it", name, m)
		}
	}
	run(t, root, setup, "tokens", "-c", conf)
	if again := readSecrets(t, tokens); len(again) != 3 || again["admin"] != first["admin"] {
		t.Error("admit-setup tokens replaced an existing secret")
	}
}

// TestMakeInstall installs admit into a scratch root as docs/install.md
// does (make install, then admit-setup's token files), checks the
// installed configuration with the installed binary, and checks that the
// unit names the installed paths and that a second make install keeps an
// edited configuration.
func TestMakeInstall(t *testing.T) {
	if testing.Short() {
		t.Skip("builds admit with make")
	}
	make := need(t, "make")
	need(t, "go")
	dest := t.TempDir()
	bin := sharedBin
	install := func() string {
		return run(t, root, make, "--no-print-directory", "install", "DESTDIR="+dest, "BIN="+bin)
	}
	run(t, root, make, "--no-print-directory", "build", "BIN="+bin)
	install()

	usr := filepath.Join(dest, "usr", "local")
	for path, want := range map[string]os.FileMode{
		"bin/admit":                                   0o755,
		"sbin/admit-setup":                            0o755,
		"lib/systemd/system/admit.service":            0o644,
		"lib/udev/rules.d/70-admit.rules":             0o644,
		"share/doc/admit/README.md":                   0o644,
		"share/doc/admit/install.md":                  0o644,
		"share/doc/admit/config.md":                   0o644,
		"share/doc/admit/examples/admit.toml":         0o644,
		"share/doc/admit/examples/admit.example.toml": 0o644,
		"share/admit/monitoring/admit-alerts.yml":     0o644,
		"share/admit/monitoring/admit-dashboard.json": 0o644,
		"../../etc/admit/admit.toml":                  0o640,
	} {
		if got := mode(t, filepath.Join(usr, path)); got != want {
			t.Errorf("%s: mode %v, want %v", path, got, want)
		}
	}
	unit, err := os.ReadFile(filepath.Join(usr, "lib/systemd/system/admit.service"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"ExecStartPre=/usr/local/bin/admit check-config /etc/admit/admit.toml\n",
		"ExecStart=/usr/local/bin/admit serve -config /etc/admit/admit.toml",
		"Documentation=file:///usr/local/share/doc/admit/install.md",
	} {
		if !bytes.Contains(unit, []byte(want)) {
			t.Errorf("the installed unit lacks %q:\n%s", want, unit)
		}
	}
	if bytes.Contains(unit, []byte("/usr/bin/admit")) {
		t.Errorf("the installed unit still names /usr/bin/admit:\n%s", unit)
	}

	etc := filepath.Join(dest, "etc")
	conf := filepath.Join(etc, "admit", "admit.toml")
	checkTokens(t, filepath.Join(usr, "sbin/admit-setup"), etc)
	out := run(t, root, filepath.Join(usr, "bin/admit"), "check-config", conf)
	if !strings.Contains(out, ": ok: ") || !strings.Contains(out, "admin=admin viewer=viewer door-staff=scanner") {
		t.Errorf("admit check-config of the installed configuration:\n%s", out)
	}
	out = run(t, root, filepath.Join(usr, "bin/admit"), "version")
	if !strings.Contains(out, "pebble   v2.") {
		t.Errorf("the installed admit version:\n%s", out)
	}
	// make links the commit it built (when the tree is a git checkout).
	if head, err := exec.Command("git", "-C", root, "rev-parse", "HEAD").Output(); err == nil {
		if want := "commit   " + strings.TrimSpace(string(head)); !strings.Contains(out, want) {
			t.Errorf("the installed admit version lacks %q:\n%s", want, out)
		}
	}

	// systemd's own check of the unit, with the binary where it was staged.
	if sa, err := exec.LookPath("systemd-analyze"); err == nil {
		staged := strings.ReplaceAll(string(unit), "/usr/local/bin/admit", filepath.Join(usr, "bin/admit"))
		p := filepath.Join(t.TempDir(), "admit.service")
		if err := os.WriteFile(p, []byte(staged), 0o644); err != nil {
			t.Fatal(err)
		}
		if out := run(t, root, sa, "verify", p); strings.TrimSpace(out) != "" {
			t.Errorf("systemd-analyze verify admit.service:\n%s", out)
		}
	}

	// An upgrade by make install keeps the configuration someone edited.
	f, err := os.OpenFile(conf, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("# edited here\n")
	f.Close()
	if out := install(); !strings.Contains(out, "kept "+conf) {
		t.Errorf("second make install did not say it kept the configuration:\n%s", out)
	}
	if b, _ := os.ReadFile(conf); !bytes.HasSuffix(b, []byte("# edited here\n")) {
		t.Error("second make install replaced the edited configuration")
	}
}

// TestMakeDeb builds the Debian package as `make deb` does and checks its
// control fields, its files and their modes, its maintainer scripts, that
// it holds no secret, and that its configuration, with token files made by
// its own admit-setup, passes its own admit check-config.
func TestMakeDeb(t *testing.T) {
	if testing.Short() {
		t.Skip("builds admit and nfpm with make")
	}
	make := need(t, "make")
	need(t, "go")
	dpkgDeb := need(t, "dpkg-deb")
	tmp := t.TempDir()
	deb := filepath.Join(tmp, "admit.deb")
	run(t, root, make, "--no-print-directory", "deb", "DEB="+deb, "BIN="+sharedBin)

	info := run(t, root, dpkgDeb, "-I", deb)
	field := func(name string) string {
		m := regexp.MustCompile(`(?m)^ ` + name + `: (.*)$`).FindStringSubmatch(info)
		if m == nil {
			t.Errorf("control has no %s:\n%s", name, info)
			return ""
		}
		return m[1]
	}
	if field("Package") != "admit" || field("Architecture") != runtime.GOARCH ||
		!regexp.MustCompile(`^[0-9][0-9A-Za-z.+~]*$`).MatchString(field("Version")) ||
		!strings.Contains(field("Depends"), "libusb-1.0-0") || !regexp.MustCompile(`libc6 \(>= 2\.[0-9]+\)`).MatchString(field("Depends")) || field("Maintainer") == "" || field("Description") == "" {
		t.Errorf("control fields:\n%s", info)
	}
	for _, script := range []string{"postinst", "prerm", "postrm", "conffiles"} {
		if !strings.Contains(info, " "+script) {
			t.Errorf("the package has no %s:\n%s", script, info)
		}
	}

	list := run(t, root, dpkgDeb, "-c", deb)
	for path, perm := range map[string]string{
		"./usr/bin/admit":                                   "-rwxr-xr-x",
		"./usr/sbin/admit-setup":                            "-rwxr-xr-x",
		"./usr/lib/systemd/system/admit.service":            "-rw-r--r--",
		"./usr/lib/udev/rules.d/70-admit.rules":             "-rw-r--r--",
		"./etc/admit/admit.toml":                            "-rw-r-----",
		"./usr/share/doc/admit/install.md":                  "-rw-r--r--",
		"./usr/share/doc/admit/config.md":                   "-rw-r--r--",
		"./usr/share/doc/admit/examples/admit.example.toml": "-rw-r--r--",
		"./usr/share/admit/monitoring/admit-alerts.yml":     "-rw-r--r--",
		"./usr/share/admit/monitoring/admit-dashboard.json": "-rw-r--r--",
	} {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(perm) + ` root/root .* ` + regexp.QuoteMeta(path) + `$`).MatchString(list) {
			t.Errorf("the package lacks %s %s:\n%s", perm, path, list)
		}
	}
	if strings.Contains(list, "tokens") {
		t.Errorf("the package ships token files; admit-setup makes them at install time:\n%s", list)
	}

	// The package's own files, unpacked: its configuration holds no
	// secret, its maintainer scripts parse, and its admit-setup and admit
	// make and pass the configuration.
	unpacked := filepath.Join(tmp, "root")
	run(t, root, dpkgDeb, "-x", deb, unpacked)
	control := filepath.Join(tmp, "control")
	run(t, root, dpkgDeb, "-e", deb, control)
	if b, _ := os.ReadFile(filepath.Join(control, "conffiles")); strings.TrimSpace(string(b)) != "/etc/admit/admit.toml" {
		t.Errorf("conffiles = %q", b)
	}
	for _, s := range []string{"postinst", "prerm", "postrm"} {
		run(t, root, "sh", "-n", filepath.Join(control, s))
	}
	conf, err := os.ReadFile(filepath.Join(unpacked, "etc/admit/admit.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if regexp.MustCompile(`(?m)^\s*secret\s*=`).Match(conf) {
		t.Errorf("the packaged configuration holds an inline secret:\n%s", conf)
	}
	unit, _ := os.ReadFile(filepath.Join(unpacked, "usr/lib/systemd/system/admit.service"))
	if !bytes.Contains(unit, []byte("ExecStart=/usr/bin/admit serve -config /etc/admit/admit.toml")) {
		t.Errorf("the packaged unit does not start /usr/bin/admit:\n%s", unit)
	}
	etc := filepath.Join(unpacked, "etc")
	checkTokens(t, filepath.Join(unpacked, "usr/sbin/admit-setup"), etc)
	out := run(t, root, filepath.Join(unpacked, "usr/bin/admit"), "check-config", filepath.Join(etc, "admit/admit.toml"))
	if !strings.Contains(out, ": ok: ") {
		t.Errorf("admit check-config of the packaged configuration:\n%s", out)
	}
}
