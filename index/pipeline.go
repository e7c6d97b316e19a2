package index

import (
	"io"

	"github.com/admitgate/admit/gate"
)

// An import's pipeline: the source is parsed by a goroutine of its own
// (lineReader) a batch of lines ahead of the loader that checks and sorts
// them, and new barcodes go into the import's copy of the bloom filter in
// another (feeder), so that on two cores parsing, checking and the filter
// run side by side. Each stage is paced with the rest of the import (see
// pace.go). The SSTable writing of a large import runs in its own goroutine
// too (pipeSink, pipe.go).

// lineReader calls a LineSource's Next in its own goroutine and hands the
// lines over in batches. The source is used by that goroutine only until
// stop returns.
type lineReader struct {
	batches chan lineBatch
	free    chan []gate.ImportLine
	quit    chan struct{}
	done    chan struct{}
	cur     lineBatch
	i       int
}

// lineBatch is lines read in order, then err (io.EOF at the end) if not nil.
type lineBatch struct {
	lines []gate.ImportLine
	err   error
}

const readBatch = 256

func startReader(src gate.LineSource, p *pacer) *lineReader {
	r := &lineReader{batches: make(chan lineBatch, 8), free: make(chan []gate.ImportLine, 10),
		quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		defer close(r.batches)
		clk := p.clock()
		batch := make([]gate.ImportLine, 0, readBatch)
		for {
			line, err := src.Next()
			if err != nil {
				r.batches <- lineBatch{batch, err}
				return
			}
			batch = append(batch, line)
			clk.tick()
			if len(batch) < readBatch {
				continue
			}
			select {
			case r.batches <- lineBatch{lines: batch}:
			case <-r.quit:
				return
			}
			select {
			case batch = <-r.free:
			default:
				batch = make([]gate.ImportLine, 0, readBatch)
			}
			select {
			case <-r.quit:
				return
			default:
			}
		}
	}()
	return r
}

// next returns the next line, or the source's error (io.EOF at the end).
func (r *lineReader) next(clk *paceClock) (gate.ImportLine, error) {
	for r.i >= len(r.cur.lines) {
		if r.cur.err != nil {
			return gate.ImportLine{}, r.cur.err
		}
		if r.cur.lines != nil {
			clear(r.cur.lines)
			select {
			case r.free <- r.cur.lines[:0]:
			default:
			}
		}
		b, ok := <-r.batches
		if !ok {
			return gate.ImportLine{}, io.ErrUnexpectedEOF // the reader was stopped
		}
		r.cur, r.i = b, 0
		clk.reset() // the wait was not work
	}
	r.i++
	return r.cur.lines[r.i-1], nil
}

// stop ends the reading goroutine and waits for it, so the source is no
// longer used.
func (r *lineReader) stop() {
	close(r.quit)
	for range r.batches { // unblock a pending send
	}
	<-r.done
}

// feeder adds barcodes to a filter that nobody reads yet, in its own
// goroutine (a bloom add is ten cache misses; beside parsing or merging it
// is nearly free on the second core). Barcodes travel in batches.
type feeder struct {
	f     *filter
	batch []string
	ch    chan []string
	done  chan struct{}
}

func startFeeder(f *filter, p *pacer) *feeder {
	fd := &feeder{f: f, batch: make([]string, 0, 1024), ch: make(chan []string, 8), done: make(chan struct{})}
	go func() {
		defer close(fd.done)
		clk := p.clock()
		for b := range fd.ch {
			clk.reset()
			for _, bc := range b {
				fd.f.f.AddString(bc)
				clk.tick()
			}
		}
	}()
	return fd
}

func (fd *feeder) add(barcode string) {
	fd.batch = append(fd.batch, barcode)
	if len(fd.batch) == cap(fd.batch) {
		fd.ch <- fd.batch
		fd.batch = make([]string, 0, 1024)
	}
}

// stop waits until every barcode given is in the filter.
func (fd *feeder) stop() {
	if len(fd.batch) > 0 {
		fd.ch <- fd.batch
	}
	close(fd.ch)
	<-fd.done
}
