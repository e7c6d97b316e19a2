package hubtest

import (
	"net"
	"sync"
	"testing"
	"time"
)

// Proxy modes.
const (
	modePass = iota
	modeCut
	modeSlow
	modeBlackhole
)

// Proxy is a TCP fault proxy between a client and one target address: it
// passes bytes through, cuts the link (closes every connection and refuses
// new ones), slows it (each chunk waits before it is forwarded) or
// blackholes it (accepts and reads, never forwards or answers), and heals
// it again. Safe for concurrent use; closed at cleanup.
type Proxy struct {
	t      testing.TB
	ln     net.Listener
	target string

	mu     sync.Mutex
	mode   int
	delay  time.Duration
	conns  map[*pipe]struct{}
	closed bool
	wg     sync.WaitGroup
}

// pipe is one proxied connection.
type pipe struct {
	client, server net.Conn
	once           sync.Once
	// poisoned: bytes were swallowed by a blackhole, so the streams are
	// broken and the connection is closed when the proxy heals.
	poisoned bool
}

func (p *pipe) close() {
	p.once.Do(func() {
		p.client.Close()
		p.server.Close()
	})
}

// NewProxy listens on 127.0.0.1 and forwards to target (host:port, or a
// nats:// URL).
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	if u, ok := trimScheme(target); ok {
		target = u
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{t: t, ln: ln, target: target, conns: map[*pipe]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.Close)
	return p
}

func trimScheme(u string) (string, bool) {
	for _, s := range []string{"nats://", "tls://"} {
		if len(u) > len(s) && u[:len(s)] == s {
			return u[len(s):], true
		}
	}
	return u, false
}

// Addr is the proxy's address; URL its nats:// URL.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// URL is the proxy as a nats:// URL.
func (p *Proxy) URL() string { return "nats://" + p.Addr() }

// Pass forwards bytes as they come (the initial mode).
func (p *Proxy) Pass() { p.set(modePass, 0) }

// Heal is Pass: the link is whole again. Connections a blackhole broke are
// closed, so their clients reconnect through the healed link.
func (p *Proxy) Heal() { p.set(modePass, 0) }

// Cut closes every connection and refuses new ones (each is closed as soon
// as it is accepted) until Heal.
func (p *Proxy) Cut() { p.set(modeCut, 0) }

// Slow delays every chunk by d in each direction until Heal.
func (p *Proxy) Slow(d time.Duration) { p.set(modeSlow, d) }

// Blackhole accepts connections and reads what comes, and never forwards
// nor answers: a link that went silent (a dead switch, a pulled cable on the
// far side).
func (p *Proxy) Blackhole() { p.set(modeBlackhole, 0) }

func (p *Proxy) set(mode int, d time.Duration) {
	p.mu.Lock()
	p.mode, p.delay = mode, d
	var drop []*pipe
	for c := range p.conns {
		if mode == modeCut || (mode == modePass && c.poisoned) {
			drop = append(drop, c)
			delete(p.conns, c)
		}
	}
	p.mu.Unlock()
	for _, c := range drop {
		c.close()
	}
}

// Close stops the proxy and closes every connection.
func (p *Proxy) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	conns := p.conns
	p.conns = map[*pipe]struct{}{}
	p.mu.Unlock()
	p.ln.Close()
	for c := range conns {
		c.close()
	}
	p.wg.Wait()
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		mode, closed := p.mode, p.closed
		p.mu.Unlock()
		if closed || mode == modeCut {
			client.Close()
			continue
		}
		var server net.Conn
		if mode != modeBlackhole {
			server, err = net.DialTimeout("tcp", p.target, 5*time.Second)
			if err != nil {
				client.Close()
				continue
			}
		} else {
			// A blackholed connection never reaches the target; a pipe
			// to nowhere keeps the bookkeeping uniform.
			a, b := net.Pipe()
			b.Close()
			server = a
		}
		c := &pipe{client: client, server: server, poisoned: mode == modeBlackhole}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			c.close()
			return
		}
		p.conns[c] = struct{}{}
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pump(c, client, server)
		go p.pump(c, server, client)
	}
}

// pump copies src to dst chunk by chunk, as the mode says at each chunk.
func (p *Proxy) pump(c *pipe, src, dst net.Conn) {
	defer p.wg.Done()
	defer func() {
		p.mu.Lock()
		// A blackholed client hears nothing, not even the target hanging
		// up: its connection stays open until Heal or Close.
		keep := c.poisoned && src == c.server && !p.closed
		if !keep {
			delete(p.conns, c)
		}
		p.mu.Unlock()
		if !keep {
			c.close()
		}
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			mode, delay := p.mode, p.delay
			if mode == modeBlackhole {
				c.poisoned = true
			}
			poisoned := c.poisoned
			p.mu.Unlock()
			switch {
			case mode == modeCut:
				return
			case poisoned:
				// Swallowed: the stream is broken for good.
				continue
			case mode == modeSlow:
				time.Sleep(delay)
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
