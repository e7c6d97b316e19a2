package main

import (
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/admitgate/admit/index"
)

// Set at build time (the Makefile):
//
//	-ldflags "-X main.version=v0.3.1 -X main.commit=0123abc… -X main.date=2026-12-07T19:00:00Z"
//
// version (in main.go) is `git describe`; commit and date, when not set,
// come from the build's VCS stamp where the go command recorded one.
var (
	commit = ""
	date   = ""
)

// pebbleModule is the module whose version `admit version` reports: the
// store's on-disk format follows it.
const pebbleModule = "github.com/cockroachdb/pebble/v2"

// BuildInfo is what `admit version` prints and admit_build_info exports.
type BuildInfo struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	Date      string `json:"date,omitempty"`
	Modified  bool   `json:"modified,omitempty"` // built from a tree with uncommitted changes (VCS stamp)
	GoVersion string `json:"go"`
	Pebble    string `json:"pebble"`
	Platform  string `json:"platform"`
	// StoreFormat is the store format this admit writes and the newest it
	// reads (index.StoreFormat): an older store is upgraded at its first
	// start, a newer one refused.
	StoreFormat int `json:"store_format"`
}

// buildInfo reads the version from the link flags, and the rest from the
// binary's own build information.
func buildInfo() BuildInfo {
	b := BuildInfo{Version: version, Commit: commit, Date: date, GoVersion: runtime.Version(),
		Platform: runtime.GOOS + "/" + runtime.GOARCH, Pebble: "unknown", StoreFormat: index.StoreFormat}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	for _, dep := range bi.Deps {
		if dep.Path == pebbleModule {
			b.Pebble = dep.Version
			if dep.Replace != nil {
				b.Pebble = dep.Replace.Version
			}
		}
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			if b.Commit == "" {
				b.Commit = s.Value
			}
		case "vcs.time":
			if b.Date == "" {
				b.Date = s.Value
			}
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	// go build inside a tagged checkout stamps the module version itself.
	if b.Version == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		b.Version = bi.Main.Version
	}
	if b.Commit == "" {
		b.Commit = "unknown"
	}
	return b
}

// versionCmd is `admit version [-json]`.
func (m *Main) versionCmd(args []string) error {
	fs := m.flags("version", "Usage: admit version [-json]\n\nPrint the version, the commit, the Go and Pebble versions admit was built with.")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &exitError{code: 2, err: fmt.Errorf("version takes no arguments, got %q", fs.Args())}
	}
	b := buildInfo()
	if *asJSON {
		e := json.NewEncoder(m.Stdout)
		e.SetIndent("", "  ")
		return e.Encode(b)
	}
	fmt.Fprintf(m.Stdout, "admit %s\n", b.Version)
	rows := [][2]string{{"commit", b.Commit}, {"date", b.Date}, {"go", b.GoVersion}, {"pebble", b.Pebble}, {"platform", b.Platform},
		{"store", fmt.Sprintf("format %d (reads older ones)", b.StoreFormat)}}
	if b.Modified {
		rows[0][1] += " (with uncommitted changes)"
	}
	for _, r := range rows {
		if r[1] != "" {
			fmt.Fprintf(m.Stdout, "  %-9s%s\n", r[0], r[1])
		}
	}
	return nil
}

// newBuildInfoCollector is admit_build_info: always 1, its labels say which
// build is running (a dashboard shows it, an alert can find mixed versions
// across a venue's appliances).
func newBuildInfoCollector() prometheus.Collector {
	b := buildInfo()
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "admit_build_info",
		Help: "1; the labels are the running build's version, commit, Go and Pebble versions.",
		ConstLabels: prometheus.Labels{"version": b.Version, "commit": b.Commit,
			"goversion": b.GoVersion, "pebble": b.Pebble},
	})
	g.Set(1)
	return g
}
