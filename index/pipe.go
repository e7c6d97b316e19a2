package index

import (
	"encoding/binary"
)

// pipeSink runs an sstSink's writing (key encoding into blocks,
// compression, table filters) in its own goroutine, so an import's merge and
// its SSTable writing use both cores. Records travel in 1 MiB chunks; the
// writer is paced with the rest of the import (see pacer).
type pipeSink struct {
	inner  *sstSink
	pace   *pacer
	buf    []byte
	ch     chan []byte
	free   chan []byte
	done   chan struct{}
	err    error // the writer's first error, read after done
	closed bool
}

const pipeChunk = 1 << 20

func newPipeSink(inner *sstSink, pace *pacer) *pipeSink {
	p := &pipeSink{inner: inner, pace: pace, ch: make(chan []byte, 4), free: make(chan []byte, 6), done: make(chan struct{})}
	p.buf = make([]byte, 0, pipeChunk+4096)
	go p.run()
	return p
}

func (p *pipeSink) run() {
	defer close(p.done)
	clk := p.pace.clock()
	for chunk := range p.ch {
		clk.reset()
		b := chunk
		for len(b) > 0 && p.err == nil {
			kl, m := binary.Uvarint(b)
			k := b[m : m+int(kl)]
			b = b[m+int(kl):]
			vl, m := binary.Uvarint(b)
			v := b[m : m+int(vl)]
			b = b[m+int(vl):]
			p.err = p.inner.set(k, v)
			clk.tick()
		}
		select {
		case p.free <- chunk[:0]:
		default:
		}
	}
}

func (p *pipeSink) set(k, v []byte) error {
	p.buf = binary.AppendUvarint(p.buf, uint64(len(k)))
	p.buf = append(p.buf, k...)
	p.buf = binary.AppendUvarint(p.buf, uint64(len(v)))
	p.buf = append(p.buf, v...)
	if len(p.buf) >= pipeChunk {
		p.send()
	}
	return nil
}

func (p *pipeSink) send() {
	p.ch <- p.buf
	select {
	case p.buf = <-p.free:
	default:
		p.buf = make([]byte, 0, pipeChunk+4096)
	}
}

// wait ends the writer goroutine and returns its error.
func (p *pipeSink) wait() error {
	if !p.closed {
		if len(p.buf) > 0 {
			p.send()
		}
		close(p.ch)
		p.closed = true
	}
	<-p.done
	return p.err
}

func (p *pipeSink) finish(rest []kv) error {
	if err := p.wait(); err != nil {
		return err
	}
	return p.inner.finish(rest)
}

func (p *pipeSink) prepare() error  { return p.inner.prepare() }
func (p *pipeSink) commit() error   { return p.inner.commit() }
func (p *pipeSink) committed() bool { return p.inner.committed() }

func (p *pipeSink) abort() {
	_ = p.wait()
	p.inner.abort()
}

var _ sink = (*pipeSink)(nil)
