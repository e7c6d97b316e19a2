package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

var update = flag.Bool("update", false, "rewrite the .golden files of testdata/config")

// TestConfigCheck runs `admit check-config` on each broken configuration in
// testdata/config, one a kind of problem (and many-problems.toml with them
// all), and holds what it prints, in full, against the file's .golden:
// every problem at once, each as file:line: key: what is wrong; what is
// accepted. Refresh with go test -run TestConfigCheck -update.
func TestConfigCheck(t *testing.T) {
	files, err := filepath.Glob("testdata/config/*.toml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no cases: %v", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".toml"), func(t *testing.T) {
			got := runCheckConfig(t, f)
			golden := strings.TrimSuffix(f, ".toml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (go test -run TestConfigCheck -update writes it)", err)
			}
			if got != string(want) {
				t.Errorf("check-config %s printed\n%s\nwant (%s)\n%s", f, got, golden, want)
			}
			for _, secret := range []string{"0123456789abcdef", "fedcba9876543210", "a-webhook-secret"} {
				if strings.Contains(got, secret) {
					t.Errorf("the output shows a secret")
				}
			}
		})
	}
}

// runCheckConfig is `admit check-config path`: its exit status and what it
// printed, standard error first.
func runCheckConfig(t *testing.T, path string) string {
	t.Helper()
	var out, errb bytes.Buffer
	m := &Main{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}
	code := exitCode(m.Run(t.Context(), []string{"check-config", path}), &errb)
	return fmt.Sprintf("exit %d\n%s%s", code, errb.String(), out.String())
}

// TestConfigCheckCases keeps the case files honest: every kind of problem
// has its case, and each case's golden says what its comment promises.
func TestConfigCheckCases(t *testing.T) {
	for file, wants := range map[string][]string{
		"syntax":               {"syntax.toml:6: http.listen: TOML syntax: "},
		"unknown-keys":         {"data_dri: unknown key; did you mean data_dir?", "http.Listen: unknown key; did you mean listen?", "lanes[0].unlock_time: unknown key in [lanes]; it is a key of [lanes.relay]", "lanes[0].scanner.vid: unknown key; name a USB scanner", "lanes[0].relay.colour: unknown key; [lanes.relay] takes driver,"},
		"wrong-types":          {"http.listen: 8080 is a number, not a string", `http.max_body_size: true (a boolean) is not a size`, `events[0].reentry: "true" is a string; write true without quotes`, `lanes[0].events: "EV1" is a string, not a list; write ["EV1"]`, `lanes[0].relay.channel: "1" is a string; write the number without quotes: 1`, `lanes[0].direction: "exit" is not a direction`, "[providers] is one table"},
		"durations-sizes":      {`http.read_timeout: 10 is a number; write a duration in quotes`, `http.write_timeout: "30" is not a duration`, `http.max_body_size: "big" is not a size`, "http.max_import_size: 100B is too small"},
		"datetimes":            {`"2026-12-05 18:00" is not a date-time`, "23:00:00 is a time of day without a date", "events[1].closes_at: 2026-12-19T18:00:00+01:00 is not after opens_at (2026-12-19T20:00:00+01:00)"},
		"lane-values":          {`lanes[0].direction: "exit" is not a direction; use in or out`, "lanes[0].relay.channel: 9 is not a relay", `lanes[0].lights.red.deny: pattern "blink"`, "lanes[1].events: is an empty list"},
		"event-references":     {`lanes[0].events[1]: "EV-1" is not among the configured events (EV1, MATCH-2026-12-05); did you mean "EV1"?`, `drop_folders[0].event: "FINAL" is not among the configured events`, `exports[0].event: "ev1" is not among the configured events (EV1, MATCH-2026-12-05); did you mean "EV1"?`},
		"references-unchecked": {"exit 0", `warning: lanes[0].events[0]: "MATCH-2026-12-05" is not among the configured events: the file declares none`, ": ok: "},
		"provider-references":  {`drop_folders[0].provider: "secutix-mian" is not among the configured providers (box-office, secutix-main); did you mean "secutix-main"?`, `exports[0].provider: "boxoffice"`, `webhooks[0].provider: "partner"`},
		"token-lanes":          {`tokens[1].lanes[1]: "north-3" is not among the configured lanes (north-1, north-2); did you mean "north-1" or "north-2"?`, "tokens[0].lanes: only scanner and supervisor tokens"},
		"secrets":              {"secrets/missing.token does not exist", "tokens[1].secret_file: the secret is shorter than 16 bytes", "tokens[2].secret_file: is set beside secret", "tokens[3].secret: the secret holds white space", "tokens[5].secret: the secret is also tokens[4]'s", "tokens[6].secret: is missing", "webhooks[0].secret_file: "},
		"duplicates":           {`tokens[1].name: "ops" is also the name of tokens[0]`, `providers[1].id: "box-office" is also providers[0]'s id`, `events[1].id: "EV1" is also events[0]'s id`, `lanes[1].id: "north-1" is also lanes[0]'s id`, "drop_folders[1].dir"},
		"shared-devices":       {"lanes[1].relay.channel: usbrelay board BITFT channel 1 is also used by lanes[0].relay (lane north-1)", "lanes[1].lights.green.line: gpio gpiochip0 line 17 is also used by lanes[0].sensor (lane north-1)", "lanes[1].scanner: 0c2e:0b61 can be the same device", "lanes[2].scanner.device: /dev/ttyUSB0 also drives the lcus relay board of lanes[2].relay (lane exit-1)"},
		"outbound":             {"exports[0].interval: 500ms is too short", `exports[0].name: "secutix export" holds ' '`, `exports[0].format: "xlsx" is not an export format`, "exports[1].dir: is missing", "webhooks[0].url: is not an http:// or https:// URL", "webhooks[0].timeout: 10m0s is out of range", "webhooks[0].batch_size: 5000 is too large"},
		"no-tokens":            {"no-tokens.toml: no [[tokens]]"},
		"venue":                {`venue.appliance: "south" is not the top-level appliance "north"`, `venue.urls[1]: "http://hub2:4222": the scheme is "http"`, "venue.urls[2]: holds credentials", "venue.password_file: testdata/config/secrets/empty.password is empty", "venue.replicas: 2 is not a hub's replicas", "venue.tls.cert: testdata/config/secrets/missing.pem does not exist", `lanes[0].offline: "maybe" is not an offline policy`, "lanes[0].max_lag: 1s is out of range", "warning: lanes[1].on_max_lag: does nothing without max_lag"},
		"many-problems":        {"config: 18 problems:"},
	} {
		golden, err := os.ReadFile(filepath.Join("testdata/config", file+".golden"))
		if err != nil {
			t.Errorf("%s: %v", file, err)
			continue
		}
		for _, w := range wants {
			if !strings.Contains(string(golden), w) {
				t.Errorf("%s.golden does not say %q:\n%s", file, w, golden)
			}
		}
	}
}

// The checker's decoding is held to the TOML decoder's: what it takes
// without an error, the decoder takes the same. The example and every case
// are the seeds.
func FuzzConfigCheck(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/config/*.toml")
	seeds = append(seeds, "../../deploy/admit.example.toml", "../../deploy/admit.toml")
	lanes, _ := filepath.Glob("testdata/lanes/*.toml")
	seeds = append(seeds, lanes...)
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var raw map[string]any
		if _, err := toml.Decode(string(data), &raw); err == nil {
			newLocator(data).run() // no safety net: a fault in it fails here
		}
		c := parseConfig(data, "fuzz.toml")
		ps := c.check(refScope{file: true})
		for _, p := range ps {
			if p.Msg == "" || strings.Contains(p.Msg, "TOML value has type") || strings.Contains(p.Msg, "destination has type") {
				t.Fatalf("a problem in Go's words: %+v", p)
			}
		}
		if c.src.decode.errors() > 0 {
			return
		}
		tc := DefaultConfig()
		if _, err := toml.NewDecoder(bytes.NewReader(data)).Decode(tc); err != nil {
			t.Fatalf("the checker took what the decoder refuses: %v\n%s", err, data)
		}
		walked := parseWalked(t, data)
		if !sameConfig(walked, tc) {
			t.Fatalf("the checker decoded\n%+v\nthe decoder\n%+v\n%s", walked, tc, data)
		}
	})
}

// parseWalked is the checker's own decoding of data, not the decoder's.
func parseWalked(t *testing.T, data []byte) *Config {
	t.Helper()
	var raw map[string]any
	if _, err := toml.Decode(string(data), &raw); err != nil {
		t.Fatal(err)
	}
	c := DefaultConfig()
	c.src = &configSource{bad: map[string]bool{}}
	(&decoder{src: c.src}).table("", raw, reflect.ValueOf(c).Elem())
	return c
}

// sameConfig compares two decoded configurations, times by their instant.
func sameConfig(a, b *Config) bool {
	norm := func(c *Config) Config {
		n := *c
		n.src = nil
		n.Events = append([]EventConfig(nil), c.Events...)
		for i := range n.Events {
			n.Events[i].OpensAt = n.Events[i].OpensAt.UTC()
			n.Events[i].ClosesAt = n.Events[i].ClosesAt.UTC()
		}
		return n
	}
	return reflect.DeepEqual(norm(a), norm(b))
}

// TestConfigCheckDecodesAsTheDecoder: the example configuration, and every
// lane fixture, decode to the same values through the checker's walk as
// through the TOML decoder (FuzzConfigCheck tries more).
func TestConfigCheckDecodesAsTheDecoder(t *testing.T) {
	files, _ := filepath.Glob("testdata/lanes/*.toml")
	files = append(files, "../../deploy/admit.example.toml")
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		tc := DefaultConfig()
		if _, err := toml.NewDecoder(bytes.NewReader(data)).Decode(tc); err != nil {
			t.Fatal(err)
		}
		if c := parseConfig(data, f); c.src.decode.Err() != nil || !sameConfig(parseWalked(t, data), tc) {
			t.Errorf("%s: %v; the walk and the decoder differ", f, c.src.decode.Err())
		}
	}
}

// TestKeyLines: every key of the example configuration is found at its
// line, lanes by their index.
func TestKeyLines(t *testing.T) {
	data, err := os.ReadFile("../../deploy/admit.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	kl := locateKeys(data)
	for path, want := range map[string]string{
		"data_dir":                      `data_dir = "/var/lib/admit"`,
		"http.max_import_size":          `max_import_size = "1GiB"`,
		"tokens[2].lanes":               `lanes = ["north-1", "north-exit"]`,
		"lanes[0].events":               `events = ["MATCH-2026-12-05"]`,
		"lanes[0].scanner.usb":          `usb = "0c2e:0b61"`,
		"lanes[1].scanner.port":         `port = "1-3"`,
		"lanes[0].emergency.input.line": "line = 27",
		"lanes[2].relay.channel":        "channel = 1",
		"lanes[3]":                      "[[lanes]]",
		"drop_folders[0].settle":        `settle = "5s"`,
		"events[0].opens_at":            "opens_at = 2026-12-05T17:00:00+01:00",
		"lanes[0].lights.red.deny":      `deny = "on:2s"`,
		"exports[0].provider":           `provider = "secutix-main"`,
	} {
		n := kl[path]
		if n == 0 || !strings.HasPrefix(strings.TrimSpace(lines[n-1]), want) {
			t.Errorf("%s: line %d, want the line %q", path, n, want)
		}
	}
	// Inline tables and arrays spread over lines.
	kl = locateKeys([]byte("a = [\n  \"x\",\n  \"y\",\n]\n[t]\nr = { driver = \"sim\", channel = 2 }\nm = \"\"\"\nk = 1\n\"\"\"\nz = 1\n"))
	for path, want := range map[string]int{"a[0]": 2, "a[1]": 3, "t.r.driver": 6, "t.r.channel": 6, "t.m": 7, "t.z": 10} {
		if kl[path] != want {
			t.Errorf("%s: line %d, want %d", path, kl[path], want)
		}
	}
	if _, ok := kl["t.k"]; ok {
		t.Error("a key inside a multi-line string was taken for a key")
	}
}

// TestLocalDateTimeWarns: a date-time without a UTC offset is read in this
// machine's offset at start (the TOML decoder's choice), an hour off across
// a change to or from summer time: a warning naming the offset it got.
func TestLocalDateTimeWarns(t *testing.T) {
	c := parseConfig([]byte("[[events]]\nid = \"EV3\"\nopens_at = 2026-12-26T18:00:00\ncloses_at = 2026-12-27\n"), "admit.toml")
	ps := c.check(refScope{})
	if ps.Err() != nil || len(ps) != 2 {
		t.Fatalf("problems %v", ps)
	}
	_, off := time.Now().Zone()
	for i, want := range []string{"admit.toml:3: warning: events[0].opens_at: 2026-12-26T18:00:00 has no UTC offset, so it is read as " + offsetText(off),
		"admit.toml:4: warning: events[0].closes_at: 2026-12-27 has no UTC offset"} {
		if !strings.HasPrefix(ps[i].String(), want) {
			t.Errorf("problem %d = %q, want %q…", i, ps[i], want)
		}
	}
	if got := c.Events[0].OpensAt; !got.Equal(time.Date(2026, 12, 26, 18, 0, 0, 0, time.FixedZone("", off))) {
		t.Errorf("opens_at = %v", got)
	}
}

func TestEditDistanceAndSuggestions(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		d    int
	}{{"lisen", "listen", 1}, {"data_dri", "data_dir", 1}, {"EV-1", "EV1", 1}, {"", "abc", 3}, {"abc", "abc", 0}, {"kitten", "sitting", 3}} {
		if d := editDistance(tt.a, tt.b); d != tt.d {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, d, tt.d)
		}
	}
	if got := closest("Listen", []string{"listen", "tls_key"}); len(got) != 1 || got[0] != "listen" {
		t.Errorf("closest = %v", got)
	}
	if got := closest("colour", []string{"driver", "board", "port"}); got != nil {
		t.Errorf("closest suggests %v for a word like none", got)
	}
}
