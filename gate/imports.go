package gate

import (
	"fmt"
	"io"
	"time"
)

// Format is the layout of an import file.
type Format string

// Import formats. FormatAuto detects the format from the first bytes.
const (
	FormatAuto    Format = ""
	FormatLines   Format = "lines"   // one barcode per line, as pasted
	FormatCSV     Format = "csv"     // a header row, then one ticket per row
	FormatSecutix Format = "secutix" // the SecuTix reseller export
)

// ParseFormat returns the format named s ("" is FormatAuto).
func ParseFormat(s string) (Format, error) {
	switch f := Format(s); f {
	case FormatAuto, FormatLines, FormatCSV, FormatSecutix:
		return f, nil
	}
	return "", Errorf(EINVALID, "format must be lines, csv or secutix, not %q", s)
}

// OnError says what an import does with bad lines.
type OnError string

// Bad-line policies.
const (
	OnErrorReject OnError = "reject" // one bad line rejects the whole import (the default)
	OnErrorSkip   OnError = "skip"   // the good lines load, the bad ones are listed
)

// ParseOnError returns the policy named s ("" is OnErrorReject).
func ParseOnError(s string) (OnError, error) {
	switch s {
	case "", string(OnErrorReject):
		return OnErrorReject, nil
	case string(OnErrorSkip):
		return OnErrorSkip, nil
	}
	return "", Errorf(EINVALID, "on_error must be reject or skip, not %q", s)
}

// ImportRequest is what an admin asks of an import.
type ImportRequest struct {
	Provider  string  // required: who the barcodes belong to
	Event     string  // the event for every line; "" takes it from the file
	PriceType string  // the price type code for every line; "" takes it from the file
	Format    Format  // FormatAuto detects it
	DryRun    bool    // report what would change, change nothing
	OnError   OnError // "" is OnErrorReject
	Source    string  // the file name, or "api"
	By        string  // who asked: a token's name, or "drop:<provider>"
	// Change is set when the import applies a venue change (package venue's
	// applier): the import records it, gets its Position as its id (the
	// same on every appliance) and commits that position with the import.
	// Nil (the API, drop folders on a single appliance): the import records
	// a change of its own.
	Change *Change
}

// Validate checks the request's own fields.
func (r *ImportRequest) Validate() error {
	if err := CheckID("provider", r.Provider); err != nil {
		return err
	}
	if r.Event != "" {
		if err := CheckID("event", r.Event); err != nil {
			return err
		}
	}
	if _, err := ParseFormat(string(r.Format)); err != nil {
		return err
	}
	if _, err := ParseOnError(string(r.OnError)); err != nil {
		return err
	}
	return nil
}

// RejectReason is why an import line was refused. The values are part of the API.
type RejectReason string

// Reasons a line is rejected.
const (
	RejectEmpty            RejectReason = "empty"              // no barcode on the line
	RejectTooLong          RejectReason = "too_long"           // barcode over 256 bytes, or line over the line limit
	RejectControlChar      RejectReason = "control_character"  // a control character in the barcode
	RejectInvalidUTF8      RejectReason = "invalid_utf8"       // bytes that are not UTF-8
	RejectColumnCount      RejectReason = "wrong_column_count" // not as many fields as the header
	RejectMissingEvent     RejectReason = "missing_event"      // no event in the request or the line
	RejectUnknownEvent     RejectReason = "unknown_event"      // an event the appliance does not know
	RejectBadEventID       RejectReason = "bad_event_id"       // an event id that is not an id
	RejectBadDate          RejectReason = "bad_date"           // a date in no accepted layout
	RejectBadState         RejectReason = "bad_state"          // a ticket state admit does not know
	RejectBadPrice         RejectReason = "bad_price"          // a price that is not a decimal number
	RejectBadField         RejectReason = "bad_field"          // another field that cannot be read
	RejectBadQuote         RejectReason = "bad_quote"          // CSV quoting that does not close
	RejectOtherProvider    RejectReason = "other_provider"     // the barcode belongs to another provider
	RejectConflictingDup   RejectReason = "conflicting_duplicate"
	RejectBadHeader        RejectReason = "bad_header"        // a header without a barcode column
	RejectUnreadableFormat RejectReason = "unreadable_format" // the file's format cannot be detected
)

// RejectInvisibleChar is an invisible character in a barcode (a byte order
// mark, a zero-width or bidirectional mark, a soft hyphen): a scanner never
// sends it, so such a ticket could never be scanned.
const RejectInvisibleChar RejectReason = "invisible_character"

// RejectFor maps a *BarcodeError's problem to its reject reason.
func RejectFor(err *BarcodeError) RejectReason {
	switch err.Problem {
	case "empty":
		return RejectEmpty
	case "too_long":
		return RejectTooLong
	case "control_character":
		return RejectControlChar
	case "invalid_utf8":
		return RejectInvalidUTF8
	}
	return RejectBadField
}

// LineError is one rejected line of an import.
type LineError struct {
	Line    int          `json:"line"`              // 1-based line number in the file
	Barcode string       `json:"barcode,omitempty"` // when readable (valid UTF-8)
	Reason  RejectReason `json:"reason"`
	Detail  string       `json:"detail,omitempty"`
}

func (e *LineError) Error() string {
	return fmt.Sprintf("line %d: %s: %s", e.Line, e.Reason, e.Detail)
}

// ImportLine is one line of an import file, parsed: a ticket, or why not.
type ImportLine struct {
	Line   int        // 1-based line number in the file (a quoted CSV field may span lines: its first)
	Ticket Ticket     // valid when Reject is nil; Provider, Events and PriceType already mapped
	Reject *LineError // the parser refused the line
	// CustomerKey is the ticket holder's key of a rotating provider's
	// ticket (its customer_key column), which checks the holder's one-time
	// code. It is a secret: the index keeps it with the ticket and never
	// shows it (it is not a field of Ticket).
	CustomerKey []byte
}

// LineSource streams the lines of one import file. Next returns io.EOF after
// the last line; any other error means the file could not be read (the import
// fails and changes nothing). A header line is not returned.
type LineSource interface {
	Next() (ImportLine, error)
	// Format is the format in use (detected or asked for); valid after the first Next.
	Format() Format
	// Digest is the hex SHA-256 of every byte read; valid after io.EOF.
	Digest() string
}

// MaxReportedErrors is how many rejected lines an import result lists; the
// Rejected count is always complete.
const MaxReportedErrors = 1000

// ImportResult is what an import did, or with DryRun would do.
type ImportResult struct {
	ID        uint64      `json:"id"` // 0 for a dry run or a rejected import
	Applied   bool        `json:"applied"`
	DryRun    bool        `json:"dry_run"`
	Format    Format      `json:"format"`
	Lines     int         `json:"lines"`     // data lines read (headers and blank lines excluded)
	Added     int         `json:"added"`     // new barcodes
	Updated   int         `json:"updated"`   // known barcodes whose fields or state changed
	Unchanged int         `json:"unchanged"` // known barcodes left as they were (and identical duplicates)
	Rejected  int         `json:"rejected"`
	Errors    []LineError `json:"errors"` // the first MaxReportedErrors rejected lines
	Digest    string      `json:"digest"`
}

// ImportRecord is the record of one applied import.
type ImportRecord struct {
	ID        uint64    `json:"id"`
	Provider  string    `json:"provider"`
	Event     string    `json:"event,omitempty"`
	Format    Format    `json:"format"`
	Source    string    `json:"source"`
	By        string    `json:"by"`
	At        time.Time `json:"at"`
	Lines     int       `json:"lines"`
	Added     int       `json:"added"`
	Updated   int       `json:"updated"`
	Unchanged int       `json:"unchanged"`
	Rejected  int       `json:"rejected"`
	Digest    string    `json:"digest"`
	// WithdrawnAt is when a withdrawal finished; WithdrawnBy who asked for
	// it (set from the moment it was asked).
	WithdrawnAt time.Time `json:"withdrawn_at,omitzero"`
	WithdrawnBy string    `json:"withdrawn_by,omitempty"`
	// WithdrawPending is true from the moment a withdrawal is asked for
	// until it has cancelled every ticket it should. One cut short (a
	// crash, a write fault, an abandoned request) is finished when the
	// store next opens, or when it is asked for again.
	WithdrawPending bool `json:"withdraw_pending,omitempty"`
	// Cancelled counts the tickets a withdrawal cancelled (added by this
	// import and never used).
	Cancelled int `json:"cancelled,omitempty"`
}

// Lines returns a LineSource over tickets, numbered from line 1, for loading
// tickets that did not come from a file (the API, the demo, tests).
func Lines(tickets ...Ticket) LineSource {
	return &sliceSource{tickets: tickets}
}

type sliceSource struct {
	tickets []Ticket
	next    int
}

func (s *sliceSource) Next() (ImportLine, error) {
	if s.next >= len(s.tickets) {
		return ImportLine{}, io.EOF
	}
	s.next++
	return ImportLine{Line: s.next, Ticket: s.tickets[s.next-1]}, nil
}

func (s *sliceSource) Format() Format { return FormatAuto }
func (s *sliceSource) Digest() string { return "" }
