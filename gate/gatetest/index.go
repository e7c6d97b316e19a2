package gatetest

import (
	"context"
	"io"
	"time"

	"github.com/admitgate/admit/gate"
)

var (
	_ gate.Index    = (*Index)(nil)
	_ gate.Importer = (*Importer)(nil)
)

// Index is a gate.Index whose methods call the function fields of the same
// name. A method whose field is nil fails: Scan and Check refuse with
// ReasonError, the others return an EINTERNAL error naming the method.
type Index struct {
	ScanFunc         func(ctx context.Context, s gate.Scan) gate.Decision
	CheckFunc        func(ctx context.Context, s gate.Scan) gate.Decision
	AnnulFunc        func(ctx context.Context, seq uint64, by string) (gate.JournalEntry, error)
	PutProviderFunc  func(ctx context.Context, p gate.Provider) (bool, error)
	ProvidersFunc    func(ctx context.Context) ([]gate.Provider, error)
	PutEventFunc     func(ctx context.Context, e gate.Event) (bool, error)
	EventsFunc       func(ctx context.Context) ([]gate.Event, error)
	TicketFunc       func(ctx context.Context, barcode string) (gate.TicketView, error)
	CancelFunc       func(ctx context.Context, barcode, by string) (gate.Ticket, error)
	InvalidateFunc   func(ctx context.Context, barcode, by string) (gate.Ticket, error)
	BlockFunc        func(ctx context.Context, barcode, by string) (gate.Ticket, error)
	UnblockFunc      func(ctx context.Context, barcode, by string) (gate.Ticket, error)
	ReissueFunc      func(ctx context.Context, oldBarcode, newBarcode, by string) (gate.Ticket, error)
	UpdateEventsFunc func(ctx context.Context, barcode string, add, remove []string, by string) (gate.Ticket, error)
	LoadFunc         func(ctx context.Context, req gate.ImportRequest, src gate.LineSource) (gate.ImportResult, error)
	ImportsFunc      func(ctx context.Context) ([]gate.ImportRecord, error)
	WithdrawFunc     func(ctx context.Context, id uint64, by string) (gate.ImportRecord, error)
	EntriesFunc      func(ctx context.Context, after uint64, limit int) ([]gate.JournalEntry, error)
	ReportFunc       func(ctx context.Context, event string, now time.Time) (gate.Report, error)
	ChangesFunc      func(ctx context.Context, after uint64, limit int) ([]gate.Change, error)
}

// Scan calls ScanFunc.
func (x *Index) Scan(ctx context.Context, s gate.Scan) gate.Decision {
	if x.ScanFunc == nil {
		return s.Refusal(gate.ReasonError, "gatetest: Scan not set")
	}
	return x.ScanFunc(ctx, s)
}

// Check calls CheckFunc.
func (x *Index) Check(ctx context.Context, s gate.Scan) gate.Decision {
	if x.CheckFunc == nil {
		return s.Refusal(gate.ReasonError, "gatetest: Check not set")
	}
	return x.CheckFunc(ctx, s)
}

// Annul calls AnnulFunc.
func (x *Index) Annul(ctx context.Context, seq uint64, by string) (gate.JournalEntry, error) {
	if x.AnnulFunc == nil {
		return gate.JournalEntry{}, notSet("Annul")
	}
	return x.AnnulFunc(ctx, seq, by)
}

// PutProvider calls PutProviderFunc.
func (x *Index) PutProvider(ctx context.Context, p gate.Provider) (bool, error) {
	if x.PutProviderFunc == nil {
		return false, notSet("PutProvider")
	}
	return x.PutProviderFunc(ctx, p)
}

// Providers calls ProvidersFunc.
func (x *Index) Providers(ctx context.Context) ([]gate.Provider, error) {
	if x.ProvidersFunc == nil {
		return nil, notSet("Providers")
	}
	return x.ProvidersFunc(ctx)
}

// PutEvent calls PutEventFunc.
func (x *Index) PutEvent(ctx context.Context, e gate.Event) (bool, error) {
	if x.PutEventFunc == nil {
		return false, notSet("PutEvent")
	}
	return x.PutEventFunc(ctx, e)
}

// Events calls EventsFunc.
func (x *Index) Events(ctx context.Context) ([]gate.Event, error) {
	if x.EventsFunc == nil {
		return nil, notSet("Events")
	}
	return x.EventsFunc(ctx)
}

// Ticket calls TicketFunc.
func (x *Index) Ticket(ctx context.Context, barcode string) (gate.TicketView, error) {
	if x.TicketFunc == nil {
		return gate.TicketView{}, notSet("Ticket")
	}
	return x.TicketFunc(ctx, barcode)
}

// Cancel calls CancelFunc.
func (x *Index) Cancel(ctx context.Context, barcode, by string) (gate.Ticket, error) {
	if x.CancelFunc == nil {
		return gate.Ticket{}, notSet("Cancel")
	}
	return x.CancelFunc(ctx, barcode, by)
}

// Invalidate calls InvalidateFunc.
func (x *Index) Invalidate(ctx context.Context, barcode, by string) (gate.Ticket, error) {
	if x.InvalidateFunc == nil {
		return gate.Ticket{}, notSet("Invalidate")
	}
	return x.InvalidateFunc(ctx, barcode, by)
}

// Block calls BlockFunc.
func (x *Index) Block(ctx context.Context, barcode, by string) (gate.Ticket, error) {
	if x.BlockFunc == nil {
		return gate.Ticket{}, notSet("Block")
	}
	return x.BlockFunc(ctx, barcode, by)
}

// Unblock calls UnblockFunc.
func (x *Index) Unblock(ctx context.Context, barcode, by string) (gate.Ticket, error) {
	if x.UnblockFunc == nil {
		return gate.Ticket{}, notSet("Unblock")
	}
	return x.UnblockFunc(ctx, barcode, by)
}

// Reissue calls ReissueFunc.
func (x *Index) Reissue(ctx context.Context, oldBarcode, newBarcode, by string) (gate.Ticket, error) {
	if x.ReissueFunc == nil {
		return gate.Ticket{}, notSet("Reissue")
	}
	return x.ReissueFunc(ctx, oldBarcode, newBarcode, by)
}

// UpdateEvents calls UpdateEventsFunc.
func (x *Index) UpdateEvents(ctx context.Context, barcode string, add, remove []string, by string) (gate.Ticket, error) {
	if x.UpdateEventsFunc == nil {
		return gate.Ticket{}, notSet("UpdateEvents")
	}
	return x.UpdateEventsFunc(ctx, barcode, add, remove, by)
}

// Load calls LoadFunc.
func (x *Index) Load(ctx context.Context, req gate.ImportRequest, src gate.LineSource) (gate.ImportResult, error) {
	if x.LoadFunc == nil {
		return gate.ImportResult{}, notSet("Load")
	}
	return x.LoadFunc(ctx, req, src)
}

// Imports calls ImportsFunc.
func (x *Index) Imports(ctx context.Context) ([]gate.ImportRecord, error) {
	if x.ImportsFunc == nil {
		return nil, notSet("Imports")
	}
	return x.ImportsFunc(ctx)
}

// Withdraw calls WithdrawFunc.
func (x *Index) Withdraw(ctx context.Context, id uint64, by string) (gate.ImportRecord, error) {
	if x.WithdrawFunc == nil {
		return gate.ImportRecord{}, notSet("Withdraw")
	}
	return x.WithdrawFunc(ctx, id, by)
}

// Entries calls EntriesFunc.
func (x *Index) Entries(ctx context.Context, after uint64, limit int) ([]gate.JournalEntry, error) {
	if x.EntriesFunc == nil {
		return nil, notSet("Entries")
	}
	return x.EntriesFunc(ctx, after, limit)
}

// Changes calls ChangesFunc.
func (x *Index) Changes(ctx context.Context, after uint64, limit int) ([]gate.Change, error) {
	if x.ChangesFunc == nil {
		return nil, notSet("Changes")
	}
	return x.ChangesFunc(ctx, after, limit)
}

// Report calls ReportFunc.
func (x *Index) Report(ctx context.Context, event string, now time.Time) (gate.Report, error) {
	if x.ReportFunc == nil {
		return gate.Report{}, notSet("Report")
	}
	return x.ReportFunc(ctx, event, now)
}

// Importer is a gate.Importer that calls ImportFunc.
type Importer struct {
	ImportFunc func(ctx context.Context, req gate.ImportRequest, file io.Reader) (gate.ImportResult, error)
}

// Import calls ImportFunc.
func (x *Importer) Import(ctx context.Context, req gate.ImportRequest, file io.Reader) (gate.ImportResult, error) {
	if x.ImportFunc == nil {
		return gate.ImportResult{}, notSet("Import")
	}
	return x.ImportFunc(ctx, req, file)
}

// LaneMonitor is a gate.LaneMonitor returning LanesFunc's lanes, or none.
type LaneMonitor struct {
	LanesFunc func() []gate.LaneStatus
}

// Lanes calls LanesFunc.
func (x *LaneMonitor) Lanes() []gate.LaneStatus {
	if x.LanesFunc == nil {
		return nil
	}
	return x.LanesFunc()
}

func notSet(method string) error {
	return gate.Errorf(gate.EINTERNAL, "%sFunc not set", method)
}
