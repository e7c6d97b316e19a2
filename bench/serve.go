package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/rs/zerolog"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/httpapi"
	"github.com/admitgate/admit/index"
)

// Target is the scan API of an appliance: where the http workload sends
// POST /v1/scan, with which scanner token, for which lane.
type Target struct {
	URL   string // "http://127.0.0.1:8080"
	Token string // a scanner (or admin) token's secret
	Lane  string // a configured lane
}

// ServeFunc starts an appliance on the store in dir and returns its scan
// API and a function that stops it and closes the store. The http workload
// calls it once per run on that run's copy of the fixture.
type ServeFunc func(ctx context.Context, dir string, log zerolog.Logger) (Target, func() error, error)

// ServeLane is the lane ServeAPI configures.
const ServeLane = "bench-1"

// Secret returns a random token secret for an in-process appliance.
func Secret() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

// ServeAPI is the default ServeFunc: the store opened as the daemon opens
// it, behind the HTTP API on 127.0.0.1:0 with one scanner token and one
// lane (ServeLane, every open event). cmd/admit passes the daemon itself
// instead; this one lets the package's own benchmarks and tests run alone.
func ServeAPI(ctx context.Context, dir string, log zerolog.Logger) (Target, func() error, error) {
	return ServeAPIWith(nil)(ctx, dir, log)
}

// ServeAPIWith is ServeAPI opening the store with opts as a template (see
// Config.IndexOptions).
func ServeAPIWith(opts *index.Options) ServeFunc {
	return func(ctx context.Context, dir string, log zerolog.Logger) (Target, func() error, error) {
		return serveAPI(ctx, dir, storeOptions(opts, log))
	}
}

func serveAPI(ctx context.Context, dir string, opts *index.Options) (Target, func() error, error) {
	log := opts.Logger
	ix, err := index.Open(dir, opts)
	if err != nil {
		return Target{}, nil, err
	}
	// As a daemon's doors open some time after its start: after the block
	// cache warm-up and the background work the Open left, not during it.
	if err := WaitSettled(ctx, ix, SettleLimit); err != nil {
		_ = ix.Close()
		return Target{}, nil, err
	}
	secret := Secret()
	auth, err := httpapi.NewAuth([]httpapi.Token{{Name: "bench", Role: httpapi.RoleScanner, Secret: secret}})
	if err != nil {
		_ = ix.Close()
		return Target{}, nil, err
	}
	srv, err := httpapi.New(httpapi.Config{
		Index:  ix,
		Auth:   auth,
		Lanes:  []httpapi.LaneInfo{{Lane: gate.Lane{ID: ServeLane, Name: "Bench", Direction: gate.In}, State: "idle"}},
		Logger: &log,
	})
	if err != nil {
		_ = ix.Close()
		return Target{}, nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = ix.Close()
		return Target{}, nil, fmt.Errorf("bench: listen: %w", err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	stop := func() error {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err := srv.Shutdown(sctx)
		return errors.Join(err, <-served, ix.Close())
	}
	return Target{URL: "http://" + ln.Addr().String(), Token: secret, Lane: ServeLane}, stop, nil
}
