package index

import (
	"time"

	"github.com/admitgate/admit/codes"
	"github.com/admitgate/admit/gate"
)

// The records of code providers, frozen like the others (format_test.go).

var (
	fmtRotatingTicket = ticketRec{Key: 44, Upstream: gate.StateValid, T: gate.Ticket{
		Barcode: "TGRLYCqAf2CS", Provider: "tm-rotating", Events: []string{"derby"}, PriceType: gate.Code{Code: "ADU"}, ImportID: 3,
		State: gate.StateValid,
	}, CustomerKey: []byte{0xb3, 0x51, 0x93, 0x64, 0xe0, 0xc7, 0x91, 0x4c, 0x1f, 0x9d, 0x59, 0xd3, 0x56, 0x52, 0xa0, 0x40, 0x67, 0xd2, 0xf6, 0x47}}

	fmtSig1Spec = ProviderSpec{Provider: gate.Provider{ID: "pretix-main", Name: "pretix (signed)"}, Kind: ProviderSig1,
		Sig1: codes.Sig1Config{
			Keys: []string{"LS0tLS1CRUdJTiBQVUJMSUMgS0VZLS0tLS0KTUNvd0JRWURLMlZ3QXlFQTdBRDcvdkZBMFJmQm9Eb0tUbHZaUEtjeFRMN1ZDdFYxT2lZZFZ2cUlDSWs9Ci0tLS0tRU5EIFBVQkxJQyBLRVktLS0tLQo="},
			Items: []codes.Sig1Item{
				{Item: 12, Product: gate.Code{Code: "DAY", Name: "Day ticket"}, PriceType: gate.Code{Code: "ADU", Name: "Adult"}, Events: []string{"derby"}},
				{Item: 12, Variation: 3, PriceType: gate.Code{Code: "RED", Name: "Reduced"}},
			},
			Subevents: []codes.Sig1Subevent{{Subevent: 14, Events: []string{"derby", "fest"}}},
		}}
	fmtRotatingSpec = ProviderSpec{Provider: gate.Provider{ID: "tm-rotating", Name: "Ticketmaster SafeTix"}, Kind: ProviderRotating,
		Rotating: RotatingSpec{EventKey: []byte("0123456789abcdef0123"), Step: 15 * time.Second, Skew: 30 * time.Second}}
	fmtListSpec = ProviderSpec{Provider: fmtProvider, Kind: ProviderList}
)

// listRecord is what a list record's key holds.
type listRecord struct {
	List             SecretList
	Provider, Secret string
}

func signedGoldenRecords() []goldenRecord {
	provider := func(sp ProviderSpec, file, about string) goldenRecord {
		return goldenRecord{file: file, about: about, key: providerKey(sp.ID), want: sp,
			encode: func() []byte { return encodeProvider(&sp) },
			decode: func(k, v []byte) (any, error) { return decodeProvider(k, v) }}
	}
	list := func(r listRecord, file, about string) goldenRecord {
		return goldenRecord{file: file, about: about, key: listKey(r.List, r.Provider, r.Secret), want: r,
			encode: func() []byte { return nil },
			decode: func(k, v []byte) (any, error) {
				l, p, s, ok := parseListKey(k)
				if !ok || len(v) != 0 {
					return nil, errCorrupt
				}
				return listRecord{l, p, s}, nil
			}}
	}
	sight := firstSight{Provider: "pretix-main", Barcode: "==AQAoAB1gBqtdhl3Y"}
	return []goldenRecord{
		provider(fmtListSpec, "provider.v2-list", "provider, version 2: p<id> -> 0xff 2 encodeProvider; barcodes imported"),
		provider(fmtSig1Spec, "provider.v2-pretix-sig1", "provider, version 2: pretix_sig1 keys, items and subevents"),
		provider(fmtRotatingSpec, "provider.v2-rotating", "provider, version 2: a rotating provider's event key, step and skew (seconds)"),
		list(listRecord{ListRevoked, "pretix-main", "==AQAoAB1gBqtdhl3Y"}, "signed.revoked", "a pretix_sig1 provider's revoked secret: sr<provider>0<secret> -> nothing"),
		list(listRecord{ListBlocked, "pretix-main", "==AQAoAB1gBqtdhl3Z"}, "signed.blocked", "a pretix_sig1 provider's blocked secret: sb<provider>0<secret> -> nothing"),
		{file: "signed.first-sight.v1", about: "a ticket a signed code made on first sight, version 1: sk<key:8> -> encodeFirstSight",
			key: firstSightKey(signedKeyBit | 7), want: [2]any{signedKeyBit | uint64(7), sight},
			encode: func() []byte { return encodeFirstSight(sight) },
			decode: func(k, v []byte) (any, error) {
				key, err := decodeU64(k[len(firstSightPrefix):])
				if err != nil {
					return nil, err
				}
				f, err := decodeFirstSight(v)
				return [2]any{key, f}, err
			}},
	}
}
