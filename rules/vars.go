package rules

import (
	"strconv"
	"strings"
)

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
