package hubtest_test

import (
	"bufio"
	"io"
	"net"
	"testing"
	"time"

	"github.com/admitgate/admit/venue/hubtest"
)

// echo serves a line echo on 127.0.0.1 until the test ends.
func echo(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String()
}

// roundTrip writes a line and reads it back within d.
func roundTrip(c net.Conn, d time.Duration) error {
	c.SetDeadline(time.Now().Add(d))
	defer c.SetDeadline(time.Time{})
	if _, err := c.Write([]byte("ping\n")); err != nil {
		return err
	}
	_, err := bufio.NewReader(c).ReadString('\n')
	return err
}

func dial(t *testing.T, p *hubtest.Proxy) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", p.Addr(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestProxy(t *testing.T) {
	p := hubtest.NewProxy(t, "nats://"+echo(t))
	c := dial(t, p)
	if err := roundTrip(c, 5*time.Second); err != nil {
		t.Fatalf("pass: %v", err)
	}

	p.Slow(100 * time.Millisecond)
	start := time.Now()
	if err := roundTrip(c, 10*time.Second); err != nil {
		t.Fatalf("slow: %v", err)
	}
	if took := time.Since(start); took < 200*time.Millisecond {
		t.Fatalf("a slowed round trip took %s, want at least 2 × 100ms", took)
	}

	p.Blackhole()
	if err := roundTrip(c, 300*time.Millisecond); err == nil {
		t.Fatal("a blackholed connection answered")
	} else if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
		t.Fatalf("a blackholed connection failed with %v, want silence (a timeout)", err)
	}
	fresh := dial(t, p)
	if err := roundTrip(fresh, 300*time.Millisecond); err == nil {
		t.Fatal("a new connection through the blackhole answered")
	}

	// Healing closes what the blackhole broke, and new connections pass.
	p.Heal()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("a connection broken by the blackhole stayed open after Heal")
	}
	c = dial(t, p)
	if err := roundTrip(c, 5*time.Second); err != nil {
		t.Fatalf("after heal: %v", err)
	}

	p.Cut()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("a cut connection stayed open")
	}
	refused := dial(t, p)
	refused.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := refused.Read(make([]byte, 1)); err == nil {
		t.Fatal("a new connection through a cut link stayed open")
	}
	p.Heal()
	if err := roundTrip(dial(t, p), 5*time.Second); err != nil {
		t.Fatalf("after the cut healed: %v", err)
	}
}
