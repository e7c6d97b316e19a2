package decode

import (
	"bytes"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/rs/zerolog"

	"github.com/admitgate/admit/gate"
)

// endKind is what ended a read.
type endKind uint8

const (
	endTerminator endKind = iota // Enter, Tab, CR or LF
	endSuffix                    // the configured suffix, with no terminators
	endTimeout                   // nothing arrived for the inter-character timeout
	endFrame                     // ETX, or the last HID POS report of a read
	endFlush                     // the caller flushed: the scanner went away
)

// queueLen bounds the completed reads waiting for Feed or Expire to hand
// them out. One report completes at most three; callers that follow
// Deadline empty the queue at once.
const queueLen = 8

// assembler collects one read's bytes, whatever framing they came in, and
// turns them into a gate.Read: terminator, suffix, prefix and AIM identifier
// removed, symbology restricted, check digit validated, repeats dropped.
// Every decoder embeds one. The buffer is allocated once, at its cap; a read
// costs one allocation, its text.
type assembler struct {
	s   *settings
	log zerolog.Logger

	buf     []byte // the read so far, at most s.maxLen bytes
	chars   int    // characters received, for positions in details
	dropped int    // bytes dropped past s.maxLen
	problem string // the first thing wrong with the read
	active  bool   // a read has begun
	last    time.Time
	due     time.Time // last + timeout, when the timeout is on

	aim  AIM       // HID POS: the identifier from the report header
	hint Symbology // HID POS: from the vendor code ID when there is no AIM

	trimTerminators bool      // drop trailing CR/LF (HID POS data may carry the suffix)
	afterCR         bool      // the last read ended at a CR: an LF right behind it is the rest of a CR LF
	crAt            time.Time // when that CR came
	endName         string    // what should have ended a read, for "incomplete" details

	recent recentReads
	queue  [queueLen]gate.Read
	qHead  int
	qLen   int
}

func (a *assembler) init(s *settings, log zerolog.Logger, endName string) {
	a.s = s
	a.log = log
	a.buf = make([]byte, 0, s.maxLen)
	a.recent.window = s.dedupWindow
	a.endName = endName
}

// touch notes input for the current read at at.
func (a *assembler) touch(at time.Time) {
	a.afterCR = false
	a.active = true
	a.last = at
	if a.s.timeout > 0 {
		a.due = at.Add(a.s.timeout)
	}
}

// addByte appends one byte of data.
func (a *assembler) addByte(c byte, at time.Time) {
	a.touch(at)
	a.chars++
	if len(a.buf) >= a.s.maxLen {
		a.dropped++
		return
	}
	a.buf = append(a.buf, c)
}

// addBytes appends data received at at.
func (a *assembler) addBytes(p []byte, at time.Time) {
	a.touch(at)
	a.chars += len(p)
	room := a.s.maxLen - len(a.buf)
	if len(p) > room {
		a.dropped += len(p) - room
		p = p[:room]
	}
	a.buf = append(a.buf, p...)
}

// addRune appends one typed character.
func (a *assembler) addRune(r rune, at time.Time) {
	if r < utf8.RuneSelf {
		a.addByte(byte(r), at)
		return
	}
	a.touch(at)
	a.chars++
	if len(a.buf)+utf8.RuneLen(r) > a.s.maxLen {
		a.dropped += utf8.RuneLen(r)
		return
	}
	a.buf = utf8.AppendRune(a.buf, r)
}

// fail records a problem with the current read; the first one is kept.
func (a *assembler) fail(at time.Time, format string, args ...any) {
	a.touch(at)
	if a.problem == "" {
		a.problem = fmt.Sprintf(format, args...)
	}
}

// endedAt notes the terminator c that ended a read at at: after a CR, an LF
// that follows at once is the second half of a CR LF suffix.
func (a *assembler) endedAt(c byte, at time.Time) {
	a.afterCR, a.crAt = c == '\r', at
}

// lfOfCRLF reports whether c, arriving at at, is the LF of a CR LF whose CR
// ended the last read (within the inter-character timeout, when there is
// one): it belongs to that read's end, whatever the terminators, and starts
// no read of its own. Any input ends that window.
func (a *assembler) lfOfCRLF(c byte, at time.Time) bool {
	if !a.afterCR {
		return false
	}
	a.afterCR = false
	return c == '\n' && (a.s.timeout <= 0 || at.Sub(a.crAt) < a.s.timeout)
}

// expire is every decoder's Expire: a completed read still waiting first,
// else the read pending past its timeout at now, ended by end (the
// decoder's own, which finishes what it holds besides the bytes).
func (a *assembler) expire(now time.Time, end func(endKind, time.Time)) (gate.Read, bool) {
	if r, ok := a.pop(); ok {
		return r, true
	}
	if a.expired(now) {
		end(endTimeout, a.last)
	}
	return a.pop()
}

// flush is every decoder's Flush: a completed read still waiting first,
// else the pending read, ended at once by end.
func (a *assembler) flush(at time.Time, end func(endKind, time.Time)) (gate.Read, bool) {
	if r, ok := a.pop(); ok {
		return r, true
	}
	end(endFlush, at)
	return a.pop()
}

// breakOff ends the current read as malformed for problem (unless it has a
// problem already), timed at its last input: the next input belongs to
// another read.
func (a *assembler) breakOff(problem string) {
	if a.problem == "" {
		a.problem = problem
	}
	a.finish(endFrame, a.last)
}

// endsWithSuffix reports whether the read now ends with the suffix that
// ends reads.
func (a *assembler) endsWithSuffix() bool {
	return a.s.suffixEnds && bytes.HasSuffix(a.buf, a.s.suffix)
}

// expired reports whether the current read has waited its timeout at now.
func (a *assembler) expired(now time.Time) bool {
	return a.active && a.s.timeout > 0 && !now.Before(a.due)
}

// deadline is when Expire has something to do: at once while completed
// reads wait, the current read's timeout, or zero.
func (a *assembler) deadline() time.Time {
	if a.qLen > 0 {
		if at := a.queue[a.qHead].At; !at.IsZero() {
			return at
		}
		return time.Unix(0, 0)
	}
	if a.active && a.s.timeout > 0 {
		return a.due
	}
	return time.Time{}
}

func (a *assembler) reset() {
	a.buf = a.buf[:0]
	a.chars = 0
	a.dropped = 0
	a.problem = ""
	a.active = false
	a.aim = AIM{}
	a.hint = ""
}

// finish ends the current read, at at, for the reason kind, and queues the
// result unless it is empty or a repeat.
func (a *assembler) finish(kind endKind, at time.Time) {
	if !a.active {
		return
	}
	defer a.reset()
	s := a.s
	data := a.buf
	problem := a.problem
	if a.dropped > 0 && problem == "" {
		problem = fmt.Sprintf("read is longer than %d bytes; %d more bytes dropped", s.maxLen, a.dropped)
	}
	if (kind == endTimeout || kind == endFlush) && !s.timeoutEnds && problem == "" && len(data) > 0 {
		if kind == endTimeout {
			problem = fmt.Sprintf("incomplete read: no %s within %v", a.endName, s.timeout)
		} else {
			problem = fmt.Sprintf("incomplete read: the scanner stopped before the %s", a.endName)
		}
	}
	if a.trimTerminators {
		for len(data) > 0 && (data[len(data)-1] == '\r' || data[len(data)-1] == '\n') {
			data = data[:len(data)-1]
		}
	}
	raw := len(data)
	if raw == 0 && problem == "" {
		return // a lone terminator, or the LF of a CRLF: nothing was read
	}
	if len(s.suffix) > 0 {
		if bytes.HasSuffix(data, s.suffix) {
			data = data[:len(data)-len(s.suffix)]
		} else if problem == "" {
			problem = fmt.Sprintf("missing suffix %q", s.suffix)
		}
	}
	if len(s.prefix) > 0 {
		if bytes.HasPrefix(data, s.prefix) {
			data = data[len(s.prefix):]
		} else if problem == "" {
			problem = fmt.Sprintf("missing prefix %q", s.prefix)
		}
	}
	id := a.aim
	if s.aim {
		var n int
		if id, n = splitAIM(data); n > 0 {
			data = data[n:]
		} else if problem == "" {
			problem = "no AIM symbology identifier (\"]\" code modifier) at the start; is AIM ID enabled on the scanner?"
		}
	}
	sym := a.hint
	if !id.IsZero() {
		sym = aimSymbology(id, data)
		if id.usesECI() {
			if d, ok := unescapeECI(data); ok {
				data = d
			} else if problem == "" {
				problem = fmt.Sprintf("%s data holds a backslash that is neither doubled nor an ECI designator", id)
			}
		}
	}
	if len(data) == 0 && problem == "" {
		problem = "empty barcode"
	}
	if problem == "" && !s.allow.IsEmpty() && !s.allow.Has(sym) {
		switch {
		case sym != "":
			problem = fmt.Sprintf("symbology %s is not accepted by this scanner (accepted: %s)", sym, s.allow)
		case !id.IsZero():
			problem = fmt.Sprintf("symbology %s is not accepted by this scanner (accepted: %s)", id, s.allow)
		default:
			problem = fmt.Sprintf("symbology unknown (no AIM identifier); this scanner accepts only %s", s.allow)
		}
	}
	if problem == "" {
		problem = a.checkDigits(id, sym, data)
	}
	if isRepeat(&a.recent, data, string(sym), problem, at) {
		a.log.Debug().Str("symbology", string(sym)).Msg("repeat read dropped")
		return
	}
	r := gate.Read{Text: string(data), Symbology: string(sym), Source: s.source, At: at, Malformed: problem}
	a.recent.remember(&r)
	if problem != "" {
		a.log.Debug().Str("malformed", problem).Msg("malformed read")
	}
	a.push(r)
}

// checkDigits validates data's check digit as the config and the AIM
// modifier ask, and returns the problem or "".
func (a *assembler) checkDigits(id AIM, sym Symbology, data []byte) string {
	check := a.s.check
	if check.IsEmpty() {
		return ""
	}
	switch sym {
	case EAN13:
		if !check.Has(EAN13) {
			return ""
		}
		if id.Code == 'E' && id.Modifier == '3' && (len(data) == 15 || len(data) == 18) {
			return checkProblem(EAN13, data[:13]) // the add-on carries no check digit
		}
		return checkProblem(EAN13, data)
	case EAN8, UPCA, UPCE, ITF14:
		if !check.Has(sym) {
			return ""
		}
		return checkProblem(sym, data)
	case ITF:
		switch {
		case id.Code == 'I' && id.Modifier == '1':
			return checkProblem(ITF, data) // the scanner says the last digit is a check digit
		case id.Code == 'I' && id.Modifier == '3':
			return "" // checked and stripped by the scanner
		case check.Has(ITF):
			return checkProblem(ITF, data)
		}
	case Code39:
		m := id.Modifier
		switch {
		case id.Code == 'A' && m == '1':
			return checkProblem(Code39, data)
		case id.Code == 'A' && (m == '3' || m == '5' || m == '7'):
			return "" // checked by the scanner (and stripped, or inside Full ASCII data)
		case !check.Has(Code39):
			return ""
		case id.Code == 'A' && m == '4':
			return "code39 mod 43 check cannot be verified on Full ASCII data (]A4); let the scanner check it (]A5 or ]A7)"
		default:
			return checkProblem(Code39, data)
		}
	}
	return ""
}

func (a *assembler) push(r gate.Read) {
	if a.qLen == len(a.queue) {
		dropped := a.queue[a.qHead]
		a.log.Error().Str("barcode", gate.BarcodeLast4.Redact(dropped.Text)).Msg("decoder queue full: Expire is not being called at Deadline; oldest read dropped")
		a.queue[a.qHead] = gate.Read{}
		a.qHead = (a.qHead + 1) % len(a.queue)
		a.qLen--
	}
	a.queue[(a.qHead+a.qLen)%len(a.queue)] = r
	a.qLen++
}

// pop hands out the oldest completed read. The empty case, that of nearly
// every report, is small enough to inline.
func (a *assembler) pop() (gate.Read, bool) {
	if a.qLen == 0 {
		return gate.Read{}, false
	}
	return a.popQueued()
}

func (a *assembler) popQueued() (gate.Read, bool) {
	r := a.queue[a.qHead]
	a.queue[a.qHead] = gate.Read{}
	a.qHead = (a.qHead + 1) % len(a.queue)
	a.qLen--
	return r, true
}
