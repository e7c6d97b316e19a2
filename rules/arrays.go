package rules

import (
	"math"
	"strings"
)

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
