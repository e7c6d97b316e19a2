package serialrelay_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/internal/testkit"
	"github.com/admitgate/admit/internal/usbdev/reconnect"
	"github.com/admitgate/admit/internal/usbemu"
	"github.com/admitgate/admit/turnstile"
	"github.com/admitgate/admit/turnstile/serialrelay"
)

var _ turnstile.RelayBoard = (*serialrelay.Board)(nil)

func testLogger() zerolog.Logger { return testkit.Logger(nil) }

func TestFrames(t *testing.T) {
	tests := []struct {
		n    int
		on   bool
		want []byte
	}{
		{1, true, []byte{0xA0, 0x01, 0x01, 0xA2}},
		{1, false, []byte{0xA0, 0x01, 0x00, 0xA1}},
		{2, true, []byte{0xA0, 0x02, 0x01, 0xA3}},
		{8, false, []byte{0xA0, 0x08, 0x00, 0xA8}},
	}
	for _, tt := range tests {
		f := serialrelay.NewFrame(tt.n, tt.on)
		if !bytes.Equal(f[:], tt.want) {
			t.Errorf("NewFrame(%d, %v) = % X, want % X", tt.n, tt.on, f, tt.want)
		}
		n, on, err := serialrelay.ParseFrame(f[:])
		if err != nil || n != tt.n || on != tt.on {
			t.Errorf("ParseFrame(% X) = %d %v %v", f, n, on, err)
		}
	}
	for _, bad := range [][]byte{nil, {0xA0, 1, 1}, {0xA1, 1, 1, 0xA3}, {0xA0, 1, 1, 0xA3}, {0xA0, 0, 1, 0xA1}, {0xA0, 9, 1, 0xAA}, {0xA0, 1, 2, 0xA3}} {
		if _, _, err := serialrelay.ParseFrame(bad); gate.ErrorCode(err) != gate.EINVALID {
			t.Errorf("ParseFrame(% X) = %v, want invalid", bad, err)
		}
	}
}

func FuzzParseFrame(f *testing.F) {
	for _, s := range [][]byte{{0xA0, 1, 1, 0xA2}, {0xA0, 2, 0, 0xA2}, {0xA0, 8, 1, 0xA9}, {}, {0xFF}} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		n, on, err := serialrelay.ParseFrame(b)
		if err != nil {
			return
		}
		if back := serialrelay.NewFrame(n, on); !bytes.Equal(back[:], b) {
			t.Fatalf("% X parsed to %d %v, which frames as % X", b, n, on, back)
		}
	})
}

// board runs a driver on an emulated LCUS board and reads back its frames.
type board struct {
	t   *testing.T
	dev *usbemu.SerialDevice
	drv *serialrelay.Board
}

func start(t *testing.T, channels int) *board {
	t.Helper()
	dev, err := usbemu.NewSerialDevice(t.TempDir(), "usb-1a86_USB_Serial-if00-port0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dev.Close() })
	drv, err := serialrelay.New(serialrelay.Config{Device: dev.Path, Channels: channels, Backoff: reconnectFast}, nil, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- drv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run = %v", err)
		}
	})
	return &board{t: t, dev: dev, drv: drv}
}

// frames reads n commands the board received.
func (b *board) frames(n int) []string {
	b.t.Helper()
	raw, err := b.dev.Receive(4*n, 5*time.Second)
	if err != nil {
		b.t.Fatal(err)
	}
	var out []string
	for i := 0; i < n; i++ {
		ch, on, err := serialrelay.ParseFrame(raw[4*i : 4*i+4])
		if err != nil {
			b.t.Fatal(err)
		}
		s := "off"
		if on {
			s = "on"
		}
		out = append(out, string(rune('0'+ch))+s)
	}
	return out
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	testkit.WaitFor(t, 10*time.Second, what, ok)
}

func eq(a []string, b ...string) bool { return slices.Equal(a, b) }

func TestSwitchOverAPseudoTerminal(t *testing.T) {
	b := start(t, 2)
	waitFor(t, "the port to open", b.drv.Connected)
	if got := b.frames(2); !eq(got, "1off", "2off") {
		t.Errorf("on connect the board got %v, want every relay opened", got)
	}
	if err := b.drv.Channel(2).Set(true); err != nil {
		t.Fatal(err)
	}
	if err := b.drv.Channel(1).Set(true); err != nil {
		t.Fatal(err)
	}
	if err := b.drv.Channel(2).Set(false); err != nil {
		t.Fatal(err)
	}
	if got := b.frames(3); !eq(got, "2on", "1on", "2off") {
		t.Errorf("board got %v", got)
	}
	if b.drv.State() != 0b01 {
		t.Errorf("state %02b", b.drv.State())
	}
	if err := b.drv.Set(3, true); gate.ErrorCode(err) != gate.EINVALID {
		t.Errorf("relay 3 of 2: %v", err)
	}
	if s := b.drv.Channel(1).String(); s != "lcus "+b.dev.Path+"/1" {
		t.Errorf("name %q", s)
	}
}

func TestSharedBoardNeverInterleavesFrames(t *testing.T) {
	b := start(t, 4)
	waitFor(t, "open", b.drv.Connected)
	b.frames(4)
	var wg sync.WaitGroup
	for ch := 1; ch <= 4; ch++ {
		out := b.drv.Channel(ch)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 26; i++ {
				if err := out.Set(i%2 == 0); err != nil {
					t.Errorf("%s: %v", out, err)
				}
			}
		}()
	}
	wg.Wait()
	b.frames(104) // every frame parses: none was cut by another
	if b.drv.State() != 0 {
		t.Errorf("state %04b after an even number of switches each", b.drv.State())
	}
}

func TestUnplugAndReplug(t *testing.T) {
	b := start(t, 1)
	waitFor(t, "open", b.drv.Connected)
	b.frames(1)
	b.drv.Set(1, true)
	b.frames(1)
	b.dev.Unplug()
	waitFor(t, "the hang-up to show", func() bool { return !b.drv.Connected() })
	if err := b.drv.Set(1, false); !errors.Is(err, serialrelay.ErrNotConnected) {
		t.Errorf("Set on an unplugged board: %v", err)
	}
	b.dev.Plug()
	waitFor(t, "the board back", b.drv.Connected)
	if got := b.frames(1); !eq(got, "1off") {
		t.Errorf("on reconnect %v, want the relay opened", got)
	}
	if err := b.drv.Set(1, true); err != nil {
		t.Fatal(err)
	}
	if got := b.frames(1); !eq(got, "1on") {
		t.Errorf("after replug %v", got)
	}
}

func TestShutdownOpensEveryRelay(t *testing.T) {
	dev, _ := usbemu.NewSerialDevice(t.TempDir(), "ttyUSB0")
	defer dev.Close()
	drv, _ := serialrelay.New(serialrelay.Config{Device: dev.Path, Channels: 2}, nil, testLogger())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- drv.Run(ctx) }()
	waitFor(t, "open", drv.Connected)
	drv.Set(1, true)
	drv.Set(2, true)
	cancel()
	<-done
	b := &board{t: t, dev: dev}
	if got := b.frames(6); !eq(got[4:], "1off", "2off") {
		t.Errorf("frames %v, want the last two opening both relays", got)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []serialrelay.Config{{}, {Device: "/dev/x", Channels: 9}, {Device: "/dev/x", Baud: -1}} {
		if err := c.Validate(); gate.ErrorCode(err) != gate.EINVALID {
			t.Errorf("%+v: %v", c, err)
		}
	}
}

var reconnectFast = reconnect.Backoff{Min: 10 * time.Millisecond, Max: 50 * time.Millisecond}
