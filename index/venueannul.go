package index

import (
	"context"

	"github.com/admitgate/admit/gate"
	"github.com/cockroachdb/pebble/v2"
)

// annulVenue finishes Annul in a venue, holding the ticket's stripe st: the
// annulment is claimed at the hub like a scan's write (an Update that takes
// the admission back), then committed. A lost race learns the winner and
// annuls on it; when the hub does not answer, the annulment is committed
// here and replayed later (the guest whose turnstile did not turn may scan
// again at this appliance at once); a venue that is wrong refuses it
// (EUNAVAILABLE). rec is the live ticket, rs its redemptions, se the
// admission's journal entry.
func (ix *Index) annulVenue(v *venueState, st *stripe, rec *ticketRec, rs []gate.Redemption, se storedEntry, by string) (gate.JournalEntry, error) {
	seq, ev := se.Seq, se.Decision.Event
	tid, err := ix.venueTicketID(rec)
	if err != nil {
		return gate.JournalEntry{}, err
	}
	online := true
	if len(v.offlineOf(se.Key)) > 0 {
		res, err := ix.replayKeyLocked(context.Background(), v, st, se.Key)
		if err != nil {
			return gate.JournalEntry{}, err
		}
		online = !res.Offline && !res.Behind
		if rs, err = ix.redemptionsLocked(st, se.Key); err != nil {
			return gate.JournalEntry{}, err
		}
	}
	annSeq := ix.seq.Add(1)
	// Every way out before the commit leaves annSeq taken: a lost entry
	// fills it, so the journal stays gapless.
	fail := func(err error) (gate.JournalEntry, error) {
		ix.jw.addUnreserved(lostEntry(annSeq, "the annulment was not made: "+err.Error()))
		return gate.JournalEntry{}, err
	}
	ref := gate.ClaimRef{Appliance: v.me, Seq: annSeq, At: se.Decision.At}
	var undone gate.Redemption
	var offline *offlineRec
loop:
	for try := 1; ; try++ {
		r := findRed(rs, ev)
		if r == nil {
			return fail(gate.Errorf(gate.ECONFLICT, "scan %d: the ticket has no redemption for %s left to annul", seq, ev))
		}
		if undone, err = gate.Annul(*r, se.Decision); err != nil {
			return fail(err)
		}
		if !online {
			break
		}
		prev := *r
		prev.Revision = 0
		claim := gate.Claim{Event: ev, Ticket: tid, KnownRev: r.Revision, Redemption: undone, Prev: &prev, By: ref}
		claim.Redemption.Revision = 0
		res := v.claimer.Claim(context.Background(), &claim)
		switch res.Outcome {
		case gate.ClaimWon:
			undone.Revision = res.Revision
			break loop
		case gate.ClaimOffline:
			online = false
			break loop
		case gate.ClaimLost:
		default:
			return fail(gate.Errorf(gate.EUNAVAILABLE, "%s", nonEmptyDetail(res.Detail)))
		}
		switch cur := res.Current; {
		case cur == nil:
			rs = withRevision(rs, ev, 0)
		case cur.By.Same(ref):
			undone.Revision = cur.Redemption.Revision // landed, though its answer was lost
			break loop
		default:
			if rs, err = ix.applyHubLocked(v, st, rec, rs, cur, 0, nil); err != nil {
				return fail(err)
			}
		}
		if try >= maxClaimTries {
			return fail(gate.Errorf(gate.EUNAVAILABLE, "the ticket kept changing at the venue hub; annul again"))
		}
	}
	if !online {
		offline = &offlineRec{Seq: annSeq, Key: se.Key, Event: ev, Ticket: tid, Kind: movementKind(se.Decision.Reason), Annul: true,
			Move: gate.Movement{At: se.Decision.At, Lane: se.Decision.Lane, Seq: seq, Appliance: v.me}}
	}
	next := withRedemption(rs, undone)
	ann, err := ix.commitAnnul(st, se, annSeq, next, by, func(b *pebble.Batch) {
		if offline != nil {
			_ = b.Set(offlineKey(annSeq), encodeOffline(offline), nil)
		}
	})
	if err != nil {
		return gate.JournalEntry{}, err
	}
	if offline != nil {
		v.addOffline(offline)
	}
	ix.ctrs().annulled(&rec.T, rs, next, &se.Decision)
	ix.log.Info().Uint64("seq", seq).Uint64("annulment", annSeq).Str("by", by).Bool("offline", offline != nil).Msg("admission annulled")
	return ann, nil
}
