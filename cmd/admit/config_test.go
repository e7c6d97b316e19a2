package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/admitgate/admit/index"
)

func TestExampleConfigIsValid(t *testing.T) {
	f, err := os.Open("../../deploy/admit.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, err := ParseConfig(f)
	if err != nil {
		t.Fatal(err)
	}
	for i := range c.Tokens { // the example points at files in /etc
		c.Tokens[i].SecretFile, c.Tokens[i].Secret = "", strings.Repeat(string(rune('a'+i)), 24)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	l := c.Lanes[0]
	if l.Scanner.USB.String() != "0c2e:0b61" || l.Relay.Channel != 1 || time.Duration(l.Relay.UnlockTime) != 5*time.Second ||
		l.Emergency.Input.Line != 27 || l.Lights.Red.Channel != 3 || c.HTTP.MaxImportSize != 1<<30 || c.HTTP.MaxBodySize != 8<<10 {
		t.Errorf("lane = %+v, http = %+v", l, c.HTTP)
	}
	if c.Events[0].OpensAt.IsZero() || len(c.DropFolders) != 1 {
		t.Errorf("events = %+v", c.Events)
	}
}

func TestParseConfigDefaults(t *testing.T) {
	c, err := ParseConfig(strings.NewReader(""))
	if err != nil {
		t.Fatal(err)
	}
	d := DefaultConfig()
	if c.HTTP != d.HTTP || c.DataDir != "/var/lib/admit" || c.Log.Level != "info" || c.HTTP.Listen != ":8080" {
		t.Errorf("defaults = %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("the defaults do not validate: %v", err)
	}
}

func TestConfigErrorsNameTheProblem(t *testing.T) {
	token := "[[tokens]]\nname = \"ops\"\nrole = \"admin\"\nsecret = \"0123456789abcdef\"\n"
	tests := []struct {
		name, src, want string
	}{
		{"unknown top-level key", "data_dri = \"/x\"\n", `line 1: unknown key "data_dri"`},
		{"unknown nested key", "[http]\nlisten = \":1\"\nlisen = \":2\"\n", `line 3: unknown key "http.lisen"`},
		{"syntax", "data_dir = \n", "line 1"},
		{"wrong type", "[http]\nlisten = 80\n", "listen"},
		{"bad duration", "[http]\nread_timeout = \"soon\"\n", `"soon" is not a duration`},
		{"bad size", "[http]\nmax_import_size = \"big\"\n", `"big" is not a size`},
		{"bad role", "[[tokens]]\nname = \"x\"\nrole = \"root\"\nsecret = \"0123456789abcdef\"\n", "role must be admin, scanner, viewer or supervisor"},
		{"short secret", "[[tokens]]\nname = \"x\"\nrole = \"admin\"\nsecret = \"short\"\n", "shorter than 16"},
		{"token lane unknown", token + "[[tokens]]\nname = \"s\"\nrole = \"scanner\"\nsecret = \"fedcba9876543210\"\nlanes = [\"nowhere\"]\n", `lane "nowhere" is not configured`},
		{"lane direction", token + "[[lanes]]\nid = \"a\"\ndirection = \"up\"\n", "direction must be in or out"},
		{"lane id", token + "[[lanes]]\nid = \"a b\"\n", "lane id"},
		{"duplicate lane", token + "[[lanes]]\nid = \"a\"\n[[lanes]]\nid = \"a\"\n", "configured twice"},
		{"event window", token + "[[events]]\nid = \"e\"\nopens_at = 2026-12-05T20:00:00Z\ncloses_at = 2026-12-05T18:00:00Z\n", "closes_at must be after opens_at"},
		{"duplicate event", token + "[[events]]\nid = \"e\"\n[[events]]\nid = \"e\"\n", "declared twice"},
		{"provider id", token + "[[providers]]\nid = \"a/b\"\n", "provider id"},
		{"tls half", token + "[http]\ntls_cert = \"c.pem\"\n", "go together"},
		{"timezone", token + "timezone = \"Mars/Olympus\"\n", "timezone"},
		{"log level", token + "[log]\nlevel = \"loud\"\n", "log.level"},
		{"memtable size", token + "[store]\nmemtable_size = \"64KiB\"\n", "store.memtable_size"},
		{"cache below memtables", token + "[store]\ncache_size = \"64MiB\"\nmemtable_size = \"32MiB\"\n", "store.cache_size"},
		{"journal backlog", token + "[store]\njournal_backlog = 10\n", "store.journal_backlog"},
		{"unknown store key", token + "[store]\ncache = \"1GiB\"\n", `unknown key "store.cache"`},
		{"drop folder", token + "[[drop_folders]]\ndir = \"/x\"\nprovider = \"\"\n", "drop_folders[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseConfig(strings.NewReader(tt.src))
			if err == nil {
				err = c.Validate()
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v\nwant it to say %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "0123456789abcdef") || strings.Contains(err.Error(), "fedcba9876543210") {
				t.Errorf("the error shows a secret: %v", err)
			}
		})
	}
}

func TestSizesAndDurations(t *testing.T) {
	for in, want := range map[string]Size{"8192": 8192, "64KiB": 64 << 10, "1GiB": 1 << 30, "10MB": 10_000_000, "5 MiB": 5 << 20, "100B": 100} {
		var s Size
		if err := s.UnmarshalText([]byte(in)); err != nil || s != want {
			t.Errorf("%q = %d, %v; want %d", in, s, err, want)
		}
	}
	for _, bad := range []string{"", "-1", "1TiB", "KiB", "1.5MiB"} {
		var s Size
		if err := s.UnmarshalText([]byte(bad)); err == nil {
			t.Errorf("%q accepted as %d", bad, s)
		}
	}
	c, err := ParseConfig(strings.NewReader("[http]\nmax_body_size = 4096\nread_timeout = \"1.5s\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTP.MaxBodySize != 4096 || time.Duration(c.HTTP.ReadTimeout) != 1500*time.Millisecond {
		t.Errorf("http = %+v", c.HTTP)
	}
	if c.Store.CacheSize != index.DefaultCacheSize || c.Store.MemtableSize != index.DefaultMemTableSize || c.Store.JournalBacklog != index.DefaultJournalBacklog {
		t.Errorf("store defaults = %+v", c.Store)
	}
	c, err = ParseConfig(strings.NewReader("[store]\ncache_size = \"4GiB\"\nmemtable_size = \"64MiB\"\njournal_backlog = 4096\n"))
	if err != nil {
		t.Fatal(err)
	}
	o := c.indexOptions(zerolog.Nop())
	if o.CacheSize != 4<<30 || o.MemTableSize != 64<<20 || o.JournalBacklog != 4096 {
		t.Errorf("index options from [store] = %+v", o)
	}
}

func TestSecretFiles(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ops.token"), []byte("from-a-file-0123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	write := func(src string) string {
		p := filepath.Join(dir, "admit.toml")
		if err := os.WriteFile(p, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	c, err := ReadConfigFile(write("[[tokens]]\nname = \"ops\"\nrole = \"admin\"\nsecret_file = \"ops.token\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Tokens[0].Secret != "from-a-file-0123456789" {
		t.Errorf("secret = %q", c.Tokens[0].Secret)
	}
	if _, err := ReadConfigFile(write("[[tokens]]\nname = \"ops\"\nrole = \"admin\"\nsecret_file = \"missing\"\n")); err == nil {
		t.Error("a missing secret file was accepted")
	}
	if _, err := ReadConfigFile(write("[[tokens]]\nname = \"ops\"\nrole = \"admin\"\nsecret = \"x\"\nsecret_file = \"ops.token\"\n")); err == nil {
		t.Error("secret and secret_file together were accepted")
	}
}

func TestCommands(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.toml")
	os.WriteFile(good, []byte("[[tokens]]\nname = \"ops\"\nrole = \"admin\"\nsecret = \"0123456789abcdef\"\n"), 0o600)
	empty := filepath.Join(dir, "empty.toml")
	os.WriteFile(empty, []byte("data_dir = \"/x\"\n"), 0o600)
	run := func(args ...string) (string, int) {
		var out, errb bytes.Buffer
		m := &Main{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}
		code := exitCode(m.Run(t.Context(), args), &errb)
		return out.String() + errb.String(), code
	}
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"version"}, 0, "admit dev"},
		{[]string{"check-config", good}, 0, "ok: listen :8080"},
		{[]string{"check-config", empty}, 1, "no [[tokens]]"},
		{[]string{"check-config", filepath.Join(dir, "missing.toml")}, 1, "no such file"},
		{[]string{"check-config"}, 2, "takes one file"},
		{[]string{"nonsense"}, 2, "unknown command"},
		{[]string{}, 2, "Usage"},
		{[]string{"serve", "-config", empty}, 1, "no [[tokens]]"},
		{[]string{"serve", "extra"}, 2, "no arguments"},
		{[]string{"scan", "B"}, 2, "needs -lane"},
		{[]string{"scan", "-lane", "a", "B"}, 2, "no token"},
		{[]string{"import", "f.csv"}, 2, "needs -provider"},
	}
	for _, tt := range tests {
		out, code := run(tt.args...)
		if code != tt.code || !strings.Contains(out, tt.want) {
			t.Errorf("admit %v: exit %d %q, want %d and %q", tt.args, code, out, tt.code, tt.want)
		}
	}
}

func TestErrorsCarryOnePrefix(t *testing.T) {
	for _, err := range []error{errors.New("admit: listen on :1: in use"), errors.New("no such file")} {
		var b bytes.Buffer
		if code := exitCode(err, &b); code != 1 {
			t.Errorf("exit %d", code)
		}
		if got := b.String(); strings.Count(got, "admit: ") != 1 {
			t.Errorf("printed %q, want one admit: prefix", got)
		}
	}
}
