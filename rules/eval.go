package rules

import (
	"math"
	"strings"
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
		case kBool:
			return boolean((a.b && n.other[0]) || (!a.b && n.other[1]))
		case kNull:
			return boolean(n.other[2])
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
