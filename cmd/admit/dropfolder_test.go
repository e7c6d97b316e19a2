package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/admitgate/admit/httpapi"
	"github.com/admitgate/admit/internal/samples"
)

// A file dropped into a configured folder is imported and moved to done/.
func TestDropFolderIsWired(t *testing.T) {
	drop := filepath.Join(t.TempDir(), "secutix")
	c := testConfig(t, "[[drop_folders]]\ndir = \""+drop+"\"\nprovider = \"secutix-main\"\nformat = \"secutix\"\nsettle = \"100ms\"\n")
	now := time.Now()
	c.Providers = []ProviderConfig{{ID: "secutix-main"}}
	c.Events = []EventConfig{{ID: "MATCH-2026-12-05", OpensAt: now}, {ID: "MATCH-2026-12-19", OpensAt: now}}
	_, base := startDaemon(t, c)
	api := apiClient{t: t, base: base}
	b, _ := samples.Read(samples.Secutix)
	if err := os.WriteFile(filepath.Join(drop, "export.csv"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		var imports httpapi.ImportsResponse
		api.must(200, "GET", "/v1/imports", viewerSecret, nil).decode(t, &imports)
		if len(imports.Imports) == 1 {
			if r := imports.Imports[0]; r.Added != 40 || r.Provider != "secutix-main" {
				t.Fatalf("import = %+v", r)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the dropped file was not imported")
		}
		time.Sleep(50 * time.Millisecond)
	}
	for {
		if m, _ := filepath.Glob(filepath.Join(drop, "done", "*export.csv")); len(m) == 1 {
			break
		}
		if time.Now().After(deadline) {
			entries, _ := os.ReadDir(drop)
			t.Fatalf("the file was not moved to done/: %v", entries)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
