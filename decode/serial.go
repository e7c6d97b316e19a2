package decode

import (
	"time"

	"github.com/rs/zerolog"

	"github.com/admitgate/admit/gate"
)

// Framing bytes of FramingSTXETX.
const (
	STX = 0x02
	ETX = 0x03
)

// StreamDecoder turns the byte stream of a serial scanner into reads. The
// serial source feeds it what each read returns and drives the rest through
// a [Pump]. Implementations are not safe for concurrent use.
type StreamDecoder interface {
	// Feed takes bytes as read from the port and appends the reads they
	// complete to out. It does not allocate when out has room, except one
	// string per completed read.
	Feed(p []byte, at time.Time, out []gate.Read) []gate.Read
	Timed
}

// Serial frames the bytes of a CDC-ACM or RS-232 scanner into reads: lines
// ended by CR, LF or CRLF (the configured terminators), or STX data ETX
// frames. With STX/ETX framing, CR, LF and NUL between frames are ignored
// and any other byte outside a frame is reported as a malformed read. Bytes
// are kept as sent: UTF-8 scanners give UTF-8 barcodes. Not safe for
// concurrent use.
type Serial struct {
	a       assembler
	inFrame bool // STX seen, ETX not yet
}

var _ StreamDecoder = (*Serial)(nil)

// NewSerial returns a framer for the serial scanner cfg describes. Layout
// does not apply. EINVALID for a config it cannot honour.
func NewSerial(cfg Config, log zerolog.Logger) (*Serial, error) {
	s, err := cfg.resolve(kindSerial)
	if err != nil {
		return nil, err
	}
	d := &Serial{}
	log = log.With().Str("component", "decode").Str("decoder", "serial").Str("source", s.source).Logger()
	name := endName(s, true)
	if s.framing == FramingSTXETX {
		name = "ETX"
	}
	d.a.init(s, log, name)
	return d, nil
}

// Feed takes bytes read from the port at at and appends the reads they
// complete to out.
func (d *Serial) Feed(p []byte, at time.Time, out []gate.Read) []gate.Read {
	a := &d.a
	out = d.drain(out) // reads a Flush or Expire left behind come first
	if a.expired(at) {
		d.end(endTimeout, a.last)
		out = d.drain(out)
	}
	if a.s.framing == FramingSTXETX {
		return d.frames(p, at, out)
	}
	return d.lines(p, at, out)
}

// drain moves completed reads to out as they complete, so a chunk holding
// any number of reads loses none.
func (d *Serial) drain(out []gate.Read) []gate.Read {
	for {
		r, ok := d.a.pop()
		if !ok {
			return out
		}
		out = append(out, r)
	}
}

func (d *Serial) lines(p []byte, at time.Time, out []gate.Read) []gate.Read {
	a := &d.a
	terms := a.s.terms
	for _, c := range p {
		if a.lfOfCRLF(c, at) {
			continue
		}
		if terms.has(c) {
			a.finish(endTerminator, at)
			a.endedAt(c, at)
			out = d.drain(out)
			continue
		}
		a.addByte(c, at)
		if a.s.suffixEnds && a.endsWithSuffix() {
			a.finish(endSuffix, at)
			out = d.drain(out)
		}
	}
	return out
}

func (d *Serial) frames(p []byte, at time.Time, out []gate.Read) []gate.Read {
	a := &d.a
	for _, c := range p {
		switch {
		case c == STX:
			if a.active {
				if d.inFrame {
					a.fail(at, "frame not ended: a new STX came before ETX")
				}
				a.finish(endFrame, at)
				out = d.drain(out)
			}
			d.inFrame = true
			a.touch(at)
		case c == ETX && d.inFrame:
			d.inFrame = false
			a.finish(endFrame, at)
			out = d.drain(out)
		case d.inFrame:
			a.addByte(c, at)
		case c == '\r' || c == '\n' || c == 0:
			// line ends and padding between frames
		default:
			// A stray ETX, or data outside any frame: a scanner not set to
			// STX/ETX. Keep it as a malformed read, so nothing goes unseen.
			a.fail(at, "bytes outside an STX/ETX frame")
			if c != ETX {
				a.addByte(c, at)
			}
		}
	}
	return out
}

// Expire completes the read pending past its timeout at now (malformed
// when a terminator or ETX was due), or hands out a completed read still
// waiting.
func (d *Serial) Expire(now time.Time) (gate.Read, bool) { return d.a.expire(now, d.end) }

// Deadline is when Expire should be called next; zero when nothing is
// pending.
func (d *Serial) Deadline() time.Time { return d.a.deadline() }

// Flush ends a pending read at once, as when the port goes away. Call it
// until it returns false.
func (d *Serial) Flush(at time.Time) (gate.Read, bool) { return d.a.flush(at, d.end) }

func (d *Serial) end(kind endKind, at time.Time) {
	d.inFrame = false
	d.a.finish(kind, at)
}
