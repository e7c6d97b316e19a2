package httpapi

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"slices"

	"github.com/admitgate/admit/gate"
)

// Role is what a token may do.
type Role string

// Roles, from the most to the least powerful.
const (
	RoleAdmin   Role = "admin"   // everything but overrides
	RoleScanner Role = "scanner" // POST /v1/scan and /v1/check (optionally only at some lanes), and what a door page reads
	RoleViewer  Role = "viewer"  // every GET under /v1
	// RoleSupervisor scans and reads as a scanner and a viewer do, and
	// alone may override a lane's refusal (POST /v1/lanes/{id}/override),
	// optionally only at some lanes.
	RoleSupervisor Role = "supervisor"
)

// ParseRole returns the role named s.
func ParseRole(s string) (Role, error) {
	switch r := Role(s); r {
	case RoleAdmin, RoleScanner, RoleViewer, RoleSupervisor:
		return r, nil
	}
	return "", gate.Errorf(gate.EINVALID, "role must be admin, scanner, viewer or supervisor, not %q", s)
}

// MinSecretLen is the shortest secret a token may have.
const MinSecretLen = 16

// Token is one bearer token: a name for the audit trail, a role, the secret
// clients send as "Authorization: Bearer <secret>", and, for a scanner, the
// lanes it may scan for (empty: every lane); for a supervisor, the lanes it
// may scan for and override at.
type Token struct {
	Name   string
	Role   Role
	Secret string
	Lanes  []string
}

// String returns the token's name and role, never its secret.
func (t Token) String() string { return t.Name + " (" + string(t.Role) + ")" }

// mayScanAt reports whether the token may scan for lane.
func (t *Token) mayScanAt(lane string) bool {
	return len(t.Lanes) == 0 || slices.Contains(t.Lanes, lane)
}

// Auth checks bearer tokens. It is immutable and safe for concurrent use;
// build a new one to change the tokens (Server.SetAuth swaps it atomically).
type Auth struct {
	tokens []authToken
}

type authToken struct {
	Token
	hash   [sha256.Size]byte
	source string // "http:<name>", the source of its scans
}

// NewAuth returns an Auth for tokens. Names must be unique and non-empty,
// secrets at least MinSecretLen bytes and distinct, roles valid, and only
// scanner tokens may name lanes.
func NewAuth(tokens []Token) (*Auth, error) {
	a := &Auth{tokens: make([]authToken, 0, len(tokens))}
	names := make(map[string]bool, len(tokens))
	hashes := make(map[[sha256.Size]byte]string, len(tokens))
	for i, t := range tokens {
		if t.Name == "" {
			return nil, gate.Errorf(gate.EINVALID, "token %d has no name", i+1)
		}
		if names[t.Name] {
			return nil, gate.Errorf(gate.EINVALID, "token name %q is used twice", t.Name)
		}
		names[t.Name] = true
		if _, err := ParseRole(string(t.Role)); err != nil {
			return nil, gate.Errorf(gate.EINVALID, "token %q: %v", t.Name, err)
		}
		if len(t.Secret) < MinSecretLen {
			return nil, gate.Errorf(gate.EINVALID, "token %q: secret is shorter than %d bytes", t.Name, MinSecretLen)
		}
		if bytes.ContainsAny([]byte(t.Secret), " \t\r\n") {
			return nil, gate.Errorf(gate.EINVALID, "token %q: secret holds white space", t.Name)
		}
		if len(t.Lanes) > 0 && t.Role != RoleScanner && t.Role != RoleSupervisor {
			return nil, gate.Errorf(gate.EINVALID, "token %q: only scanner and supervisor tokens may be limited to lanes", t.Name)
		}
		h := sha256.Sum256([]byte(t.Secret))
		if other, ok := hashes[h]; ok {
			return nil, gate.Errorf(gate.EINVALID, "tokens %q and %q have the same secret", other, t.Name)
		}
		hashes[h] = t.Name
		t.Lanes = slices.Clone(t.Lanes)
		a.tokens = append(a.tokens, authToken{Token: t, hash: h, source: "http:" + t.Name})
	}
	return a, nil
}

// Len returns the number of tokens.
func (a *Auth) Len() int {
	if a == nil {
		return 0
	}
	return len(a.tokens)
}

var bearerPrefix = []byte("Bearer ")

// Authenticate returns the token whose secret the Authorization header value
// carries. Every token is compared, in constant time over fixed-length
// hashes, whatever matches first, so timing tells nothing about secrets.
// EUNAUTHORIZED for a missing, malformed or unknown token.
func (a *Auth) Authenticate(header []byte) (*Token, error) {
	t, err := a.authenticate(header)
	if err != nil {
		return nil, err
	}
	return &t.Token, nil
}

// authenticate is Authenticate returning the token with what the server
// keeps of it.
func (a *Auth) authenticate(header []byte) (*authToken, error) {
	if len(header) == 0 {
		return nil, gate.Errorf(gate.EUNAUTHORIZED, "a bearer token is required (Authorization: Bearer <token>)")
	}
	if len(header) < len(bearerPrefix) || !bytes.EqualFold(header[:len(bearerPrefix)], bearerPrefix) {
		return nil, gate.Errorf(gate.EUNAUTHORIZED, "the Authorization header must be \"Bearer <token>\"")
	}
	secret := bytes.TrimSpace(header[len(bearerPrefix):])
	h := sha256.Sum256(secret)
	match := -1
	if a != nil {
		for i := range a.tokens {
			if subtle.ConstantTimeCompare(h[:], a.tokens[i].hash[:]) == 1 {
				match = i
			}
		}
	}
	if match < 0 {
		return nil, gate.Errorf(gate.EUNAUTHORIZED, "the bearer token is not valid")
	}
	return &a.tokens[match], nil
}

// access is what a route requires of a token.
type access uint8

const (
	accessOpen  access = iota // no token (health, readiness, metrics)
	accessScan                // admin, scanner or supervisor (scanner, supervisor: its lanes only)
	accessRead                // admin, viewer or supervisor
	accessAdmin               // admin only
	accessAny                 // any valid token, whatever its role
)

// accessOverride is a supervisor only (its lanes only).
const accessOverride = accessAny + 1

func (x access) String() string {
	switch x {
	case accessOpen:
		return "open"
	case accessScan:
		return "admin, scanner or supervisor"
	case accessRead:
		return "admin, viewer or supervisor"
	case accessAdmin:
		return "admin"
	case accessAny:
		return "any token"
	case accessOverride:
		return "supervisor"
	}
	return fmt.Sprintf("access(%d)", uint8(x))
}

// allows reports whether role may use a route of this access.
func (x access) allows(r Role) bool {
	switch x {
	case accessOpen:
		return true
	case accessScan:
		return r == RoleAdmin || r == RoleScanner || r == RoleSupervisor
	case accessRead:
		return r == RoleAdmin || r == RoleViewer || r == RoleSupervisor
	case accessAdmin:
		return r == RoleAdmin
	case accessAny:
		return r == RoleAdmin || r == RoleScanner || r == RoleViewer || r == RoleSupervisor
	case accessOverride:
		return r == RoleSupervisor
	}
	return false
}
