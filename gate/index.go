package gate

import (
	"context"
	"io"
	"time"
)

// Validator decides scans. It is the hot path: lanes and the scan API call it.
// Implementations are safe for concurrent use.
type Validator interface {
	// Scan decides s and, when it admits, redeems the entry durably before
	// returning. It never fails: a fault is a refusal with ReasonError
	// (fail closed). Concurrent scans of one barcode admit exactly once.
	Scan(ctx context.Context, s Scan) Decision
	// Check decides s as Scan would, but redeems and journals nothing; Seq is 0.
	Check(ctx context.Context, s Scan) Decision
	// Annul undoes the admission journaled as seq (the turnstile did not
	// turn): the ticket may be used again, and the journal records the
	// annulment. ENOTFOUND for an unknown seq, ECONFLICT for a refusal or an
	// admission already annulled.
	Annul(ctx context.Context, seq uint64, by string) (JournalEntry, error)
}

// Catalog holds the providers and events.
type Catalog interface {
	// PutProvider creates or renames a provider; created reports which.
	PutProvider(ctx context.Context, p Provider) (created bool, err error)
	Providers(ctx context.Context) ([]Provider, error)
	// PutEvent creates or changes an event; scans see it at once.
	PutEvent(ctx context.Context, e Event) (created bool, err error)
	Events(ctx context.Context) ([]Event, error)
}

// Tickets reads and corrects single tickets. Every change is durable when it
// returns. by names who asked, for the record.
type Tickets interface {
	// Ticket returns a ticket with its redemptions; ENOTFOUND when unknown.
	Ticket(ctx context.Context, barcode string) (TicketView, error)
	// Cancel, Invalidate and Block refuse a ticket from now on; Unblock makes
	// a blocked ticket valid again. ENOTFOUND, or ECONFLICT for a change the
	// state does not allow (unblocking a cancelled ticket, any change to a
	// revoked one).
	Cancel(ctx context.Context, barcode, by string) (Ticket, error)
	Invalidate(ctx context.Context, barcode, by string) (Ticket, error)
	Block(ctx context.Context, barcode, by string) (Ticket, error)
	Unblock(ctx context.Context, barcode, by string) (Ticket, error)
	// Reissue replaces a barcode: the old one becomes revoked, the new one
	// inherits the ticket and its redemptions, so a reprint never buys a
	// second entry. ECONFLICT when newBarcode exists.
	Reissue(ctx context.Context, oldBarcode, newBarcode, by string) (Ticket, error)
	// UpdateEvents adds and removes events of a pass. EINVALID for an unknown
	// event or for a change that leaves the ticket with no event.
	UpdateEvents(ctx context.Context, barcode string, add, remove []string, by string) (Ticket, error)
}

// Loader applies the lines of an import file to the store as one atomic step:
// all of it becomes visible or none of it, also across a crash, while scans
// keep being answered. Re-loading a file is idempotent: states and fields
// update, redemptions are never reset, a barcode of another provider is
// rejected. With OnErrorReject any bad line rejects the import (EREJECTED,
// with the result listing the lines); with OnErrorSkip good lines load.
type Loader interface {
	Load(ctx context.Context, req ImportRequest, src LineSource) (ImportResult, error)
	// Imports lists the applied imports, newest first.
	Imports(ctx context.Context) ([]ImportRecord, error)
	// Withdraw cancels the tickets import id added that were never used;
	// nothing is deleted and no redemption is lost. ENOTFOUND, or ECONFLICT
	// when already withdrawn.
	Withdraw(ctx context.Context, id uint64, by string) (ImportRecord, error)
}

// Importer reads an import file in any format and loads it: the parser in
// front of a Loader. The HTTP API and the drop folders use it.
type Importer interface {
	Import(ctx context.Context, req ImportRequest, file io.Reader) (ImportResult, error)
}

// Journal reads the numbered record of decisions.
type Journal interface {
	// Entries returns up to limit entries with Seq > after, in order. Only
	// entries with no unwritten entry before them are returned, so a reader
	// that continues from the last Seq it saw misses nothing.
	Entries(ctx context.Context, after uint64, limit int) ([]JournalEntry, error)
}

// Reporter summarises an event.
type Reporter interface {
	// Report returns the event's figures as of now; ENOTFOUND for an
	// unknown event.
	Report(ctx context.Context, event string, now time.Time) (Report, error)
}

// Index is the ticket store as a whole: what cmd/admit opens and hands, in
// parts, to the adapters.
type Index interface {
	Validator
	Catalog
	Tickets
	Loader
	Journal
	Reporter
	ChangeLog
}

// LaneMonitor reports the state of the lanes, for the API and the operator page.
type LaneMonitor interface {
	Lanes() []LaneStatus
}
