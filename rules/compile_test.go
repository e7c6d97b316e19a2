package rules

import (
	"errors"
	"strings"
	"testing"

	"github.com/admitgate/admit/gate"
)

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name string
		rule string
		at   string // the text the error points at: its first occurrence in rule; "" for the end
		path string
		msg  string // a part of the message
	}{
		{"empty", "  ", "  ", "$", "the rule is empty"},
		{"syntax", `{"and": [true,]}`, "]}", "$['and']", "not JSON: invalid character ']'"},
		{"syntax in a literal", `{"and": [tru]}`, "]}", "$['and']", "not JSON: invalid character ']' in literal true"},
		{"missing colon", `{"and" [true]}`, "[true", "$", "not JSON"},
		{"unclosed", `{"and": [true`, "", "$['and']", "ends too early"},
		{"text after", `true false`, "false", "$", "unexpected text after the rule"},
		{"a comma after", `"", `, ",", "$", "unexpected text after the rule"},
		{"a colon after", `{"var": "zone"}: 1`, ": 1", "$", "unexpected text after the rule"},
		{"unknown variable", `{"and": [{"<": [{"var": "entries_todya"}, 1]}]}`, `"entries_todya"`,
			"$['and'][0]['<'][0]['var']", `unknown variable "entries_todya" (did you mean "entries_today"?); the variables are product, variation, gate,`},
		{"unknown variable, case", `{"var": "Product"}`, `"Product"`, "$['var']", `unknown variable "Product" (did you mean "product"?)`},
		{"a dotted name is no variable", `{"var": "product.code"}`, `"product.code"`, "$['var']", `unknown variable "product.code"`},
		{"unknown operator", `{"and": [{"isafter": [{"var": "now"}, 1]}]}`, `{"isafter"`, "$['and'][0]",
			`unknown operator "isafter" (did you mean "isAfter"?)`},
		{"a variable written as an operator", `{"entries_today": []}`, `{`, "$",
			`unknown operator "entries_today" (a variable is read with {"var": "entries_today"})`},
		{"log is not offered", `{"log": "x"}`, `{`, "$", `unknown operator "log"`},
		{"two keys", `{"and": [{"==": [1, 1], "!=": [1, 2]}]}`, `{"==`, "$['and'][0]", `one key, this one has 2 ("==", "!=")`},
		{"empty object", `{"or": [{}]}`, `{}`, "$['or'][0]", "an empty object is not an operation"},
		{"too few", `{"<": [1]}`, `[1]`, "$['<']", `"<" takes 2 or 3 arguments, not 1`},
		{"too many", `{"==": [1, 2, 3]}`, `[1, 2, 3]`, "$['==']", `"==" takes 2 arguments, not 3`},
		{"var without a name", `{"var": ""}`, `{`, "$", `"var" needs the name of a variable`},
		{"var named by an array", `{"var": [[1]]}`, `[1]]`, "$['var'][0]", "a variable name is a string, not an array"},
		{"buildTime form", `{"buildTime": ["date_start"]}`, `"date_start"`, "$['buildTime'][0]", `not "date_start"`},
		{"buildTime custom without offset", `{"buildTime": ["custom", "2026-06-07T18:00:00"]}`, `"2026-06-07T18:00:00"`,
			"$['buildTime'][1]", "with its offset"},
		{"buildTime custom date only", `{"buildTime": ["custom", "2026-06-07"]}`, `"2026-06-07"`, "$['buildTime'][1]", "with its offset"},
		{"buildTime customtime", `{"buildTime": ["customtime", "6pm"]}`, `"6pm"`, "$['buildTime'][1]", "a time of day"},
		{"buildTime with a computed form", `{"buildTime": [{"cat": ["date_", "from"]}]}`, `{"cat"`, "$['buildTime'][0]", "first argument"},
		{"buildTime date_from with an argument", `{"buildTime": ["date_from", "x"]}`, `"x"`, "$['buildTime'][1]", "no second argument"},
		{"tolerance", `{"isAfter": [{"var": "now"}, {"buildTime": ["date_from"]}, "ten"]}`, `"ten"`, "$['isAfter'][2]",
			"a number of minutes, not a string"},
		{"a constant time compared with a number", `{"isAfter": [{"buildTime": ["custom", "2026-06-07T18:00:00Z"]}, 5]}`, `{`, "$",
			`"isAfter" compares two times, and was given a number`},
		{"number out of range", `{"<": [1e999, 2]}`, `1e999`, "$['<'][0]", "out of range"},
		{"too deep", strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1), strings.Repeat("[", 1) + "]", "", "nests deeper than 64"},
		{"too long", `{"cat": ["` + strings.Repeat("x", MaxSize) + `"]}`, "", "$", "the limit is 65536"},
		{"too many values", "[" + strings.Repeat("1,", MaxNodes) + "1]", "", "", "more than 10000 values"},
		{"invalid UTF-8", "{\"var\": \"prod\xffuct\"}", "\xff", "$", "not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compile([]byte(tt.rule))
			var ce *CompileError
			if !errors.As(err, &ce) {
				t.Fatalf("Compile(%.80s) = %v, want a *CompileError", tt.rule, err)
			}
			if !strings.Contains(ce.Msg, tt.msg) {
				t.Errorf("message %q, want it to contain %q", ce.Msg, tt.msg)
			}
			switch tt.name {
			case "too deep":
				if ce.Offset != MaxDepth || !strings.HasPrefix(ce.Path, "$[0][0]") {
					t.Errorf("at %d %s, want byte %d deep in $[0][0]...", ce.Offset, ce.Path, MaxDepth)
				}
				return
			case "too long":
				if ce.Offset != MaxSize {
					t.Errorf("at %d, want %d", ce.Offset, MaxSize)
				}
				return
			case "too many values":
				if ce.Offset != 1+2*MaxNodes-2 || ce.Path != "$[9999]" {
					t.Errorf("at %d %s, want the 10000th value", ce.Offset, ce.Path)
				}
				return
			}
			want := len(tt.rule)
			if tt.at != "" {
				want = strings.Index(tt.rule, tt.at)
			}
			if ce.Offset != want {
				t.Errorf("offset %d, want %d (%q...)", ce.Offset, want, tt.rule[min(want, len(tt.rule)):])
			}
			if ce.Path != tt.path {
				t.Errorf("path %s, want %s", ce.Path, tt.path)
			}
			if gate.ErrorCode(err) != gate.EINVALID || !strings.Contains(gate.ErrorMessage(err), tt.msg) {
				t.Errorf("gate sees %s %q", gate.ErrorCode(err), gate.ErrorMessage(err))
			}
			if !strings.Contains(err.Error(), "at byte") {
				t.Errorf("Error() = %q, without its position", err)
			}
		})
	}
}

func TestCompileAccepts(t *testing.T) {
	for _, rule := range []string{
		`true`,
		`{"and": []}`,
		typicalRule,
		// pretix's editor writes lookups as [model, pk, name] and variations by id.
		`{"or": [{"inList": [{"var": "variation"}, {"objectList": [{"lookup": ["variation", "12", "Red"]}]}]}, {"==": [{"var": "variation"}, ""]}]}`,
		`{">": [{"entries_since": [{"buildTime": ["customtime", "06:00:00"]}]}, 0]}`,
		`{"var": ["product", "none"]}`,
		`{"var": [{"cat": ["price", "_type"]}]}`, // a constant name, computed once
		`{"var": {"if": [true, "zone", "gate"]}}`,
		`{"all": [[1, 2], {">": [{"var": ""}, 0]}]}`, // inside an array operation, var reads the element
		`{"?:": [{"var": "zone"}, true, false]}`,
		`{"buildTime": ["date_from", null]}`,
	} {
		if _, err := Compile([]byte(rule)); err != nil {
			t.Errorf("Compile(%s): %v", rule, err)
		}
	}
}

func TestRuleSource(t *testing.T) {
	r := MustCompile("{ \"<\" : [ {\"var\": \"entries_today\"}, 1 ] }\n")
	if got, want := r.String(), `{"<":[{"var":"entries_today"},1]}`; got != want {
		t.Errorf("String() = %s, want %s", got, want)
	}
	b, err := r.MarshalJSON()
	if err != nil || string(b) != r.String() {
		t.Errorf("MarshalJSON() = %s, %v", b, err)
	}
	b[0] = 'x'
	if r.String()[0] != '{' {
		t.Errorf("Source shares the rule's bytes")
	}
}

func TestMustCompilePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Errorf("MustCompile did not panic on a bad rule")
		}
	}()
	MustCompile(`{"var": "nope"}`)
}

func TestOperatorsListed(t *testing.T) {
	for _, name := range []string{"var", "and", "inList", "buildTime", "isAfter", "entries_days_before", "?:"} {
		found := false
		for _, o := range Operators() {
			found = found || o == name
		}
		if !found {
			t.Errorf("Operators() lacks %q", name)
		}
	}
}
