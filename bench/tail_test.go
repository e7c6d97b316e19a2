package bench

import (
	"math"
	"testing"
	"time"

	"github.com/admitgate/admit/index"
)

// TestTailAgainst: the slow operations (the p99 and slower, here the
// ones of 2 ms) are attributed to the flushes and
// compactions they overlapped, and the share of time each kind ran is the
// union of its spans within the step.
func TestTailAgainst(t *testing.T) {
	origin := time.Date(2026, 11, 22, 20, 0, 0, 0, time.UTC)
	at := func(ms float64) time.Time { return origin.Add(time.Duration(ms * float64(time.Millisecond))) }
	op := func(startMs, tookMs float64) opTime {
		return opTime{int64(startMs * 1e6), int64(tookMs * 1e6)}
	}
	end := at(1000)
	for _, tc := range []struct {
		name  string
		ops   []opTime
		spans []index.BackgroundSpan
		want  Sample // nil: no statistic added
	}{
		{
			name: "slow ones in a compaction",
			ops:  []opTime{op(10, 0.1), op(100, 2), op(150, 2), op(500, 2), op(600, 0.1)},
			spans: []index.BackgroundSpan{
				{Kind: "compaction", Start: at(90), End: at(190)},
				{Kind: "flush", Start: at(499), End: at(499.5)}, // ends before the op at 500
			},
			want: Sample{StatTailCompaction: 2.0 / 3, StatTailFlush: 0, StatCompactionTime: 0.1, StatFlushTime: 0.0005},
		},
		{
			name: "overlapping spans count once, a running one until the end, one before the step from its start",
			ops:  []opTime{op(0, 2), op(950, 2)},
			spans: []index.BackgroundSpan{
				{Kind: "flush", Start: origin.Add(-time.Second), End: at(100)},
				{Kind: "compaction", Start: at(800), End: at(900)},
				{Kind: "compaction", Start: at(850), End: at(950)},
				{Kind: "compaction", Start: at(940)}, // still running
			},
			want: Sample{StatTailFlush: 0.5, StatTailCompaction: 0.5, StatFlushTime: 0.1, StatCompactionTime: 0.2},
		},
		{
			name: "no background work",
			ops:  []opTime{op(0, 2), op(10, 1)},
			want: Sample{StatTailFlush: 0, StatTailCompaction: 0, StatFlushTime: 0, StatCompactionTime: 0},
		},
		{
			name: "no operation",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := Sample{}
			tailAgainst(s, &opTimes{origin: origin, lanes: [][]opTime{tc.ops}}, tc.spans, end)
			if len(s) != len(tc.want) {
				t.Fatalf("got %v, want %v", s, tc.want)
			}
			for k, w := range tc.want {
				if g, ok := s[k]; !ok || math.Abs(g-w) > 1e-9 {
					t.Errorf("%s = %v, want %v (all: %v)", k, g, w, s)
				}
			}
		})
	}
}
