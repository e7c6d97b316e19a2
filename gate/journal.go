package gate

import "fmt"

// EntryKind says what a journal entry records.
type EntryKind uint8

// Journal entry kinds.
const (
	// KindDecision records a scan's decision, admitted or refused.
	KindDecision EntryKind = iota + 1
	// KindAnnulment records that an earlier admission was undone.
	KindAnnulment
	// KindLost stands in for a sequence number whose refusal was not yet on
	// disk when the process died: refusals are journaled without waiting for
	// the disk (admissions always are on disk before they are answered), and
	// the index fills such holes when it opens so the journal stays gapless.
	KindLost
)

var kindNames = [...]string{KindDecision: "decision", KindAnnulment: "annulment", KindLost: "lost"}

// String returns "decision", "annulment" or "lost".
func (k EntryKind) String() string {
	if k >= KindDecision && k <= KindLost {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// MarshalText implements encoding.TextMarshaler.
// The zero EntryKind marshals as "".
func (k EntryKind) MarshalText() ([]byte, error) {
	if k == 0 {
		return []byte{}, nil
	}
	if k < KindDecision || k > KindLost {
		return nil, fmt.Errorf("gate: invalid journal entry kind %d", uint8(k))
	}
	return []byte(kindNames[k]), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (k *EntryKind) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*k = 0
		return nil
	}
	for v := KindDecision; v <= KindLost; v++ {
		if kindNames[v] == string(b) {
			*k = v
			return nil
		}
	}
	return Errorf(EINVALID, "unknown journal entry kind %q", b)
}

// JournalEntry is one numbered line of the journal. Sequence numbers start at
// 1 and have no gaps.
type JournalEntry struct {
	Seq  uint64    `json:"seq"`
	Kind EntryKind `json:"kind"`
	// Decision is the decision (KindDecision) or, for an annulment, the
	// admission that was annulled, with its own Seq.
	Decision Decision `json:"decision"`
	Nonce    string   `json:"nonce,omitempty"`
	Source   string   `json:"source,omitempty"`
	// Annulled is set on a decision that a later annulment undid: the
	// annulment's sequence number.
	Annulled uint64 `json:"annulled,omitempty"`
	// By names who annulled (a token's name, or "lane:<id>" for a passage
	// timeout), for annulments.
	By string `json:"by,omitempty"`
}
