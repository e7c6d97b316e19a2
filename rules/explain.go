package rules

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxDetail is the longest detail Eval returns, in bytes.
const MaxDetail = 400

// explain says why the rule refused these facts. It evaluates the rule again
// (the same facts give the same values) and follows "and", "or", "!" and
// "if" down to the parts that failed.
func (r *Rule) explain(f *Facts) string {
	x := &explainer{env: env{f: f}, loc: location(f)}
	if r.root.op == opLit {
		return "the rule is " + x.render(r.root)
	}
	d := x.why(r.root, &frame{})
	if x.env.fault != 0 {
		d = x.env.faultMessage()
	}
	return clip(d, MaxDetail)
}

type explainer struct {
	env env
	loc *time.Location
}

// why explains a node that evaluated to a false value.
func (x *explainer) why(n *node, fr *frame) string {
	switch n.op {
	case opAnd:
		for _, c := range n.args {
			if !truthy(x.env.eval(c, fr)) {
				return x.why(c, fr)
			}
		}
		if len(n.args) == 0 {
			return "an \"and\" without conditions is false"
		}
	case opOr:
		if len(n.args) == 0 {
			return "an \"or\" without conditions is false"
		}
		if len(n.args) == 1 {
			return x.why(n.args[0], fr)
		}
		parts := make([]string, len(n.args))
		for i, c := range n.args {
			parts[i] = x.why(c, fr)
		}
		return "none held: " + strings.Join(parts, "; ")
	case opIf:
		i := 0
		for ; i+1 < len(n.args); i += 2 {
			if truthy(x.env.eval(n.args[i], fr)) {
				return x.why(n.args[i+1], fr)
			}
		}
		if i < len(n.args) {
			return x.why(n.args[i], fr)
		}
		return "no condition of the \"" + n.name + "\" held"
	case opLit:
		text := n.src
		if text == "" {
			text = x.render(n)
		}
		return text + " is always " + x.show(n.lit)
	}
	return x.render(n) + " was " + x.show(x.env.eval(n, fr)) + x.values(n, fr)
}

// values lists the facts a failed part read: " (entries_today = 1)".
func (x *explainer) values(n *node, fr *frame) string {
	var parts []string
	seen := map[string]bool{}
	var walk func(n *node)
	walk = func(n *node) {
		if n == nil {
			return
		}
		switch n.op {
		case opFact, opBuildTime, opEntriesSince, opEntriesBefore, opEntriesDaysSince, opEntriesDaysBefore:
			name := x.render(n)
			if !seen[name] {
				seen[name] = true
				parts = append(parts, name+" = "+x.show(x.env.eval(n, fr)))
			}
			return
		}
		for _, a := range n.args {
			walk(a)
		}
	}
	walk(n)
	if len(parts) == 0 || (len(parts) == 1 && n.op == opFact) {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// show writes a value for people: text in quotes, times in the event's zone,
// arrays cut short (and arrays in arrays shown two deep), so a detail stays
// short whatever a rule built.
func (x *explainer) show(v value) string { return x.showDepth(v, 0) }

func (x *explainer) showDepth(v value, depth int) string {
	switch v.k {
	case kStr:
		return fmt.Sprintf("%q", clip(v.s, 64))
	case kTime:
		t := v.time().In(x.loc)
		if t.Nanosecond() == 0 {
			return t.Format(time.RFC3339)
		}
		return t.Format(time.RFC3339Nano)
	case kArr:
		if depth >= 2 {
			return "[…]"
		}
		parts := make([]string, 0, min(len(v.arr()), 9))
		for i, e := range v.arr() {
			if i == 8 {
				parts = append(parts, fmt.Sprintf("… %d more", len(v.arr())-8))
				break
			}
			parts = append(parts, x.showDepth(e, depth+1))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case kObj:
		return "an object"
	}
	return toString(v)
}

var infix = map[op]string{opEq: "==", opStrictEq: "===", opNe: "!=", opStrictNe: "!==",
	opGt: ">", opGe: ">=", opLt: "<", opLe: "<=", opAdd: "+", opSub: "-", opMul: "*", opDiv: "/", opMod: "%",
	opAnd: "and", opOr: "or", opIn: "in", opInList: "in", opInSet: "in"}

// render writes an expression back for people, in infix where JsonLogic
// means infix: "entries_today < 1", "product in [\"A\", \"B\"]".
func (x *explainer) render(n *node) string {
	if n == nil {
		return "null"
	}
	switch n.op {
	case opLit:
		return x.show(n.lit)
	case opFact:
		return variableNames[n.fact]
	case opData:
		if n.path == nil {
			return "var(\"\")"
		}
		return "var(" + fmt.Sprintf("%q", n.name) + ")"
	case opVarDyn:
		return "var(" + x.render(n.args[0]) + ")"
	case opNot:
		return "!(" + x.render(n.args[0]) + ")"
	case opNotNot:
		return "!!(" + x.render(n.args[0]) + ")"
	case opBuildTime:
		if n.bt == btCustomTime {
			return fmt.Sprintf("today %02d:%02d", n.clock[0], n.clock[1])
		}
		return n.args[0].lit.s
	case opIsBefore, opIsAfter:
		s := x.render(n.args[0]) + " is after " + x.render(n.args[1])
		sign := " - "
		if n.op == opIsBefore {
			s = x.render(n.args[0]) + " is before " + x.render(n.args[1])
			sign = " + "
		}
		if len(n.args) == 3 && !(n.args[2].op == opLit && !truthy(n.args[2].lit)) {
			s += sign + x.render(n.args[2]) + " min"
		}
		return s
	case opMul, opSub:
		if len(n.args) == 1 {
			return n.name + x.render(n.args[0])
		}
	case opArray:
		parts := make([]string, len(n.args))
		for i, a := range n.args {
			parts[i] = x.render(a)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	if sym, ok := infix[n.op]; ok && len(n.args) >= 2 {
		parts := make([]string, len(n.args))
		for i, a := range n.args {
			parts[i] = x.render(a)
			if a.op == opAnd || a.op == opOr {
				parts[i] = "(" + parts[i] + ")"
			}
		}
		return strings.Join(parts, " "+sym+" ")
	}
	parts := make([]string, len(n.args))
	for i, a := range n.args {
		parts[i] = x.render(a)
	}
	return n.name + "(" + strings.Join(parts, ", ") + ")"
}

// faultMessage says why an evaluation stopped.
func (e *env) faultMessage() string {
	n := e.fnode
	name := ""
	if n != nil {
		name = n.name
	}
	switch e.fault {
	case faultWork:
		return fmt.Sprintf("the rule needs more work than one evaluation may do (%d steps)", MaxWork)
	case faultNeedTime:
		switch n.op {
		case opIsBefore, opIsAfter:
			return fmt.Sprintf("%q compares two times, and was given %s", name, kindNames[e.fgot])
		case opEntriesSince, opEntriesBefore, opEntriesDaysSince, opEntriesDaysBefore:
			return fmt.Sprintf("%q needs a time, such as {\"buildTime\": [\"date_from\"]}, and was given %s", name, kindNames[e.fgot])
		case opGt, opGe, opLt, opLe:
			return fmt.Sprintf("%q compares a time with %s; use isBefore or isAfter", name, kindNames[e.fgot])
		}
		return fmt.Sprintf("%q cannot use a time", name)
	case faultNoDate:
		return fmt.Sprintf("the rule asks for the event's %s, and the event has no start (date_from)", n.args[0].lit.s)
	case faultNoFacts:
		return "the rule reads the facts of a scan, and was evaluated without them"
	case faultTolerance:
		return fmt.Sprintf("the tolerance of %q is a number of minutes, not %s", name, kindNames[e.fgot])
	}
	return "the rule failed"
}

// clip cuts s to at most n bytes, on a rune boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
