package index

import (
	"errors"
	"fmt"

	"github.com/admitgate/admit/gate"
)

// An import's change (see changes.go). A venue's import carries its change
// in ImportRequest.Change, whose Position becomes the import's id: every
// appliance applies the venue's imports in one order, but an appliance's
// own counter could stand elsewhere (a store that once took imports of its
// own), and a withdrawal names the import by id everywhere.

// checkImportChange checks a venue import's change before anything is
// read: its kind and position, and that no import holds its id.
func (ix *Index) checkImportChange(req *gate.ImportRequest) error {
	c := req.Change
	if c == nil {
		return nil
	}
	if req.DryRun {
		return errors.New("index: import: a dry run applies no change")
	}
	if c.Kind != gate.ChangeImport || c.Position == 0 {
		return fmt.Errorf("index: import: change %s is not a venue import (kind %s, position %d)", c.ID, c.Kind, c.Position)
	}
	if err := ix.chg.check(c); err != nil {
		return err
	}
	if err := ix.enter(); err != nil {
		return err
	}
	defer ix.exit()
	rec, err := ix.importRecord(c.Position)
	switch {
	case err == nil:
		return fmt.Errorf("index: import: the venue import at position %d needs import id %d, which import of %s (%s, by %s) holds: "+
			"this store took imports outside the venue; a venue appliance starts from an empty store or a copy of another appliance's",
			c.Position, c.Position, rec.Source, rec.At.Format("2006-01-02 15:04"), rec.By)
	case gate.ErrorCode(err) != gate.ENOTFOUND:
		return err
	}
	return nil
}

// importID is the id the import gets: its venue position, or the next one.
func (l *loader) importID() uint64 {
	if c := l.req.Change; c != nil && c.Position != 0 {
		return c.Position
	}
	return l.ix.nextImport
}

// change is the import's change as it is recorded: the venue's, or a new
// one; with the id the import got and what it did.
func (l *loader) change() *gate.Change {
	var c *gate.Change
	if l.req.Change != nil {
		cc := *l.req.Change
		c = &cc
		if c.Import != nil {
			ic := *c.Import
			c.Import = &ic
		}
	} else {
		c = newChange(gate.ChangeImport, l.req.By)
		c.At = l.asked
	}
	if c.Import == nil {
		c.Import = gate.ImportChangeOf(l.req, "", 0)
	}
	if c.Import.File == "" {
		c.Import.File = l.res.Digest
	}
	if c.Import.Format == gate.FormatAuto {
		c.Import.Format = l.res.Format
	}
	c.ImportID = l.id
	c.Import.Lines, c.Import.Added, c.Import.Updated = l.res.Lines, l.res.Added, l.res.Updated
	c.Import.Unchanged, c.Import.Rejected = l.res.Unchanged, l.res.Rejected
	c.Seq = 0
	return c
}
