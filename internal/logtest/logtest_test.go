package logtest

import (
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	for _, tt := range []struct {
		line string
		want string // "" for a good line
	}{
		{`{"level":"info","component":"index","took_ms":1.5,"time":"2026-12-07T20:55:39.523Z","message":"x"}`, ""},
		{`{"level":"info","lag_entries":3,"lag_seconds":1.5,"time":"2026-12-07T20:55:39.523+01:00"}`, ""},
		{`{"level":"info","took":1.5,"time":"2026-12-07T20:55:39.523Z"}`, "took: a duration without its unit"},
		{`{"level":"info","retry_in":1.5,"time":"2026-12-07T20:55:39.523Z"}`, "retry_in: a duration"},
		{`{"level":"info","component":"usbrelay","component":"reconnect","time":"2026-12-07T20:55:39.523Z"}`, "key component twice"},
		{`{"level":"info","a":{"b":1,"b":2},"time":"2026-12-07T20:55:39.523Z"}`, "key a.b twice"},
		{`{"level":"info","time":"2026-12-07T20:55:39Z"}`, "has no milliseconds"},
		{`{"level":"info"}`, "has no milliseconds"},
		{`{"level":"info"`, "not one JSON object"},
		{`[1,2]`, "not a JSON object"},
		{`{"time":"2026-12-07T20:55:39.523Z"} {}`, "JSON"},
	} {
		err := Check([]byte(tt.line))
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("Check(%s): %v, want %q", tt.line, err, tt.want)
		}
	}
	if errs := CheckAll([]byte("{\"time\":\"2026-12-07T20:55:39.523Z\"}\n\n{\"time\":1}\n")); len(errs) != 1 {
		t.Errorf("CheckAll: %v", errs)
	}
}
