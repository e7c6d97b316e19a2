package indextest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/index"
	"github.com/rs/zerolog"
)

// FixtureVersion names the layout of cached fixtures; change it whenever the
// store's on-disk format or the synthetic tickets change.
const FixtureVersion = "v2"

// FixtureDir returns where the fixture of n tickets is cached: the user's
// cache directory (or the OS temp directory), keyed by FixtureVersion.
func FixtureDir(n int) string {
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	return filepath.Join(base, "admit-index-fixture", fmt.Sprintf("%s-%d", FixtureVersion, n))
}

// Fixture returns a fresh copy (in a temporary directory removed when tb
// ends) of a closed store holding n synthetic tickets (Barcode(0) to
// Barcode(n-1)) for Event(). The store is built once and cached under
// FixtureDir(n).
func Fixture(tb testing.TB, n int) string {
	tb.Helper()
	cached := FixtureDir(n)
	if _, err := os.Stat(filepath.Join(cached, "complete")); err != nil {
		if err := Build(cached, n); err != nil {
			tb.Fatal(err)
		}
	}
	dir := tb.TempDir()
	if err := CopyDir(dir, cached); err != nil {
		tb.Fatal(err)
	}
	_ = os.Remove(filepath.Join(dir, "complete"))
	return dir
}

// Build creates a store of n synthetic tickets in dir (replacing anything
// there) and marks it complete.
func Build(dir string, n int) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	log := zerolog.Nop()
	if os.Getenv("ADMIT_TEST_LOG") != "" {
		log = zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr})
	}
	ix, err := index.Open(dir, &index.Options{Logger: log, DisableWALWarmup: true})
	if err != nil {
		return err
	}
	ctx := context.Background()
	if _, err := ix.PutEvent(ctx, Event()); err != nil {
		_ = ix.Close()
		return err
	}
	if _, err := ix.Load(ctx, gate.ImportRequest{Provider: Provider, Source: "indextest", By: "indextest"}, Tickets(n)); err != nil {
		_ = ix.Close()
		return fmt.Errorf("indextest: build fixture: %w", err)
	}
	if err := ix.Close(); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "complete"), nil, 0o644)
}
