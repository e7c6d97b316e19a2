package main

// The venue's uses and the ticketing systems (issue 22, item 3).
//
// In a venue every appliance delivers the uses of its own journal, through
// its own [[exports]] and [[webhooks]], and no other. Every admission is
// journaled at exactly one appliance, the one that made it (what an
// appliance learns from the hub is applied to its store, not journaled), so
// the venue's uses are delivered once each: an export's files list every
// use of their appliance once, and a webhook's ids, "<appliance>:<seq>",
// are unique venue-wide. A double entry is two admissions at two
// appliances, and two uses delivered: two people went in.
//
// An election of one deliverer (outbound.Options.Active) would be wrong
// with the journal as it is: the elected appliance could deliver only its
// own uses, and the others' would wait for an election that may never
// come. One deliverer needs the venue's uses as one gapless feed at the hub
// (each appliance publishing its journal there, the elected one reading
// it, its position kept at the hub so that the next one resumes); until
// then the seam stays unused (nil: always active).
//
// What differs in a venue: an export's files are named
// <appliance>-<export>-... unless file_prefix says otherwise, so that the
// appliances may write into one shared folder; a webhook's receiver gets
// one stream of batches per appliance (each batch names its appliance).
