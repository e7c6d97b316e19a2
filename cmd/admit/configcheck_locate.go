package main

// This file finds where each key of a TOML file is written, so a problem
// names its line. The TOML decoder keeps a position per key name, but
// without the element of an array of tables: every [[lanes]] shares
// "lanes.direction", and the last lane's line wins. locateKeys reads the
// file itself and names each key by its full path, indices included
// ("lanes[2].relay.channel"), the way problems name them.
//
// It runs on files the decoder has already parsed, so it may be lenient: on
// anything it does not understand it stops, and the keys it has not reached
// have no line (a problem then names its key without one).

import (
	"bytes"
	"strconv"
	"strings"
)

// keyPath joins a table's path and a key: "http" + "listen" is
// "http.listen"; a key that is not bare is quoted as TOML writes it.
func keyPath(table, key string) string {
	k := key
	if !isBareKey(key) {
		k = strconv.Quote(key)
	}
	if table == "" {
		return k
	}
	return table + "." + k
}

// indexPath names element i of the array at path: "lanes[2]".
func indexPath(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// parentPath is the path one step up: "lanes[2].relay" for
// "lanes[2].relay.channel", "lanes[2]" for "lanes[2].relay", "lanes" for
// "lanes[2]"; "" at the top.
func parentPath(path string) string {
	if strings.HasSuffix(path, "]") {
		if i := strings.LastIndexByte(path, '['); i > 0 {
			return path[:i]
		}
	}
	// The last '.' outside quotes.
	inQuote := false
	last := -1
	for i := 0; i < len(path); i++ {
		switch c := path[i]; {
		case c == '\\' && inQuote:
			i++
		case c == '"':
			inQuote = !inQuote
		case c == '.' && !inQuote:
			last = i
		}
	}
	if last < 0 {
		return ""
	}
	return path[:last]
}

func isBareKey(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isBareByte(s[i]) {
			return false
		}
	}
	return true
}

func isBareByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// keyLines maps a key's path to the line (from 1) where it is first written:
// its assignment, its table header, or the header or dotted key that
// created it implicitly.
type keyLines map[string]int

// lineOf returns the line of path, or of its nearest ancestor written in
// the file (a missing key is reported at its table); 0 when none is.
func (kl keyLines) lineOf(path string) int {
	for p := path; p != ""; p = parentPath(p) {
		if n, ok := kl[p]; ok {
			return n
		}
	}
	return 0
}

// locateKeys reads data, a TOML document, and returns the line of every key.
func locateKeys(data []byte) keyLines {
	l := newLocator(data)
	defer func() {
		// A fault in the locator costs line numbers, never the check: the
		// keys found so far keep theirs (FuzzConfigCheck runs it without
		// this net).
		_ = recover()
	}()
	l.run()
	return l.lines
}

func newLocator(data []byte) *locator {
	return &locator{src: data, line: 1, lines: keyLines{}, arrays: map[string]int{}}
}

// run reads the document; text it does not understand ends it there.
func (l *locator) run() {
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(errStop); !ok {
				panic(r)
			}
		}
	}()
	l.document()
}

type locator struct {
	src    []byte
	pos    int
	line   int
	lines  keyLines
	arrays map[string]int // an array of tables's path → its element count
	table  string         // the current table's path
}

// errStop ends the scan where the locator does not understand the text.
type errStop struct{}

func (l *locator) stop() { panic(errStop{}) }

func (l *locator) eof() bool { return l.pos >= len(l.src) }

func (l *locator) peek(s string) bool { return bytes.HasPrefix(l.src[l.pos:], []byte(s)) }

func (l *locator) advance(n int) {
	for i := 0; i < n && l.pos < len(l.src); i++ {
		if l.src[l.pos] == '\n' {
			l.line++
		}
		l.pos++
	}
}

// blank skips spaces and tabs, and with newlines also line ends and
// comments.
func (l *locator) blank(newlines bool) {
	for !l.eof() {
		switch c := l.src[l.pos]; {
		case c == ' ' || c == '\t':
			l.advance(1)
		case newlines && (c == '\n' || c == '\r'):
			l.advance(1)
		case newlines && c == '#':
			for !l.eof() && l.src[l.pos] != '\n' {
				l.advance(1)
			}
		default:
			return
		}
	}
}

func (l *locator) record(path string, line int) {
	if _, ok := l.lines[path]; !ok {
		l.lines[path] = line
	}
}

func (l *locator) document() {
	for {
		l.blank(true)
		if l.eof() {
			return
		}
		line := l.line
		switch {
		case l.peek("[["):
			l.advance(2)
			l.blank(false)
			key := l.key()
			l.blank(false)
			if !l.peek("]]") {
				l.stop()
			}
			l.advance(2)
			l.table = l.header(key, true, line)
		case l.peek("["):
			l.advance(1)
			l.blank(false)
			key := l.key()
			l.blank(false)
			if !l.peek("]") {
				l.stop()
			}
			l.advance(1)
			l.table = l.header(key, false, line)
		default:
			l.keyValue(l.table, line)
		}
		l.blank(false)
		if l.peek("#") {
			l.blank(true) // the comment; blank(true) at the loop's top takes the rest
		}
	}
}

// header resolves a table header's key to its path: the parts that are
// arrays of tables name their last element; for [[key]] the last part adds
// an element.
func (l *locator) header(key []string, array bool, line int) string {
	path := ""
	for i, part := range key {
		path = keyPath(path, part)
		last := i == len(key)-1
		n, isArray := l.arrays[path]
		switch {
		case last && array:
			l.record(path, line)
			l.arrays[path] = n + 1
			path = indexPath(path, n)
		case isArray && n > 0:
			path = indexPath(path, n-1)
		}
		l.record(path, line)
	}
	return path
}

// keyValue reads "key = value" in table, recording the key's line and, for
// an inline table or an array, the lines of what it holds.
func (l *locator) keyValue(table string, line int) {
	key := l.key()
	path := table
	for _, part := range key {
		path = keyPath(path, part)
		l.record(path, line)
	}
	l.blank(false)
	if !l.peek("=") {
		l.stop()
	}
	l.advance(1)
	l.blank(false)
	l.value(path)
}

// key reads a dotted key: bare, "basic" or 'literal' parts joined by dots.
func (l *locator) key() []string {
	var parts []string
	for {
		l.blank(false)
		switch {
		case l.peek(`"`):
			parts = append(parts, l.basicString())
		case l.peek("'"):
			parts = append(parts, l.literalString())
		default:
			start := l.pos
			for !l.eof() && isBareByte(l.src[l.pos]) {
				l.advance(1)
			}
			if l.pos == start {
				l.stop()
			}
			parts = append(parts, string(l.src[start:l.pos]))
		}
		l.blank(false)
		if !l.peek(".") {
			return parts
		}
		l.advance(1)
	}
}

func (l *locator) basicString() string {
	start := l.pos
	l.advance(1)
	for !l.eof() && l.src[l.pos] != '"' {
		if l.src[l.pos] == '\\' {
			l.advance(1)
		}
		if !l.eof() && l.src[l.pos] == '\n' {
			l.stop()
		}
		l.advance(1)
	}
	l.advance(1)
	s, err := strconv.Unquote(string(l.src[start:l.pos]))
	if err != nil { // a TOML escape Go does not know (\e, \x); the key keeps its text
		return string(l.src[start+1 : l.pos-1])
	}
	return s
}

func (l *locator) literalString() string {
	l.advance(1)
	start := l.pos
	for !l.eof() && l.src[l.pos] != '\'' {
		if l.src[l.pos] == '\n' {
			l.stop()
		}
		l.advance(1)
	}
	s := string(l.src[start:l.pos])
	l.advance(1)
	return s
}

// multiline skips a """ or ”' string up to its closing delimiter, which
// may be followed by up to two more quotes that belong to the string.
func (l *locator) multiline(delim string) {
	l.advance(3)
	for !l.eof() {
		if delim == `"""` && l.src[l.pos] == '\\' {
			l.advance(2)
			continue
		}
		if l.peek(delim) {
			l.advance(3)
			for i := 0; i < 2 && l.peek(delim[:1]); i++ {
				l.advance(1)
			}
			return
		}
		l.advance(1)
	}
}

// value skips the value at path, recording the keys of inline tables and
// the elements of arrays.
func (l *locator) value(path string) {
	switch {
	case l.peek(`"""`):
		l.multiline(`"""`)
	case l.peek("'''"):
		l.multiline("'''")
	case l.peek(`"`):
		l.basicString()
	case l.peek("'"):
		l.literalString()
	case l.peek("["):
		l.advance(1)
		for i := 0; ; i++ {
			l.blank(true)
			if l.peek("]") {
				l.advance(1)
				return
			}
			elem := indexPath(path, i)
			l.record(elem, l.line)
			l.value(elem)
			l.blank(true)
			if l.peek(",") {
				l.advance(1)
			}
		}
	case l.peek("{"):
		l.advance(1)
		for {
			l.blank(true)
			if l.peek("}") {
				l.advance(1)
				return
			}
			l.keyValue(path, l.line)
			l.blank(true)
			if l.peek(",") {
				l.advance(1)
			}
		}
	default: // a number, a boolean, a date-time (which may hold a space)
		start := l.pos
		for !l.eof() && !strings.ContainsRune(",]}#\r\n", rune(l.src[l.pos])) {
			l.advance(1)
		}
		if l.pos == start {
			l.stop()
		}
	}
}
