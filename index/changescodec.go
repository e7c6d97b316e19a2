package index

import (
	"github.com/admitgate/admit/gate"
)

// changeVersion is the version of the change record (xcr<seq:8>).
const changeVersion = 1

// encodeChange writes a change record: its fields in a fixed order, each
// optional part behind a presence byte. Seq is the key's.
func encodeChange(c *gate.Change) []byte {
	e := encoder{}
	e.byte(changeVersion)
	e.string(c.ID)
	e.string(string(c.Kind))
	e.string(c.By)
	e.time(c.At)
	e.string(c.Appliance)
	e.uvarint(c.Position)
	e.bool(c.Provider != nil)
	if c.Provider != nil {
		e.string(c.Provider.ID)
		e.string(c.Provider.Name)
	}
	e.bool(c.Event != nil)
	if c.Event != nil {
		e.string(c.Event.ID)
		e.string(string(encodeEvent(*c.Event)))
	}
	e.string(c.Barcode)
	e.string(c.NewBarcode)
	e.strings(c.Add)
	e.strings(c.Remove)
	e.uvarint(c.ImportID)
	e.bool(c.Import != nil)
	if ic := c.Import; ic != nil {
		e.string(ic.Provider)
		e.string(ic.Event)
		e.string(ic.PriceType)
		e.string(string(ic.Format))
		e.string(string(ic.OnError))
		e.string(ic.Source)
		e.string(ic.File)
		e.varint(ic.Size)
		for _, n := range []int{ic.Lines, ic.Added, ic.Updated, ic.Unchanged, ic.Rejected} {
			e.uvarint(uint64(n))
		}
	}
	e.string(c.Detail)
	return e.b
}

// decodeChange reads the change record numbered seq.
func decodeChange(seq uint64, b []byte) (gate.Change, error) {
	d := decoder{b: b}
	d.version(changeVersion)
	c := gate.Change{Seq: seq, ID: d.string(), Kind: gate.ChangeKind(d.string()), By: d.string(), At: d.time(),
		Appliance: d.string(), Position: d.uvarint()}
	if d.bool() {
		c.Provider = &gate.Provider{ID: d.string(), Name: d.string()}
	}
	if d.bool() {
		id, enc := d.string(), d.string()
		if d.err == nil {
			ev, err := decodeEvent(id, []byte(enc))
			if err != nil {
				return c, err
			}
			c.Event = &ev
		}
	}
	c.Barcode, c.NewBarcode = d.string(), d.string()
	c.Add, c.Remove = d.strings(), d.strings()
	c.ImportID = d.uvarint()
	if d.bool() {
		c.Import = &gate.ImportChange{Provider: d.string(), Event: d.string(), PriceType: d.string(),
			Format: gate.Format(d.string()), OnError: gate.OnError(d.string()), Source: d.string(), File: d.string(),
			Size: d.varint()}
		c.Import.Lines, c.Import.Added, c.Import.Updated, c.Import.Unchanged, c.Import.Rejected =
			d.int(), d.int(), d.int(), d.int(), d.int()
	}
	c.Detail = d.string()
	return c, d.finish()
}
