package index

import (
	"context"
	"fmt"
	"slices"

	"github.com/cockroachdb/pebble/v2"

	"github.com/admitgate/admit/codes"
	"github.com/admitgate/admit/gate"
)

// A pretix_sig1 provider's revocation and block lists (pretix's
// revokedsecrets and blockedsecrets): the texts of codes refused before
// anything else is looked at. They are kept one record a secret (s, the
// list's letter, the provider, a zero byte, the secret; empty values), in
// memory in the codes.Lists every verifier of the provider shares, and
// apply to the next scan once a change is committed.

// SecretList names a provider's list.
type SecretList uint8

// The lists.
const (
	ListRevoked SecretList = iota + 1
	ListBlocked
)

// ParseSecretList reads "revoked" or "blocked".
func ParseSecretList(s string) (SecretList, error) {
	switch s {
	case "revoked":
		return ListRevoked, nil
	case "blocked":
		return ListBlocked, nil
	}
	return 0, gate.Errorf(gate.EINVALID, "list %q: use revoked or blocked", s)
}

func (l SecretList) String() string {
	if l == ListBlocked {
		return "blocked"
	}
	return "revoked"
}

// SecretsOp is what PutSecrets does with the secrets it is given.
type SecretsOp uint8

// The operations.
const (
	SecretsReplace SecretsOp = iota + 1 // the list becomes exactly the secrets
	SecretsAdd                          // the secrets join the list
	SecretsRemove                       // the secrets leave the list
)

// MaxListSecrets bounds one provider's list: it is held in memory.
const MaxListSecrets = 1 << 20

// SecretsResult is what PutSecrets changed.
type SecretsResult struct {
	Added   int `json:"added"`
	Removed int `json:"removed"`
	Total   int `json:"total"` // secrets on the list now
}

// PutSecrets changes a pretix_sig1 provider's revocation or block list
// and commits it with Sync; scans see it as soon as it returns. Secrets
// must be barcodes (gate.CheckBarcode); repeats count once. ENOTFOUND for
// an unknown provider, EINVALID for a provider that is not pretix_sig1, a
// bad secret or a list over MaxListSecrets.
func (ix *Index) PutSecrets(ctx context.Context, provider string, l SecretList, op SecretsOp, secrets []string) (SecretsResult, error) {
	if l != ListRevoked && l != ListBlocked {
		return SecretsResult{}, gate.Errorf(gate.EINVALID, "no such list")
	}
	if op < SecretsReplace || op > SecretsRemove {
		return SecretsResult{}, gate.Errorf(gate.EINVALID, "no such list operation")
	}
	for i, s := range secrets {
		if err := gate.CheckBarcode(s); err != nil {
			return SecretsResult{}, gate.Errorf(gate.EINVALID, "secret %d: %v", i+1, err)
		}
	}
	want := map[string]struct{}{}
	for _, s := range secrets {
		want[s] = struct{}{}
	}
	if err := ix.enter(); err != nil {
		return SecretsResult{}, err
	}
	defer ix.exit()
	st := &ix.signed
	st.listMu.Lock()
	defer st.listMu.Unlock()
	ix.catMu.Lock()
	st.mu.Lock()
	sp, ok := st.specs[provider]
	var lists *codes.Lists
	if ok && sp.Kind == ProviderSig1 {
		lists = st.listsOf(provider)
	}
	st.mu.Unlock()
	_, known := (*ix.providers.Load())[provider]
	ix.catMu.Unlock()
	switch {
	case !known:
		return SecretsResult{}, gate.Errorf(gate.ENOTFOUND, "no provider %q", provider)
	case lists == nil:
		return SecretsResult{}, gate.Errorf(gate.EINVALID, "provider %s is not a pretix_sig1 provider: only signed codes have revocation and block lists (an imported ticket is blocked with POST /v1/tickets/{barcode}/block)", provider)
	}
	set := &lists.Revoked
	if l == ListBlocked {
		set = &lists.Blocked
	}
	var add, remove []string
	switch op {
	case SecretsReplace:
		for s := range want {
			if !set.Contains(s) {
				add = append(add, s)
			}
		}
		for _, s := range set.List() {
			if _, keep := want[s]; !keep {
				remove = append(remove, s)
			}
		}
	case SecretsAdd:
		for s := range want {
			if !set.Contains(s) {
				add = append(add, s)
			}
		}
	case SecretsRemove:
		for s := range want {
			if set.Contains(s) {
				remove = append(remove, s)
			}
		}
	}
	total := set.Len() + len(add) - len(remove)
	if total > MaxListSecrets {
		return SecretsResult{}, gate.Errorf(gate.EINVALID, "the %s list of provider %s would hold %d secrets; at most %d", l, provider, total, MaxListSecrets)
	}
	res := SecretsResult{Added: len(add), Removed: len(remove), Total: total}
	if len(add) == 0 && len(remove) == 0 {
		return res, ctx.Err()
	}
	slices.Sort(add)
	slices.Sort(remove)
	if err := ix.commit(func(b *pebble.Batch) {
		for _, s := range add {
			_ = b.Set(listKey(l, provider, s), nil, nil)
		}
		for _, s := range remove {
			_ = b.Delete(listKey(l, provider, s), nil)
		}
	}); err != nil {
		return SecretsResult{}, fmt.Errorf("index: %s list of %s: %w", l, provider, err)
	}
	if _, err := set.Add(add...); err != nil { // checked above: cannot fail
		return SecretsResult{}, err
	}
	set.Remove(remove...)
	ix.log.Info().Str("provider", provider).Stringer("list", l).Int("added", len(add)).Int("removed", len(remove)).
		Int("total", total).Msg("secrets list changed")
	return res, nil
}

// loadLists reads every provider's lists into the codes.Lists of the
// state (the same ones across a recovery: the verifiers hold them). st.mu
// is held.
func (ix *Index) loadLists() error {
	st := &ix.signed
	read := map[string]*[2][]string{}
	if err := ix.iterPrefix([]byte{prefixSigned, 'r'}, func(k, _ []byte) error {
		return addListKey(read, k)
	}); err != nil {
		return err
	}
	if err := ix.iterPrefix([]byte{prefixSigned, 'b'}, func(k, _ []byte) error {
		return addListKey(read, k)
	}); err != nil {
		return err
	}
	for id := range st.lists {
		if read[id] == nil {
			read[id] = &[2][]string{}
		}
	}
	for id, both := range read {
		lists := st.listsOf(id)
		if err := lists.Revoked.Replace(both[0]); err != nil {
			return fmt.Errorf("index: revoked list of %s: %w", id, err)
		}
		if err := lists.Blocked.Replace(both[1]); err != nil {
			return fmt.Errorf("index: blocked list of %s: %w", id, err)
		}
	}
	return nil
}

func addListKey(read map[string]*[2][]string, k []byte) error {
	l, provider, secret, ok := parseListKey(k)
	if !ok {
		return fmt.Errorf("index: list key %q: %w", k, errCorrupt)
	}
	both := read[provider]
	if both == nil {
		both = &[2][]string{}
		read[provider] = both
	}
	both[l-1] = append(both[l-1], secret)
	return nil
}
