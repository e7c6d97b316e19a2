package decodetest

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Frame is one report (or one chunk of a byte stream) and when it came,
// as an offset from the start of the recording.
type Frame struct {
	At   time.Duration
	Data []byte
}

// Stream is a recording: frames in the order they came.
type Stream []Frame

// MaxFrameLen bounds one frame, as a guard against a mangled file.
const MaxFrameLen = 1 << 16

// Parse reads a stream in the text format (see the package doc). Errors
// name the line.
func Parse(r io.Reader) (Stream, error) {
	var s Stream
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 4*MaxFrameLen)
	var prev time.Duration = -time.Millisecond
	for n := 1; sc.Scan(); n++ {
		at, data, err := ParseLine(sc.Text(), prev)
		if err != nil {
			return nil, fmt.Errorf("decodetest: line %d: %w", n, err)
		}
		if data == nil {
			continue
		}
		s = append(s, Frame{At: at, Data: data})
		prev = at
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("decodetest: %w", err)
	}
	return s, nil
}

// ParseLine parses one line of the text format. prev is the time of the
// previous frame; a line without a time comes 1ms after it. data is nil
// for a blank or comment line.
func ParseLine(line string, prev time.Duration) (at time.Duration, data []byte, err error) {
	if i := commentStart(line); i >= 0 {
		line = line[:i]
	}
	line = strings.TrimSpace(line)
	if line == "" {
		return prev, nil, nil
	}
	at = prev + time.Millisecond
	if line[0] == '@' || line[0] == '+' {
		f, rest, _ := strings.Cut(line, " ")
		d, err := time.ParseDuration(f[1:])
		if err != nil {
			return 0, nil, fmt.Errorf("time %q: %w", f, err)
		}
		if f[0] == '@' {
			at = d
		} else {
			at = prev + d
		}
		line = strings.TrimSpace(rest)
	}
	data = []byte{}
	for line != "" {
		if line[0] == '"' {
			q, err := strconv.QuotedPrefix(line)
			if err != nil {
				return 0, nil, fmt.Errorf("string %s: %w", line, err)
			}
			u, _ := strconv.Unquote(q)
			data = append(data, u...)
			line = strings.TrimSpace(line[len(q):])
			continue
		}
		tok, rest, _ := strings.Cut(line, " ")
		line = strings.TrimSpace(rest)
		if b, count, ok := strings.Cut(tok, "*"); ok {
			v, err := hex.DecodeString(b)
			n, err2 := strconv.Atoi(count)
			if err != nil || err2 != nil || len(v) != 1 || n < 0 || n > MaxFrameLen {
				return 0, nil, fmt.Errorf("repeat %q: want xx*N", tok)
			}
			for range n {
				data = append(data, v[0])
			}
			continue
		}
		v, err := hex.DecodeString(tok)
		if err != nil {
			return 0, nil, fmt.Errorf("hex %q: %w", tok, err)
		}
		data = append(data, v...)
	}
	if len(data) > MaxFrameLen {
		return 0, nil, fmt.Errorf("frame of %d bytes, more than %d", len(data), MaxFrameLen)
	}
	return at, data, nil
}

// commentStart returns the index of a # that starts a comment (outside a
// quoted string), or -1.
func commentStart(line string) int {
	quoted := false
	for i := 0; i < len(line); i++ {
		switch c := line[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case c == '#' && !quoted:
			return i
		}
	}
	return -1
}

// WriteTo writes s in the text format, every frame with its absolute time,
// bytes in hex.
func (s Stream) WriteTo(w io.Writer) (int64, error) {
	bw := bufio.NewWriter(w)
	var n int64
	for _, f := range s {
		k, _ := fmt.Fprintf(bw, "@%v", f.At)
		n += int64(k)
		for _, b := range f.Data {
			k, _ = fmt.Fprintf(bw, " %02x", b)
			n += int64(k)
		}
		_ = bw.WriteByte('\n')
		n++
	}
	return n, bw.Flush()
}
