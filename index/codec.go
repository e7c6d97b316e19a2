package index

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
	"unsafe"
)

// Records are stored in a compact, versioned binary encoding: a version
// byte, then fields in a fixed order as uvarints, length-prefixed strings and
// varint Unix nanoseconds (0 for a zero time). Decoders refuse a version they
// do not know and any truncated or overlong input, so a corrupt record is an
// error, never a panic or a silently wrong value.
const (
	ticketVersion     = 2 // 2 added the customer key of a rotating provider's ticket; 1 is still read
	redemptionVersion = 2 // 2 added entry times and the hub revision; 1 is still read
	entryVersion      = 2 // 2 added offline and override; 1 is still read
	eventVersion      = 2 // 2 added the time zone, start, end and entry rule; 1 is still read
	importVersion     = 2 // 2 added the withdrawal flags; 1 is still read
)

var errCorrupt = errors.New("index: corrupt record")

type encoder struct{ b []byte }

func (e *encoder) byte(v byte)      { e.b = append(e.b, v) }
func (e *encoder) uvarint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *encoder) varint(v int64)   { e.b = binary.AppendVarint(e.b, v) }
func (e *encoder) bool(v bool) {
	if v {
		e.b = append(e.b, 1)
	} else {
		e.b = append(e.b, 0)
	}
}
func (e *encoder) string(s string) {
	e.b = binary.AppendUvarint(e.b, uint64(len(s)))
	e.b = append(e.b, s...)
}
func (e *encoder) time(t time.Time) {
	if t.IsZero() {
		e.varint(0)
		return
	}
	n := t.UnixNano()
	if n == 0 { // the epoch itself: keep it distinct from the zero time
		n = 1
	}
	e.varint(n)
}
func (e *encoder) strings(ss []string) {
	e.uvarint(uint64(len(ss)))
	for _, s := range ss {
		e.string(s)
	}
}

type decoder struct {
	b   []byte
	err error
	// owned means b is a private, never modified copy: strings may point
	// into it instead of each being copied (one allocation per record
	// instead of one per field).
	owned bool
}

func (d *decoder) fail() {
	if d.err == nil {
		d.err = errCorrupt
	}
	d.b = nil
}

func (d *decoder) byte() byte {
	if len(d.b) < 1 {
		d.fail()
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) int() int {
	v := d.uvarint()
	if v > math.MaxInt32 {
		d.fail()
		return 0
	}
	return int(v)
}

func (d *decoder) bool() bool {
	switch d.byte() {
	case 0:
		return false
	case 1:
		return true
	}
	d.fail()
	return false
}

func (d *decoder) string() string {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail()
		return ""
	}
	var s string
	if d.owned && n > 0 {
		s = unsafe.String(unsafe.SliceData(d.b), int(n))
	} else {
		s = string(d.b[:n])
	}
	d.b = d.b[n:]
	return s
}

func (d *decoder) time() time.Time {
	n := d.varint()
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func (d *decoder) strings() []string {
	n := d.uvarint()
	if n > uint64(len(d.b)) { // every string takes at least one byte
		d.fail()
		return nil
	}
	if n == 0 {
		return nil
	}
	ss := make([]string, n)
	for i := range ss {
		ss[i] = d.string()
	}
	return ss
}

// versionUpTo reads a version byte from 1 to newest and returns it (0 once
// failed).
func (d *decoder) versionUpTo(what string, newest byte) byte {
	v := d.byte()
	if d.err == nil && (v < 1 || v > newest) {
		d.err = fmt.Errorf("index: %s record version %d, want 1 to %d: %w", what, v, newest, errCorrupt)
		return 0
	}
	return v
}

func (d *decoder) version(want byte) {
	if v := d.byte(); v != want && d.err == nil {
		d.err = fmt.Errorf("index: record version %d, want %d: %w", v, want, errCorrupt)
	}
}

// finish reports the first error, or trailing bytes as corruption.
func (d *decoder) finish() error {
	if d.err != nil {
		return d.err
	}
	if len(d.b) != 0 {
		return fmt.Errorf("index: %d trailing bytes: %w", len(d.b), errCorrupt)
	}
	return nil
}
