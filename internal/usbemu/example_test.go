package usbemu_test

import (
	"fmt"

	"github.com/admitgate/admit/internal/usbemu"
)

// The request log tells which control requests switched a relay board and
// which read its state back.
func ExampleRequest() {
	log := []usbemu.Request{
		{Seq: 7, Port: "1-2", Op: "claim", Result: "ok"},
		{Seq: 8, Port: "1-2", Op: "control", RequestType: 0x21, Request: 0x09, Value: 0x0300, Length: 8, Data: "ff01000000000000", Result: "ok"},
		{Seq: 9, Port: "1-2", Op: "control", RequestType: 0xa1, Request: 0x01, Value: 0x0300, Length: 8, Answer: "5157455254000001", Result: "ok"},
	}
	for _, r := range log {
		switch {
		case r.IsSetReport():
			fmt.Println(r.Seq, "switch", r.Data[:4])
		case r.IsGetReport():
			fmt.Println(r.Seq, "read back", r.Answer)
		default:
			fmt.Println(r.Seq, r.Op, r.Result)
		}
	}
	// Output:
	// 7 claim ok
	// 8 switch ff01
	// 9 read back 5157455254000001
}
