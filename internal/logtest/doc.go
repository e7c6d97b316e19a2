// Package logtest holds admit's JSON log lines to the house rules in tests:
// each line one JSON object, no key twice, timestamps with milliseconds,
// durations under keys that carry their unit (took_ms, not took).
package logtest
