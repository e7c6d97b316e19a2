package serialscan_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.bug.st/serial"

	"github.com/admitgate/admit/decode"
	"github.com/admitgate/admit/decode/serialscan"
	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/internal/testkit"
	"github.com/admitgate/admit/internal/usbemu"
)

func testLogger() zerolog.Logger { return testkit.Logger(nil) }

type fixture struct {
	t    *testing.T
	ctx  context.Context
	done chan error
}

func start(t *testing.T, cfg serialscan.Config, dcfg decode.Config, open serialscan.Opener) (*fixture, *serialscan.Source, chan gate.Read) {
	t.Helper()
	dec, err := decode.NewSerial(dcfg, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Backoff.Min, cfg.Backoff.Max = 10*time.Millisecond, 50*time.Millisecond
	src, err := serialscan.New(cfg, dec, open, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	f := &fixture{t: t, ctx: ctx, done: make(chan error, 1)}
	reads := make(chan gate.Read, 16)
	go func() { f.done <- src.Run(ctx, reads) }()
	t.Cleanup(func() {
		cancel()
		if err := <-f.done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run = %v, want context.Canceled", err)
		}
	})
	return f, src, reads
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	testkit.WaitFor(t, 10*time.Second, what, ok)
}

func next(t *testing.T, reads <-chan gate.Read) gate.Read {
	t.Helper()
	return testkit.Recv(t, reads, 10*time.Second, "read")
}

func TestLinesOverAPseudoTerminal(t *testing.T) {
	dev, err := usbemu.NewSerialDevice(t.TempDir(), "usb-Honeywell_Xenon-if00")
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	_, src, reads := start(t, serialscan.Config{Device: dev.Path}, decode.Config{Source: "serial:door", DedupWindow: -1}, nil)
	waitFor(t, "the port to open", src.Connected)
	tests := []struct {
		send string
		want []string
	}{
		{"4006381333931\r\n", []string{"4006381333931"}},
		{"A1\rB2\n", []string{"A1", "B2"}},
		{"SPLIT", nil},
		{"-LINE\r", []string{"SPLIT-LINE"}},
	}
	for _, tt := range tests {
		if err := dev.Send([]byte(tt.send)); err != nil {
			t.Fatal(err)
		}
		for _, w := range tt.want {
			if r := next(t, reads); r.Text != w || r.Malformed != "" || r.Source != "serial:door" {
				t.Errorf("sent %q: read %+v, want %q", tt.send, r, w)
			}
		}
	}
}

func TestSTXETXFraming(t *testing.T) {
	dev, err := usbemu.NewSerialDevice(t.TempDir(), "ttyACM0")
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	_, src, reads := start(t, serialscan.Config{Device: dev.Path, Baud: 115200}, decode.Config{Framing: decode.FramingSTXETX, DedupWindow: -1}, nil)
	waitFor(t, "open", src.Connected)
	dev.Send([]byte("\x02TICKET-1\x03\r\n\x02TICKET-2\x03"))
	for _, w := range []string{"TICKET-1", "TICKET-2"} {
		if r := next(t, reads); r.Text != w {
			t.Errorf("read %+v, want %s", r, w)
		}
	}
}

func TestIncompleteLineTimesOut(t *testing.T) {
	dev, _ := usbemu.NewSerialDevice(t.TempDir(), "ttyACM0")
	defer dev.Close()
	_, src, reads := start(t, serialscan.Config{Device: dev.Path, ReadTimeout: time.Hour}, decode.Config{Timeout: 50 * time.Millisecond, DedupWindow: -1}, nil)
	waitFor(t, "open", src.Connected)
	dev.Send([]byte("12345"))
	// The read timeout is an hour: the decoder's 50ms deadline must cut it.
	r := next(t, reads)
	if r.Text != "12345" || r.Malformed == "" {
		t.Errorf("read %+v, want 12345 malformed as incomplete", r)
	}
}

func TestUnplugAndReplug(t *testing.T) {
	dev, _ := usbemu.NewSerialDevice(t.TempDir(), "usb-scanner-if00")
	defer dev.Close()
	_, src, reads := start(t, serialscan.Config{Device: dev.Path}, decode.Config{DedupWindow: -1}, nil)
	waitFor(t, "open", src.Connected)
	dev.Send([]byte("HALF"))
	time.Sleep(50 * time.Millisecond)
	dev.Unplug()
	waitFor(t, "the lane to see the scanner gone", func() bool { return !src.Connected() })
	if r := next(t, reads); r.Text != "HALF" || r.Malformed == "" {
		t.Errorf("flushed read %+v", r)
	}
	waitFor(t, "a failed reopen", func() bool { return strings.Contains(src.Status().LastError, "open") })
	dev.Plug()
	waitFor(t, "the scanner back", src.Connected)
	dev.Send([]byte("BACK\r"))
	if r := next(t, reads); r.Text != "BACK" {
		t.Errorf("after replug %+v", r)
	}
	if st := src.Status(); st.Reconnect != 1 {
		t.Errorf("status %+v", st)
	}
}

func TestMissingAtStart(t *testing.T) {
	dir := t.TempDir()
	_, src, reads := start(t, serialscan.Config{Device: dir + "/ttyACM0"}, decode.Config{DedupWindow: -1}, nil)
	waitFor(t, "attempts", func() bool { return src.Status().Failures > 1 })
	if st := src.Status(); st.Connected || !strings.Contains(st.LastError, "no such file") {
		t.Errorf("status %+v", st)
	}
	dev, _ := usbemu.NewSerialDevice(dir, "ttyACM0")
	defer dev.Close()
	waitFor(t, "open", src.Connected)
	dev.Send([]byte("LATE\n"))
	if r := next(t, reads); r.Text != "LATE" {
		t.Errorf("read %+v", r)
	}
}

// fakePort answers reads from a script and records read timeouts.
type fakePort struct {
	mu       sync.Mutex
	chunks   []string
	timeouts []time.Duration
	closed   chan struct{}
	once     sync.Once
}

func (p *fakePort) SetReadTimeout(d time.Duration) error {
	p.mu.Lock()
	p.timeouts = append(p.timeouts, d)
	p.mu.Unlock()
	return nil
}

func (p *fakePort) Read(b []byte) (int, error) {
	p.mu.Lock()
	if len(p.chunks) > 0 {
		c := p.chunks[0]
		p.chunks = p.chunks[1:]
		p.mu.Unlock()
		return copy(b, c), nil
	}
	p.mu.Unlock()
	<-p.closed
	return 0, errors.New("port closed")
}

func (p *fakePort) Close() error {
	p.once.Do(func() { close(p.closed) })
	return nil
}

func TestPortModeAndReadTimeout(t *testing.T) {
	port := &fakePort{chunks: []string{"AB"}, closed: make(chan struct{})}
	var gotMode *serial.Mode
	open := func(path string, mode *serial.Mode) (serialscan.Port, error) {
		gotMode = mode
		return port, nil
	}
	_, src, reads := start(t, serialscan.Config{Device: "/dev/fake", Baud: 19200, Parity: "even", ReadTimeout: time.Second}, decode.Config{Timeout: time.Hour, DedupWindow: -1}, open)
	waitFor(t, "open", src.Connected)
	waitFor(t, "two reads", func() bool { port.mu.Lock(); defer port.mu.Unlock(); return len(port.timeouts) >= 2 })
	port.mu.Lock()
	first, second := port.timeouts[0], port.timeouts[1]
	port.mu.Unlock()
	if first != time.Second || second != time.Second {
		t.Errorf("timeouts %v %v: with the decoder's deadline an hour away both are the read timeout", first, second)
	}
	if gotMode.BaudRate != 19200 || gotMode.Parity != serial.EvenParity || gotMode.DataBits != 8 {
		t.Errorf("mode %+v", gotMode)
	}
	select {
	case r := <-reads:
		t.Errorf("read %+v before any terminator", r)
	default:
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []serialscan.Config{{}, {Device: "/dev/x", Baud: -1}, {Device: "/dev/x", Parity: "mark"}, {Device: "/dev/x", ReadTimeout: -1}} {
		if err := c.Validate(); gate.ErrorCode(err) != gate.EINVALID {
			t.Errorf("%+v: %v", c, err)
		}
	}
}
