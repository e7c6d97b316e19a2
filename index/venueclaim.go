package index

import (
	"context"

	"github.com/admitgate/admit/gate"
)

// The claim (online redeem-once in a venue). A scan that gate.Decide lets
// through (an admission, a re-entry, an exit) is claimed at the hub before
// its local commit, holding the ticket's stripe:
//
//   - won: the hub took the write; it is committed here with the hub's new
//     revision and answered;
//   - lost: another appliance wrote first; its write is learned (stored
//     here like any learned one) and the scan decided again on it, at most
//     maxClaimTries times: normally already_used naming the winner's
//     appliance, lane and time;
//   - offline (no answer within the claim timeout, or no link): the lane's
//     offline policy: admit commits the admission marked Offline with an
//     offline record in the same batch, replayed at the hub later
//     (venuereplay.go); deny refuses with reason offline. An exit is never
//     held back: it is committed offline whatever the policy, since
//     refusing it keeps a person in;
//   - failed (the venue is wrong: bad bucket settings, a value that does
//     not decode, a refused link): refused with reason error, whatever the
//     policy: what the hub holds cannot be trusted to admit on. An exit
//     still goes through, committed offline.
//
// A claim that timed out may still land; the watch meets it (venuelearn.go)
// and keeps it when the local journal holds the admission it stands for, or
// releases it (a phantom) when not.

// maxClaimTries bounds the claims of one scan: each lost race learns the
// winner's write and decides again.
const maxClaimTries = 3

// redeemVenue finishes a scan whose decision writes (out), holding the
// ticket's stripe st, by claiming the write at the hub first.
func (ix *Index) redeemVenue(v *venueState, c *scanCall, sc *scratch, st *stripe, rec *ticketRec, rs []gate.Redemption, out *gate.Outcome, events *gate.EventSet, zp *zonePass) gate.Decision {
	// A place held in a zone goes with the commit, or is let go when the
	// hub's answer turns the admission into a refusal.
	defer ix.passageDropped(zp)
	key := rec.Key
	tid, err := ix.venueTicketID(rec)
	if err != nil {
		ix.log.Error().Err(err).Str("barcode", c.s.Barcode).Msg("scan: the venue ticket id could not be read")
		return ix.refuseDecided(c, out, gate.ReasonError, "storage read failed", key, events)
	}
	// Offline writes of this ticket still waiting go to the hub first: a
	// claim on top of them would carry them along, and their replay would
	// then count them twice.
	if len(v.offlineOf(key)) > 0 {
		res, err := ix.replayKeyLocked(context.Background(), v, st, key)
		switch {
		case err != nil && out.Decision.Reason != gate.ReasonExit:
			ix.log.Warn().Err(err).Str("barcode", c.s.Barcode).Msg("scan: the ticket's offline writes could not be replayed; failing closed")
			return ix.refuseDecided(c, out, gate.ReasonError, "the venue hub could not take this ticket's offline admissions", key, events)
		case err != nil || res.Offline || res.Behind:
			return ix.venueOffline(v, c, sc, st, rec, rs, out, events, tid, zp)
		}
		if rs, err = ix.redemptionsLocked(st, key); err != nil {
			return ix.refuseDecided(c, out, gate.ReasonError, "storage read failed", key, events)
		}
		if !ix.decideAgain(c, sc, rec, rs, out, events) {
			return ix.journalDecided(c, out.Decision, key, events)
		}
	}
	for try := 1; ; try++ {
		cl := claimOf(v.me, tid, rs, out)
		res := v.claimer.Claim(context.Background(), &cl)
		switch res.Outcome {
		case gate.ClaimWon:
			out.Redemption.Revision = res.Revision
			return ix.commitAdmission(c, sc, st, rec, rs, out, events, zp)
		case gate.ClaimOffline:
			return ix.venueOffline(v, c, sc, st, rec, rs, out, events, tid, zp)
		case gate.ClaimLost:
		default:
			if out.Decision.Reason == gate.ReasonExit {
				return ix.venueOffline(v, c, sc, st, rec, rs, out, events, tid, zp)
			}
			ix.log.Warn().Str("barcode", c.s.Barcode).Str("detail", res.Detail).Msg("scan: the venue hub refused the claim; failing closed")
			return ix.refuseDecided(c, out, gate.ReasonError, nonEmptyDetail(res.Detail), key, events)
		}
		cur := res.Current
		switch {
		case cur == nil:
			// The hub holds no value where this appliance saw one (a hub
			// set up anew): claim the key from scratch.
			rs = withRevision(rs, out.Redemption.Event, 0)
			out.Redemption.Revision = 0
		case cur.By.Same(cl.By):
			// Our own claim, which landed though its answer was lost.
			out.Redemption.Revision = cur.Redemption.Revision
			return ix.commitAdmission(c, sc, st, rec, rs, out, events, zp)
		default:
			if rs, err = ix.applyHubLocked(v, st, rec, rs, cur, 0, nil); err != nil {
				ix.log.Warn().Err(err).Str("barcode", c.s.Barcode).Msg("scan: the winner of a lost claim could not be learned")
				return ix.refuseDecided(c, out, gate.ReasonError, "the venue hub's answer could not be stored", key, events)
			}
			if !ix.decideAgain(c, sc, rec, rs, out, events) {
				return ix.journalDecided(c, out.Decision, key, events)
			}
		}
		if try >= maxClaimTries {
			return ix.refuseDecided(c, out, gate.ReasonError, "the ticket kept changing at the venue hub; scan again", key, events)
		}
	}
}

// decideAgain decides the scan again on rs under its own sequence number
// and reports whether it still writes.
func (ix *Index) decideAgain(c *scanCall, sc *scratch, rec *ticketRec, rs []gate.Redemption, out *gate.Outcome, events *gate.EventSet) bool {
	*out = gate.Decide(gate.Input{Scan: &sc.scan, Ticket: &rec.T, Redemptions: rs, Events: events, Seq: out.Decision.Seq,
		Appliance: ix.opts.Appliance})
	return out.Write
}

// venueOffline decides a write the hub did not answer for: by the lane's
// offline policy (an exit always goes through).
func (ix *Index) venueOffline(v *venueState, c *scanCall, sc *scratch, st *stripe, rec *ticketRec, rs []gate.Redemption, out *gate.Outcome, events *gate.EventSet, tid string, zp *zonePass) gate.Decision {
	d := &out.Decision
	if c.s.Offline != gate.OfflineAdmit && d.Reason != gate.ReasonExit {
		return ix.refuseDecided(c, out, gate.ReasonOffline, "the venue hub did not answer", rec.Key, events)
	}
	o := &offlineRec{Seq: d.Seq, Key: rec.Key, Event: out.Redemption.Event, Ticket: tid, Kind: movementKind(d.Reason),
		Move: gate.Movement{At: d.At, Lane: d.Lane, Seq: d.Seq, Appliance: v.me}}
	d.Offline = true
	c.offline = o
	answered := ix.commitAdmission(c, sc, st, rec, rs, out, events, zp)
	c.offline = nil
	if answered.Admit {
		v.addOffline(o)
	}
	return answered
}

// refuseDecided refuses a scan that was decided to write (it holds its
// sequence number) for reason r, journaling the refusal.
func (ix *Index) refuseDecided(c *scanCall, out *gate.Outcome, r gate.Reason, detail string, key uint64, events *gate.EventSet) gate.Decision {
	d := c.s.Refusal(r, detail)
	d.Seq, d.Event, d.Ticket = out.Decision.Seq, out.Decision.Event, out.Decision.Ticket
	d.Offline = r == gate.ReasonOffline
	return ix.journalDecided(c, d, key, events)
}

// claimOf is the claim of out's write by appliance me, made from rs.
func claimOf(me, tid string, rs []gate.Redemption, out *gate.Outcome) gate.Claim {
	d := &out.Decision
	cl := gate.Claim{Event: out.Redemption.Event, Ticket: tid, Redemption: out.Redemption,
		By: gate.ClaimRef{Appliance: me, Seq: d.Seq, At: d.At}}
	cl.Redemption.Revision = 0
	if p := findRed(rs, cl.Event); p != nil {
		prev := *p
		cl.KnownRev, prev.Revision = p.Revision, 0
		cl.Prev = &prev
	}
	return cl
}

// withRevision returns rs with the redemption of event at revision rev, in
// a new slice (the stripe's copy is never modified).
func withRevision(rs []gate.Redemption, event string, rev uint64) []gate.Redemption {
	out := make([]gate.Redemption, len(rs))
	copy(out, rs)
	for i := range out {
		if out[i].Event == event {
			out[i].Revision = rev
		}
	}
	return out
}

// movementKind is the movement a write records: an exit, a re-entry, or an
// entry (ok, and an override's admission).
func movementKind(r gate.Reason) gate.Reason {
	switch r {
	case gate.ReasonExit, gate.ReasonReentry:
		return r
	}
	return gate.ReasonOK
}

func nonEmptyDetail(s string) string {
	if s == "" {
		return "the venue hub refused the claim"
	}
	return s
}

// redemptionsLocked returns the redemptions of key, from the stripe's
// cache or the store (then cached), holding the stripe.
func (ix *Index) redemptionsLocked(st *stripe, key uint64) ([]gate.Redemption, error) {
	if rs, ok := st.redemptions(key); ok {
		return rs, nil
	}
	rs, err := ix.getRedemptions(nil, key)
	if err != nil {
		return nil, err
	}
	st.remember(key, rs)
	return rs, nil
}
