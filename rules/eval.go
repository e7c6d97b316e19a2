package rules

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// Eval evaluates the rule against the facts of one scan. It returns true when
// the rule admits. When it does not, detail says which part failed, in words
// for the operator ("entries_today < 1 was false (entries_today = 1)"); the
// detail is worked out only then, so an admitting evaluation allocates
// nothing. A rule that meets a fault (a time compared with a number, an
// event without the date it asks for, more work than MaxWork) refuses and
// says so. A nil rule admits everything.
func (r *Rule) Eval(f *Facts) (ok bool, detail string) {
	if r == nil {
		return true, ""
	}
	if f == nil {
		return false, "no facts to evaluate the rule against"
	}
	e := env{f: f}
	v := e.eval(r.root, &frame{})
	if e.fault == 0 && truthy(v) {
		return true, ""
	}
	return false, r.explain(f)
}

// evalData evaluates a rule compiled without facts against JSON data, as the
// official suite does. The fault, if any, is in the returned env.
func (r *Rule) evalData(data value) (value, env) {
	e := env{}
	v := e.eval(r.root, &frame{v: data})
	return v, e
}

// fault is why an evaluation stopped: every fault refuses the rule.
type fault uint8

const (
	faultWork      fault = iota + 1 // more than MaxWork
	faultNeedTime                   // a time operation given something else, or a time mixed with numbers
	faultNoDate                     // buildTime of a date the event does not have
	faultNoFacts                    // a Facts variable while evaluating without facts
	faultTolerance                  // a tolerance that is not a number of minutes
)

// env is one evaluation: the facts, the work done so far, the first fault.
type env struct {
	f     *Facts
	work  int
	fault fault
	fnode *node // where the fault was met
	fgot  kind  // what the faulting operation was given
	day   day   // the scan's day, once asked for (today)
}

// frame is the data "var" reads: the element of map, filter, ... or, in
// reduce, current and accumulator. The official suite's data is the outermost.
type frame struct {
	reduce bool
	v      value // the element; in reduce, current
	acc    value // in reduce, accumulator
}

func (e *env) fail(f fault, n *node, got kind) value {
	if e.fault == 0 {
		e.fault, e.fnode, e.fgot = f, n, got
	}
	return null
}

// charge counts work beyond walking the rule once; false means the limit is
// reached and the evaluation refuses.
func (e *env) charge(w int, n *node) bool {
	e.work += w
	if e.work > MaxWork {
		e.fail(faultWork, n, 0)
		return false
	}
	return true
}

// num is JavaScript's Number(v), refusing a time.
func (e *env) num(v value, n *node) float64 {
	if v.k == kTime {
		e.fail(faultNeedTime, n, kTime)
		return math.NaN()
	}
	return toNumber(e.primitive(v, n))
}

func (e *env) eval(n *node, fr *frame) value {
	switch n.op {
	case opLit:
		return n.lit
	case opFact:
		if e.f == nil {
			return e.fail(faultNoFacts, n, 0)
		}
		return e.fact(n.fact)
	case opData:
		return e.data(n, n.path, fr)
	case opVarDyn:
		return e.varDyn(n, fr)
	case opArray:
		if !e.charge(len(n.args), n) {
			return null
		}
		a := make([]value, len(n.args))
		for i, x := range n.args {
			a[i] = e.eval(x, fr)
		}
		return array(a)
	case opIf:
		i := 0
		for ; i+1 < len(n.args); i += 2 {
			if truthy(e.eval(n.args[i], fr)) {
				return e.eval(n.args[i+1], fr)
			}
		}
		if i < len(n.args) {
			return e.eval(n.args[i], fr)
		}
		return null
	case opEq, opNe:
		a, b := e.eval(n.args[0], fr), e.eval(n.args[1], fr)
		// An array meets a number, text or boolean as its text: convert it here,
		// where the work is charged.
		if a.k == kArr && (b.k == kNum || b.k == kStr || b.k == kBool) {
			a = e.primitive(a, n)
		} else if b.k == kArr && (a.k == kNum || a.k == kStr || a.k == kBool) {
			b = e.primitive(b, n)
		}
		return boolean(looseEqual(a, b) == (n.op == opEq))
	case opStrictEq, opStrictNe:
		eq := strictEqual(e.eval(n.args[0], fr), e.eval(n.args[1], fr))
		return boolean(eq == (n.op == opStrictEq))
	case opNot:
		return boolean(!truthy(e.eval(n.args[0], fr)))
	case opNotNot:
		return boolean(truthy(e.eval(n.args[0], fr)))
	case opOr:
		v := null
		for _, x := range n.args {
			if v = e.eval(x, fr); truthy(v) {
				return v
			}
		}
		return v
	case opAnd:
		v := null
		for _, x := range n.args {
			if v = e.eval(x, fr); !truthy(v) {
				return v
			}
		}
		return v
	case opGt, opGe, opLt, opLe:
		return boolean(e.compare(n, fr))
	case opMax, opMin:
		r := math.Inf(1)
		if n.op == opMax {
			r = math.Inf(-1)
		}
		for _, x := range n.args {
			v := e.num(e.eval(x, fr), n)
			switch {
			case math.IsNaN(v) || math.IsNaN(r):
				r = math.NaN()
			case n.op == opMax:
				r = math.Max(r, v)
			default:
				r = math.Min(r, v)
			}
		}
		return number(r)
	case opAdd:
		sum := 0.0
		for _, x := range n.args {
			sum += e.parseFloat(e.eval(x, fr), n)
		}
		return number(sum)
	case opMul:
		// JavaScript's reduce without a start: one argument comes back as it is.
		v := e.eval(n.args[0], fr)
		if len(n.args) == 1 {
			return v
		}
		p := e.parseFloat(v, n)
		for _, x := range n.args[1:] {
			p *= e.parseFloat(e.eval(x, fr), n)
		}
		return number(p)
	case opSub:
		a := e.num(e.eval(n.args[0], fr), n)
		if len(n.args) == 1 {
			return number(-a)
		}
		return number(a - e.num(e.eval(n.args[1], fr), n))
	case opDiv:
		a := e.num(e.eval(n.args[0], fr), n)
		return number(a / e.num(e.eval(n.args[1], fr), n))
	case opMod:
		a := e.num(e.eval(n.args[0], fr), n)
		return number(math.Mod(a, e.num(e.eval(n.args[1], fr), n)))
	case opMap, opFilter, opReduce, opAll, opNone, opSome:
		return e.iterate(n, fr)
	case opMerge:
		var out []value
		for _, x := range n.args {
			v := e.eval(x, fr)
			if v.k == kArr {
				if !e.charge(len(v.arr()), n) {
					return null
				}
				out = append(out, v.arr()...)
			} else {
				out = append(out, v)
			}
		}
		if out == nil {
			out = []value{}
		}
		return array(out)
	case opIn:
		a, b := e.eval(n.args[0], fr), e.eval(n.args[1], fr)
		switch b.k {
		case kStr:
			return boolean(strings.Contains(b.s, e.text(a, n)))
		case kArr:
			for _, x := range b.arr() {
				if strictEqual(x, a) {
					return boolean(true)
				}
			}
		}
		return boolean(false)
	case opInSet:
		a := e.eval(n.args[0], fr)
		switch a.k {
		case kStr:
			_, ok := n.strs[a.s]
			return boolean(ok)
		case kNum:
			_, ok := n.nums[a.n]
			return boolean(ok)
		}
		return boolean(false)
	case opInList:
		a, b := e.eval(n.args[0], fr), e.eval(n.args[1], fr)
		if b.k == kArr {
			for _, x := range b.arr() {
				if sameText(x, a) {
					return boolean(true)
				}
			}
		}
		return boolean(false)
	case opCat:
		var b strings.Builder
		for _, x := range n.args {
			b.WriteString(e.text(e.eval(x, fr), n))
			if !e.charge(b.Len()/64, n) {
				return null
			}
		}
		return str(b.String())
	case opSubstr:
		return e.substr(n, fr)
	case opMissing:
		return e.missing(n, fr)
	case opMissingSome:
		need := e.num(e.eval(n.args[0], fr), n)
		opts := e.eval(n.args[1], fr)
		miss := e.missingOf(n, opts, fr)
		total := 1
		if opts.k == kArr {
			total = len(opts.arr())
		}
		if float64(total-len(miss.arr())) >= need {
			return array([]value{})
		}
		return miss
	case opObjectList:
		if !e.charge(len(n.args), n) {
			return null
		}
		a := make([]value, len(n.args))
		for i, x := range n.args {
			a[i] = e.eval(x, fr)
		}
		return array(a)
	case opLookup:
		return e.eval(n.args[1], fr)
	case opBuildTime:
		return e.buildTime(n)
	case opIsBefore, opIsAfter:
		return e.timeCompare(n, fr)
	case opEntriesSince, opEntriesBefore, opEntriesDaysSince, opEntriesDaysBefore:
		return e.entriesAt(n, fr)
	}
	return null
}

// text is JavaScript's String(v), charging the work of turning arrays (and
// arrays in arrays, which may share elements many times over) into text.
func (e *env) text(v value, n *node) string {
	if v.k != kArr {
		return toString(v)
	}
	var b strings.Builder
	e.join(&b, v, n)
	return b.String()
}

func (e *env) join(b *strings.Builder, v value, n *node) {
	if !e.charge(1+len(v.arr())+b.Len()/64, n) {
		return
	}
	for i, x := range v.arr() {
		if i > 0 {
			b.WriteByte(',')
		}
		switch x.k {
		case kNull:
		case kArr:
			e.join(b, x, n)
		default:
			b.WriteString(toString(x))
		}
		if e.fault != 0 {
			return
		}
	}
}

// primitive is toPrimitive with the work charged.
func (e *env) primitive(v value, n *node) value {
	if v.k == kArr {
		return str(e.text(v, n))
	}
	return toPrimitive(v)
}

func (e *env) parseFloat(v value, n *node) float64 {
	if v.k == kTime {
		e.fail(faultNeedTime, n, kTime)
		return math.NaN()
	}
	return parseFloat(e.primitive(v, n))
}

// sameText is inList's match: equal values, or a number and its text.
func sameText(a, b value) bool {
	switch {
	case a.k == kStr && b.k == kStr:
		return a.s == b.s
	case a.k == kNum && b.k == kNum:
		return a.n == b.n
	case a.k == kNum && b.k == kStr:
		return numberString(a.n) == b.s
	case a.k == kStr && b.k == kNum:
		return a.s == numberString(b.n)
	}
	return false
}

// compare is JavaScript's relational comparison, with "<" and "<=" taking a
// third argument as "between". Two times compare as instants; a time and
// anything else is a fault, as in pretix.
func (e *env) compare(n *node, fr *frame) bool {
	a, b := e.eval(n.args[0], fr), e.eval(n.args[1], fr)
	switch n.op {
	case opGt:
		return e.less(b, a, false, n)
	case opGe:
		return e.less(b, a, true, n)
	}
	orEqual := n.op == opLe
	if len(n.args) == 3 {
		c := e.eval(n.args[2], fr)
		return e.less(a, b, orEqual, n) && e.less(b, c, orEqual, n)
	}
	return e.less(a, b, orEqual, n)
}

func (e *env) less(a, b value, orEqual bool, n *node) bool {
	if a.k == kNum && b.k == kNum { // the usual case: a count and a limit
		return a.n < b.n || (orEqual && a.n == b.n)
	}
	if a.k == kTime || b.k == kTime {
		if a.k != b.k {
			got := a.k
			if a.k == kTime {
				got = b.k
			}
			e.fail(faultNeedTime, n, got)
			return false
		}
		return a.n < b.n || (orEqual && a.n == b.n)
	}
	pa, pb := e.primitive(a, n), e.primitive(b, n)
	if pa.k == kStr && pb.k == kStr {
		return pa.s < pb.s || (orEqual && pa.s == pb.s)
	}
	x, y := toNumber(pa), toNumber(pb)
	return x < y || (orEqual && x == y)
}

// data reads a variable from the data in scope, as json-logic-js does: a
// dotted path through objects and array indexes, the default (or null) when
// a step is missing.
func (e *env) data(n *node, path []string, fr *frame) value {
	cur := fr.v
	if fr.reduce {
		if len(path) == 0 {
			return object(map[string]value{"current": fr.v, "accumulator": fr.acc})
		}
		switch path[0] {
		case "current":
		case "accumulator":
			cur = fr.acc
		default:
			return e.def(n, fr)
		}
		path = path[1:]
	}
	for _, p := range path {
		if cur.k == kNull {
			return e.def(n, fr)
		}
		next, ok := member(cur, p)
		if !ok {
			return e.def(n, fr)
		}
		cur = next
	}
	return cur
}

func (e *env) def(n *node, fr *frame) value {
	if n.def == nil {
		return null
	}
	return e.eval(n.def, fr)
}

// member is v[key] for an object or an array (an index or "length").
func member(v value, key string) (value, bool) {
	switch v.k {
	case kObj:
		m, ok := v.obj()[key]
		return m, ok
	case kArr:
		if key == "length" {
			return number(float64(len(v.arr()))), true
		}
		i, err := strconv.Atoi(key)
		if err != nil || i < 0 || i >= len(v.arr()) || strconv.Itoa(i) != key {
			return null, false
		}
		return v.arr()[i], true
	}
	return null, false
}

// varDyn is {"var": expr}: the name computed now.
func (e *env) varDyn(n *node, fr *frame) value {
	name := e.eval(n.args[0], fr)
	if n.facts {
		if e.f == nil {
			return e.fail(faultNoFacts, n, 0)
		}
		if name.k == kStr || name.k == kNum {
			if v, ok := lookupVariable(toString(name)); ok {
				return e.fact(v)
			}
		}
		return e.def(n, fr)
	}
	switch {
	case name.k == kNull || (name.k == kStr && name.s == ""):
		return e.data(n, nil, fr)
	case name.k == kStr || name.k == kNum:
		return e.data(n, strings.Split(toString(name), "."), fr)
	}
	return e.def(n, fr)
}

// missing is {"missing": [names]}: the names whose value is null or "".
func (e *env) missing(n *node, fr *frame) value {
	args := make([]value, len(n.args))
	for i, x := range n.args {
		args[i] = e.eval(x, fr)
	}
	if len(args) > 0 && args[0].k == kArr {
		return e.missingOf(n, args[0], fr)
	}
	return e.missingOf(n, array(args), fr)
}

func (e *env) missingOf(n *node, names value, fr *frame) value {
	if names.k != kArr {
		names = array([]value{names})
	}
	if !e.charge(len(names.arr()), n) {
		return null
	}
	out := []value{}
	for _, k := range names.arr() {
		var v value
		switch {
		case n.facts:
			if e.f == nil {
				return e.fail(faultNoFacts, n, 0)
			}
			if fv, ok := lookupVariable(e.text(k, n)); ok {
				v = e.fact(fv)
			}
		case k.k == kNull || (k.k == kStr && k.s == ""):
			v = e.data(&node{}, nil, fr)
		default:
			v = e.data(&node{}, strings.Split(e.text(k, n), "."), fr)
		}
		if v.k == kNull || (v.k == kStr && v.s == "") {
			out = append(out, k)
		}
	}
	return array(out)
}

// iterate runs map, filter, reduce, all, none and some: the second argument
// once per element, with the element as the data in scope.
func (e *env) iterate(n *node, fr *frame) value {
	src := e.eval(n.args[0], fr)
	body := n.args[1]
	if n.op == opReduce {
		acc := null
		if len(n.args) > 2 {
			acc = e.eval(n.args[2], fr)
		}
		if src.k != kArr {
			return acc
		}
		sub := frame{reduce: true}
		for _, el := range src.arr() {
			sub.v, sub.acc = el, acc
			if !e.charge(body.size, n) {
				return null
			}
			acc = e.eval(body, &sub)
		}
		return acc
	}
	if src.k != kArr {
		switch n.op {
		case opAll, opSome:
			return boolean(false)
		case opNone:
			return boolean(true)
		}
		return array([]value{})
	}
	sub := frame{}
	switch n.op {
	case opMap:
		out := make([]value, len(src.arr()))
		for i, el := range src.arr() {
			if !e.charge(1+body.size, n) {
				return null
			}
			sub.v = el
			out[i] = e.eval(body, &sub)
		}
		return array(out)
	case opFilter:
		out := []value{}
		for _, el := range src.arr() {
			if !e.charge(1+body.size, n) {
				return null
			}
			sub.v = el
			if truthy(e.eval(body, &sub)) {
				out = append(out, el)
			}
		}
		return array(out)
	case opAll:
		if len(src.arr()) == 0 {
			return boolean(false)
		}
		for _, el := range src.arr() {
			if !e.charge(body.size, n) {
				return null
			}
			sub.v = el
			if !truthy(e.eval(body, &sub)) {
				return boolean(false)
			}
		}
		return boolean(true)
	}
	found := false // none, some
	for _, el := range src.arr() {
		if !e.charge(body.size, n) {
			return null
		}
		sub.v = el
		if truthy(e.eval(body, &sub)) {
			found = true
			break
		}
	}
	return boolean(found == (n.op == opSome))
}

// substr is json-logic-js's substr: JavaScript's String.prototype.substr,
// with a negative length counting from the end. It counts characters (runes)
// where JavaScript counts UTF-16 units; they differ only beyond U+FFFF.
func (e *env) substr(n *node, fr *frame) value {
	src := e.eval(n.args[0], fr)
	r := []rune(e.text(src, n))
	start := toInteger(e.num(e.eval(n.args[1], fr), n))
	if len(n.args) == 3 {
		endv := e.eval(n.args[2], fr)
		if end := e.num(endv, n); end < 0 {
			temp := jsSubstr(r, start, math.NaN())
			return str(string(jsSubstr(temp, 0, float64(len(temp))+toInteger(end))))
		} else {
			return str(string(jsSubstr(r, start, toInteger(end))))
		}
	}
	return str(string(jsSubstr(r, start, math.NaN())))
}

// jsSubstr is String.prototype.substr(start, length); a NaN length means
// "to the end".
func jsSubstr(r []rune, start, length float64) []rune {
	size := float64(len(r))
	switch {
	case start < 0:
		start = math.Max(size+start, 0)
	case start > size:
		start = size
	}
	l := size - start
	if !math.IsNaN(length) {
		l = math.Min(math.Max(length, 0), size-start)
	}
	return r[int(start):int(start+l)]
}

// toInteger is ToIntegerOrInfinity.
func toInteger(f float64) float64 {
	if math.IsNaN(f) {
		return 0
	}
	return math.Trunc(f)
}

// buildTime is pretix's buildTime for the forms that depend on the facts;
// "custom" is a constant by now.
func (e *env) buildTime(n *node) value {
	f := e.f
	if f == nil {
		return e.fail(faultNoFacts, n, 0)
	}
	switch n.bt {
	case btCustomTime:
		t := e.today()
		return instant(wallClock(t.y, t.m, t.d, n.clock[0], n.clock[1], n.clock[2], f.location()))
	case btDateFrom:
		if f.DateFrom.IsZero() {
			return e.fail(faultNoDate, n, 0)
		}
		return instant(f.DateFrom)
	case btDateTo:
		if !f.DateTo.IsZero() {
			return instant(f.DateTo)
		}
	case btDateAdmission:
		if !f.DateAdmission.IsZero() {
			return instant(f.DateAdmission)
		}
	}
	if f.DateFrom.IsZero() {
		return e.fail(faultNoDate, n, 0)
	}
	return instant(f.DateFrom)
}

// timeCompare is pretix's isBefore and isAfter: a < b + tolerance and
// a > b - tolerance, the tolerance in minutes; strict, as in pretix.
func (e *env) timeCompare(n *node, fr *frame) value {
	a, b := e.eval(n.args[0], fr), e.eval(n.args[1], fr)
	if a.k != kTime || b.k != kTime {
		got := a.k
		if a.k == kTime {
			got = b.k
		}
		return e.fail(faultNeedTime, n, got)
	}
	var tol float64
	if len(n.args) == 3 {
		// pretix: "if tolerance:" then float(tolerance); 0, "" and null mean none.
		if t := e.eval(n.args[2], fr); truthy(t) {
			m := toNumber(t)
			if t.k == kTime || t.k == kArr || t.k == kObj || math.IsNaN(m) || math.IsInf(m, 0) {
				return e.fail(faultTolerance, n, t.k)
			}
			tol = math.Round(m * float64(time.Minute/time.Microsecond))
		}
	}
	if n.op == opIsBefore {
		return boolean(a.n < b.n+tol)
	}
	return boolean(b.n < a.n+tol)
}

// entriesAt is pretix's entries_since, entries_before, entries_days_since
// and entries_days_before: entries at or after a time, entries before it,
// and the days (in the event's time zone) with such entries.
func (e *env) entriesAt(n *node, fr *frame) value {
	t := e.eval(n.args[0], fr)
	if t.k != kTime {
		return e.fail(faultNeedTime, n, t.k)
	}
	f := e.f
	if f == nil {
		return e.fail(faultNoFacts, n, 0)
	}
	cut := countBefore(f.Entries, t.time())
	switch n.op {
	case opEntriesSince:
		return number(float64(len(f.Entries) - cut))
	case opEntriesBefore:
		return number(float64(cut))
	case opEntriesDaysSince:
		return number(float64(distinctDays(f.Entries[cut:], f.location())))
	}
	return number(float64(distinctDays(f.Entries[:cut], f.location())))
}
