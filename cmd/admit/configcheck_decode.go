package main

// This file decodes a configuration file with every problem found at once.
// The TOML decoder stops at the first value of the wrong type and says so
// in Go's words ("TOML value has type int64; destination has type
// string"); here the parsed document is walked against Config's types key
// by key, so each bad value and each unknown key is one problem in words,
// and the rest of the file is still decoded and checked. A file with no
// such problem is then decoded by the TOML decoder itself, whose result is
// what admit runs on (FuzzConfigCheck holds both to the same values).

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/admitgate/admit/gate"
)

// configSource is where a Config came from: its file, where each key is
// written, and what was wrong while decoding it. Validate reports the
// decoding problems with its own, at the lines written here.
type configSource struct {
	file   string
	lines  keyLines
	decode Problems        // values and keys the decoder could not take
	bad    map[string]bool // their keys: validation says nothing more about them
	broken bool            // the file does not parse: nothing else is checked
}

// parseConfig decodes data, named file in problems ("" when it has no
// name), over the defaults. The Config is never nil; its problems are in
// its source until Validate reports them.
func parseConfig(data []byte, file string) *Config {
	c := DefaultConfig()
	src := &configSource{file: file, bad: map[string]bool{}}
	c.src = src
	if len(data) > maxConfigSize {
		src.broken = true
		src.decode = Problems{{File: file, Msg: fmt.Sprintf("the file is over %s; is it the right file?", sizeWords(maxConfigSize))}}
		return c
	}
	var raw map[string]any
	if _, err := toml.Decode(string(data), &raw); err != nil {
		src.broken = true
		src.decode = Problems{syntaxProblem(file, err)}
		return c
	}
	src.lines = locateKeys(data)
	d := &decoder{src: src}
	d.table("", raw, reflect.ValueOf(c).Elem())
	for i := range src.decode {
		src.decode[i].File = file
		src.decode[i].Line = src.lines.lineOf(src.decode[i].Key)
	}
	if src.decode.errors() > 0 {
		return c // the walk's values, for checking what else is wrong
	}
	// No problem: the TOML decoder's own values are the ones admit runs on.
	tc := DefaultConfig()
	if _, err := toml.NewDecoder(bytes.NewReader(data)).Decode(tc); err != nil {
		// The walk let through what the decoder refuses: say so rather
		// than run on values the decoder never agreed to.
		src.decode = append(src.decode, syntaxProblem(file, err))
		return c
	}
	tc.src = src
	return tc
}

// syntaxProblem is the TOML parser's refusal as a problem: its line, the key
// it was reading, its message.
func syntaxProblem(file string, err error) Problem {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		msg := pe.Message
		if pe.Usage != "" && strings.Contains(pe.Message, "newlines not allowed within inline tables") {
			msg += "; write the table's keys on one line, or under a [table] header"
		}
		return Problem{File: file, Line: pe.Position.Line, Key: pe.LastKey, Msg: "TOML syntax: " + msg}
	}
	return Problem{File: file, Msg: strings.TrimPrefix(err.Error(), "toml: ")}
}

// decoder walks a parsed document against a Go type.
type decoder struct {
	src *configSource
}

func (d *decoder) fail(key, format string, args ...any) {
	d.src.decode = append(d.src.decode, Problem{Key: key, Msg: fmt.Sprintf(format, args...)})
	d.src.bad[key] = true
}

func (d *decoder) warn(key, format string, args ...any) {
	d.src.decode = append(d.src.decode, Problem{Key: key, Msg: fmt.Sprintf(format, args...), Warning: true})
}

var (
	timeType         = reflect.TypeFor[time.Time]()
	durationType     = reflect.TypeFor[time.Duration]()
	ourDurationType  = reflect.TypeFor[Duration]()
	textUnmarshaller = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// tomlField is a key of a table and where it goes in the struct; the keys
// of an embedded struct are the outer table's (decode.Config in a scanner,
// OutputConfig in a relay or light), as the TOML decoder has them.
type tomlField struct {
	key   string
	index []int
}

func tomlFields(t reflect.Type) []tomlField {
	var out []tomlField
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("toml")
		if tag == "-" || !f.IsExported() && !f.Anonymous {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			for _, sub := range tomlFields(f.Type) {
				out = append(out, tomlField{key: sub.key, index: append([]int{i}, sub.index...)})
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, tomlField{key: name, index: []int{i}})
	}
	return out
}

// table decodes the TOML table m at path into the struct rv.
func (d *decoder) table(path string, m map[string]any, rv reflect.Value) {
	fields := tomlFields(rv.Type())
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		i := slices.IndexFunc(fields, func(f tomlField) bool { return f.key == k })
		if i < 0 {
			d.unknown(path, k, rv.Type())
			continue
		}
		d.value(keyPath(path, k), m[k], rv.FieldByIndex(fields[i].index))
	}
}

// value decodes one TOML value into rv.
func (d *decoder) value(path string, data any, rv reflect.Value) {
	t := rv.Type()
	switch {
	case t == timeType:
		d.time(path, data, rv)
		return
	case t == durationType || t == ourDurationType:
		s, ok := data.(string)
		if !ok {
			d.fail(path, "%s is %s; write a duration in quotes, such as \"1.5s\" or \"2m\"", tomlText(data), tomlKind(data))
			return
		}
		v, err := time.ParseDuration(s)
		if err != nil {
			d.fail(path, "%q is not a duration; write one such as \"500ms\", \"1.5s\" or \"2m\"", s)
			return
		}
		rv.SetInt(int64(v))
		return
	case reflect.PointerTo(t).Implements(textUnmarshaller):
		d.text(path, data, rv)
		return
	}
	switch t.Kind() {
	case reflect.String:
		s, ok := data.(string)
		if !ok {
			d.fail(path, "%s is %s, not a string; write it in quotes: \"%s\"", tomlText(data), tomlKind(data), strings.Trim(tomlText(data), `"`))
			return
		}
		rv.SetString(s)
	case reflect.Bool:
		b, ok := data.(bool)
		if !ok {
			if s, isStr := data.(string); isStr && (s == "true" || s == "false") {
				d.fail(path, "%q is a string; write %s without quotes", s, s)
			} else {
				d.fail(path, "%s is %s; write true or false", tomlText(data), tomlKind(data))
			}
			return
		}
		rv.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		d.integer(path, data, rv)
	case reflect.Struct:
		m, ok := data.(map[string]any)
		if !ok {
			d.fail(path, "%s is %s, not a table; write its keys under [%s]", tomlText(data), tomlKind(data), headerOf(path))
			return
		}
		d.table(path, m, rv)
	case reflect.Slice:
		d.slice(path, data, rv)
	case reflect.Pointer:
		// An optional table ([venue]): there when written.
		if rv.IsNil() {
			rv.Set(reflect.New(t.Elem()))
		}
		d.value(path, data, rv.Elem())
	default:
		d.fail(path, "admit cannot read this key (a %s)", t)
	}
}

func (d *decoder) integer(path string, data any, rv reflect.Value) {
	n, ok := data.(int64)
	if !ok {
		switch v := data.(type) {
		case float64:
			d.fail(path, "%s is not a whole number; write one such as %d", tomlText(data), int64(math.Round(v)))
		case string:
			if _, err := strconv.ParseInt(v, 10, 64); err == nil {
				d.fail(path, "%q is a string; write the number without quotes: %s", v, v)
			} else {
				d.fail(path, "%q is not a number; write a whole number such as 3", v)
			}
		default:
			d.fail(path, "%s is %s; write a whole number such as 3", tomlText(data), tomlKind(data))
		}
		return
	}
	switch {
	case rv.CanInt():
		if rv.OverflowInt(n) {
			d.fail(path, "%d is too large; at most %d", n, int64(1)<<(rv.Type().Bits()-1)-1)
			return
		}
		rv.SetInt(n)
	default:
		if n < 0 {
			d.fail(path, "%d is negative; write a number from 0", n)
			return
		}
		if rv.OverflowUint(uint64(n)) {
			d.fail(path, "%d is too large; at most %d", n, uint64(1)<<rv.Type().Bits()-1)
			return
		}
		rv.SetUint(uint64(n))
	}
}

func (d *decoder) slice(path string, data any, rv reflect.Value) {
	var elems []any
	switch v := data.(type) {
	case []any:
		elems = v
	case []map[string]any:
		for _, m := range v {
			elems = append(elems, m)
		}
	case map[string]any:
		if rv.Type().Elem().Kind() == reflect.Struct {
			d.fail(path, "[%s] is one table, and %s is a list of them; write [[%s]]", headerOf(path), lastKey(path), headerOf(path))
		} else {
			d.fail(path, "a table is not a list; write a list such as [\"a\", \"b\"]")
		}
		return
	default:
		if rv.Type().Elem().Kind() == reflect.Struct {
			d.fail(path, "%s is %s; write each one as a table under [[%s]]", tomlText(data), tomlKind(data), headerOf(path))
		} else {
			d.fail(path, "%s is %s, not a list; write [%s]", tomlText(data), tomlKind(data), tomlText(data))
		}
		return
	}
	out := reflect.MakeSlice(rv.Type(), len(elems), len(elems))
	for i, e := range elems {
		d.value(indexPath(path, i), e, out.Index(i))
	}
	rv.Set(out)
}

// text decodes a value whose type reads itself from text (sizes, patterns,
// USB ids, symbology lists), as the TOML decoder does: a string as it is,
// a number or a boolean as it is written.
func (d *decoder) text(path string, data any, rv reflect.Value) {
	var s string
	switch v := data.(type) {
	case string:
		s = v
	case int64:
		s = strconv.FormatInt(v, 10)
	case bool:
		s = strconv.FormatBool(v)
	case float64:
		s = fmt.Sprintf("%f", v)
	default:
		d.fail(path, "%s is %s; write a string in quotes", tomlText(data), tomlKind(data))
		return
	}
	u := rv.Addr().Interface().(encoding.TextUnmarshaler)
	if err := u.UnmarshalText([]byte(s)); err != nil {
		msg := valueMessage(err)
		if _, isStr := data.(string); !isStr {
			// The message quotes the text the value became: name the value.
			msg = strings.Replace(msg, strconv.Quote(s), fmt.Sprintf("%s (%s)", tomlText(data), tomlKind(data)), 1)
		}
		d.fail(path, "%s", msg)
	}
}

// time decodes a TOML date-time. One written without a UTC offset is read
// in the machine's offset at the moment admit starts, as the TOML decoder
// does, which is an hour off across a change to or from summer time: it is
// a warning. A time of day without a date is no point in time.
func (d *decoder) time(path string, data any, rv reflect.Value) {
	const example = "2026-12-05T18:00:00+01:00"
	switch v := data.(type) {
	case time.Time:
		switch v.Location().String() {
		case "time-local":
			d.fail(path, "%s is a time of day without a date; write a date-time such as %s", v.Format("15:04:05"), example)
			return
		case "datetime-local", "date-local":
			_, off := v.Zone()
			d.warn(path, "%s has no UTC offset, so it is read as %s (this machine's offset now, whatever the date); write the offset, such as %s (Z is UTC)",
				tomlText(v), offsetText(off), v.Format("2006-01-02T15:04:05-07:00"))
		}
		rv.Set(reflect.ValueOf(v))
	case string:
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			d.fail(path, "%q is not a date-time; write one without quotes, such as %s", v, example)
			return
		}
		rv.Set(reflect.ValueOf(t))
	default:
		d.fail(path, "%s is %s; write a date-time such as %s", tomlText(data), tomlKind(data), example)
	}
}

func offsetText(off int) string {
	sign := '+'
	if off < 0 {
		sign, off = '-', -off
	}
	return fmt.Sprintf("%c%02d:%02d", sign, off/3600, off%3600/60)
}

// pkgPrefix is the "gpio: " a package puts in front of its errors.
var pkgPrefix = regexp.MustCompile(`^[a-z0-9]+: `)

// valueMessage is an error about a value, for people: a gate error's
// message, or the error without its package prefix.
func valueMessage(err error) string {
	var ge *gate.Error
	if errors.As(err, &ge) {
		return ge.Message
	}
	return pkgPrefix.ReplaceAllString(err.Error(), "")
}

// tomlKind names a TOML value's type for people.
func tomlKind(data any) string {
	switch v := data.(type) {
	case string:
		return "a string"
	case int64:
		return "a number"
	case float64:
		return "a decimal number"
	case bool:
		return "a boolean"
	case time.Time:
		_ = v
		return "a date-time"
	case []any, []map[string]any:
		return "a list"
	case map[string]any:
		return "a table"
	}
	return fmt.Sprintf("a %T", data)
}

// tomlText writes a TOML value short, as it could be written in the file.
func tomlText(data any) string {
	switch v := data.(type) {
	case string:
		s := strconv.Quote(v)
		if len(s) > 40 {
			s = s[:36] + `…"`
		}
		return s
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	case time.Time:
		switch v.Location().String() {
		case "datetime-local":
			return v.Format("2006-01-02T15:04:05")
		case "date-local":
			return v.Format("2006-01-02")
		case "time-local":
			return v.Format("15:04:05")
		}
		return v.Format(time.RFC3339)
	case []any, []map[string]any:
		return "a list"
	case map[string]any:
		return "a table"
	}
	return fmt.Sprint(data)
}

// headerOf is the table header that writes path: "lanes.relay" for
// "lanes[2].relay".
func headerOf(path string) string {
	var b strings.Builder
	depth := 0
	for _, r := range path {
		switch {
		case r == '[':
			depth++
		case r == ']':
			depth--
		case depth == 0:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// lastKey is the last key of path: "relay" for "lanes[2].relay".
func lastKey(path string) string {
	p := headerOf(path)
	if i := strings.LastIndexByte(p, '.'); i >= 0 {
		return p[i+1:]
	}
	return p
}

// secretProblem records that the secret file at key could not be used.
func (c *Config) secretProblem(key string, err error) {
	if c.src == nil {
		c.src = &configSource{bad: map[string]bool{}}
	}
	msg := err.Error()
	var pe *fs.PathError
	switch {
	case errors.As(err, &pe) && errors.Is(err, fs.ErrNotExist):
		msg = pe.Path + " does not exist; create it, or correct the path (a relative one starts at the configuration file's folder)"
	case errors.As(err, &pe) && errors.Is(err, fs.ErrPermission):
		msg = pe.Path + " cannot be read by this user (permission denied); admit reads it as the user it runs as"
	}
	c.src.decode = append(c.src.decode, Problem{File: c.src.file, Line: c.src.lines.lineOf(key), Key: key, Msg: msg})
	c.src.bad[key] = true
}
