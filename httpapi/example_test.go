package httpapi_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/gate/gatetest"
	"github.com/admitgate/admit/httpapi"
)

// A server over an index (here a fake that knows one ticket), one lane and
// one scanner token, answering a scan on a real socket.
func Example() {
	idx := &gatetest.Index{ScanFunc: func(_ context.Context, s gate.Scan) gate.Decision {
		if s.Barcode != "9836900602677354" {
			return s.Refusal(gate.ReasonUnknown, "")
		}
		d := s.Refusal(0, "")
		d.Admit, d.Reason, d.Seq, d.Event = true, gate.ReasonOK, 1, "derby"
		return d
	}}
	auth, err := httpapi.NewAuth([]httpapi.Token{{Name: "door-3", Role: httpapi.RoleScanner, Secret: "door-3-secret-0123456789"}})
	if err != nil {
		panic(err)
	}
	srv, err := httpapi.New(httpapi.Config{Index: idx, Auth: auth,
		Lanes: []httpapi.LaneInfo{{Lane: gate.Lane{ID: "north-1", Direction: gate.In}}}})
	if err != nil {
		panic(err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(ln)
	defer srv.Shutdown(context.Background())

	for _, barcode := range []string{"9836900602677354", "0000"} {
		req, _ := http.NewRequest("POST", "http://"+ln.Addr().String()+"/v1/scan",
			strings.NewReader(`{"barcode":"`+barcode+`","lane":"north-1"}`))
		req.Header.Set("Authorization", "Bearer door-3-secret-0123456789")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(resp.StatusCode, strings.Contains(string(body), `"admit":true`))
	}
	// Output:
	// 200 true
	// 200 false
}
