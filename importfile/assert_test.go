package importfile

import (
	"reflect"
	"testing"
	"unsafe"

	"github.com/admitgate/admit/gate"
)

func assertTicket(t testing.TB, got, want gate.Ticket) {
	t.Helper()
	if !got.ValidityAt.Equal(want.ValidityAt) || !got.OrderedAt.Equal(want.OrderedAt) {
		t.Errorf("%s: dates %v, %v; want %v, %v", want.Barcode, got.ValidityAt, got.OrderedAt, want.ValidityAt, want.OrderedAt)
	}
	got.ValidityAt, got.OrderedAt = want.ValidityAt, want.OrderedAt
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ticket\n got %+v\nwant %+v", got, want)
	}
}

// sameString reports whether a and b share their bytes.
func sameString(a, b string) bool {
	return len(a) == len(b) && (len(a) == 0 || unsafe.StringData(a) == unsafe.StringData(b))
}
