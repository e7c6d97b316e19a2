package rules

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// FuzzCompile feeds the compiler arbitrary bytes: it never panics, refuses
// with a *CompileError that points inside the input, and what compiles
// evaluates (against facts with and without history, zone and dates)
// without panicking, the same way twice, with a short detail. Seeds: the
// corpus in testdata/fuzz/FuzzCompile, the rules of these tests and every
// rule of the official suite.
func FuzzCompile(f *testing.F) {
	for _, r := range []string{typicalRule, dayPassOncePerDay, reentryAfter30, childrenBefore18, vipThroughVIPLane,
		goldstarFamily, `{"entries_days_since": [{"buildTime": ["customtime", "06:00"]}]}`,
		`{"var": [{"cat": ["en", "tries_", "today"]}]}`, `{"missing_some": [1, ["zone", "gate"]]}`} {
		f.Add([]byte(r))
	}
	for _, c := range loadOfficialSuite(f) {
		f.Add([]byte(c.rule))
	}
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		f.Fatal(err)
	}
	facts := []*Facts{{}, typicalFacts(), {Product: "3", At: time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC), Location: berlin,
		DateFrom: time.Date(2026, 10, 25, 1, 0, 0, 0, time.UTC), Entries: []time.Time{time.Date(2026, 10, 24, 22, 0, 0, 0, time.UTC)}}}
	f.Fuzz(func(t *testing.T, src []byte) {
		r, err := Compile(src)
		if err != nil {
			var ce *CompileError
			if !errors.As(err, &ce) {
				t.Fatalf("Compile(%q) = %v, not a *CompileError", src, err)
			}
			if ce.Offset < 0 || ce.Offset > len(src) || !strings.HasPrefix(ce.Path, "$") || ce.Msg == "" {
				t.Fatalf("Compile(%q): bad position: %+v", src, ce)
			}
		} else {
			for _, fs := range facts {
				ok, detail := r.Eval(fs)
				ok2, detail2 := r.Eval(fs)
				if ok != ok2 || detail != detail2 {
					t.Fatalf("%s: Eval differs: %v %q, then %v %q", src, ok, detail, ok2, detail2)
				}
				if ok != (detail == "") || len(detail) > MaxDetail {
					t.Fatalf("%s: Eval = %v, %q", src, ok, detail)
				}
			}
			if _, err := Compile(r.Source()); err != nil {
				t.Fatalf("%s: its source %s does not compile: %v", src, r.Source(), err)
			}
		}
		// The same bytes as a rule over plain data, as the official suite runs.
		if r, err := compile(src, false); err == nil {
			r.evalData(null)
		}
	})
}

// TestDeepAndHugeRules: nesting and size are refused early, whatever the
// input's shape.
func TestDeepAndHugeRules(t *testing.T) {
	for name, src := range map[string]string{
		"deep operations": strings.Repeat(`{"!":`, 10000) + "true" + strings.Repeat("}", 10000),
		"deep arrays":     strings.Repeat("[", 60000),
		"deep and wide":   strings.Repeat(`{"and":[true,`, 5000),
		"huge":            strings.Repeat(`{"!":`, 100000),
		"a long string":   `"` + strings.Repeat("x", MaxSize) + `"`,
	} {
		_, err := Compile([]byte(src))
		var ce *CompileError
		if !errors.As(err, &ce) {
			t.Errorf("%s: Compile = %v", name, err)
			continue
		}
		t.Logf("%s: %v", name, clip(err.Error(), 120))
	}
	// Just within the limits: compiles, and evaluates.
	within := strings.Repeat(`{"!":`, MaxDepth-1) + "true" + strings.Repeat("}", MaxDepth-1)
	r, err := Compile([]byte(within))
	if err != nil {
		t.Fatalf("%d operations deep: %v", MaxDepth-1, err)
	}
	if ok, _ := r.Eval(&Facts{}); ok != ((MaxDepth-1)%2 == 0) {
		t.Errorf("%d negations of true = %v", MaxDepth-1, ok)
	}
}
