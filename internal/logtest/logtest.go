package logtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// timeRE is a timestamp with milliseconds (RFC 3339).
var timeRE = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|[+-]\d\d:\d\d)$`)

// durationWords end the keys that name a duration; such a key with a
// number must end in a unit instead (took_ms, lag_seconds).
var durationWords = map[string]bool{
	"took": true, "latency": true, "elapsed": true, "duration": true, "after": true, "timeout": true,
	"delay": true, "wait": true, "waited": true, "in": true, "lag": true, "age": true, "interval": true,
	"backoff": true,
}

// DuplicateKeys returns the keys one JSON line holds more than once in an
// object (nested ones as a.b), or an error when it is not one JSON value.
func DuplicateKeys(line []byte) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	var dups []string
	if err := walk(dec, "", &dups); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("more than one JSON value")
	}
	return dups, nil
}

// Check returns what is wrong with one JSON log line, or nil.
func Check(line []byte) error {
	line = bytes.TrimSpace(line)
	dups, err := DuplicateKeys(line)
	if err != nil {
		return fmt.Errorf("not one JSON object: %v: %s", err, line)
	}
	var problems []string
	for _, k := range dups {
		problems = append(problems, "key "+k+" twice")
	}
	var m map[string]any
	if err := json.Unmarshal(line, &m); err != nil {
		return fmt.Errorf("not a JSON object: %v: %s", err, line)
	}
	if ts, ok := m["time"].(string); !ok || !timeRE.MatchString(ts) {
		problems = append(problems, fmt.Sprintf("time %v has no milliseconds", m["time"]))
	}
	for k, v := range m {
		if _, num := v.(float64); !num {
			continue
		}
		parts := strings.Split(k, "_")
		if durationWords[parts[len(parts)-1]] {
			problems = append(problems, fmt.Sprintf("%s: a duration without its unit (%s_ms)", k, k))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s: %s", strings.Join(problems, "; "), line)
	}
	return nil
}

// walk reads one JSON value from dec, noting keys repeated in an object.
func walk(dec *json.Decoder, at string, dups *[]string) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('{'):
		seen := map[string]bool{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return err
			}
			k, _ := kt.(string)
			if seen[k] {
				*dups = append(*dups, at+k)
			}
			seen[k] = true
			if err := walk(dec, at+k+".", dups); err != nil {
				return err
			}
		}
		_, err = dec.Token() // }
		return err
	case json.Delim('['):
		for dec.More() {
			if err := walk(dec, at, dups); err != nil {
				return err
			}
		}
		_, err = dec.Token() // ]
		return err
	}
	return nil
}

// CheckAll checks every line of logs and returns the problems, one per bad
// line.
func CheckAll(logs []byte) []error {
	var errs []error
	for line := range bytes.SplitSeq(logs, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if err := Check(line); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}
