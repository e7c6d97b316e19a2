package main

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
)

// TestTheAPIAnswers503UntilTheStoreServes: the daemon listens first and the
// API answers 503 on /readyz and /v1 while the store opens and the catalog
// and demo data are applied; it serves once Open has given it the store
// (httpapi's SetStore, issue 14 item 9).
func TestTheAPIAnswers503UntilTheStoreServes(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	seeding, release := make(chan struct{}), make(chan struct{})
	var releaseOnce sync.Once
	releaseSeed := func() { releaseOnce.Do(func() { close(release) }) }
	d := &Daemon{Config: testConfig(t, ""), Logger: testLogger(), Listener: ln,
		Seed: func(ctx context.Context, ix gate.Index, imp gate.Importer) error {
			close(seeding)
			<-release
			return nil
		}}
	opened := make(chan error, 1)
	go func() { opened <- d.Open(context.Background()) }()
	t.Cleanup(func() {
		releaseSeed()
		<-opened
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := d.Close(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	select {
	case <-seeding:
	case err := <-opened:
		t.Fatalf("Open returned before seeding: %v", err)
	}
	api := apiClient{t, "http://" + ln.Addr().String()}
	api.must(503, "GET", "/readyz", "", nil)
	api.must(503, "GET", "/v1/events", adminSecret, nil)
	api.must(503, "POST", "/v1/scan", scannerSecret, `{"barcode":"X","lane":"north-1"}`)
	api.must(200, "GET", "/healthz", "", nil)
	releaseSeed()
	if err := <-opened; err != nil {
		t.Fatal(err)
	}
	opened <- nil // for the cleanup
	api.must(200, "GET", "/readyz", "", nil)
	api.must(200, "GET", "/v1/events", adminSecret, nil)
}
