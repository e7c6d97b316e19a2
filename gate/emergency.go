package gate

import "time"

// EmergencyStatus is the state of the emergency release of an appliance's
// turnstile lanes (turnstile.Set keeps it): what GET /v1/emergency and the
// release and clear calls answer.
type EmergencyStatus struct {
	Active bool      `json:"active"`
	Since  time.Time `json:"since,omitzero"`
	// By is who released: a token's name, or "input:<name>" for an
	// emergency input.
	By string `json:"by,omitempty"`
	// InputActive is true while an emergency input is asserted; the release
	// cannot be cleared until it is not.
	InputActive bool `json:"input_active"`
	// InputFault says which emergency inputs cannot be watched, and why.
	InputFault string `json:"input_fault,omitempty"`
	// Lanes are the turnstile lanes the release acts on.
	Lanes []EmergencyLane `json:"lanes"`
}

// EmergencyLane is one turnstile lane under the emergency release.
type EmergencyLane struct {
	ID    string `json:"id"`
	Mode  string `json:"mode"`  // "open": unlocked while released; "hold": kept locked
	State string `json:"state"` // the lane's state, as in GET /v1/lanes
}
