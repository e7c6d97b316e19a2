package index

import (
	"context"
	"slices"
	"time"

	"github.com/admitgate/admit/gate"
)

// Offline replay. What a lane admitted while the hub did not answer (and
// what was annulled then) waits in an offline record (o<seq>) and is
// replayed at the hub in journal order once it answers: the hub's current
// value is read; when it already names the write (its claim landed after
// all) there is nothing to do; else the write is merged onto the hub's
// value and claimed at its revision. An admission whose entries the hub
// shows spent by another appliance (or a re-entry of a ticket the hub shows
// inside) is a double entry: both admissions stand (the people are inside),
// and the double entry is recorded at the hub once (gate.DoubleEntry)
// before the merged value is written.
//
// A write is merged only onto a value this appliance has learned up to:
// otherwise a claim of ours that landed late, with another appliance's
// write on top of it, would be merged a second time. The round stops there
// (ReplayStatus.Behind) until learning catches up.
//
// The local store holds, for a ticket with offline writes waiting, the
// hub's value as last learned with those writes merged onto it; a replay
// leaves it the same, at the hub's new revision.

// maxReplayTries bounds the attempts to replay one write while other
// appliances keep changing its key.
const maxReplayTries = 5

// ReplayOffline replays the offline writes waiting, in journal order, until
// none is left, the hub does not answer, or learning must catch up first
// (gate.VenueStore). An error is a write the hub refused for a reason that
// will not pass by itself (the venue is wrong) or a store fault.
func (ix *Index) ReplayOffline(ctx context.Context) (st gate.ReplayStatus, err error) {
	v := ix.venue.Load()
	if v == nil {
		return gate.ReplayStatus{}, errNoVenue
	}
	defer func() { st.Waiting = int(v.waiting.Load()) }()
	for ctx.Err() == nil {
		o := v.firstOffline()
		if o == nil {
			break
		}
		if err := ix.enter(); err != nil {
			return st, err
		}
		sp, err := ix.lockVenueStripe(o.Key)
		if err != nil {
			ix.exit()
			return st, err
		}
		res, err := ix.replayLocked(ctx, v, o)
		sp.Unlock()
		ix.exit()
		st.Replayed += res.Replayed
		st.DoubleEntries += res.DoubleEntries
		if err != nil {
			return st, err
		}
		if res.Offline || res.Behind {
			st.Offline, st.Behind = res.Offline, res.Behind
			break
		}
	}
	return st, ctx.Err()
}

// replayKeyLocked replays the offline writes of one ticket key, holding its
// stripe (a scan of it is about to claim).
func (ix *Index) replayKeyLocked(ctx context.Context, v *venueState, st *stripe, key uint64) (gate.ReplayStatus, error) {
	var out gate.ReplayStatus
	for _, o := range v.offlineOf(key) {
		res, err := ix.replayLocked(ctx, v, o)
		out.Replayed += res.Replayed
		out.DoubleEntries += res.DoubleEntries
		if err != nil || res.Offline || res.Behind {
			out.Offline, out.Behind = res.Offline, res.Behind
			return out, err
		}
	}
	return out, nil
}

// replayLocked replays offline write o holding its ticket's stripe.
func (ix *Index) replayLocked(ctx context.Context, v *venueState, o *offlineRec) (gate.ReplayStatus, error) {
	var out gate.ReplayStatus
	if _, waiting := v.getOffline(o.Seq); !waiting {
		return out, nil // replayed meanwhile (by a scan of its ticket, or learned)
	}
	se, ok, err := ix.entry(o.Seq)
	if err != nil {
		return out, err
	}
	if !ok || !offlineStands(o, &se) {
		// A commit that failed (the fixup made the journal entry the
		// refusal the scan was answered with): nothing to replay.
		ix.log.Info().Uint64("seq", o.Seq).Msg("venue: an offline write the journal does not hold is not replayed")
		return out, ix.dropOfflineRecords(v, o.Seq)
	}
	if !o.Annul && se.Annulled != 0 {
		if _, ok := v.getOffline(se.Annulled); ok {
			// Admitted and annulled offline: the hub needs neither.
			return out, ix.dropOfflineRecords(v, o.Seq, se.Annulled)
		}
	}
	rec, ok, err := ix.getTicket(nil, se.Decision.Barcode)
	if err != nil {
		return out, err
	}
	if !ok || rec.Key != o.Key {
		ix.log.Error().Uint64("seq", o.Seq).Str("barcode", se.Decision.Barcode).Msg("venue: the ticket of an offline write is gone; not replayed")
		return out, ix.dropOfflineRecords(v, o.Seq)
	}
	ref := o.ref()
	recorded := false
	for range maxReplayTries {
		cur, err := v.claimer.Current(ctx, o.Event, o.Ticket)
		if err != nil {
			if gate.ErrorCode(err) == gate.EUNAVAILABLE {
				out.Offline = true
				return out, nil
			}
			return out, err
		}
		if cur != nil && cur.By.Same(ref) {
			// The claim landed after all.
			return ix.settleReplay(v, &rec, o, cur, out)
		}
		if cur != nil && v.position.Load() < cur.Redemption.Revision {
			out.Behind = true
			return out, nil
		}
		base, known := gate.Redemption{Event: o.Event}, uint64(0)
		var prev *gate.Redemption
		if cur != nil {
			base, known = cur.Redemption, cur.Redemption.Revision
			base.Revision = 0
			p := base
			prev = &p
		}
		var next gate.Redemption
		if o.Annul {
			if next, err = gate.Annul(base, gate.Decision{Reason: o.Kind, At: o.Move.At, Seq: o.Move.Seq}); err != nil {
				ix.log.Warn().Uint64("seq", o.Seq).Err(err).Msg("venue: the hub no longer holds the admission an offline annulment took back")
				return out, ix.dropOfflineRecords(v, o.Seq)
			}
		} else {
			if de := ix.doubleEntry(&base, o, &rec); de != nil && !recorded {
				if err := v.claimer.RecordDoubleEntry(ctx, de); err != nil {
					if gate.ErrorCode(err) == gate.EUNAVAILABLE {
						out.Offline = true
						return out, nil
					}
					return out, err
				}
				recorded = true
				out.DoubleEntries++
				ix.log.Warn().Str("event", o.Event).Str("ticket", o.Ticket).Str("lane", o.Move.Lane).Uint64("seq", o.Seq).
					Str("other_appliance", de.Hub.Appliance).Str("other_lane", de.Hub.Lane).Msg("venue: double entry: an offline admission was already spent at another appliance")
			}
			next = mergeMovement(base, o.Kind, o.Move)
		}
		res := v.claimer.Claim(ctx, &gate.Claim{Event: o.Event, Ticket: o.Ticket, KnownRev: known, Redemption: next, Prev: prev, By: ref})
		switch res.Outcome {
		case gate.ClaimWon:
			next.Revision = res.Revision
			return ix.settleReplay(v, &rec, o, &gate.HubRedemption{Event: o.Event, Ticket: o.Ticket, Redemption: next, Prev: prev, By: ref}, out)
		case gate.ClaimLost:
			continue
		case gate.ClaimOffline:
			out.Offline = true
			return out, nil
		default:
			return out, errReplayRefused(res.Detail)
		}
	}
	out.Behind = true // the key kept changing: the next round tries again
	return out, nil
}

// settleReplay stores h, the hub's value holding offline write o, in place
// of the local one: the write's record goes in the same batch.
func (ix *Index) settleReplay(v *venueState, rec *ticketRec, o *offlineRec, h *gate.HubRedemption, out gate.ReplayStatus) (gate.ReplayStatus, error) {
	st := ix.stripe(rec.Key)
	rs, err := ix.redemptionsLocked(st, rec.Key)
	if err != nil {
		return out, err
	}
	if _, err := ix.applyHubLocked(v, st, rec, rs, h, 0, nil); err != nil {
		return out, err
	}
	if _, waiting := v.getOffline(o.Seq); waiting {
		// Not newer than what is stored (learned meanwhile): the record
		// goes on its own.
		if err := ix.dropOfflineRecords(v, o.Seq); err != nil {
			return out, err
		}
	}
	out.Replayed++
	return out, nil
}

type errReplayRefused string

func (e errReplayRefused) Error() string {
	return "index: the venue hub refused an offline replay: " + string(e)
}

// dropOfflineRecords deletes offline records (durably: a replayed write
// must not be replayed again after a crash).
func (ix *Index) dropOfflineRecords(v *venueState, seqs ...uint64) error {
	b := ix.db.NewBatch()
	for _, s := range seqs {
		_ = b.Delete(offlineKey(s), nil)
	}
	if err := ix.apply(b); err != nil {
		ix.fault(err)
		return ix.writeError(err)
	}
	for _, s := range seqs {
		v.dropOffline(s)
	}
	return nil
}

// offlineStands reports whether journal entry se is still the offline write
// o recorded.
func offlineStands(o *offlineRec, se *storedEntry) bool {
	d := &se.Decision
	if se.Key != o.Key || d.Event != o.Event || !d.At.Equal(o.Move.At) {
		return false
	}
	if o.Annul {
		return se.Kind == gate.KindAnnulment
	}
	return se.Kind == gate.KindDecision && d.Admit && d.Offline
}

// doubleEntry returns the double entry offline admission o makes on base,
// the hub's value, or nil: an entry when the hub shows every entry spent,
// a re-entry when it shows the ticket inside.
func (ix *Index) doubleEntry(base *gate.Redemption, o *offlineRec, rec *ticketRec) *gate.DoubleEntry {
	switch o.Kind {
	case gate.ReasonOK:
		allowed := 1
		if e, ok := ix.events.Load().Get(o.Event); ok {
			allowed = e.AllowedEntries()
		}
		used := base.Admissions
		if rec.T.UsedUpstream {
			used++
		}
		if used < allowed {
			return nil
		}
	case gate.ReasonReentry:
		if !base.Inside {
			return nil
		}
	default:
		return nil
	}
	hub := base.First
	if base.Inside || o.Kind == gate.ReasonReentry {
		hub = base.Last
	}
	return &gate.DoubleEntry{Event: o.Event, Ticket: o.Ticket, Hub: hub, Offline: o.Move, Reason: o.Kind, RecordedAt: time.Now().UTC()}
}

// applyOffline applies offline write o to r: its movement, or for an
// annulment the undoing of the admission.
func applyOffline(r gate.Redemption, o *offlineRec) gate.Redemption {
	if o.Annul {
		if out, err := gate.Annul(r, gate.Decision{Reason: o.Kind, At: o.Move.At, Seq: o.Move.Seq}); err == nil {
			return out
		}
		return r
	}
	return mergeMovement(r, o.Kind, o.Move)
}

// mergeMovement adds movement m of kind (ok, reentry or exit) to r, which
// may hold movements later than m: the first admission and the last
// movement go by time, the entry times stay in order.
func mergeMovement(r gate.Redemption, kind gate.Reason, m gate.Movement) gate.Redemption {
	switch kind {
	case gate.ReasonExit:
		r.Exits++
	case gate.ReasonReentry:
		r.Reentries++
		r.Entries = withEntryAt(r.Entries, m.At)
	default:
		r.Admissions++
		if (r.First.At.IsZero() && r.First.Lane == "") || m.At.Before(r.First.At) {
			r.First = m
		}
		r.Entries = withEntryAt(r.Entries, m.At)
	}
	if !m.At.Before(r.Last.At) {
		r.Last = m
		r.Inside = kind != gate.ReasonExit
	}
	return r
}

// withEntryAt returns entries with at inserted in time order, in a new
// array, the oldest dropped beyond gate.MaxEntryTimes.
func withEntryAt(entries []time.Time, at time.Time) []time.Time {
	i, _ := slices.BinarySearchFunc(entries, at, func(e, t time.Time) int { return e.Compare(t) })
	out := make([]time.Time, 0, len(entries)+1)
	out = append(out, entries[:i]...)
	out = append(out, at)
	out = append(out, entries[i:]...)
	if len(out) > gate.MaxEntryTimes {
		out = out[len(out)-gate.MaxEntryTimes:]
	}
	return out
}
