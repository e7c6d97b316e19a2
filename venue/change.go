package venue

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/admitgate/admit/gate"
)

// ChangeVersion is the version of the change messages this package writes
// and reads on [StreamChanges].
const ChangeVersion = 1

// changeMessage is a change as the stream carries it: JSON, the version
// first, then the gate.Change fields. Seq and Position are the receiving
// appliance's to set (0 on the wire); Appliance is the publisher's and must
// be the subject's.
type changeMessage struct {
	V int `json:"v"`
	gate.Change
}

// changeFields must be present in every message (encoding/json cannot
// tell a missing field from a zero one).
var changeFields = []string{"v", "id", "kind", "by", "at", "appliance"}

// MarshalChange validates c and encodes it as the stream carries it.
func MarshalChange(c gate.Change) ([]byte, error) {
	c.Seq, c.Position = 0, 0
	if err := checkChange(&c); err != nil {
		return nil, fmt.Errorf("venue: change %s: %w", c.ID, err)
	}
	return json.Marshal(changeMessage{V: ChangeVersion, Change: c})
}

// ChangeDecodeError is a message of the changes stream that does not decode
// as a change: unknown or missing fields, a wrong version, a change of no
// known kind or without the fields its kind needs, published on another
// appliance's subject. An applier stops at it (never skips it silently).
type ChangeDecodeError struct {
	Position uint64
	Subject  string
	Err      error
}

func (e *ChangeDecodeError) Error() string {
	return fmt.Sprintf("venue: the change at position %d (subject %s) does not decode: %v", e.Position, e.Subject, e.Err)
}

func (e *ChangeDecodeError) Unwrap() error { return e.Err }

// DecodeChange decodes the message at position pos of the changes stream,
// published on subject, strictly; the change it returns has its Position
// set. Anything amiss is a *ChangeDecodeError.
func DecodeChange(subject string, pos uint64, data []byte) (gate.Change, error) {
	c, err := decodeChange(subject, data)
	if err != nil {
		return gate.Change{}, &ChangeDecodeError{Position: pos, Subject: subject, Err: err}
	}
	c.Position = pos
	return c, nil
}

func decodeChange(subject string, data []byte) (gate.Change, error) {
	top, err := requireFields("", data, changeFields)
	if err != nil {
		return gate.Change{}, err
	}
	var v int
	if err := json.Unmarshal(top["v"], &v); err != nil {
		return gate.Change{}, fmt.Errorf("v: %w", err)
	}
	if v != ChangeVersion {
		return gate.Change{}, fmt.Errorf("version %d, wanted %d", v, ChangeVersion)
	}
	var m changeMessage
	if err := strictUnmarshal(data, &m); err != nil {
		return gate.Change{}, err
	}
	c := m.Change
	if c.Seq != 0 || c.Position != 0 {
		return gate.Change{}, fmt.Errorf("seq %d and position %d on the wire, wanted 0", c.Seq, c.Position)
	}
	if want := ChangeSubject(c.Appliance); subject != want {
		return gate.Change{}, fmt.Errorf("a change of appliance %q published on %s, not %s", c.Appliance, subject, want)
	}
	if err := checkChange(&c); err != nil {
		return gate.Change{}, err
	}
	return c, nil
}

// checkChange checks what a change on the stream must satisfy besides its
// kind's fields (gate.Change.Validate): an appliance id, and for an import
// a valid request naming its file by SHA-256. A skip is never published.
func checkChange(c *gate.Change) error {
	if err := c.Validate(); err != nil {
		return err
	}
	if err := CheckApplianceID(c.Appliance); err != nil {
		return err
	}
	switch c.Kind {
	case gate.ChangeSkip:
		return fmt.Errorf("a skip is an appliance's own, never published")
	case gate.ChangeImport:
		req := c.Request()
		if err := req.Validate(); err != nil {
			return fmt.Errorf("import: %w", err)
		}
		if !isSHA256(c.Import.File) {
			return fmt.Errorf("import: file %q is not a hex SHA-256", c.Import.File)
		}
		if c.Import.Size < 0 {
			return fmt.Errorf("import: size %d", c.Import.Size)
		}
	}
	return nil
}

func isSHA256(s string) bool {
	if len(s) != 64 || strings.ToLower(s) != s {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// newChangeID is a change's id: 16 random bytes in hex.
func newChangeID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
