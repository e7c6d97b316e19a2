package venue

import "github.com/admitgate/admit/gate"

// SetAfterClaim makes r call f with every claim the hub acknowledged, before
// the claim is answered (between the hub's acknowledgement and the local
// commit).
func SetAfterClaim(r *Redeemer, f func(*gate.Claim)) { r.afterClaim = f }
