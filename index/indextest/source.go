package indextest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"strconv"
	"time"

	"github.com/admitgate/admit/gate"
)

// Provider and Event are what the synthetic tickets belong to. The event has
// no window: it is always open.
const (
	Provider = "bench-provider"
	EventID  = "bench-event"
)

// Event returns the always-open event the synthetic tickets admit to.
func Event() gate.Event { return gate.Event{ID: EventID, Name: "Benchmark event"} }

// permute is a bijection on [0, 1e14): multiplication by a constant coprime
// with 10^14, so barcodes look random but never collide.
func permute(i int) uint64 { return (uint64(i) * 2654435761) % 100_000_000_000_000 }

// Barcode returns the i-th synthetic barcode: 16 digits like a SecuTix
// barcode ("98" then 14 digits).
func Barcode(i int) string { return fmt.Sprintf("98%014d", permute(i)) }

// Unknown returns the i-th barcode that no synthetic source holds ("97...").
func Unknown(i int) string {
	b := []byte(Barcode(i))
	b[1] = '7'
	return string(b)
}

var (
	tariffs = []gate.Code{{Code: "ADU", Name: "Adult"}, {Code: "CHI", Name: "Child"}, {Code: "SEN", Name: "Senior"}, {Code: "VIP", Name: "VIP"}}
	opens   = time.Date(2026, 12, 5, 20, 0, 0, 0, time.UTC)
)

// Source is a gate.LineSource of N synthetic tickets for EventID, with the
// fields a SecuTix reseller line carries. Line i holds Barcode(From+i).
type Source struct {
	N, From int
	// Cancelled, when > 0, makes every Cancelled-th ticket cancelled.
	Cancelled int
	i         int
	h         hash.Hash
}

// Tickets returns a source of n tickets, Barcode(0) to Barcode(n-1).
func Tickets(n int) *Source { return &Source{N: n} }

// Next implements gate.LineSource.
func (s *Source) Next() (gate.ImportLine, error) {
	if s.h == nil {
		s.h = sha256.New()
	}
	if s.i >= s.N {
		return gate.ImportLine{}, io.EOF
	}
	i := s.From + s.i
	s.i++
	t := gate.Ticket{
		Barcode:    Barcode(i),
		Provider:   Provider,
		Events:     []string{EventID},
		State:      gate.StateValid,
		PriceType:  tariffs[i%len(tariffs)],
		Product:    gate.Code{Code: "MATCH-2026-12-05", Name: "FC Example – Derby"},
		Order:      strconv.Itoa(880000 + i/4),
		Contact:    strconv.Itoa(1000 + i%5000),
		Price:      fmt.Sprintf("%d.00", 20+i%4*10),
		ValidityAt: opens,
		OrderedAt:  opens.Add(-time.Duration(i%720) * time.Hour),
	}
	if s.Cancelled > 0 && i%s.Cancelled == 0 {
		t.State = gate.StateCancelled
	}
	s.h.Write([]byte(t.Barcode))
	return gate.ImportLine{Line: s.i, Ticket: t}, nil
}

// Format implements gate.LineSource.
func (s *Source) Format() gate.Format { return gate.FormatSecutix }

// Digest implements gate.LineSource: the SHA-256 of the barcodes read.
func (s *Source) Digest() string {
	if s.h == nil {
		return ""
	}
	return hex.EncodeToString(s.h.Sum(nil))
}
