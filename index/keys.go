package index

import "encoding/binary"

// The key space. One byte names the kind of record; multi-byte numbers are
// big-endian so keys sort numerically.
//
//	t<barcode>          ticket record (ticketRec)
//	r<key:8>            the redemptions of a ticket key, all its events
//	j<seq:8>            journal entry
//	h<key:8><seq:8>     history index: journal entries about a ticket key
//	n<nonce>            nonce -> seq, at
//	e<id>               event
//	p<id>               provider
//	m<name>             meta values written by the scan path, Close and Open
//	sr<provider>0<code> a signed provider's revoked secret (signed_records.go)
//	sb<provider>0<code> a signed provider's blocked secret
//	sk<key:8>           a ticket a signed code created on first sight
//	xi<id:8>            import record
//	xm<name>            meta values an import writes (ticket count, next
//	                    ticket key, next import id, bloom generation)
//	v<name>             a venue's state: learned position, learned
//	                    redemptions waiting for their ticket, learned
//	                    report minutes (venue.go)
//	o<seq:8>            a venue's offline write waiting for its replay
//	z<kind>...          zones and overrides (zones.go): zt<key:8> where a
//	                    ticket is, zp<seq:8> a passage's move, za<seq:8> a
//	                    guest without a ticket, zr<zone> when a zone was
//	                    emptied, zo<seq:8> an override
//	cr<seq:8>           the record of changes: a change (changes.go)
//	cp                  the venue changes stream's position applied
//	xcr<seq:8>, xcp     the same for imports: an import's change and
//	                    position, in the narrow x range of its ingest
//
// The changes other than imports keep to 'c', below the events and
// providers they write with: a flushed table of catalog changes then spans
// c to p and never overlaps the tickets' tables (nor does an import's table
// stretch across the keys scans write).
//
// Everything an import writes besides tickets lives in the narrow x range,
// which scans never write: the SSTable holding it does not overlap the
// memtable, so the ingest neither forces a flush nor stalls the commits of
// scans behind one.
const (
	prefixTicket     = 't'
	prefixRedemption = 'r'
	prefixJournal    = 'j'
	prefixHistory    = 'h'
	prefixNonce      = 'n'
	prefixEvent      = 'e'
	prefixProvider   = 'p'
	prefixMeta       = 'm'
	prefixSigned     = 's' // signed and rotating providers' lists and first sights (signed_records.go)
	prefixImportMeta = 'x'
	prefixVenue      = 'v' // see venue.go
	prefixOffline    = 'o' // see venue.go
	prefixZone       = 'z' // zones and overrides (zones.go)
)

// warmKey is the scratch key of the WAL warm-up at Open (see warmWAL), set
// and deleted at once. It sorts after every record's prefix, so no table of
// records spans it and compacting its tombstones away rewrites nothing.
var warmKey = []byte{0xff, 'w', 'a', 'r', 'm'}

// prefixImport starts the import records.
var prefixImport = []byte("xi")

// The record of changes and the venue position (changes.go): imports keep
// theirs in the x range.
var (
	prefixChange        = []byte("cr")
	metaChangePos       = []byte("cp")
	prefixImportChange  = []byte("xcr")
	metaImportChangePos = []byte("xcp")
)

// Meta keys.
var (
	metaNextKey    = []byte("xmnextkey")    // next ticket key to assign (uint64)
	metaNextImport = []byte("xmnextimport") // next import id (uint64)
	metaTickets    = []byte("xmtickets")    // ticket records (barcodes) stored (uint64)
	metaBloomGen   = []byte("xmbloomgen")   // changes whenever barcodes are added (uint64)
	metaJournalWM  = []byte("mjournalwm")   // every seq at or below is on disk (uint64)
	metaStoreID    = []byte("mstoreid")     // the store's id: 16 random bytes written once, when it is created
	metaCounters   = []byte("mcounters")    // report counters saved by Close
	metaFormat     = []byte("mformat")      // the store's format (uint64; formatversion.go)
)

func ticketKey(barcode string) []byte {
	k := make([]byte, 1+len(barcode))
	k[0] = prefixTicket
	copy(k[1:], barcode)
	return k
}

func appendTicketKey(dst []byte, barcode string) []byte {
	dst = append(dst, prefixTicket)
	return append(dst, barcode...)
}

func redemptionKey(key uint64) []byte {
	var k [9]byte
	k[0] = prefixRedemption
	binary.BigEndian.PutUint64(k[1:], key)
	return k[:]
}

func journalKey(seq uint64) []byte {
	var k [9]byte
	k[0] = prefixJournal
	binary.BigEndian.PutUint64(k[1:], seq)
	return k[:]
}

// putRedemptionKey writes the redemption key of a ticket key into k and
// returns it.
func putRedemptionKey(k *[9]byte, key uint64) []byte {
	k[0] = prefixRedemption
	binary.BigEndian.PutUint64(k[1:], key)
	return k[:]
}

// putJournalKey writes the journal key of seq into k and returns it (no
// allocation: batches copy their keys).
func putJournalKey(k *[9]byte, seq uint64) []byte {
	k[0] = prefixJournal
	binary.BigEndian.PutUint64(k[1:], seq)
	return k[:]
}

// putHistoryKey writes a history key into k and returns it.
func putHistoryKey(k *[17]byte, key, seq uint64) []byte {
	k[0] = prefixHistory
	binary.BigEndian.PutUint64(k[1:], key)
	binary.BigEndian.PutUint64(k[9:], seq)
	return k[:]
}

func historyKey(key, seq uint64) []byte {
	var k [17]byte
	k[0] = prefixHistory
	binary.BigEndian.PutUint64(k[1:], key)
	binary.BigEndian.PutUint64(k[9:], seq)
	return k[:]
}

func nonceKey(nonce string) []byte {
	k := make([]byte, 1+len(nonce))
	k[0] = prefixNonce
	copy(k[1:], nonce)
	return k
}

func eventKey(id string) []byte    { return append([]byte{prefixEvent}, id...) }
func providerKey(id string) []byte { return append([]byte{prefixProvider}, id...) }

func importKey(id uint64) []byte {
	var k [10]byte
	copy(k[:], prefixImport)
	binary.BigEndian.PutUint64(k[2:], id)
	return k[:]
}

// prefixEnd returns the smallest key greater than every key starting with p.
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		end[i]++
		if end[i] != 0 {
			return end[:i+1]
		}
	}
	return nil
}

func u64(v uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	return b[:]
}
