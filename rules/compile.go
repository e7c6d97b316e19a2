package rules

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/admitgate/admit/gate"
)

// CompileError is a rule that does not compile: where the fault is and what
// it is, in words for the person who wrote the rule.
type CompileError struct {
	Offset int    // byte offset in the rule of the value at fault
	Path   string // RFC 9535 normalized path of that value: $['and'][1]['<'][0]; "$" is the whole rule
	Msg    string // what is wrong
}

// Error returns the message with its position.
func (e *CompileError) Error() string {
	return fmt.Sprintf("%s (at byte %d, %s)", e.Msg, e.Offset, e.Path)
}

// Unwrap makes a CompileError an invalid-input error for gate.ErrorCode and
// gate.ErrorMessage, so the API answers 400 with the whole message.
func (e *CompileError) Unwrap() error {
	return &gate.Error{Code: gate.EINVALID, Message: e.Error()}
}

// Rule is a compiled rule. It is immutable, and Eval is safe for concurrent
// use.
type Rule struct {
	root *node
	src  []byte // compact JSON
}

// node is one compiled expression. Rules are small trees of these, walked by
// env.eval with a switch: no interface calls, so nothing escapes to the heap.
type node struct {
	op   op
	name string // the operation as written ("?:" or "if"), for details
	args []*node
	off  int // byte offset in the rule
	size int // nodes in this subtree: the work of evaluating it once

	lit   value    // opLit
	fact  variable // opFact
	path  []string // opData: the path, nil for the whole data in scope
	def   *node    // opData, opVarDyn: the default when the variable is missing, nil for null
	facts bool     // opVarDyn, opMissing, opMissingSome: names are Facts variables

	// opInSet: the constant list as text and numbers, so a lookup allocates
	// nothing, and whether it holds true, false or null.
	strs  map[string]struct{}
	nums  map[float64]struct{}
	other [3]bool // true, false, null

	src string // a part worked out when compiled: its JSON, for details

	bt    buildKind // opBuildTime
	clock [3]int    // opBuildTime customtime: hour, minute, second
}

type buildKind uint8

const (
	btCustomTime buildKind = iota + 1
	btDateFrom
	btDateTo
	btDateAdmission
)

var buildKinds = map[string]buildKind{"customtime": btCustomTime, "date_from": btDateFrom,
	"date_to": btDateTo, "date_admission": btDateAdmission}

// Compile compiles a rule: a JsonLogic expression over the variables of
// Facts (see Variables) with JsonLogic's operations and pretix's check-in
// additions (see Operators). A rule that does not compile is refused with a
// *CompileError that says where and why. Compile bounds the rule (MaxSize,
// MaxDepth, MaxNodes), and every evaluation is bounded by MaxWork.
func Compile(src []byte) (*Rule, error) {
	return compile(src, true)
}

// MustCompile is Compile for rules written in code; it panics on an error.
func MustCompile(src string) *Rule {
	r, err := Compile([]byte(src))
	if err != nil {
		panic("rules: " + err.Error())
	}
	return r
}

// compile compiles src; withFacts false compiles for plain JSON data, as the
// official suite uses it ({"var": "a.b"} reads the data).
func compile(src []byte, withFacts bool) (*Rule, error) {
	root, err := parseJSON(src, MaxNodes)
	if err != nil {
		return nil, err
	}
	c := &compiler{facts: withFacts}
	n, err := c.compile(root, 0)
	if err != nil {
		return nil, err
	}
	sizeOf(n)
	var buf bytes.Buffer
	if err := json.Compact(&buf, src); err != nil { // cannot fail: parseJSON accepted it
		return nil, fmt.Errorf("rules: compact: %w", err)
	}
	return &Rule{root: n, src: buf.Bytes()}, nil
}

// Source returns the rule as compact JSON.
func (r *Rule) Source() []byte { return bytes.Clone(r.src) }

// String returns the rule as compact JSON.
func (r *Rule) String() string { return string(r.src) }

// MarshalJSON returns the rule's JSON, so a compiled rule can be shown as it
// was written.
func (r *Rule) MarshalJSON() ([]byte, error) { return r.Source(), nil }

type compiler struct {
	facts bool // top-level variables are Facts
}

func errAt(v *jval, format string, args ...any) error {
	return &CompileError{Offset: v.off, Path: v.path(), Msg: fmt.Sprintf(format, args...)}
}

// compile compiles v; scope counts the array operations (map, filter, ...)
// v sits inside, where {"var": ...} reads the element instead of the facts.
func (c *compiler) compile(v *jval, scope int) (*node, error) {
	switch v.k {
	case kNull, kBool, kNum, kStr:
		return &node{op: opLit, lit: v.toValue(), off: v.off}, nil
	case kArr:
		n := &node{op: opArray, off: v.off}
		allLit := true
		for _, e := range v.arr {
			a, err := c.compile(e, scope)
			if err != nil {
				return nil, err
			}
			allLit = allLit && a.op == opLit
			n.args = append(n.args, a)
		}
		if allLit {
			return litOf(n), nil
		}
		return n, nil
	}
	switch len(v.keys) {
	case 0:
		return nil, errAt(v, "an empty object is not an operation: write {\"operator\": [arguments]}")
	case 1:
	default:
		return nil, errAt(v, "an operation is an object with one key, this one has %d (%s)", len(v.keys), quoteList(v.keys))
	}
	name, body := v.keys[0], v.vals[0]
	o, ok := ops[name]
	if !ok {
		return nil, errAt(v, "unknown operator %q%s", name, suggestOperator(name))
	}
	info := opInfos[o]
	argv := []*jval{body}
	if body.k == kArr {
		argv = body.arr
	}
	if len(argv) < info.min || (info.max >= 0 && len(argv) > info.max) {
		return nil, errAt(body, "%q takes %s, not %d", name, arity(info), len(argv))
	}
	n := &node{op: o, name: name, off: v.off}
	switch o {
	case opVarDyn:
		return c.compileVar(n, v, argv, scope)
	case opBuildTime:
		return c.compileBuildTime(n, argv)
	case opMissing, opMissingSome:
		n.facts = c.facts && scope == 0
	}
	for i, a := range argv {
		s := scope
		if info.scoped && i == 1 {
			s++
		}
		an, err := c.compile(a, s)
		if err != nil {
			return nil, err
		}
		n.args = append(n.args, an)
	}
	if (o == opIsBefore || o == opIsAfter) && len(n.args) == 3 && n.args[2].op == opLit {
		if t := n.args[2].lit; truthy(t) && (t.k == kArr || t.k == kObj || t.k == kTime || math.IsNaN(toNumber(t))) {
			return nil, errAt(argv[2], "the tolerance of %s is a number of minutes, not %s", name, kindNames[t.k])
		}
	}
	if (o == opInList || o == opIn) && n.args[1].op == opLit && n.args[1].lit.k == kArr {
		setOf(n, o == opInList)
	}
	if !info.impure && n.op != opInSet && len(n.args) > 0 && allLit(n.args) {
		return c.fold(n, v)
	}
	return n, nil
}

// sizeOf sets the size of every node of a tree.
func sizeOf(n *node) int {
	if n == nil {
		return 0
	}
	n.size = 1 + sizeOf(n.def)
	for _, a := range n.args {
		n.size += sizeOf(a)
	}
	return n.size
}

func allLit(ns []*node) bool {
	for _, a := range ns {
		if a.op != opLit {
			return false
		}
	}
	return true
}

// litOf turns an array of constants into one constant.
func litOf(n *node) *node {
	a := make([]value, len(n.args))
	for i, e := range n.args {
		a[i] = e.lit
	}
	return &node{op: opLit, lit: array(a), off: n.off}
}

// fold evaluates an operation whose arguments are all constant, once, here:
// pretix's objectList of lookups becomes the list it stands for. A fault
// found now (a time compared with a number) refuses the rule.
func (c *compiler) fold(n *node, v *jval) (*node, error) {
	sizeOf(n)
	e := env{}
	r := e.eval(n, &frame{})
	if e.fault != 0 {
		return nil, errAt(v, "%s", e.faultMessage())
	}
	return &node{op: opLit, lit: r, off: n.off, src: v.json()}, nil
}

// setOf makes an "in" or "inList" on a constant list a set lookup. inList
// matches by text, as pretix compares product ids, so 3 and "3" match; "in"
// keeps JavaScript's strict equality.
func setOf(n *node, byText bool) {
	n.strs = map[string]struct{}{}
	n.nums = map[float64]struct{}{}
	for _, e := range n.args[1].lit.arr() {
		switch e.k {
		case kStr:
			n.strs[e.s] = struct{}{}
			if f := stringToNumber(e.s); byText && e.s != "" && numberString(f) == e.s {
				n.nums[f] = struct{}{}
			}
		case kNum:
			n.nums[e.n] = struct{}{}
			if byText {
				n.strs[numberString(e.n)] = struct{}{}
			}
		case kBool:
			if e.b {
				n.other[0] = true
			} else {
				n.other[1] = true
			}
		case kNull:
			n.other[2] = true
		}
	}
	n.op = opInSet
}

func (c *compiler) compileVar(n *node, v *jval, argv []*jval, scope int) (*node, error) {
	facts := c.facts && scope == 0
	var def *node
	if len(argv) == 2 {
		d, err := c.compile(argv[1], scope)
		if err != nil {
			return nil, err
		}
		def = d
	}
	if len(argv) == 0 || (argv[0].k == kNull) || (argv[0].k == kStr && argv[0].s == "") {
		if facts {
			return nil, errAt(v, "\"var\" needs the name of a variable: one of %s", strings.Join(Variables(), ", "))
		}
		n.op, n.def = opData, def
		return n, nil
	}
	a := argv[0]
	switch a.k {
	case kStr, kNum:
		name := toString(a.toValue())
		if facts {
			fv, ok := lookupVariable(name)
			if !ok {
				return nil, errAt(a, "unknown variable %q%s; the variables are %s", name, suggest(name, Variables()), strings.Join(Variables(), ", "))
			}
			n.op, n.fact = opFact, fv
			n.name = name
			return n, nil
		}
		n.op, n.def = opData, def
		n.path = strings.Split(name, ".")
		n.name = name
		return n, nil
	case kObj:
		name, err := c.compile(a, scope)
		if err != nil {
			return nil, err
		}
		if name.op != opLit {
			n.facts, n.def = facts, def
			n.args = []*node{name}
			return n, nil
		}
		// A constant name computed from constants: compile it as written out.
		lit := name.lit
		if lit.k != kStr && lit.k != kNum && lit.k != kNull {
			return nil, errAt(a, "a variable name is a string, not %s", kindNames[lit.k])
		}
		nv := &jval{k: lit.k, s: lit.s, n: lit.n, off: a.off, parent: a.parent, idx: a.idx}
		return c.compileVar(n, v, append([]*jval{nv}, argv[1:]...), scope)
	}
	return nil, errAt(a, "a variable name is a string, not %s", kindNames[a.k])
}

func (c *compiler) compileBuildTime(n *node, argv []*jval) (*node, error) {
	forms := "\"custom\" (with a date and time), \"customtime\" (with a time of day), \"date_from\", \"date_to\" or \"date_admission\""
	a := argv[0]
	if a.k != kStr {
		return nil, errAt(a, "buildTime's first argument is %s", forms)
	}
	var arg *jval
	if len(argv) > 1 && argv[1].k != kNull {
		arg = argv[1]
	}
	switch a.s {
	case "custom":
		if arg == nil || arg.k != kStr {
			return nil, errAt(a, "buildTime \"custom\" needs a date and time with its offset, such as \"2026-06-01T18:00:00+02:00\"")
		}
		t, err := parseDateTime(arg.s)
		if err != nil {
			return nil, errAt(arg, "buildTime \"custom\" needs a date and time with its offset, such as \"2026-06-01T18:00:00+02:00\", not %q", arg.s)
		}
		return &node{op: opLit, lit: instant(t), off: n.off, name: n.name}, nil
	case "customtime":
		if arg == nil || arg.k != kStr {
			return nil, errAt(a, "buildTime \"customtime\" needs a time of day, such as \"18:00\" or \"18:00:00\"")
		}
		clock, err := parseClock(arg.s)
		if err != nil {
			return nil, errAt(arg, "buildTime \"customtime\" needs a time of day, such as \"18:00\" or \"18:00:00\", not %q", arg.s)
		}
		n.bt, n.clock = btCustomTime, clock
		n.args = []*node{{op: opLit, lit: str(a.s)}, {op: opLit, lit: str(arg.s)}}
		return n, nil
	}
	bt, ok := buildKinds[a.s]
	if !ok {
		return nil, errAt(a, "buildTime's first argument is %s, not %q", forms, a.s)
	}
	if arg != nil {
		return nil, errAt(arg, "buildTime %q takes no second argument", a.s)
	}
	n.bt = bt
	n.args = []*node{{op: opLit, lit: str(a.s)}}
	return n, nil
}

// parseDateTime reads an ISO 8601 date and time with its offset, as pretix's
// rule editor writes them ("2026-06-01T16:00:00.000Z"); a space may stand for
// the T. A time without an offset is refused: pretix cannot compare it either.
func parseDateTime(s string) (time.Time, error) {
	if len(s) > 10 && s[10] == ' ' {
		s = s[:10] + "T" + s[11:]
	}
	return time.Parse(time.RFC3339Nano, s)
}

func parseClock(s string) ([3]int, error) {
	for _, layout := range []string{"15:04:05", "15:04", "15:04:05.999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return [3]int{t.Hour(), t.Minute(), t.Second()}, nil
		}
	}
	return [3]int{}, fmt.Errorf("not a time of day: %q", s)
}

func arity(i opInfo) string {
	switch {
	case i.max < 0:
		return fmt.Sprintf("at least %d argument%s", i.min, plural(i.min))
	case i.min == i.max:
		return fmt.Sprintf("%d argument%s", i.min, plural(i.min))
	case i.max == i.min+1:
		return fmt.Sprintf("%d or %d arguments", i.min, i.max)
	}
	return fmt.Sprintf("%d to %d arguments", i.min, i.max)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func quoteList(ss []string) string {
	q := make([]string, 0, len(ss))
	for i, s := range ss {
		if i == 5 {
			q = append(q, "...")
			break
		}
		q = append(q, fmt.Sprintf("%q", s))
	}
	return strings.Join(q, ", ")
}

func suggestOperator(name string) string {
	if _, ok := lookupVariable(name); ok {
		return fmt.Sprintf(" (a variable is read with {\"var\": %q})", name)
	}
	return suggest(name, Operators())
}

// suggest names the closest known word when name looks like a typo of it.
func suggest(name string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		if strings.EqualFold(k, name) {
			return fmt.Sprintf(" (did you mean %q?)", k)
		}
		if d := distance(strings.ToLower(name), strings.ToLower(k)); d < bestD {
			best, bestD = k, d
		}
	}
	if best == "" || len(name) < 3 {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// distance is the Levenshtein distance, for short names only.
func distance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
