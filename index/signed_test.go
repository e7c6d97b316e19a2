package index

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"

	"github.com/admitgate/admit/codes"
	"github.com/admitgate/admit/gate"
)

// sig1Key is a fixed signing key: Ed25519 signatures are deterministic, so
// codes are the same on every run.
func sig1Key(n byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{n}, ed25519.SeedSize))
}

func pubKeyText(priv ed25519.PrivateKey) string {
	return codes.PublicKeyText(priv.Public().(ed25519.PublicKey))
}

// testSig1 is the pretix_sig1 provider of these tests: item 12 (a day
// ticket) for derby, its variation 3 at the reduced price, item 20 for
// fest (which allows re-entry).
func testSig1(keys ...ed25519.PrivateKey) ProviderSpec {
	if len(keys) == 0 {
		keys = []ed25519.PrivateKey{sig1Key(1)}
	}
	sp := ProviderSpec{Provider: gate.Provider{ID: "pretix", Name: "pretix"}, Kind: ProviderSig1, Sig1: codes.Sig1Config{
		Items: []codes.Sig1Item{
			{Item: 12, Product: gate.Code{Code: "DAY", Name: "Day ticket"}, PriceType: gate.Code{Code: "ADU", Name: "Adult"}, Events: []string{"derby"}},
			{Item: 12, Variation: 3, PriceType: gate.Code{Code: "RED", Name: "Reduced"}},
			{Item: 20, PriceType: gate.Code{Code: "FEST", Name: "Festival"}, Events: []string{"fest"}},
		}}}
	for _, k := range keys {
		sp.Sig1.Keys = append(sp.Sig1.Keys, pubKeyText(k))
	}
	return sp
}

func putSpec(t testing.TB, ix *Index, sp ProviderSpec) {
	t.Helper()
	if _, err := ix.PutProviderSpec(context.Background(), sp); err != nil {
		t.Fatal(err)
	}
}

// signed makes a code of item (and variation) with seed, as pretix signs
// it: both validity bounds present, 0 for none.
func signed(t testing.TB, priv ed25519.PrivateKey, seed string, item, variation int64, from, until time.Time) string {
	t.Helper()
	tk := codes.Sig1Ticket{Seed: seed, Item: item, Variation: variation}
	codes.Sig1Bounds(&tk, from, until)
	code, err := codes.SignSig1(priv, tk)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// TestSignedFirstSight: a good signed code is admitted on its first sight
// and becomes a ticket (its barcode the code's text, its product, price
// type and events the mapping's); the next scan of it anywhere is
// already_used; the journal, the ticket's history and the report count it
// like an imported ticket, and an annulment gives its entry back.
func TestSignedFirstSight(t *testing.T) {
	ctx := context.Background()
	ix, _ := openMem(t)
	putSpec(t, ix, testSig1())
	code := signed(t, sig1Key(1), "CTJqJOl1H", 12, 3, t0.Add(-time.Hour), t0.Add(6*time.Hour))

	if _, err := ix.Ticket(ctx, code); gate.ErrorCode(err) != gate.ENOTFOUND {
		t.Fatalf("the ticket exists before its first sight: %v", err)
	}
	if d := ix.Check(ctx, gate.Scan{Barcode: code, Lane: "north-1", At: during}); d.Reason != gate.ReasonOK || d.Seq != 0 {
		t.Fatalf("check of the new code: %+v", d)
	}
	if _, err := ix.Ticket(ctx, code); gate.ErrorCode(err) != gate.ENOTFOUND {
		t.Fatalf("a check created the ticket: %v", err)
	}
	first := scanAt(ix, code, during)
	if !first.Admit || first.Reason != gate.ReasonOK || first.Event != "derby" || first.Barcode != code ||
		first.Ticket == nil || first.Ticket.Provider != "pretix" || first.Ticket.PriceType != "RED" || first.Ticket.Product != "DAY" {
		t.Fatalf("first sight: %+v %+v", first, first.Ticket)
	}
	v, err := ix.Ticket(ctx, code)
	if err != nil {
		t.Fatal(err)
	}
	if v.Barcode != code || v.Provider != "pretix" || v.PriceType != (gate.Code{Code: "RED", Name: "Reduced"}) ||
		v.Product != (gate.Code{Code: "DAY", Name: "Day ticket"}) || fmt.Sprint(v.Events) != "[derby]" || v.State != gate.StateValid {
		t.Fatalf("the ticket made: %+v", v.Ticket)
	}
	if len(v.Redemptions) != 1 || v.Redemptions[0].Admissions != 1 || !v.Redemptions[0].Inside {
		t.Fatalf("its redemptions: %+v", v.Redemptions)
	}
	again := ix.Scan(ctx, gate.Scan{Barcode: code, Lane: "south-2", Direction: gate.In, At: during.Add(time.Minute)})
	if again.Reason != gate.ReasonAlreadyUsed || again.FirstUsed == nil || again.FirstUsed.Lane != "north-1" {
		t.Fatalf("second scan: %+v", again)
	}
	rep, err := ix.Report(ctx, "derby", during)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Rows) != 1 || rep.Rows[0] != (gate.ReportRow{Provider: "pretix", PriceType: "RED", PriceTypeName: "Reduced", Sold: 1, Used: 1, Inside: 1}) {
		t.Fatalf("report rows: %+v", rep.Rows)
	}
	checkCounters(t, ix)

	if _, err := ix.Annul(ctx, first.Seq, "ops"); err != nil {
		t.Fatal(err)
	}
	if d := scanAt(ix, code, during.Add(2*time.Minute)); d.Reason != gate.ReasonOK {
		t.Fatalf("after the annulment: %+v", d)
	}
	es := allEntries(t, ix)
	v, _ = ix.Ticket(ctx, code)
	if len(v.History) != 4 || len(es) != 4 {
		t.Fatalf("history %d entries, journal %d; want 4 (admission, already used, annulment, admission)", len(v.History), len(es))
	}
	checkCounters(t, ix)
}

// TestSignedRefusedWithoutTheStore: what a signed code tells by itself is
// answered while the store cannot be read (faulted): a forged code, a
// revoked or blocked secret, a code outside its validity, an item nobody
// mapped. None makes a ticket. A good code needs the store (error).
func TestSignedRefusedWithoutTheStore(t *testing.T) {
	ctx := context.Background()
	ix, _ := openMem(t)
	putSpec(t, ix, testSig1())
	key := sig1Key(1)
	revoked := signed(t, key, "revoked01", 12, 0, time.Time{}, time.Time{})
	blocked := signed(t, key, "blocked01", 12, 0, time.Time{}, time.Time{})
	if _, err := ix.PutSecrets(ctx, "pretix", ListRevoked, SecretsAdd, []string{revoked}); err != nil {
		t.Fatal(err)
	}
	if _, err := ix.PutSecrets(ctx, "pretix", ListBlocked, SecretsReplace, []string{blocked}); err != nil {
		t.Fatal(err)
	}
	good := signed(t, key, "good00001", 12, 0, time.Time{}, time.Time{})
	forged := signed(t, sig1Key(9), "good00001", 12, 0, time.Time{}, time.Time{})
	tampered := []byte(good)
	tampered[len(tampered)-2] ^= 'A' ^ 'B'
	cases := []struct {
		name string
		code string
		at   time.Time
		want gate.Reason
	}{
		{"forged", forged, during, gate.ReasonUnknown},
		{"revoked", revoked, during, gate.ReasonRevoked},
		{"blocked", blocked, during, gate.ReasonBlocked},
		{"not yet valid", signed(t, key, "early0001", 12, 0, during.Add(time.Second), time.Time{}), during, gate.ReasonNotYetValid},
		{"expired", signed(t, key, "late00001", 12, 0, time.Time{}, during.Add(-time.Second)), during, gate.ReasonExpired},
		{"unmapped item", signed(t, key, "other0001", 99, 0, time.Time{}, time.Time{}), during, gate.ReasonWrongEvent},
		{"not a code", "4006381333931", during, gate.ReasonUnknown},
	}
	if string(tampered) != good {
		cases = append(cases, struct {
			name string
			code string
			at   time.Time
			want gate.Reason
		}{"one character changed", string(tampered), during, gate.ReasonUnknown})
	}
	ix.faulted.Store(true) // every read of the store is refused with error now
	for _, tc := range cases {
		if d := scanAt(ix, tc.code, tc.at); d.Reason != tc.want || d.Admit {
			t.Errorf("%s: %s %q, want %s", tc.name, d.Reason, d.Detail, tc.want)
		}
	}
	if d := scanAt(ix, good, during); d.Reason != gate.ReasonError {
		t.Errorf("a good code while the store is faulted: %+v", d)
	}
	ix.faulted.Store(false)
	for _, tc := range cases {
		if _, err := ix.Ticket(ctx, tc.code); gate.ErrorCode(err) != gate.ENOTFOUND && gate.ErrorCode(err) != gate.EINVALID {
			t.Errorf("%s: a ticket was made: %v", tc.name, err)
		}
	}
	if d := scanAt(ix, good, during); d.Reason != gate.ReasonOK {
		t.Fatalf("the good code once the store is back: %+v", d)
	}
	// Taken off the block list, the code is good again.
	if res, err := ix.PutSecrets(ctx, "pretix", ListBlocked, SecretsRemove, []string{blocked}); err != nil || res.Removed != 1 || res.Total != 0 {
		t.Fatalf("unblock: %+v %v", res, err)
	}
	if d := scanAt(ix, blocked, during); d.Reason != gate.ReasonOK {
		t.Fatalf("unblocked: %+v", d)
	}
}

// TestSignedConcurrentFirstSight: one new code scanned at many lanes at
// once is admitted exactly once and makes one ticket.
func TestSignedConcurrentFirstSight(t *testing.T) {
	ix, _ := openMem(t)
	putSpec(t, ix, testSig1())
	const lanes = 16
	for round := range 8 {
		code := signed(t, sig1Key(1), fmt.Sprintf("race%05d", round), 12, 0, time.Time{}, time.Time{})
		var wg sync.WaitGroup
		ds := make([]gate.Decision, lanes)
		start := make(chan struct{})
		for i := range ds {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				ds[i] = ix.Scan(context.Background(), gate.Scan{Barcode: code, Lane: fmt.Sprintf("lane-%d", i), Direction: gate.In, At: during})
			}()
		}
		close(start)
		wg.Wait()
		ok := 0
		for _, d := range ds {
			switch d.Reason {
			case gate.ReasonOK:
				ok++
			case gate.ReasonAlreadyUsed:
			default:
				t.Fatalf("round %d: %+v", round, d)
			}
		}
		if ok != 1 {
			t.Fatalf("round %d: %d admissions", round, ok)
		}
	}
	n := 0
	if err := ix.iterPrefix(firstSightPrefix, func(_, _ []byte) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != 8 {
		t.Fatalf("%d first-sight records, want 8", n)
	}
	checkCounters(t, ix)
}

// TestSignedFirstSightRefused: a first sight that does not admit (an event
// this lane does not admit to, an exit of a ticket never inside) makes no
// ticket, and its journal entry names none; the report counts the refusal
// and no sold ticket.
func TestSignedFirstSightRefused(t *testing.T) {
	ctx := context.Background()
	ix, _ := openMem(t)
	putSpec(t, ix, testSig1())
	code := signed(t, sig1Key(1), "refused01", 12, 0, time.Time{}, time.Time{})
	d := ix.Scan(ctx, gate.Scan{Barcode: code, Lane: "cup-gate", Direction: gate.In, At: during, LaneEvents: []string{"cup"}})
	if d.Reason != gate.ReasonWrongEvent {
		t.Fatalf("at the cup's lane: %+v", d)
	}
	if out := exitAt(ix, code, during); out.Reason != gate.ReasonExit || !out.Admit {
		t.Fatalf("exit on first sight: %+v", out)
	}
	if _, err := ix.Ticket(ctx, code); gate.ErrorCode(err) != gate.ENOTFOUND {
		t.Fatalf("a refused first sight made a ticket: %v", err)
	}
	for _, e := range allEntries(t, ix) {
		if e.Decision.Barcode != code {
			t.Fatalf("journal: %+v", e)
		}
	}
	waitWritten(t, ix)
	es, _, _ := ix.entry(d.Seq)
	if es.Key != 0 {
		t.Fatalf("the refusal names ticket key %d", es.Key)
	}
	rep, _ := ix.Report(ctx, "cup", during)
	if len(rep.Rows) != 0 || rep.Denials[gate.ReasonWrongEvent] != 1 {
		t.Fatalf("cup report: %+v", rep)
	}
	checkCounters(t, ix)
	if d := scanAt(ix, code, during); d.Reason != gate.ReasonOK {
		t.Fatalf("then at a derby lane: %+v", d)
	}
}

// TestSignedReopen: the provider, its lists and the tickets its codes made
// survive a restart, and new first sights take keys never handed out.
func TestSignedReopen(t *testing.T) {
	ctx := context.Background()
	fs := vfs.NewMem()
	ix := openFS(t, fs)
	for _, e := range []gate.Event{derby, fest} {
		if _, err := ix.PutEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	putSpec(t, ix, testSig1())
	key := sig1Key(1)
	a := signed(t, key, "reopen001", 12, 0, time.Time{}, time.Time{})
	b := signed(t, key, "reopen002", 20, 0, time.Time{}, time.Time{})
	if d := scanAt(ix, a, during); d.Reason != gate.ReasonOK {
		t.Fatal(d)
	}
	if _, err := ix.PutSecrets(ctx, "pretix", ListRevoked, SecretsAdd, []string{b}); err != nil {
		t.Fatal(err)
	}
	before, _ := ix.Ticket(ctx, a)
	lastKey := ix.signed.nextKey.Load()
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	ix = openFS(t, fs)
	if d := scanAt(ix, a, during); d.Reason != gate.ReasonAlreadyUsed {
		t.Fatalf("a after the restart: %+v", d)
	}
	if d := scanAt(ix, b, during); d.Reason != gate.ReasonRevoked {
		t.Fatalf("b after the restart: %+v", d)
	}
	st, err := ix.ProviderStatus(ctx, "pretix")
	if err != nil || st.Kind != ProviderSig1 || st.Revoked != 1 || st.Sig1 == nil || len(st.Sig1.Items) != 3 {
		t.Fatalf("provider after the restart: %+v %v", st, err)
	}
	if ix.signed.nextKey.Load() < lastKey {
		t.Fatalf("next first-sight key %d after the restart, %d before", ix.signed.nextKey.Load(), lastKey)
	}
	c := signed(t, key, "reopen003", 12, 0, time.Time{}, time.Time{})
	if d := scanAt(ix, c, during); d.Reason != gate.ReasonOK {
		t.Fatal(d)
	}
	rc, _, _ := ix.getTicket(nil, c)
	ra, _, _ := ix.getTicket(nil, a)
	if rc.Key == ra.Key || ra.Key&signedKeyBit == 0 || rc.Key&signedKeyBit == 0 {
		t.Fatalf("keys %x and %x", ra.Key, rc.Key)
	}
	if before.Ticket.Barcode != a {
		t.Fatal(before)
	}
	checkCounters(t, ix)
}

// TestSignedRemap: a provider's new mapping reaches the tickets its codes
// made (product, price type, events), with the report counters.
func TestSignedRemap(t *testing.T) {
	ctx := context.Background()
	ix, _ := openMem(t)
	sp := testSig1()
	putSpec(t, ix, sp)
	code := signed(t, sig1Key(1), "remap0001", 12, 0, time.Time{}, time.Time{})
	if d := scanAt(ix, code, during); d.Reason != gate.ReasonOK {
		t.Fatal(d)
	}
	sp.Sig1.Items[0].PriceType = gate.Code{Code: "VIP", Name: "VIP"}
	sp.Sig1.Items[0].Events = []string{"derby", "fest"}
	putSpec(t, ix, sp)
	v, err := ix.Ticket(ctx, code)
	if err != nil || v.PriceType.Code != "VIP" || fmt.Sprint(v.Events) != "[derby fest]" {
		t.Fatalf("after the new mapping: %+v %v", v.Ticket, err)
	}
	checkCounters(t, ix)
	if d := scanAt(ix, code, during); d.Reason != gate.ReasonOK || d.Event != "fest" {
		t.Fatalf("the ticket now admits to fest: %+v", d)
	}
}

// TestProviderSpecs: what PutProviderSpec refuses, and that a rename keeps
// a provider's kind and keys.
func TestProviderSpecs(t *testing.T) {
	ctx := context.Background()
	ix, _ := openMem(t)
	bad := testSig1()
	bad.Sig1.Items[0].Events = []string{"nope"}
	if _, err := ix.PutProviderSpec(ctx, bad); gate.ErrorCode(err) != gate.EINVALID {
		t.Fatalf("an unknown event: %v", err)
	}
	bad = testSig1()
	bad.Sig1.Keys = []string{"not a key"}
	if _, err := ix.PutProviderSpec(ctx, bad); gate.ErrorCode(err) != gate.EINVALID {
		t.Fatalf("a bad key: %v", err)
	}
	rot := ProviderSpec{Provider: gate.Provider{ID: "tm"}, Kind: ProviderRotating}
	if _, err := ix.PutProviderSpec(ctx, rot); gate.ErrorCode(err) != gate.EINVALID {
		t.Fatalf("rotating without its key: %v", err)
	}
	rot.Rotating.EventKey = bytes.Repeat([]byte{7}, 20)
	if created, err := ix.PutProviderSpec(ctx, rot); err != nil || !created {
		t.Fatalf("rotating: %v %v", created, err)
	}
	rot.Rotating = RotatingSpec{Skew: 30 * time.Second} // the key is kept
	if created, err := ix.PutProviderSpec(ctx, rot); err != nil || created {
		t.Fatalf("rotating without its key again: %v %v", created, err)
	}
	if ix.signed.specs["tm"].Rotating.EventKey == nil {
		t.Fatal("the event key was lost")
	}
	putSpec(t, ix, testSig1())
	if _, err := ix.PutProvider(ctx, gate.Provider{ID: "pretix", Name: "pretix renamed"}); err != nil {
		t.Fatal(err)
	}
	st, err := ix.ProviderStatuses(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != 2 || st[0].ID != "pretix" || st[0].Name != "pretix renamed" || st[0].Kind != ProviderSig1 || st[0].Sig1 == nil ||
		st[1].ID != "tm" || st[1].Kind != ProviderRotating || st[1].Rotating == nil || st[1].Rotating.Skew != 30*time.Second || st[1].Rotating.Step != codes.DefaultStep {
		t.Fatalf("statuses: %+v", st)
	}
	if _, err := ix.PutSecrets(ctx, "tm", ListBlocked, SecretsAdd, []string{"x"}); gate.ErrorCode(err) != gate.EINVALID {
		t.Fatalf("a list on a rotating provider: %v", err)
	}
	if _, err := ix.PutSecrets(ctx, "nope", ListBlocked, SecretsAdd, []string{"x"}); gate.ErrorCode(err) != gate.ENOTFOUND {
		t.Fatalf("a list of no provider: %v", err)
	}
	if _, err := ix.PutSecrets(ctx, "pretix", ListBlocked, SecretsAdd, []string{"bad\x01"}); gate.ErrorCode(err) != gate.EINVALID {
		t.Fatalf("a secret that is no barcode: %v", err)
	}
	// Put again as it was (every SIGHUP does), a provider does not wait for
	// an import; a changed mapping does, since it rewrites tickets.
	if err := ix.lockAdmin(ctx); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	if _, err := ix.PutProviderSpec(short, testSig1()); err != nil {
		t.Errorf("the same spec while an import runs: %v", err)
	}
	changed := testSig1()
	changed.Sig1.Items[0].PriceType.Code = "OTHER"
	if _, err := ix.PutProviderSpec(short, changed); err == nil {
		t.Errorf("a new mapping did not wait for the import")
	}
	cancel()
	ix.unlockAdmin()
	// Made a list provider again, its codes go the way other barcodes go.
	putSpec(t, ix, ProviderSpec{Provider: gate.Provider{ID: "pretix"}, Kind: ProviderList})
	code := signed(t, sig1Key(1), "listagain", 12, 0, time.Time{}, time.Time{})
	if d := scanAt(ix, code, during); d.Reason != gate.ReasonUnknown {
		t.Fatalf("a code of a provider no longer signed: %+v", d)
	}
}

// TestSignedFirstSightCommitLandsLate: a first sight whose commit times out
// is refused with error; when its batch reaches the disk after all, the
// recovery takes back the redemption and the ticket it made, and the code
// is admitted when scanned again.
func TestSignedFirstSightCommitLandsLate(t *testing.T) {
	hang := &hungWAL{release: make(chan struct{})}
	o := testOptions(errorfs.Wrap(vfs.NewMem(), hang))
	o.CommitTimeout = 2 * time.Second
	ix := openDerby(t, o)
	if _, err := ix.PutEvent(context.Background(), fest); err != nil {
		t.Fatal(err)
	}
	putSpec(t, ix, testSig1())
	code := signed(t, sig1Key(1), "late00001", 12, 0, time.Time{}, time.Time{})
	hang.on.Store(true)
	d := returnsWithin(t, 30*time.Second, "a first sight on a hung disk", func() gate.Decision { return scanAt(ix, code, during) })
	if d.Reason != gate.ReasonError {
		t.Fatalf("on a hung disk: %+v", d)
	}
	hang.on.Store(false)
	close(hang.release)
	waitFor(t, "the recovery", func() bool { return !ix.Stats().Faulted })
	if _, err := ix.Ticket(context.Background(), code); gate.ErrorCode(err) != gate.ENOTFOUND {
		t.Fatalf("the refused first sight kept its ticket: %v", err)
	}
	if again := scanAt(ix, code, during); again.Reason != gate.ReasonOK {
		t.Fatalf("scanned again: %+v", again)
	}
	checkCounters(t, ix)
}
