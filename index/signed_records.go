package index

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/admitgate/admit/codes"
	"github.com/admitgate/admit/gate"
)

// The records of providers and of what signed codes leave in the store,
// in the encoding of codec.go; frozen by testdata/format like the others.

// A provider record was, in version 1, the provider's name alone (valid
// UTF-8, so it never holds the byte 0xff). From version 2 it starts with
// providerMarker and a version byte, then the name and the kind of its
// codes with what checks them.
const (
	providerMarker  = 0xff
	providerVersion = 2
)

// The kinds as stored.
const (
	storedList     = 0
	storedSig1     = 1
	storedRotating = 2
)

// encodeProvider encodes a provider record (version 2).
func encodeProvider(sp *ProviderSpec) []byte {
	e := encoder{}
	e.byte(providerMarker)
	e.byte(providerVersion)
	e.string(sp.Name)
	switch sp.Kind {
	case ProviderSig1:
		e.byte(storedSig1)
		c := &sp.Sig1
		e.strings(c.Keys)
		e.uvarint(uint64(len(c.Items)))
		for _, it := range c.Items {
			e.varint(it.Item)
			e.varint(it.Variation)
			e.string(it.Product.Code)
			e.string(it.Product.Name)
			e.string(it.PriceType.Code)
			e.string(it.PriceType.Name)
			e.strings(it.Events)
		}
		e.uvarint(uint64(len(c.Subevents)))
		for _, s := range c.Subevents {
			e.varint(s.Subevent)
			e.strings(s.Events)
		}
	case ProviderRotating:
		e.byte(storedRotating)
		r := &sp.Rotating
		e.string(string(r.EventKey))
		e.uvarint(uint64(r.Step / time.Second))
		e.uvarint(uint64(r.Skew / time.Second))
	default:
		e.byte(storedList)
	}
	return e.b
}

// decodeProvider reads a provider's key and record, of either version.
func decodeProvider(k, v []byte) (ProviderSpec, error) {
	sp := ProviderSpec{Provider: gate.Provider{ID: string(k[1:])}, Kind: ProviderList}
	if len(v) == 0 || v[0] != providerMarker {
		sp.Name = string(v) // version 1
		return sp, nil
	}
	d := decoder{b: v[1:]}
	d.versionUpTo("provider", providerVersion)
	sp.Name = d.string()
	switch kind := d.byte(); kind {
	case storedList:
	case storedSig1:
		sp.Kind = ProviderSig1
		c := &sp.Sig1
		c.Keys = d.strings()
		n := d.uvarint()
		if n > uint64(len(d.b)) {
			d.fail()
			n = 0
		}
		for range n {
			c.Items = append(c.Items, codes.Sig1Item{Item: d.varint(), Variation: d.varint(),
				Product: gate.Code{Code: d.string(), Name: d.string()}, PriceType: gate.Code{Code: d.string(), Name: d.string()},
				Events: d.strings()})
		}
		n = d.uvarint()
		if n > uint64(len(d.b)) {
			d.fail()
			n = 0
		}
		for range n {
			c.Subevents = append(c.Subevents, codes.Sig1Subevent{Subevent: d.varint(), Events: d.strings()})
		}
	case storedRotating:
		sp.Kind = ProviderRotating
		r := &sp.Rotating
		if key := d.string(); key != "" {
			r.EventKey = []byte(key)
		}
		r.Step = time.Duration(d.int()) * time.Second
		r.Skew = time.Duration(d.int()) * time.Second
	default:
		if d.err == nil {
			return sp, fmt.Errorf("index: provider %s: kind %d: %w", sp.ID, kind, errCorrupt)
		}
	}
	return sp, d.finish()
}

// listCode names a list in its records' keys.
func listCode(l SecretList) byte {
	if l == ListBlocked {
		return 'b'
	}
	return 'r'
}

// listPrefix is the key prefix of one provider's list: s, the list's
// letter, the provider id and a zero byte (ids hold none).
func listPrefix(l SecretList, provider string) []byte {
	k := make([]byte, 0, 3+len(provider))
	k = append(k, prefixSigned, listCode(l))
	k = append(k, provider...)
	return append(k, 0)
}

// listKey is the key of one secret on a provider's list (the value is
// empty).
func listKey(l SecretList, provider, secret string) []byte {
	return append(listPrefix(l, provider), secret...)
}

// parseListKey splits a list record's key.
func parseListKey(k []byte) (l SecretList, provider, secret string, ok bool) {
	if len(k) < 3 || k[0] != prefixSigned {
		return 0, "", "", false
	}
	switch k[1] {
	case 'r':
		l = ListRevoked
	case 'b':
		l = ListBlocked
	default:
		return 0, "", "", false
	}
	i := bytes.IndexByte(k[2:], 0)
	if i <= 0 {
		return 0, "", "", false
	}
	return l, string(k[2 : 2+i]), string(k[3+i:]), true
}

// firstSightPrefix starts the first-sight records.
var firstSightPrefix = []byte{prefixSigned, 'k'}

// firstSightKey is the key of the first-sight record of a ticket key.
func firstSightKey(key uint64) []byte {
	k := make([]byte, 2, 10)
	copy(k, firstSightPrefix)
	return binary.BigEndian.AppendUint64(k, key)
}

// firstSightVersion is the encoding of a first-sight record.
const firstSightVersion = 1

// firstSight is the record of a ticket a signed code created on its first
// sight: which provider's code, and its barcode (the code's text). The
// store keeps it so the next key survives a restart and a provider's
// changed mapping reaches the tickets it made.
type firstSight struct {
	Provider string
	Barcode  string
}

func encodeFirstSight(f firstSight) []byte {
	e := encoder{}
	e.byte(firstSightVersion)
	e.string(f.Provider)
	e.string(f.Barcode)
	return e.b
}

func decodeFirstSight(b []byte) (firstSight, error) {
	d := decoder{b: b}
	d.version(firstSightVersion)
	f := firstSight{Provider: d.string(), Barcode: d.string()}
	return f, d.finish()
}
