package index

import (
	"reflect"
	"testing"
)

// FuzzSignedRecords feeds the decoders of provider records (both
// versions), first-sight records and list keys: nothing panics, and what
// decodes survives a round trip.
func FuzzSignedRecords(f *testing.F) {
	for _, sp := range []ProviderSpec{fmtListSpec, fmtSig1Spec, fmtRotatingSpec} {
		f.Add(encodeProvider(&sp))
	}
	f.Add([]byte("SecuTix (main)")) // version 1: the name
	f.Add([]byte{providerMarker, providerVersion, 0, 9})
	f.Add(encodeFirstSight(firstSight{Provider: "p", Barcode: "==AQ"}))
	f.Add(listKey(ListBlocked, "p", "==AQ"))
	f.Fuzz(func(t *testing.T, b []byte) {
		key := providerKey("p")
		if sp, err := decodeProvider(key, b); err == nil {
			again, err := decodeProvider(key, encodeProvider(&sp))
			if err != nil || !reflect.DeepEqual(again, sp) {
				t.Fatalf("provider round trip: %+v\n%+v %v", sp, again, err)
			}
		}
		if fs, err := decodeFirstSight(b); err == nil {
			again, err := decodeFirstSight(encodeFirstSight(fs))
			if err != nil || again != fs {
				t.Fatalf("first-sight round trip: %+v %+v %v", fs, again, err)
			}
		}
		if l, p, s, ok := parseListKey(b); ok {
			if l2, p2, s2, ok2 := parseListKey(listKey(l, p, s)); !ok2 || l2 != l || p2 != p || s2 != s {
				t.Fatalf("list key round trip: %v %q %q", l, p, s)
			}
		}
	})
}
