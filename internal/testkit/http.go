package testkit

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Response is what a request a test sent got back.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// client has a timeout, so that a server that hangs fails the test instead
// of holding it until the test binary's own timeout.
var client = &http.Client{Timeout: 30 * time.Second}

// Do sends a request with a bearer secret ("" for none), a body (nil, a
// string, []byte, an io.Reader, or any other value, sent as JSON) and
// header (name, value pairs), and returns the answer whatever its status;
// it fails tb if the request cannot be sent or its answer read.
func Do(tb testing.TB, method, url, secret string, body any, header ...string) Response {
	tb.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	case io.Reader:
		r = b
	default:
		j, err := json.Marshal(b)
		if err != nil {
			tb.Fatal(err)
		}
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		tb.Fatal(err)
	}
	if secret != "" {
		req.Header.Set("Authorization", "Bearer "+secret)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, url, err)
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}
