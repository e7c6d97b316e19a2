package importfile_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/gate/gatetest"
	"github.com/admitgate/admit/importfile"
)

// A SecuTix export without its header: the format is detected, PRODUCT_CODE
// names the event, and a bad line is reported with its number and reason.
func ExampleNewSource() {
	file := strings.Join([]string{
		"9836900602677354;PRINTED;880000;MATCH-2026-12-05;FC Example – Derby;05/12/2026 20:00;ADU;Adult;45,00;2026-11-01 10:00;1000",
		"2149479505772588;CONTROLLED;880012;MATCH-2026-12-05;FC Example – Derby;05/12/2026 20:00;SEN;Senior;30.00;2026-11-19 10:38;1038",
		"4937396401757228;SOLD;880000;MATCH-2026-12-05;FC Example – Derby;05/12/2026 20:00;SEN;Senior;30.00;2026-11-03 10:02;1002",
	}, "\n")
	src := importfile.NewSource(strings.NewReader(file), gate.ImportRequest{Provider: "secutix-main"},
		&importfile.Options{Location: time.UTC})
	for {
		l, err := src.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fmt.Println(err)
			return
		}
		if l.Reject != nil {
			fmt.Println(l.Line, "rejected:", l.Reject.Reason)
			continue
		}
		tk := l.Ticket
		fmt.Println(l.Line, tk.Barcode, tk.Events, tk.State, tk.UsedUpstream, tk.PriceType.Code, tk.Price, tk.ValidityAt.Format(time.RFC3339))
	}
	fmt.Println(src.Format())
	// Output:
	// 1 9836900602677354 [MATCH-2026-12-05] valid false ADU 45.00 2026-12-05T20:00:00Z
	// 2 2149479505772588 [MATCH-2026-12-05] valid true SEN 30.00 2026-12-05T20:00:00Z
	// 3 rejected: bad_state
	// secutix
}

// Service is the gate.Importer the HTTP API and the drop folders call; here
// its Loader is a fake that counts lines.
func ExampleService() {
	loader := &gatetest.Index{LoadFunc: func(ctx context.Context, req gate.ImportRequest, src gate.LineSource) (gate.ImportResult, error) {
		res := gate.ImportResult{DryRun: req.DryRun}
		for {
			l, err := src.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return gate.ImportResult{}, err
			}
			res.Lines++
			if l.Reject != nil {
				res.Rejected++
			} else {
				res.Added++
			}
		}
		res.Format = src.Format()
		return res, nil
	}}
	svc := &importfile.Service{Loader: loader}
	res, err := svc.Import(context.Background(),
		gate.ImportRequest{Provider: "box-office", DryRun: true},
		strings.NewReader("\ufeffbarcode,event,holder\r\nBO-1,MATCH-2026-12-05,\"Müller, Anna\"\r\n\r\nBO-2,MATCH-2026-12-05,Li Wei\r\n"))
	fmt.Println(res.Format, res.Lines, res.Added, res.Rejected, err)

	_, err = svc.Import(context.Background(), gate.ImportRequest{Provider: "no spaces please"}, strings.NewReader(""))
	fmt.Println(gate.ErrorCode(err))
	// Output:
	// csv 2 2 0 <nil>
	// invalid
}
