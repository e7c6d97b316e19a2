package rules

import (
	"encoding/json"
	"os"
	"testing"
)

// officialCase is one case of jsonlogic.com's tests.json.
type officialCase struct {
	section              string
	rule, data, expected json.RawMessage
}

func loadOfficialSuite(t testing.TB) []officialCase {
	t.Helper()
	b, err := os.ReadFile("testdata/tests.json")
	if err != nil {
		t.Fatal(err)
	}
	var items []json.RawMessage
	if err := json.Unmarshal(b, &items); err != nil {
		t.Fatal(err)
	}
	var out []officialCase
	section := ""
	for _, it := range items {
		var comment string
		if json.Unmarshal(it, &comment) == nil {
			section = comment
			continue
		}
		var c []json.RawMessage
		if err := json.Unmarshal(it, &c); err != nil || len(c) != 3 {
			t.Fatalf("malformed case %s", it)
		}
		out = append(out, officialCase{section: section, rule: c[0], data: c[1], expected: c[2]})
	}
	return out
}

func jsonValue(t testing.TB, raw []byte) value {
	t.Helper()
	v, err := parseJSON(raw, -1)
	if err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	return v.toValue()
}

// TestOfficialSuite runs every case of the official JsonLogic test suite
// against the compiler and evaluator: each rule is compiled (with plain JSON
// data in place of Facts, as the suite needs) and evaluated once.
func TestOfficialSuite(t *testing.T) {
	cases := loadOfficialSuite(t)
	if len(cases) != 278 {
		t.Fatalf("the suite has %d cases, want 278: testdata/tests.json changed", len(cases))
	}
	passed := 0
	for i, c := range cases {
		r, err := compile(c.rule, false)
		if err != nil {
			t.Errorf("case %d (%s): %s: compile: %v", i, c.section, c.rule, err)
			continue
		}
		got, e := r.evalData(jsonValue(t, c.data))
		if e.fault != 0 {
			t.Errorf("case %d (%s): %s with %s: fault: %s", i, c.section, c.rule, c.data, e.faultMessage())
			continue
		}
		want := jsonValue(t, c.expected)
		if !deepEqual(got, want) {
			t.Errorf("case %d (%s): %s with %s = %s, want %s", i, c.section, c.rule, c.data, toJSON(got), c.expected)
			continue
		}
		passed++
	}
	t.Logf("%d of %d cases passed", passed, len(cases))
}

// toJSON writes a value as JSON, for test messages.
func toJSON(v value) string {
	var conv func(v value) any
	conv = func(v value) any {
		switch v.k {
		case kBool:
			return v.b
		case kNum:
			return v.n
		case kStr:
			return v.s
		case kArr:
			a := make([]any, len(v.arr()))
			for i, e := range v.arr() {
				a[i] = conv(e)
			}
			return a
		case kObj:
			o := map[string]any{}
			for k, e := range v.obj() {
				o[k] = conv(e)
			}
			return o
		case kTime:
			return toString(v)
		}
		return nil
	}
	b, _ := json.Marshal(conv(v))
	return string(b)
}
