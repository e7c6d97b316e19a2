// Package udev holds the udev rules of admit; its test checks them.
package udev

import (
	"bufio"
	"os"
	"regexp"
	"strings"
	"testing"
)

// A rule is comma-separated KEY op "value" pairs.
var pairRE = regexp.MustCompile(`^(SUBSYSTEM|KERNEL|ATTR\{\w+\}|ATTRS\{\w+\}|ENV\{\w+\}|MODE|GROUP)(==|=|\+=)"[^"]*"$`)

func TestRules(t *testing.T) {
	f, err := os.Open("70-admit.rules")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rules []string
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		assigns := 0
		for _, pair := range strings.Split(line, ", ") {
			m := pairRE.FindStringSubmatch(pair)
			if m == nil {
				t.Errorf("line %d: %q is not KEY==\"value\" or KEY=\"value\"", n, pair)
				continue
			}
			if m[2] != "==" {
				assigns++
			}
		}
		if !strings.Contains(line, `GROUP="admit"`) || !strings.Contains(line, `MODE="0660"`) {
			t.Errorf("line %d grants nothing to the admit group: %s", n, line)
		}
		if assigns == 0 {
			t.Errorf("line %d assigns nothing", n)
		}
		rules = append(rules, line)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	all := strings.Join(rules, "\n")
	for what, want := range map[string]string{
		"USBRelay boards":         `ATTR{idVendor}=="16c0", ATTR{idProduct}=="05df"`,
		"Honeywell scanners":      `ATTR{idVendor}=="0c2e"`,
		"Zebra scanners":          `ATTR{idVendor}=="05e0"`,
		"CDC ACM serial scanners": `KERNEL=="ttyACM[0-9]*"`,
		"CH340 LCUS boards":       `ATTRS{idVendor}=="1a86", ATTRS{idProduct}=="7523"`,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("no rule for %s (%s)", what, want)
		}
	}
}
