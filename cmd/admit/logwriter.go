package main

import (
	"io"
	"sync"
)

// maxPendingLog is how many bytes of log lines may wait for the writer
// goroutine before a Write waits for it: the memory the log may hold, and
// the point where a process logging faster than its output drains slows
// down instead of dropping lines.
const maxPendingLog = 1 << 20

// asyncWriter takes the log's system call off the request path: Write
// copies the line into a buffer and wakes a goroutine that writes whatever
// has gathered in one call. Nothing is dropped: a Write waits while
// maxPendingLog bytes are pending, and Close writes what is left. A line
// reaches the output a scheduling delay after Write; a kill -9 can lose
// only what that delay holds.
type asyncWriter struct {
	out io.Writer

	mu      sync.Mutex
	drained *sync.Cond // broadcast after every write to out
	pending []byte
	closed  bool

	wake chan struct{}
	done chan struct{}
}

func newAsyncWriter(out io.Writer) *asyncWriter {
	w := &asyncWriter{out: out, wake: make(chan struct{}, 1), done: make(chan struct{})}
	w.drained = sync.NewCond(&w.mu)
	go w.run()
	return w
}

// Write queues p (a whole log line, as zerolog writes them) and returns.
func (w *asyncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	for !w.closed && len(w.pending) > 0 && len(w.pending)+len(p) > maxPendingLog {
		w.drained.Wait()
	}
	if w.closed {
		defer w.mu.Unlock()
		return w.out.Write(p)
	}
	w.pending = append(w.pending, p...)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (w *asyncWriter) run() {
	defer close(w.done)
	var spare []byte
	for range w.wake {
		w.mu.Lock()
		batch := w.pending
		w.pending = spare[:0]
		w.mu.Unlock()
		if len(batch) > 0 {
			_, _ = w.out.Write(batch) // a log that cannot be written has nowhere to say so
		}
		w.mu.Lock()
		spare = batch
		w.drained.Broadcast()
		stop := w.closed
		w.mu.Unlock()
		if stop {
			return
		}
	}
}

// Close writes every pending line and makes later Writes synchronous.
func (w *asyncWriter) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	w.drained.Broadcast()
	w.mu.Unlock()
	select { // the writer takes what is pending, sees closed, and stops
	case w.wake <- struct{}{}:
	default: // a wake-up is queued already
	}
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.pending) > 0 { // written between the last batch and closed
		_, err := w.out.Write(w.pending)
		w.pending = nil
		return err
	}
	return nil
}
