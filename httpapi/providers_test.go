package httpapi_test

import (
	"bytes"
	"context"
	"github.com/admitgate/admit/internal/testkit"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/httpapi"
)

// fakeProviders is a ProviderStore that records what it is given.
type fakeProviders struct {
	mu      sync.Mutex
	specs   []httpapi.ProviderSpec
	lists   []listCall
	views   []httpapi.ProviderView
	err     error
	clocksN int
}

type listCall struct {
	provider, list, op string
	secrets            []string
}

func (f *fakeProviders) PutProviderSpec(_ context.Context, p httpapi.ProviderSpec) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return false, f.err
	}
	f.specs = append(f.specs, p)
	f.views = []httpapi.ProviderView{{ID: p.ID, Name: p.Name, Kind: p.Kind}}
	return len(f.specs) == 1, nil
}

func (f *fakeProviders) ProviderViews(context.Context) ([]httpapi.ProviderView, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.views, nil
}

func (f *fakeProviders) PutSecrets(_ context.Context, provider, list, op string, secrets []string) (httpapi.SecretsResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return httpapi.SecretsResult{}, f.err
	}
	f.lists = append(f.lists, listCall{provider, list, op, secrets})
	return httpapi.SecretsResult{Added: len(secrets), Total: len(secrets)}, nil
}

func (f *fakeProviders) Clocks() []httpapi.RotatingClock {
	return []httpapi.RotatingClock{{Provider: "tm", SkewSeconds: -2, Codes: 7}}
}

// TestPutProviderWithAKind: PUT /v1/providers/{id} hands a pretix_sig1 or
// rotating provider's checks to the store, refuses what a body alone can
// tell is wrong, and never echoes (nor logs) the event key.
func TestPutProviderWithAKind(t *testing.T) {
	store := &fakeProviders{}
	_, base := testServer(t, httpapi.Config{Index: echoIndex(nil), Providers: store})
	const eventKey = "b3519364e0c7914c1f9d59d35652a04067d2f647"
	testkit.WatchSecret(eventKey)

	sig1 := `{"name":"pretix","kind":"pretix_sig1","keys":["LS0tLS1CRUdJTiBQVUJMSUMgS0VZLS0tLS0K"],` +
		`"items":[{"item":12,"variation":3,"price_type":{"code":"ADU","name":"Adult"},"events":["derby"]}],"subevents":[{"subevent":14,"events":["derby"]}]}`
	r := do(t, "PUT", base+"/v1/providers/pretix", adminSecret, sig1)
	if r.Status != 201 {
		t.Fatalf("sig1: %d %s", r.Status, r.Body)
	}
	got := store.specs[0]
	if got.ID != "pretix" || got.Kind != "pretix_sig1" || len(got.Sig1.Keys) != 1 || len(got.Sig1.Items) != 1 ||
		got.Sig1.Items[0].Variation != 3 || got.Sig1.Items[0].PriceType.Code != "ADU" || got.Sig1.Subevents[0].Subevent != 14 {
		t.Fatalf("spec: %+v", got)
	}
	r = do(t, "PUT", base+"/v1/providers/tm", adminSecret, `{"name":"TM","kind":"rotating","event_key":"`+eventKey+`","skew":"30s"}`)
	if r.Status != 200 || bytes.Contains(r.Body, []byte(eventKey)) {
		t.Fatalf("rotating: %d %s", r.Status, r.Body)
	}
	got = store.specs[1]
	if got.Kind != "rotating" || len(got.EventKey) != 20 || got.Skew != 30*time.Second || got.Step != 0 {
		t.Fatalf("rotating spec: %+v", got)
	}

	bad := []struct{ name, body, want string }{
		{"keys without a kind", `{"name":"x","keys":["k"]}`, "name the provider's kind"},
		{"unknown kind", `{"name":"x","kind":"qr"}`, "must be list, pretix_sig1 or rotating"},
		{"list with keys", `{"name":"x","kind":"list","keys":["k"]}`, "list provider has no"},
		{"sig1 with an event key", `{"name":"x","kind":"pretix_sig1","event_key":"` + eventKey + `"}`, "no event_key"},
		{"rotating with items", `{"name":"x","kind":"rotating","items":[{"item":1}]}`, "no keys, items"},
		{"event key not hex", `{"name":"x","kind":"rotating","event_key":"` + eventKey[:30] + `zz"}`, "as hex"},
		{"bad step", `{"name":"x","kind":"rotating","step":"fast"}`, "a duration such as"},
		{"unknown field", `{"name":"x","kind":"rotating","secret":"y"}`, "secret"},
	}
	for _, tc := range bad {
		r := do(t, "PUT", base+"/v1/providers/x", adminSecret, tc.body)
		if r.Status != 400 || !strings.Contains(string(r.Body), tc.want) || strings.Contains(string(r.Body), eventKey[:30]) {
			t.Errorf("%s: %d %s", tc.name, r.Status, r.Body)
		}
	}
	if len(store.specs) != 2 {
		t.Fatalf("a refused body reached the store: %+v", store.specs[2:])
	}
	store.err = gate.Errorf(gate.EINVALID, "provider x: item 1 has no price type")
	if r := do(t, "PUT", base+"/v1/providers/x", adminSecret, `{"kind":"pretix_sig1"}`); r.Status != 400 || r.errorCode(t) != gate.EINVALID {
		t.Fatalf("the store's refusal: %d %s", r.Status, r.Body)
	}
	if r := do(t, "PUT", base+"/v1/providers/x", viewerSecret, `{"kind":"pretix_sig1"}`); r.Status != 403 {
		t.Fatalf("a viewer: %d", r.Status)
	}
	// A body over the JSON limit for other routes is fine here (many items).
	var items []string
	for i := range 400 {
		items = append(items, `{"item":`+itoa(i+1)+`,"price_type":{"code":"ADU"},"events":["derby"]}`)
	}
	store.err = nil
	big := `{"name":"big","kind":"pretix_sig1","keys":["k"],"items":[` + strings.Join(items, ",") + `]}`
	if len(big) < 16<<10 {
		t.Fatalf("the big body is only %d bytes", len(big))
	}
	if r := do(t, "PUT", base+"/v1/providers/big", adminSecret, big); r.Status != 200 || len(store.specs[2].Sig1.Items) != 400 {
		t.Fatalf("a provider with 400 items: %d %s", r.Status, r.Body)
	}
}

func itoa(i int) string {
	var b []byte
	for {
		b = append([]byte{byte('0' + i%10)}, b...)
		if i /= 10; i == 0 {
			return string(b)
		}
	}
}

// TestProviderLists: a list body is one secret a line (BOM, CRLF, blanks
// and spaces around ignored); PUT replaces, POST adds, DELETE takes one off
// by its percent-encoded text; a line that is no barcode refuses the list.
func TestProviderLists(t *testing.T) {
	store := &fakeProviders{}
	_, base := testServer(t, httpapi.Config{Index: echoIndex(nil), Providers: store})
	body := "\xef\xbb\xbf==AQAoAB1g/Bq+tdhl\r\n\r\n  ==second \n"
	r := do(t, "PUT", base+"/v1/providers/pretix/revoked", adminSecret, body)
	if r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	var res httpapi.SecretsResult
	r.json(t, &res)
	if res.Provider != "pretix" || res.List != "revoked" || res.Added != 2 {
		t.Fatalf("result %+v", res)
	}
	if c := store.lists[0]; c.op != "replace" || c.list != "revoked" || len(c.secrets) != 2 || c.secrets[0] != "==AQAoAB1g/Bq+tdhl" || c.secrets[1] != "==second" {
		t.Fatalf("call %+v", c)
	}
	if r := do(t, "POST", base+"/v1/providers/pretix/blocked", adminSecret, "==x\n"); r.Status != 200 || store.lists[1].op != "add" || store.lists[1].list != "blocked" {
		t.Fatalf("post: %d %+v", r.Status, store.lists)
	}
	secret := "==AQAoAB1g/Bq+tdhl"
	if r := do(t, "DELETE", base+"/v1/providers/pretix/blocked/"+url.PathEscape(secret), adminSecret, nil); r.Status != 200 {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	if c := store.lists[2]; c.op != "remove" || len(c.secrets) != 1 || c.secrets[0] != secret {
		t.Fatalf("delete call %+v", c)
	}
	for name, body := range map[string]string{
		"control character": "ok\nbad\x01line\n",
		"too long":          strings.Repeat("A", 300) + "\n",
		"not UTF-8":         "\xff\xfe\n",
	} {
		if r := do(t, "PUT", base+"/v1/providers/pretix/revoked", adminSecret, body); r.Status != 400 {
			t.Errorf("%s: %d %s", name, r.Status, r.Body)
		}
	}
	if len(store.lists) != 3 {
		t.Fatalf("a refused list reached the store: %+v", store.lists[3:])
	}
	if r := do(t, "PUT", base+"/v1/providers/pretix/revoked", viewerSecret, "x\n"); r.Status != 403 {
		t.Fatalf("a viewer: %d", r.Status)
	}
	// A large list streams through.
	var big strings.Builder
	for i := range 50_000 {
		big.WriteString("secret-" + itoa(i) + "\n")
	}
	if r := do(t, "PUT", base+"/v1/providers/pretix/revoked", adminSecret, big.String()); r.Status != 200 || len(store.lists[3].secrets) != 50_000 {
		t.Fatalf("a list of 50,000: %d %s", r.Status, r.Body)
	}
}

// TestProvidersWithoutAStore: without a ProviderStore, providers are names
// (GET shows kind list), a PUT with a kind and the lists answer 503.
func TestProvidersWithoutAStore(t *testing.T) {
	idx := echoIndex(nil)
	idx.ProvidersFunc = func(context.Context) ([]gate.Provider, error) {
		return []gate.Provider{{ID: "p", Name: "P"}}, nil
	}
	_, base := testServer(t, httpapi.Config{Index: idx})
	var got httpapi.ProvidersResponse
	do(t, "GET", base+"/v1/providers", viewerSecret, nil).json(t, &got)
	if len(got.Providers) != 1 || !reflect.DeepEqual(got.Providers[0], httpapi.ProviderView{ID: "p", Name: "P", Kind: "list"}) {
		t.Fatalf("%+v", got)
	}
	if r := do(t, "GET", base+"/v1/providers/nope", viewerSecret, nil); r.Status != 404 {
		t.Fatalf("an unknown provider: %d", r.Status)
	}
	if r := do(t, "PUT", base+"/v1/providers/p", adminSecret, `{"kind":"pretix_sig1"}`); r.Status != 503 {
		t.Fatalf("a kind without a store: %d %s", r.Status, r.Body)
	}
	if r := do(t, "POST", base+"/v1/providers/p/revoked", adminSecret, "x\n"); r.Status != 503 {
		t.Fatalf("a list without a store: %d %s", r.Status, r.Body)
	}
}

// TestLanesShowClocks: GET /v1/lanes carries the rotating providers' clock
// skew.
func TestLanesShowClocks(t *testing.T) {
	_, base := testServer(t, httpapi.Config{Index: echoIndex(nil), Providers: &fakeProviders{}})
	var got httpapi.LanesResponse
	do(t, "GET", base+"/v1/lanes", viewerSecret, nil).json(t, &got)
	if len(got.Clocks) != 1 || got.Clocks[0] != (httpapi.RotatingClock{Provider: "tm", SkewSeconds: -2, Codes: 7}) {
		t.Fatalf("%+v", got.Clocks)
	}
}
