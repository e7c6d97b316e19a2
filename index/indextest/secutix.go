package indextest

import (
	"bufio"
	"fmt"
	"io"
)

// SecutixHeader is the header line of a SecuTix reseller export.
const SecutixHeader = "BAR_CODE;TICKET_STATE;FILE_NUMBER;PRODUCT_CODE;PRODUCT_NAME;VALIDITY_DATE;TARIFF_CODE;TARIFF_NAME;PRICE;ORDER_DATE;CONTACT_NUMBER\n"

// WriteSecutix writes the tickets of Source{N: n, From: from} as a SecuTix
// reseller file (header, then one ';'-separated line per ticket, dates in
// UTC), so a benchmark can time the parser and the store together on the
// very tickets the synthetic source yields. Importing it with Event set to
// EventID and the UTC location gives the same tickets as the Source.
func WriteSecutix(w io.Writer, from, n int) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	if _, err := bw.WriteString(SecutixHeader); err != nil {
		return fmt.Errorf("indextest: write secutix: %w", err)
	}
	src := &Source{N: n, From: from}
	var line []byte
	for {
		l, err := src.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("indextest: write secutix: %w", err)
		}
		t := &l.Ticket
		state := "PRINTED"
		if l.Line%2 == 0 {
			state = "NOT_PRINTED"
		}
		line = append(line[:0], t.Barcode...)
		line = append(line, ';')
		line = append(line, state...)
		line = append(line, ';')
		line = append(line, t.Order...)
		line = append(line, ';')
		line = append(line, t.Product.Code...)
		line = append(line, ';')
		line = append(line, t.Product.Name...)
		line = append(line, ';')
		line = t.ValidityAt.AppendFormat(line, "02/01/2006 15:04")
		line = append(line, ';')
		line = append(line, t.PriceType.Code...)
		line = append(line, ';')
		line = append(line, t.PriceType.Name...)
		line = append(line, ';')
		line = append(line, t.Price...)
		line = append(line, ';')
		line = t.OrderedAt.AppendFormat(line, "2006-01-02 15:04")
		line = append(line, ';')
		line = append(line, t.Contact...)
		line = append(line, '\n')
		if _, err := bw.Write(line); err != nil {
			return fmt.Errorf("indextest: write secutix: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("indextest: write secutix: %w", err)
	}
	return nil
}
