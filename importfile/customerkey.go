package importfile

import (
	"strconv"

	"github.com/admitgate/admit/codes"
)

// customerKey reads a customer_key cell: the ticket holder's TOTP key of a
// rotating provider's ticket, written as hex (codes.ParseKey). The key is a
// secret: a rejection's detail (column names the file's column) says what
// is wrong with it and never shows it.
func customerKey(cell []byte, column string) ([]byte, string) {
	key, err := codes.ParseKey(string(cell))
	if err != nil {
		return nil, column + " is not a customer key: write it as hex, " + strconv.Itoa(2*codes.MinKeyLen) + " to " +
			strconv.Itoa(2*codes.MaxKeyLen) + " digits"
	}
	return key, ""
}
