package bench

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"runtime/pprof"

	"github.com/valyala/fasthttp"
)

// The naive floor's HTTP face (the store is naive.go's): the same load
// drives it and admit's API.

// naiveScan and naiveAnswer are the naive server's request and answer: a
// subset of admit's POST /v1/scan, so the same load drives both.
type naiveScan struct {
	Lane    string `json:"lane"`
	Barcode string `json:"barcode"`
}

type naiveAnswer struct {
	Admit   bool   `json:"admit"`
	Reason  string `json:"reason"`
	Barcode string `json:"barcode"`
}

// NaiveHandler is the naive floor's HTTP API: POST /v1/scan with a bearer
// token and a JSON body {"lane", "barcode"}, decoded with encoding/json,
// answered with a small JSON {"admit", "reason", "barcode"} once the
// redemption is durable.
func NaiveHandler(s *NaiveStore, token string) fasthttp.RequestHandler {
	want := []byte("Bearer " + token)
	scanPath := []byte("/v1/scan")
	return func(ctx *fasthttp.RequestCtx) {
		if !ctx.IsPost() || !bytes.Equal(ctx.Path(), scanPath) {
			ctx.Error("not found", fasthttp.StatusNotFound)
			return
		}
		if subtle.ConstantTimeCompare(ctx.Request.Header.Peek("Authorization"), want) != 1 {
			ctx.Error("unauthorized", fasthttp.StatusUnauthorized)
			return
		}
		var req naiveScan
		if err := json.Unmarshal(ctx.PostBody(), &req); err != nil || req.Lane == "" || req.Barcode == "" {
			ctx.Error("a scan needs a lane and a barcode", fasthttp.StatusBadRequest)
			return
		}
		reason, err := s.Redeem(req.Barcode, req.Lane)
		if err != nil {
			ctx.Error("the store failed", fasthttp.StatusServiceUnavailable)
			return
		}
		ctx.SetContentType("application/json")
		_ = json.NewEncoder(ctx).Encode(naiveAnswer{Admit: reason == naiveOK, Reason: reason, Barcode: req.Barcode})
	}
}

// ServeNaive serves the naive floor on s at 127.0.0.1:0 with a fresh
// token and lane ServeLane; its goroutines carry the profile label
// bench=naive-server. The function returned stops the server (not the
// store).
func ServeNaive(ctx context.Context, s *NaiveStore) (Target, func() error, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return Target{}, nil, fmt.Errorf("bench: listen: %w", err)
	}
	token := Secret()
	srv := &fasthttp.Server{Handler: NaiveHandler(s, token)}
	served := make(chan error, 1)
	pprof.Do(ctx, pprof.Labels("bench", "naive-server"), func(context.Context) {
		go func() { served <- srv.Serve(ln) }()
	})
	stop := func() error {
		return errors.Join(srv.Shutdown(), <-served)
	}
	return Target{URL: "http://" + ln.Addr().String(), Token: token, Lane: ServeLane}, stop, nil
}
