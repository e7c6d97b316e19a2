package codes

import (
	"slices"
	"sync"

	"github.com/admitgate/admit/gate"
)

// Lists are a signed provider's revocation and block lists of secrets (code
// texts), as pretix syncs them to its scanners (revokedsecrets,
// blockedsecrets). pretix revokes the old secret of every ticket it
// reissues, changes or cancels, because a signed code cannot be withdrawn
// otherwise; an admin blocks and unblocks. They are kept apart from the
// verifier so a provider's new configuration keeps its lists. Safe for
// concurrent use.
type Lists struct {
	Revoked SecretSet
	Blocked SecretSet
}

// SecretSet is a set of secrets, read on every scan and changed by imports
// and the API. The zero value is empty and ready. Safe for concurrent use.
type SecretSet struct {
	mu sync.RWMutex
	m  map[string]struct{}
}

// Contains reports whether the set holds secret.
func (s *SecretSet) Contains(secret string) bool {
	s.mu.RLock()
	_, ok := s.m[secret]
	s.mu.RUnlock()
	return ok
}

// Add puts secrets in the set and returns how many were new. A secret that
// is not a barcode (gate.CheckBarcode) refuses the whole call.
func (s *SecretSet) Add(secrets ...string) (int, error) {
	if err := checkSecrets(secrets); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = make(map[string]struct{}, len(secrets))
	}
	n := len(s.m)
	for _, x := range secrets {
		s.m[x] = struct{}{}
	}
	return len(s.m) - n, nil
}

// Remove takes secrets out of the set and returns how many it held.
func (s *SecretSet) Remove(secrets ...string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.m)
	for _, x := range secrets {
		delete(s.m, x)
	}
	return n - len(s.m)
}

// Replace makes the set hold exactly secrets. A secret that is not a
// barcode refuses the call and leaves the set as it was.
func (s *SecretSet) Replace(secrets []string) error {
	if err := checkSecrets(secrets); err != nil {
		return err
	}
	m := make(map[string]struct{}, len(secrets))
	for _, x := range secrets {
		m[x] = struct{}{}
	}
	s.mu.Lock()
	s.m = m
	s.mu.Unlock()
	return nil
}

// Len returns the number of secrets in the set.
func (s *SecretSet) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.m)
}

// List returns the secrets, sorted.
func (s *SecretSet) List() []string {
	s.mu.RLock()
	out := make([]string, 0, len(s.m))
	for x := range s.m {
		out = append(out, x)
	}
	s.mu.RUnlock()
	slices.Sort(out)
	return out
}

func checkSecrets(secrets []string) error {
	for i, x := range secrets {
		if err := gate.CheckBarcode(x); err != nil {
			return gate.Errorf(gate.EINVALID, "secret %d: %v", i+1, err)
		}
	}
	return nil
}
