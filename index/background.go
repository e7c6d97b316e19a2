package index

import (
	"sort"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// BackgroundSpan is a stretch of time Pebble spent on one memtable flush or
// one compaction: disk and CPU work that a durable scan made meanwhile
// shares the machine with, and the usual cause of a slow tail of admissions
// (bench/RESULTS.md shows how much of each tail overlapped them).
type BackgroundSpan struct {
	Kind  string    // "flush" or "compaction"
	Start time.Time // when Pebble began it
	End   time.Time // when it ended; zero while it runs
}

// maxBackgroundSpans is how many ended spans the store remembers.
const maxBackgroundSpans = 4096

// backgroundLog records Pebble's flushes and compactions through its event
// listener; it outlives the recoveries that reopen the database.
type backgroundLog struct {
	mu      sync.Mutex
	running map[bgJob]time.Time // began, not ended
	ended   []BackgroundSpan    // a ring of the latest maxBackgroundSpans
	next    int                 // where the ring writes next once full
}

type bgJob struct {
	kind string
	id   int
}

func (l *backgroundLog) begin(kind string, id int) {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.running == nil {
		l.running = map[bgJob]time.Time{}
	}
	l.running[bgJob{kind, id}] = now
}

func (l *backgroundLog) end(kind string, id int) {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	start, ok := l.running[bgJob{kind, id}]
	if !ok {
		return
	}
	delete(l.running, bgJob{kind, id})
	s := BackgroundSpan{Kind: kind, Start: start, End: now}
	if len(l.ended) < maxBackgroundSpans {
		l.ended = append(l.ended, s)
		return
	}
	l.ended[l.next] = s
	l.next = (l.next + 1) % maxBackgroundSpans
}

// since returns the spans running or ended after t, by start.
func (l *backgroundLog) since(t time.Time) []BackgroundSpan {
	l.mu.Lock()
	var out []BackgroundSpan
	for _, s := range l.ended {
		if s.End.After(t) {
			out = append(out, s)
		}
	}
	for job, start := range l.running {
		out = append(out, BackgroundSpan{Kind: job.kind, Start: start})
	}
	l.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	return out
}

// eventListener is the event listener the database is opened with: the
// background log's spans, and the errors of Pebble's background work.
func (ix *Index) eventListener() *pebble.EventListener {
	l := &ix.bgLog
	return &pebble.EventListener{
		FlushBegin:      func(i pebble.FlushInfo) { l.begin("flush", i.JobID) },
		FlushEnd:        func(i pebble.FlushInfo) { l.end("flush", i.JobID) },
		CompactionBegin: func(i pebble.CompactionInfo) { l.begin("compaction", i.JobID) },
		CompactionEnd:   func(i pebble.CompactionInfo) { l.end("compaction", i.JobID) },
		BackgroundError: ix.backgroundError,
		DataCorruption:  ix.dataCorruption,
	}
}

// BackgroundSpans returns Pebble's flushes and compactions that ran after t
// (those still running with a zero End), ordered by start: at most the
// last 4096 ended ones. The benchmarks use them to tell how much of a tail
// of slow scans came while Pebble worked in the background.
func (ix *Index) BackgroundSpans(t time.Time) []BackgroundSpan { return ix.bgLog.since(t) }
