package httpapi

import (
	"fmt"
	"reflect"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/admitgate/admit/gate"
)

// Request bodies are read strictly. encoding/json is lenient in three ways
// that matter at a gate: it replaces an invalid escape (a lone UTF-16
// surrogate such as \ud800) with U+FFFD, so a scan would be decided, and
// journaled, as a barcode the scanner never sent; it matches keys without
// regard to case ("Barcode" fills barcode); and of a key given twice it keeps
// the last. The API refuses all three with 400, and the functions here find
// them: jsonString reads one string strictly, checkJSON walks a whole body.
// The scan route's decoder (scanjson.go) is built on jsonString alone.

// maxJSONDepth bounds the nesting checkJSON follows; no request body of the
// API nests deeper than two.
const maxJSONDepth = 32

// jsonSyntax is a defect found in a request body, at a byte offset.
type jsonSyntax struct {
	at  int
	msg string
}

func (e *jsonSyntax) err() error {
	return gate.Errorf(gate.EINVALID, "the request body is not valid JSON (at byte %d): %s", e.at, e.msg)
}

var (
	errBodyEmpty   = gate.Errorf(gate.EINVALID, "the request body is empty; send a JSON object")
	errBodyNotUTF8 = gate.Errorf(gate.EINVALID, "the request body is not valid UTF-8")
)

// jsonString reads the JSON string whose opening quote is b[i] (the caller
// checked it) and returns its contents and the index after its closing
// quote. Contents without escapes alias b; escaped ones are decoded into
// buf, appended. b must be valid UTF-8. An escape that is not JSON's, a
// surrogate escape without its pair (\ud800 alone, \udc00 first) and a raw
// control character are errors: nothing is ever replaced.
func jsonString(b []byte, i int, buf []byte) ([]byte, int, *jsonSyntax) {
	start := i + 1
	j := start
	for ; j < len(b); j++ {
		c := b[j]
		if c == '"' {
			return b[start:j], j + 1, nil
		}
		if c == '\\' || c < 0x20 {
			break
		}
	}
	buf = append(buf, b[start:j]...)
	for j < len(b) {
		c := b[j]
		switch {
		case c == '"':
			return buf, j + 1, nil
		case c < 0x20:
			return nil, 0, &jsonSyntax{j, fmt.Sprintf("a string holds the control character 0x%02x; write it escaped, as \\u%04x", c, c)}
		case c != '\\':
			buf = append(buf, c)
			j++
			continue
		}
		if j+1 >= len(b) {
			break
		}
		switch e := b[j+1]; e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := hex4(b, j+2)
			if !ok {
				return nil, 0, &jsonSyntax{j, "\\u must be followed by four hexadecimal digits"}
			}
			n := 6
			switch {
			case utf16.IsSurrogate(r) && r < 0xdc00:
				r2, ok := rune(0), j+12 <= len(b) && b[j+6] == '\\' && b[j+7] == 'u'
				if ok {
					r2, ok = hex4(b, j+8)
				}
				if !ok || r2 < 0xdc00 || r2 > 0xdfff {
					return nil, 0, &jsonSyntax{j, fmt.Sprintf("\\u%04x is the first half of a UTF-16 surrogate pair and its second half does not follow; send the character itself, or both halves", r)}
				}
				r, n = utf16.DecodeRune(r, r2), 12
			case utf16.IsSurrogate(r):
				return nil, 0, &jsonSyntax{j, fmt.Sprintf("\\u%04x is the second half of a UTF-16 surrogate pair without its first half; send the character itself, or both halves", r)}
			}
			buf = utf8.AppendRune(buf, r)
			j += n
			continue
		default:
			return nil, 0, &jsonSyntax{j, fmt.Sprintf("\\%s is not an escape JSON knows (\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)", printable(e))}
		}
		j += 2
	}
	return nil, 0, &jsonSyntax{len(b), "a string is not closed"}
}

// hex4 reads four hexadecimal digits at b[i:].
func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// printable shows a byte of a request in a message.
func printable(c byte) string {
	if c < 0x20 || c >= 0x7f {
		return fmt.Sprintf("x%02x", c)
	}
	return string(rune(c))
}

// jsonKindAt names the kind of the JSON value that starts with c, for
// messages.
func jsonKindAt(c byte) string {
	switch {
	case c == '{':
		return "an object"
	case c == '[':
		return "an array"
	case c == '"':
		return "a string"
	case c == 't' || c == 'f':
		return "true or false"
	case c == 'n':
		return "null"
	case c == '-' || '0' <= c && c <= '9':
		return "a number"
	}
	return "not JSON"
}

// unknownField is the error for a key a request has no field for; a key
// that differs from a field only in case says so.
func unknownField(key []byte, fields []string) error {
	k := truncate(string(key), 64)
	for _, f := range fields {
		if strings.EqualFold(string(key), f) {
			return gate.Errorf(gate.EINVALID, "unknown field %q: field names are lower case, as in %q", k, f)
		}
	}
	return gate.Errorf(gate.EINVALID, "unknown field %q", k)
}

func duplicateField(key []byte) error {
	return gate.Errorf(gate.EINVALID, "field %q is given twice; send it once", truncate(string(key), 64))
}

// checkJSON checks that body is one strict JSON value: valid UTF-8 and JSON
// syntax, strings as jsonString reads them, no object with a key twice, and,
// when the value is an object and fields is not nil, only keys among fields,
// exactly as written there. encoding/json then decodes what it accepts
// without leniency left to apply.
func checkJSON(body []byte, fields []string) error {
	if !utf8.Valid(body) {
		return errBodyNotUTF8
	}
	i := skipSpace(body, 0)
	if i == len(body) {
		return errBodyEmpty
	}
	c := jsonChecker{b: body, fields: fields}
	i, err := c.value(i, 0)
	if err != nil {
		return err
	}
	if i = skipSpace(body, i); i != len(body) {
		return (&jsonSyntax{i, "more follows the request's JSON value; send one value"}).err()
	}
	return nil
}

type jsonChecker struct {
	b      []byte
	fields []string // the top-level object's keys
	buf    []byte
}

func (c *jsonChecker) value(i, depth int) (int, error) {
	b := c.b
	if i >= len(b) {
		return 0, (&jsonSyntax{i, "the body ends where a value should be"}).err()
	}
	switch ch := b[i]; {
	case ch == '{':
		return c.object(i, depth)
	case ch == '[':
		return c.array(i, depth)
	case ch == '"':
		_, j, e := jsonString(b, i, c.buf[:0])
		if e != nil {
			return 0, e.err()
		}
		return j, nil
	case ch == 't':
		return c.literal(i, "true")
	case ch == 'f':
		return c.literal(i, "false")
	case ch == 'n':
		return c.literal(i, "null")
	case ch == '-' || '0' <= ch && ch <= '9':
		return c.number(i)
	}
	return 0, (&jsonSyntax{i, fmt.Sprintf("%q cannot start a JSON value", printable(b[i]))}).err()
}

func (c *jsonChecker) literal(i int, word string) (int, error) {
	if !hasPrefix(c.b[i:], word) {
		return 0, (&jsonSyntax{i, "not a JSON value (true, false and null are written in lower case)"}).err()
	}
	return i + len(word), nil
}

func (c *jsonChecker) number(i int) (int, error) {
	b := c.b
	start := i
	digits := func() bool {
		j := i
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
		return i > j
	}
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case !digits():
		return 0, (&jsonSyntax{start, "a number needs digits"}).err()
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			return 0, (&jsonSyntax{start, "a number needs digits after its decimal point"}).err()
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return 0, (&jsonSyntax{start, "a number needs digits in its exponent"}).err()
		}
	}
	return i, nil
}

func (c *jsonChecker) array(i, depth int) (int, error) {
	if depth >= maxJSONDepth {
		return 0, (&jsonSyntax{i, fmt.Sprintf("values nest deeper than %d", maxJSONDepth)}).err()
	}
	b := c.b
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return i + 1, nil
	}
	for {
		var err error
		if i, err = c.value(i, depth+1); err != nil {
			return 0, err
		}
		i = skipSpace(b, i)
		switch {
		case i >= len(b):
			return 0, (&jsonSyntax{i, "an array is not closed"}).err()
		case b[i] == ']':
			return i + 1, nil
		case b[i] != ',':
			return 0, (&jsonSyntax{i, "expected , or ] in an array"}).err()
		}
		i = skipSpace(b, i+1)
	}
}

func (c *jsonChecker) object(i, depth int) (int, error) {
	if depth >= maxJSONDepth {
		return 0, (&jsonSyntax{i, fmt.Sprintf("values nest deeper than %d", maxJSONDepth)}).err()
	}
	b := c.b
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	var keys []string
	for {
		if i >= len(b) || b[i] != '"' {
			return 0, (&jsonSyntax{i, "expected a field name in double quotes"}).err()
		}
		key, j, e := jsonString(b, i, c.buf[:0])
		if e != nil {
			return 0, e.err()
		}
		if depth == 0 && c.fields != nil && !contains(c.fields, key) {
			return 0, unknownField(key, c.fields)
		}
		if contains(keys, key) {
			return 0, duplicateField(key)
		}
		keys = append(keys, string(key))
		i = skipSpace(b, j)
		if i >= len(b) || b[i] != ':' {
			return 0, (&jsonSyntax{i, "expected : after a field name"}).err()
		}
		var err error
		if i, err = c.value(skipSpace(b, i+1), depth+1); err != nil {
			return 0, err
		}
		i = skipSpace(b, i)
		switch {
		case i >= len(b):
			return 0, (&jsonSyntax{i, "an object is not closed"}).err()
		case b[i] == '}':
			return i + 1, nil
		case b[i] != ',':
			return 0, (&jsonSyntax{i, "expected , or } in an object"}).err()
		}
		i = skipSpace(b, i+1)
	}
}

func contains(list []string, key []byte) bool {
	for _, s := range list {
		if s == string(key) {
			return true
		}
	}
	return false
}

var fieldCache sync.Map // reflect.Type -> []string

// jsonFields returns the JSON keys of the struct v points to, or nil when v
// is not a pointer to a struct.
func jsonFields(v any) []string {
	t := reflect.TypeOf(v)
	if t == nil || t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		return nil
	}
	t = t.Elem()
	if f, ok := fieldCache.Load(t); ok {
		return f.([]string)
	}
	fields := []string{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = f.Name
		}
		fields = append(fields, name)
	}
	fieldCache.Store(t, fields)
	return fields
}
