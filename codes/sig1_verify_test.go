package codes_test

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/admitgate/admit/codes"
	"github.com/admitgate/admit/gate"
)

var t0 = time.Date(2026, 6, 1, 18, 0, 0, 0, time.UTC)

// Several keys may be valid while pretix rotates them: codes of either are
// accepted, in any order, and a third key's are not.
func TestSig1SecondKey(t *testing.T) {
	v := provider(t, nil)
	tk := pretixTicket("a1B2c3D4e", 12, 0, 0, time.Time{}, time.Time{})
	one, two, three := sign(t, testKey(1), tk), sign(t, testKey(2), tk), sign(t, testKey(3), tk)
	for i, code := range []string{one, two, one, two, two, one} {
		if got := v.Check(code, t0, gate.In); got.Reason != 0 || !got.Signed {
			t.Errorf("code %d: %+v", i, got)
		}
	}
	got := v.Check(three, t0, gate.In)
	if got.Reason != gate.ReasonUnknown || !got.Parsed || got.Signed || !strings.Contains(got.Detail, "not signed by any key of provider pretix-main") {
		t.Errorf("a third key's code: %+v", got)
	}
	// A good payload under another code's signature.
	c1, _ := codes.ParseSig1(one)
	c3, _ := codes.ParseSig1(sign(t, testKey(1), pretixTicket("zzzzzzzzz", 12, 0, 0, time.Time{}, time.Time{})))
	if got := v.Check(codes.EncodeSig1(c1.Payload, c3.Signature), t0, gate.In); got.Reason != gate.ReasonUnknown || got.Signed {
		t.Errorf("a spliced signature: %+v", got)
	}
}

// The ticket to create on first sight: barcode the code, events sorted and
// unique, the mapping's product and price type, and the seed alongside.
func TestSig1TicketOnFirstSight(t *testing.T) {
	v := provider(t, nil)
	code := sign(t, testKey(1), pretixTicket("a1B2c3D4e", 20, 0, 0, time.Time{}, time.Time{}))
	got := v.Check(code, t0, gate.In)
	want := gate.Ticket{Barcode: code, Provider: "pretix-main", Events: []string{"MATCH-1", "MATCH-2"}, State: gate.StateValid, PriceType: gate.Code{Code: "VIP"}}
	if got.Reason != 0 || got.Decoded.Seed != "a1B2c3D4e" || !equalTicket(got.Ticket, want) {
		t.Errorf("Check = %+v\nwant ticket %+v", got, want)
	}
	if err := got.Ticket.Validate(); err != nil {
		t.Errorf("the ticket does not validate: %v", err)
	}
}

func equalTicket(a, b gate.Ticket) bool {
	return a.Barcode == b.Barcode && a.Provider == b.Provider && slices.Equal(a.Events, b.Events) &&
		a.State == b.State && a.PriceType == b.PriceType && a.Product == b.Product
}

// Revoked and blocked lists, checked after the signature, in pretix's order.
func TestSig1Lists(t *testing.T) {
	v := provider(t, nil)
	l := v.Lists()
	tk := pretixTicket("a1B2c3D4e", 12, 0, 0, time.Time{}, time.Time{})
	code := sign(t, testKey(1), tk)
	other := sign(t, testKey(2), tk)
	forged := sign(t, testKey(3), tk)
	check := func(what, text string, want gate.Reason, detail string) {
		t.Helper()
		got := v.Check(text, t0, gate.In)
		if got.Reason != want || !strings.Contains(got.Detail, detail) || (want == 0) != (got.Ticket.Barcode != "") {
			t.Errorf("%s: %+v, want %s %q", what, got, want, detail)
		}
	}
	if n, err := l.Revoked.Add(code, forged); n != 2 || err != nil {
		t.Fatalf("Add = %d, %v", n, err)
	}
	check("revoked", code, gate.ReasonRevoked, "revoked")
	check("same ticket, other secret", other, 0, "")
	check("a forged code on the revocation list", forged, gate.ReasonUnknown, "not signed")
	if _, err := l.Blocked.Add(code, other); err != nil {
		t.Fatal(err)
	}
	check("revoked and blocked", code, gate.ReasonRevoked, "revoked")
	check("blocked", other, gate.ReasonBlocked, "block list")
	if got := v.Check(other, t0, gate.Out); got.Reason != gate.ReasonBlocked {
		t.Errorf("blocked exit: %+v", got)
	}
	if n := l.Blocked.Remove(other, "nothing"); n != 1 {
		t.Errorf("Remove = %d", n)
	}
	check("unblocked", other, 0, "")
	if err := l.Revoked.Replace(nil); err != nil || l.Revoked.Len() != 0 {
		t.Fatal(err)
	}
	check("revocation list emptied", code, gate.ReasonBlocked, "block list")

	// A new configuration keeps the provider's lists.
	next, err := codes.NewSig1("pretix-main", codes.Sig1Config{Keys: []string{pubText(testKey(1))}, Items: []codes.Sig1Item{{Item: 12, PriceType: gate.Code{Code: "ADU"}, Events: []string{"X"}}}}, l)
	if err != nil {
		t.Fatal(err)
	}
	if got := next.Check(code, t0, gate.In); got.Reason != gate.ReasonBlocked {
		t.Errorf("after reconfiguration: %+v", got)
	}
}

func TestSecretSet(t *testing.T) {
	var s codes.SecretSet
	if s.Contains("a") || s.Len() != 0 {
		t.Fatal("zero set not empty")
	}
	if n, err := s.Add("b", "a", "b"); n != 2 || err != nil {
		t.Fatalf("Add = %d, %v", n, err)
	}
	if _, err := s.Add("c", "bad\x01"); gate.ErrorCode(err) != gate.EINVALID || s.Contains("c") {
		t.Errorf("a bad secret: %v, c added: %v", err, s.Contains("c"))
	}
	if err := s.Replace([]string{"x", ""}); err == nil || !s.Contains("a") {
		t.Errorf("Replace with an empty secret: %v", err)
	}
	if got := s.List(); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("List = %q", got)
	}
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 200 {
				if i%2 == 0 {
					s.Add(strings.Repeat("z", j%7+1))
				} else {
					s.Contains("a")
					s.Remove(strings.Repeat("z", j%5+1))
				}
			}
		}()
	}
	wg.Wait()
	if !s.Contains("a") || !s.Contains("b") {
		t.Error("concurrent changes lost a secret")
	}
}

// Validity bounds, to the second: valid from validFrom, still valid at
// validUntil; present-but-0, absent or negative is no bound; exits are not
// refused for validity.
func TestSig1Validity(t *testing.T) {
	v := provider(t, nil)
	from, until := t0, t0.Add(4*time.Hour)
	bounded := sign(t, testKey(1), pretixTicket("a1B2c3D4e", 12, 0, 0, from, until))
	zero := sign(t, testKey(1), pretixTicket("b1B2c3D4e", 12, 0, 0, time.Time{}, time.Time{}))
	absent := sign(t, testKey(1), codes.Sig1Ticket{Seed: "c1B2c3D4e", Item: 12})
	negative := sign(t, testKey(1), codes.Sig1Ticket{Seed: "d1B2c3D4e", Item: 12, HasValidFrom: true, ValidFromUnix: -5, HasValidUntil: true, ValidUntilUnix: -1})
	fromOnly := sign(t, testKey(1), pretixTicket("e1B2c3D4e", 12, 0, 0, from, time.Time{}))
	untilOnly := sign(t, testKey(1), pretixTicket("f1B2c3D4e", 12, 0, 0, time.Time{}, until))
	tests := []struct {
		name string
		code string
		at   time.Time
		dir  gate.Direction
		want gate.Reason
	}{
		{"a second before", bounded, from.Add(-time.Second), gate.In, gate.ReasonNotYetValid},
		{"a nanosecond before", bounded, from.Add(-1), gate.In, gate.ReasonNotYetValid},
		{"at validFrom", bounded, from, gate.In, 0},
		{"between", bounded, from.Add(time.Hour), gate.In, 0},
		{"at validUntil", bounded, until, gate.In, 0},
		{"half a second after", bounded, until.Add(500 * time.Millisecond), gate.In, gate.ReasonExpired},
		{"a second after", bounded, until.Add(time.Second), gate.In, gate.ReasonExpired},
		{"exit before", bounded, from.Add(-time.Hour), gate.Out, 0},
		{"exit after", bounded, until.Add(time.Hour), gate.Out, 0},
		{"present but 0, long ago", zero, time.Unix(1, 0), gate.In, 0},
		{"present but 0, far ahead", zero, time.Unix(1<<40, 0), gate.In, 0},
		{"absent", absent, time.Unix(1<<40, 0), gate.In, 0},
		{"negative", negative, t0, gate.In, 0},
		{"from only, before", fromOnly, from.Add(-time.Second), gate.In, gate.ReasonNotYetValid},
		{"from only, years after", fromOnly, from.AddDate(10, 0, 0), gate.In, 0},
		{"until only, years before", untilOnly, until.AddDate(-10, 0, 0), gate.In, 0},
		{"until only, after", untilOnly, until.Add(time.Second), gate.In, gate.ReasonExpired},
	}
	for _, tt := range tests {
		got := v.Check(tt.code, tt.at, tt.dir)
		if got.Reason != tt.want {
			t.Errorf("%s: %s %q, want %s", tt.name, got.Reason, got.Detail, tt.want)
		}
	}
	got := v.Check(bounded, from.Add(-time.Second), gate.In)
	if got.Detail != "the ticket is valid from 2026-06-01T18:00:00Z" || !got.Signed || got.Decoded.ValidFrom() != from || got.Decoded.ValidUntil() != until {
		t.Errorf("not yet valid: %+v", got)
	}
}

// Items, variations and subevents map to events; anything unmapped is
// wrong_event; a subevent on a provider without subevents is ignored.
func TestSig1Mapping(t *testing.T) {
	plain := provider(t, nil)
	series := provider(t, &codes.Sig1Config{
		Keys: []string{pubText(testKey(1))},
		Items: []codes.Sig1Item{
			{Item: 12, Product: gate.Code{Code: "DAY"}, PriceType: gate.Code{Code: "ADU"}},
			{Item: 12, Variation: 3, PriceType: gate.Code{Code: "CHI"}},
			{Item: 30, PriceType: gate.Code{Code: "EARLY"}, Events: []string{"SAT", "SUN"}},
			{Item: 31, PriceType: gate.Code{Code: "FRI"}, Events: []string{"FRI"}},
		},
		Subevents: []codes.Sig1Subevent{{Subevent: 100, Events: []string{"FRI"}}, {Subevent: 101, Events: []string{"SAT"}}, {Subevent: 102, Events: []string{"SUN", "SAT-NIGHT"}}},
	})
	tests := []struct {
		name                      string
		v                         *codes.Sig1
		item, variation, subevent int64
		want                      gate.Reason
		events                    []string
		priceType, product        string
	}{
		{"item", plain, 12, 0, 0, 0, []string{"MATCH-1"}, "ADU", "DERBY"},
		{"variation with a price type of its own", plain, 12, 7, 0, 0, []string{"MATCH-1"}, "CHI", "DERBY"},
		{"variation with events of its own", plain, 12, 8, 0, 0, []string{"MATCH-1", "MATCH-2"}, "ADU", "DERBY"},
		{"unmapped variation is its item's", plain, 12, 99, 0, 0, []string{"MATCH-1"}, "ADU", "DERBY"},
		{"unmapped item", plain, 13, 0, 0, gate.ReasonWrongEvent, nil, "", ""},
		{"subevent ignored without subevents", plain, 12, 0, 555, 0, []string{"MATCH-1"}, "ADU", "DERBY"},
		{"subevent names the events", series, 12, 0, 101, 0, []string{"SAT"}, "ADU", "DAY"},
		{"subevent with two events", series, 12, 3, 102, 0, []string{"SAT-NIGHT", "SUN"}, "CHI", "DAY"},
		{"unmapped subevent", series, 12, 0, 103, gate.ReasonWrongEvent, nil, "", ""},
		{"no subevent on a series", series, 12, 0, 0, gate.ReasonWrongEvent, nil, "", ""},
		{"item narrows the subevent", series, 30, 0, 102, 0, []string{"SUN"}, "EARLY", ""},
		{"item not sold for the subevent", series, 31, 0, 101, gate.ReasonWrongEvent, nil, "", ""},
	}
	for _, tt := range tests {
		code := sign(t, testKey(1), pretixTicket("a1B2c3D4e", tt.item, tt.variation, tt.subevent, time.Time{}, time.Time{}))
		got := tt.v.Check(code, t0, gate.In)
		if got.Reason != tt.want || !slices.Equal(got.Ticket.Events, tt.events) || got.Ticket.PriceType.Code != tt.priceType || got.Ticket.Product.Code != tt.product {
			t.Errorf("%s: %s %q events %q price type %q product %q; want %s %q %q %q", tt.name, got.Reason, got.Detail,
				got.Ticket.Events, got.Ticket.PriceType.Code, got.Ticket.Product.Code, tt.want, tt.events, tt.priceType, tt.product)
		}
		if tt.want == gate.ReasonWrongEvent && (got.Decoded.Item != tt.item || !strings.Contains(got.Detail, "not mapped")) {
			t.Errorf("%s: decoded %+v, detail %q", tt.name, got.Decoded, got.Detail)
		}
	}
}

func TestNewSig1Refuses(t *testing.T) {
	key := pubText(testKey(1))
	item := codes.Sig1Item{Item: 1, PriceType: gate.Code{Code: "ADU"}, Events: []string{"E"}}
	tests := []struct {
		name     string
		provider string
		cfg      codes.Sig1Config
		want     string
	}{
		{"bad provider id", "a b", codes.Sig1Config{Keys: []string{key}, Items: []codes.Sig1Item{item}}, "provider id"},
		{"no key", "p", codes.Sig1Config{Items: []codes.Sig1Item{item}}, "at least one public key"},
		{"bad key", "p", codes.Sig1Config{Keys: []string{"bm90IGEga2V5"}, Items: []codes.Sig1Item{item}}, "key 1: no PEM block"},
		{"same key twice", "p", codes.Sig1Config{Keys: []string{key, key}, Items: []codes.Sig1Item{item}}, "key 2 is listed twice"},
		{"no item", "p", codes.Sig1Config{Keys: []string{key}}, "at least one item"},
		{"item twice", "p", codes.Sig1Config{Keys: []string{key}, Items: []codes.Sig1Item{item, item}}, "item 1 is mapped twice"},
		{"item 0", "p", codes.Sig1Config{Keys: []string{key}, Items: []codes.Sig1Item{{PriceType: gate.Code{Code: "A"}, Events: []string{"E"}}}}, "positive"},
		{"no events without subevents", "p", codes.Sig1Config{Keys: []string{key}, Items: []codes.Sig1Item{{Item: 1, PriceType: gate.Code{Code: "A"}}}}, "admits to no event"},
		{"variation without events or item", "p", codes.Sig1Config{Keys: []string{key}, Items: []codes.Sig1Item{{Item: 2, Variation: 3, PriceType: gate.Code{Code: "A"}}}}, "item 2 variation 3 admits to no event"},
		{"no price type", "p", codes.Sig1Config{Keys: []string{key}, Items: []codes.Sig1Item{{Item: 1, Events: []string{"E"}}}}, "no price type"},
		{"bad event id", "p", codes.Sig1Config{Keys: []string{key}, Items: []codes.Sig1Item{{Item: 1, PriceType: gate.Code{Code: "A"}, Events: []string{"a/b"}}}}, "event id"},
		{"subevent twice", "p", codes.Sig1Config{Keys: []string{key}, Items: []codes.Sig1Item{item}, Subevents: []codes.Sig1Subevent{{Subevent: 1, Events: []string{"E"}}, {Subevent: 1, Events: []string{"F"}}}}, "subevent 1 is mapped twice"},
		{"subevent without events", "p", codes.Sig1Config{Keys: []string{key}, Items: []codes.Sig1Item{item}, Subevents: []codes.Sig1Subevent{{Subevent: 1}}}, "admits to no event"},
		{"subevent 0", "p", codes.Sig1Config{Keys: []string{key}, Items: []codes.Sig1Item{item}, Subevents: []codes.Sig1Subevent{{Events: []string{"E"}}}}, "positive"},
	}
	for _, tt := range tests {
		_, err := codes.NewSig1(tt.provider, tt.cfg, nil)
		if gate.ErrorCode(err) != gate.EINVALID || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
	}
}
