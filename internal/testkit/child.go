package testkit

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// ExpectTimeout is how long [Expect] waits for a child's line.
const ExpectTimeout = 60 * time.Second

// Child is the test binary run again as a child process, for crash tests.
type Child struct {
	cmd   *exec.Cmd
	lines chan string
	read  chan struct{} // closed when the child's output is read to its end
	once  sync.Once
}

// StartChild runs the test binary again with env ("NAME=value") added to its
// environment and no test selected: the package's TestMain sees env and
// plays the child. The child's standard error is the test's; its standard
// output is read a line at a time into [Child.Lines]. The child is killed
// when tb ends, if it was not before.
func StartChild(tb testing.TB, env ...string) *Child {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	// The buffer holds what a child says between the parent's reads (a
	// child that admits in a loop says a lot), so that it never blocks on
	// a full pipe while the parent waits for the moment to kill it.
	c := &Child{cmd: cmd, lines: make(chan string, 1<<16), read: make(chan struct{})}
	go func() {
		defer close(c.read)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
		close(c.lines)
	}()
	tb.Cleanup(func() { c.Kill() })
	return c
}

// Lines returns the child's output lines; it is closed when the child's
// standard output ends.
func (c *Child) Lines() <-chan string { return c.lines }

// Kill kills the child with SIGKILL (at once: it gets no chance to tidy up),
// waits for it, and returns the lines it wrote that were not read. Calls
// after the first return nothing.
func (c *Child) Kill() []string {
	var rest []string
	c.once.Do(func() {
		_ = c.cmd.Process.Signal(syscall.SIGKILL)
		<-c.read
		_ = c.cmd.Wait()
		for l := range c.lines {
			rest = append(rest, l)
		}
	})
	return rest
}

// Expect reads lines until n of them begin with prefix and returns the
// last of those, failing tb if lines closes first (the child exited) or
// [ExpectTimeout] passes.
func Expect(tb testing.TB, lines <-chan string, prefix string, n int) string {
	tb.Helper()
	deadline := time.After(ExpectTimeout)
	var last string
	for n > 0 {
		select {
		case l, ok := <-lines:
			if !ok {
				tb.Fatalf("the child exited before saying %q", prefix)
			}
			if strings.HasPrefix(l, prefix) {
				last = l
				n--
			}
		case <-deadline:
			tb.Fatalf("the child did not say %q within %v", prefix, ExpectTimeout)
		}
	}
	return last
}

// Collect reads lines for d, or until lines closes, and returns them: what
// a child said in the moment before it is killed.
func Collect(lines <-chan string, d time.Duration) []string {
	var got []string
	deadline := time.After(d)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				return got
			}
			got = append(got, l)
		case <-deadline:
			return got
		}
	}
}
