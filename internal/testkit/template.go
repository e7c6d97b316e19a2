package testkit

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"text/template"
)

// Template reads the file at path (relative to the test's package
// directory, such as "testdata/daemon/base.toml") and executes it as a
// text/template with data; a file without actions reads as it is. Besides
// the standard functions, {{quote .X}} writes .X as a quoted string (TOML
// and JSON read it). A missing key is an error, so a template and its data
// cannot drift apart unnoticed.
func Template(tb testing.TB, path string, data any) string {
	tb.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	t, err := template.New(path).Option("missingkey=error").Funcs(template.FuncMap{"quote": strconv.Quote}).Parse(string(src))
	if err != nil {
		tb.Fatal(err)
	}
	var b strings.Builder
	if err := t.Execute(&b, data); err != nil {
		tb.Fatal(err)
	}
	return b.String()
}
