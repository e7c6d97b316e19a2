package importfile_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/gate/gatetest"
	"github.com/admitgate/admit/importfile"
)

func TestServiceRefusesBadRequests(t *testing.T) {
	called := false
	svc := &importfile.Service{Loader: &gatetest.Index{LoadFunc: func(context.Context, gate.ImportRequest, gate.LineSource) (gate.ImportResult, error) {
		called = true
		return gate.ImportResult{}, nil
	}}}
	for _, req := range []gate.ImportRequest{
		{},
		{Provider: "p 1"},
		{Provider: "p1", Event: "e/1"},
		{Provider: "p1", Format: "xlsx"},
		{Provider: "p1", OnError: "ignore"},
	} {
		_, err := svc.Import(context.Background(), req, strings.NewReader("A\n"))
		if gate.ErrorCode(err) != gate.EINVALID {
			t.Errorf("%+v: error %v, want EINVALID", req, err)
		}
	}
	if _, err := svc.Import(context.Background(), gate.ImportRequest{Provider: "p1"}, nil); gate.ErrorCode(err) != gate.EINVALID {
		t.Errorf("no file: error %v, want EINVALID", err)
	}
	if called {
		t.Error("the loader was called for a bad request")
	}
	if _, err := (&importfile.Service{}).Import(context.Background(), gate.ImportRequest{Provider: "p1"}, strings.NewReader("")); err == nil {
		t.Error("a service without a loader imported")
	}
}

// TestServicePassesTheLoadersAnswer: the request reaches the Loader as it
// was, the source reads the file, and the Loader's result and error come
// back unchanged.
func TestServicePassesTheLoadersAnswer(t *testing.T) {
	rejected := gate.Errorf(gate.EREJECTED, "index: 1 line rejected")
	want := gate.ImportResult{Lines: 2, Added: 1, Rejected: 1, Errors: []gate.LineError{{Line: 3, Reason: gate.RejectEmpty}}}
	var gotReq gate.ImportRequest
	var lines []gate.ImportLine
	var digest string
	svc := importfile.NewService(&gatetest.Index{LoadFunc: func(ctx context.Context, req gate.ImportRequest, src gate.LineSource) (gate.ImportResult, error) {
		gotReq = req
		for {
			l, err := src.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return gate.ImportResult{}, err
			}
			lines = append(lines, l)
		}
		digest = src.Digest()
		return want, rejected
	}}, testLogger(t), nil)
	req := gate.ImportRequest{Provider: "p1", Event: "E1", Format: gate.FormatLines, OnError: gate.OnErrorSkip, Source: "x.txt", By: "admin"}
	res, err := svc.Import(context.Background(), req, strings.NewReader("A1\n\n\x01\n"))
	if !errors.Is(err, rejected) || res.Added != want.Added || len(res.Errors) != 1 {
		t.Errorf("got %+v, %v; want the loader's answer", res, err)
	}
	if gotReq != req {
		t.Errorf("loader got %+v, want %+v", gotReq, req)
	}
	if len(lines) != 2 || lines[0].Ticket.Barcode != "A1" || lines[1].Reject == nil || lines[1].Line != 3 {
		t.Errorf("loader read %+v", lines)
	}
	if len(digest) != 64 {
		t.Errorf("digest %q", digest)
	}
}

// TestServiceReadError: a body cut off by its size limit fails the import
// with the reader's code.
func TestServiceReadError(t *testing.T) {
	tooLarge := gate.Errorf(gate.ETOOLARGE, "body over its limit")
	svc := &importfile.Service{Loader: &gatetest.Index{LoadFunc: func(ctx context.Context, req gate.ImportRequest, src gate.LineSource) (gate.ImportResult, error) {
		for {
			if _, err := src.Next(); err != nil {
				if errors.Is(err, io.EOF) {
					return gate.ImportResult{Applied: true}, nil
				}
				return gate.ImportResult{}, err
			}
		}
	}}}
	body := io.MultiReader(strings.NewReader("A1\nA2\n"), &failingReader{tooLarge})
	_, err := svc.Import(context.Background(), gate.ImportRequest{Provider: "p1", Event: "E1"}, body)
	if gate.ErrorCode(err) != gate.ETOOLARGE {
		t.Errorf("error %v, want ETOOLARGE", err)
	}
}

type failingReader struct{ err error }

func (r *failingReader) Read([]byte) (int, error) { return 0, r.err }
