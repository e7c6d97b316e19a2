package rules

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits of a rule. They bound compiling (size, depth, nodes) and every
// evaluation (work): a rule that passes Compile is evaluated in bounded time
// and memory whatever the facts.
const (
	// MaxSize is the longest rule accepted, in bytes.
	MaxSize = 64 << 10
	// MaxDepth is the deepest nesting of arrays and operations.
	MaxDepth = 64
	// MaxNodes is the most values (operations, arguments, list entries) a rule may hold.
	MaxNodes = 10000
	// MaxWork bounds what one evaluation may do beyond walking the rule once:
	// each time an array operation (map, filter, reduce, all, none, some)
	// evaluates its expression for an element counts the expression's size,
	// each element an array is built or read with or turned into text counts
	// 1, each 64 bytes of text built count 1. An evaluation that would do more
	// refuses.
	MaxWork = 50000
)

// jval is one parsed JSON value with where it stands in the rule, kept only
// while compiling.
type jval struct {
	k    kind
	b    bool
	n    float64
	s    string
	arr  []*jval
	keys []string
	vals []*jval

	off    int   // byte offset of the value's first byte
	parent *jval // nil at the root
	idx    int   // index in the parent array, or index of the key in the parent object
}

// path is the value's RFC 9535 normalized path: $['and'][1]['<'][0].
func (v *jval) path() string {
	var parts []string
	for c := v; c.parent != nil; c = c.parent {
		if c.parent.k == kArr {
			parts = append(parts, "["+strconv.Itoa(c.idx)+"]")
		} else {
			parts = append(parts, "['"+strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(c.parent.keys[c.idx])+"']")
		}
	}
	var b strings.Builder
	b.WriteByte('$')
	for i := len(parts) - 1; i >= 0; i-- {
		b.WriteString(parts[i])
	}
	return b.String()
}

// parser reads a rule with encoding/json's tokenizer, keeping each value's
// byte offset so errors can point at it.
type parser struct {
	src   []byte
	dec   *json.Decoder
	nodes int
}

// parseJSON parses src into a jval tree, refusing what exceeds the limits.
// maxNodes < 0 lifts the node limit (the official suite's data).
func parseJSON(src []byte, maxNodes int) (*jval, error) {
	if len(src) > MaxSize {
		return nil, &CompileError{Offset: MaxSize, Path: "$", Msg: fmt.Sprintf("the rule is %d bytes; the limit is %d", len(src), MaxSize)}
	}
	if !utf8.Valid(src) {
		off := 0
		for off < len(src) {
			r, n := utf8.DecodeRune(src[off:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			off += n
		}
		return nil, &CompileError{Offset: off, Path: "$", Msg: "the rule is not valid UTF-8"}
	}
	if len(bytes.TrimSpace(src)) == 0 {
		return nil, &CompileError{Offset: 0, Path: "$", Msg: "the rule is empty"}
	}
	p := &parser{src: src, dec: json.NewDecoder(bytes.NewReader(src))}
	p.dec.UseNumber()
	v, err := p.value(nil, 0, 0, maxNodes)
	if err != nil {
		return nil, err
	}
	// Only white space may follow; next() would also skip a ',' or ':'.
	off := int(p.dec.InputOffset())
	for off < len(src) && (src[off] == ' ' || src[off] == '\t' || src[off] == '\r' || src[off] == '\n') {
		off++
	}
	if off < len(src) {
		return nil, &CompileError{Offset: off, Path: "$", Msg: "unexpected text after the rule"}
	}
	return v, nil
}

// next returns the offset of the next token: the decoder stands after the
// previous token, before white space and any ',' or ':'.
func (p *parser) next() int {
	off := int(p.dec.InputOffset())
	for off < len(p.src) {
		switch p.src[off] {
		case ' ', '\t', '\r', '\n', ',', ':':
			off++
			continue
		}
		break
	}
	return off
}

func (p *parser) token() (json.Token, int, error) {
	off := p.next()
	tok, err := p.dec.Token()
	if err != nil {
		var se *json.SyntaxError
		switch {
		case errors.As(err, &se):
			// The tokenizer's offset can stand short of the offending byte
			// (inside a literal); a whole-input check names it exactly.
			at, msg := int(se.Offset), se.Error()
			var full *json.SyntaxError
			if errors.As(json.Unmarshal(p.src, new(json.RawMessage)), &full) && full.Offset > 0 {
				at, msg = int(full.Offset)-1, full.Error()
			}
			return nil, at, &CompileError{Offset: min(at, len(p.src)), Path: "", Msg: "not JSON: " + msg}
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			return nil, len(p.src), &CompileError{Offset: len(p.src), Path: "", Msg: "the rule ends too early"}
		}
		return nil, off, &CompileError{Offset: off, Path: "", Msg: "not JSON: " + err.Error()}
	}
	return tok, off, nil
}

func (p *parser) value(parent *jval, idx, depth, maxNodes int) (*jval, error) {
	tok, off, err := p.token()
	if err != nil {
		return nil, p.place(err, parent)
	}
	p.nodes++
	v := &jval{off: off, parent: parent, idx: idx}
	if maxNodes >= 0 && p.nodes > maxNodes {
		return nil, &CompileError{Offset: off, Path: v.path(), Msg: fmt.Sprintf("the rule has more than %d values", maxNodes)}
	}
	switch t := tok.(type) {
	case nil:
		v.k = kNull
	case bool:
		v.k, v.b = kBool, t
	case string:
		v.k, v.s = kStr, t
	case json.Number:
		f, err := strconv.ParseFloat(string(t), 64)
		if err != nil || math.IsInf(f, 0) {
			return nil, &CompileError{Offset: off, Path: v.path(), Msg: fmt.Sprintf("the number %s is out of range", t)}
		}
		v.k, v.n = kNum, f
	case json.Delim:
		if depth >= MaxDepth {
			return nil, &CompileError{Offset: off, Path: v.path(), Msg: fmt.Sprintf("the rule nests deeper than %d", MaxDepth)}
		}
		switch t {
		case '[':
			v.k = kArr
			for p.dec.More() {
				e, err := p.value(v, len(v.arr), depth+1, maxNodes)
				if err != nil {
					return nil, err
				}
				v.arr = append(v.arr, e)
			}
		case '{':
			v.k = kObj
			for p.dec.More() {
				kt, _, err := p.token()
				if err != nil {
					return nil, p.place(err, v)
				}
				v.keys = append(v.keys, kt.(string))
				e, err := p.value(v, len(v.vals), depth+1, maxNodes)
				if err != nil {
					return nil, err
				}
				v.vals = append(v.vals, e)
			}
		}
		if _, _, err := p.token(); err != nil { // the closing bracket
			return nil, p.place(err, v)
		}
	}
	return v, nil
}

// place fills in the path of a syntax error found inside parent.
func (p *parser) place(err error, parent *jval) error {
	var ce *CompileError
	if errors.As(err, &ce) && ce.Path == "" {
		ce.Path = "$"
		if parent != nil {
			ce.Path = parent.path()
		}
	}
	return err
}

// toValue turns parsed JSON into a value, for data (the official suite's)
// and constants: objects become objects, nothing is an operation.
func (v *jval) toValue() value {
	switch v.k {
	case kBool:
		return boolean(v.b)
	case kNum:
		return number(v.n)
	case kStr:
		return str(v.s)
	case kArr:
		a := make([]value, len(v.arr))
		for i, e := range v.arr {
			a[i] = e.toValue()
		}
		return array(a)
	case kObj:
		o := make(map[string]value, len(v.keys))
		for i, k := range v.keys {
			o[k] = v.vals[i].toValue()
		}
		return object(o)
	}
	return null
}

// json writes the value back as compact JSON.
func (v *jval) json() string {
	var b strings.Builder
	v.write(&b)
	return b.String()
}

func (v *jval) write(b *strings.Builder) {
	switch v.k {
	case kNull:
		b.WriteString("null")
	case kBool:
		b.WriteString(strconv.FormatBool(v.b))
	case kNum:
		b.WriteString(numberString(v.n))
	case kStr:
		q, _ := json.Marshal(v.s)
		b.Write(q)
	case kArr:
		b.WriteByte('[')
		for i, e := range v.arr {
			if i > 0 {
				b.WriteByte(',')
			}
			e.write(b)
		}
		b.WriteByte(']')
	case kObj:
		b.WriteByte('{')
		for i, k := range v.keys {
			if i > 0 {
				b.WriteByte(',')
			}
			q, _ := json.Marshal(k)
			b.Write(q)
			b.WriteByte(':')
			v.vals[i].write(b)
		}
		b.WriteByte('}')
	}
}
