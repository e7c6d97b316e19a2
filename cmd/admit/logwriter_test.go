package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// slowWriter records what it is given, one call at a time, and can be held.
type slowWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	calls int
	hold  chan struct{} // a Write waits for it while non-nil
}

func (s *slowWriter) Write(p []byte) (int, error) {
	if s.hold != nil {
		<-s.hold
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	return s.buf.Write(p)
}

func (s *slowWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// Every line from many goroutines arrives whole, each goroutine's in its
// order, none lost, with far fewer writes than lines while the output is
// slow; Close leaves nothing behind.
func TestAsyncWriterLosesNothing(t *testing.T) {
	out := &slowWriter{hold: make(chan struct{})}
	w := newAsyncWriter(out)
	const writers, lines = 8, 2000
	var wg sync.WaitGroup
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range lines {
				fmt.Fprintf(w, "g%d line %d\n", g, i)
			}
		}()
	}
	go func() { // the output is slow: it lets one write through at a time
		for range writers * lines {
			select {
			case out.hold <- struct{}{}:
			case <-time.After(2 * time.Second):
				return
			}
		}
	}()
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	next := make([]int, writers)
	got := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(got) != writers*lines {
		t.Fatalf("%d lines, want %d", len(got), writers*lines)
	}
	for _, l := range got {
		var g, i int
		if _, err := fmt.Sscanf(l, "g%d line %d", &g, &i); err != nil || i != next[g] {
			t.Fatalf("line %q out of order or broken (want g%d line %d)", l, g, next[g])
		}
		next[g]++
	}
	if out.calls >= writers*lines {
		t.Errorf("%d writes for %d lines: nothing was batched", out.calls, writers*lines)
	}
	// After Close a write goes straight through.
	fmt.Fprint(w, "late\n")
	if !strings.HasSuffix(out.String(), "late\n") {
		t.Error("a write after Close was not written")
	}
}

// A stuck output holds the writers back once maxPendingLog bytes wait:
// memory stays bounded, nothing is dropped.
func TestAsyncWriterBoundsMemory(t *testing.T) {
	out := &slowWriter{hold: make(chan struct{})}
	w := newAsyncWriter(out)
	line := bytes.Repeat([]byte("x"), 1023)
	line = append(line, '\n')
	wrote := make(chan int)
	go func() {
		n := 0
		for range 3 * maxPendingLog / len(line) {
			w.Write(line)
			n++
		}
		wrote <- n
	}()
	time.Sleep(100 * time.Millisecond) // the writer goroutine is stuck in its first write
	w.mu.Lock()
	pending := len(w.pending)
	w.mu.Unlock()
	if pending > maxPendingLog {
		t.Errorf("%d bytes pending, bound %d", pending, maxPendingLog)
	}
	select {
	case <-wrote:
		t.Fatal("every write returned while the output was stuck")
	default:
	}
	close(out.hold) // the output drains
	n := <-wrote
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(out.String(), "\n"); got != n {
		t.Errorf("%d lines written, %d sent", got, n)
	}
}

// BenchmarkRequestLog is the per-request log line as the API writes it, to
// a pipe drained by another goroutine (as journald or a terminal drains
// stderr): written directly, and through the asyncWriter.
//
//	go test -run '^$' -bench BenchmarkRequestLog -count 5 ./cmd/admit/
func BenchmarkRequestLog(b *testing.B) {
	for _, async := range []bool{false, true} {
		b.Run(fmt.Sprintf("async=%v", async), func(b *testing.B) {
			r, pw, err := os.Pipe()
			if err != nil {
				b.Fatal(err)
			}
			go io.Copy(io.Discard, r)
			var out io.Writer = pw
			var aw *asyncWriter
			if async {
				aw = newAsyncWriter(pw)
				out = aw
			}
			log := zerolog.New(out).With().Timestamp().Logger()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					log.Info().Str("component", "httpapi").Str("method", "POST").Str("route", "POST /v1/scan").
						Str("path", "/v1/scan").Int("status", 200).Float64("latency", 0.183).Str("remote", "127.0.0.1").Msg("request")
				}
			})
			b.StopTimer()
			if aw != nil {
				aw.Close()
			}
			pw.Close()
			r.Close()
		})
	}
}
