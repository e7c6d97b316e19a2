package venue

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/admitgate/admit/gate"
)

// RecordVersion is the version of [Record] this package writes and reads.
const RecordVersion = 1

// Record is the value of one key of [BucketRedemptions]: what a ticket has
// done at one event, venue-wide, with the write that produced it.
//
// Event and Ticket are in clear so an appliance that has never seen the
// ticket can apply the record; the key is [RedemptionKey] of them.
type Record struct {
	V          int              `json:"v"`          // RecordVersion
	Event      string           `json:"event"`      // the event id
	Ticket     string           `json:"ticket"`     // the venue-wide ticket id: the barcode of the ticket's origin
	Redemption gate.Redemption  `json:"redemption"` // after this write
	Claim      ClaimRef         `json:"claim"`      // the write that produced this record
	Prev       *gate.Redemption `json:"prev"`       // before this write; null for the first one
}

// ClaimRef names the write that produced a [Record]: the appliance, the
// journal sequence of its scan there, and when. A claim that timed out but
// landed is recognised as ours by it; one that landed for a guest we refused
// is released by writing Prev back.
type ClaimRef struct {
	Appliance string    `json:"appliance"`
	Seq       uint64    `json:"seq"`
	At        time.Time `json:"at"`
}

// Key returns the record's key, [RedemptionKey] of its event and ticket.
func (r *Record) Key() string { return RedemptionKey(r.Event, r.Ticket) }

// Validate checks what every record written to or read from the hub must
// satisfy.
func (r *Record) Validate() error {
	if r.V != RecordVersion {
		return fmt.Errorf("version %d, wanted %d", r.V, RecordVersion)
	}
	if err := gate.CheckID("event", r.Event); err != nil {
		return err
	}
	if err := gate.CheckBarcode(r.Ticket); err != nil {
		return fmt.Errorf("ticket: %w", err)
	}
	if err := checkRedemption("redemption", r.Event, &r.Redemption); err != nil {
		return err
	}
	if r.Prev != nil {
		if err := checkRedemption("prev", r.Event, r.Prev); err != nil {
			return err
		}
	}
	if err := CheckApplianceID(r.Claim.Appliance); err != nil {
		return fmt.Errorf("claim: %w", err)
	}
	if r.Claim.At.IsZero() {
		return errors.New("claim: at is zero")
	}
	return nil
}

func checkRedemption(field, event string, d *gate.Redemption) error {
	if d.Event != event {
		return fmt.Errorf("%s: event %q, the record's is %q", field, d.Event, event)
	}
	if d.Admissions < 0 || d.Reentries < 0 || d.Exits < 0 {
		return fmt.Errorf("%s: negative count", field)
	}
	return nil
}

// MarshalRecord validates r and encodes it as the hub stores it.
func MarshalRecord(r *Record) ([]byte, error) {
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("venue: record %s: %w", r.Key(), err)
	}
	return json.Marshal(r)
}

// DecodeError is a value at the hub that does not decode: unknown or missing
// fields, a wrong version, a record under another key. It names the bucket,
// key and revision, so an operator can find it.
type DecodeError struct {
	Bucket string
	Key    string
	Rev    uint64
	Err    error
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("venue: %s key %s (revision %d) does not decode: %v", e.Bucket, e.Key, e.Rev, e.Err)
}

func (e *DecodeError) Unwrap() error { return e.Err }

// Required fields: encoding/json cannot tell a missing field from a zero one,
// so a record's objects are checked for these keys before decoding.
var (
	recordFields     = []string{"v", "event", "ticket", "redemption", "claim", "prev"}
	redemptionFields = []string{"event", "admissions", "reentries", "exits", "inside", "first", "last"}
	movementFields   = []string{"lane"}
	claimFields      = []string{"appliance", "seq", "at"}
)

// DecodeRecord decodes the value stored under key at revision rev strictly:
// unknown fields, missing fields, trailing data, a version other than
// [RecordVersion] and a record whose key is not key are errors
// (*[DecodeError]).
func DecodeRecord(key string, rev uint64, data []byte) (*Record, error) {
	r, err := decodeRecord(key, data)
	if err != nil {
		return nil, &DecodeError{Bucket: BucketRedemptions, Key: key, Rev: rev, Err: err}
	}
	return r, nil
}

func decodeRecord(key string, data []byte) (*Record, error) {
	top, err := requireFields("", data, recordFields)
	if err != nil {
		return nil, err
	}
	// The version first: a newer writer's record is refused for its version,
	// not for the fields it added.
	var v int
	if err := json.Unmarshal(top["v"], &v); err != nil {
		return nil, fmt.Errorf("v: %w", err)
	}
	if v != RecordVersion {
		return nil, fmt.Errorf("version %d, wanted %d", v, RecordVersion)
	}
	if err := requireRedemption("redemption", top["redemption"], false); err != nil {
		return nil, err
	}
	if err := requireRedemption("prev", top["prev"], true); err != nil {
		return nil, err
	}
	if _, err := requireFields("claim", top["claim"], claimFields); err != nil {
		return nil, err
	}
	var r Record
	if err := strictUnmarshal(data, &r); err != nil {
		return nil, err
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	if k := r.Key(); k != key {
		return nil, fmt.Errorf("the record of event %q ticket %q belongs under key %s", r.Event, r.Ticket, k)
	}
	return &r, nil
}

func requireRedemption(field string, raw json.RawMessage, nullable bool) error {
	if nullable && bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil
	}
	obj, err := requireFields(field, raw, redemptionFields)
	if err != nil {
		return err
	}
	for _, m := range []string{"first", "last"} {
		if _, err := requireFields(field+"."+m, obj[m], movementFields); err != nil {
			return err
		}
	}
	return nil
}

// requireFields decodes raw as a JSON object and checks that it holds every
// one of fields; path names the object in errors ("" for the top).
func requireFields(path string, raw json.RawMessage, fields []string) (map[string]json.RawMessage, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		if path == "" {
			return nil, fmt.Errorf("not a JSON object: %w", err)
		}
		return nil, fmt.Errorf("%s: not a JSON object: %w", path, err)
	}
	if obj == nil {
		return nil, fmt.Errorf("%s: null, wanted an object", nonEmpty(path, "value"))
	}
	for _, f := range fields {
		if _, ok := obj[f]; !ok {
			if path == "" {
				return nil, fmt.Errorf("missing field %q", f)
			}
			return nil, fmt.Errorf("%s: missing field %q", path, f)
		}
	}
	return obj, nil
}

// strictUnmarshal decodes one JSON value into v, refusing unknown fields and
// trailing data.
func strictUnmarshal(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data after the value")
	}
	return nil
}

func nonEmpty(s, otherwise string) string {
	if s == "" {
		return otherwise
	}
	return s
}
