package importfile

import (
	"bytes"
	"strings"
	"testing"

	"github.com/admitgate/admit/gate"
)

// TestCustomerKeyColumn: a rotating provider's tickets come with their
// holders' customer keys (customer_key, as hex); a key that is not one
// rejects its line without the key showing in the detail, and a line
// without one carries none.
func TestCustomerKeyColumn(t *testing.T) {
	const good = "b3519364e0c7914c1f9d59d35652a04067d2f647"
	const secretish = "b3519364e0c7914c1f9d59d3zz"
	input := "barcode,event,price_type,Customer Key\n" +
		"TOKEN-A,E1,ADU," + good + "\n" +
		"TOKEN-B,E1,ADU,\n" +
		"TOKEN-C,E1,ADU," + secretish + "\n" +
		"TOKEN-D,E1,ADU,B3519364E0C7914C1F9D59D35652A040\n"
	lines, _ := parse(t, input, gate.ImportRequest{})
	if len(lines) != 4 {
		t.Fatalf("%d lines", len(lines))
	}
	want := []byte{0xb3, 0x51, 0x93, 0x64, 0xe0, 0xc7, 0x91, 0x4c, 0x1f, 0x9d, 0x59, 0xd3, 0x56, 0x52, 0xa0, 0x40, 0x67, 0xd2, 0xf6, 0x47}
	if l := lines[0]; l.Reject != nil || !bytes.Equal(l.CustomerKey, want) || l.Ticket.Barcode != "TOKEN-A" {
		t.Fatalf("line A: %+v", l)
	}
	if l := lines[1]; l.Reject != nil || l.CustomerKey != nil {
		t.Fatalf("line B (no key): %+v", l)
	}
	l := lines[2]
	if l.Reject == nil || l.Reject.Reason != gate.RejectBadField || l.CustomerKey != nil {
		t.Fatalf("line C (no key): %+v", l)
	}
	if strings.Contains(l.Reject.Detail, "b3519364") || !strings.Contains(l.Reject.Detail, "Customer Key") {
		t.Fatalf("the detail shows the key or does not name the column: %q", l.Reject.Detail)
	}
	if l := lines[3]; l.Reject != nil || len(l.CustomerKey) != 16 {
		t.Fatalf("line D (upper case, 16 bytes): %+v", l)
	}
	// Without the column: no key.
	lines, _ = parse(t, "barcode,event\nX,E1\n", gate.ImportRequest{})
	if len(lines) != 1 || lines[0].CustomerKey != nil {
		t.Fatalf("%+v", lines)
	}
}
