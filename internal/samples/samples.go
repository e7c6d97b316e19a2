// Package samples embeds the sample import files admins load (copied from the
// project's shared samples): the SecuTix reseller export, a box-office CSV and
// a pasted list. The demo loads them and the importer's tests check their
// exact counts.
package samples

import (
	"embed"
	"io/fs"
)

//go:embed README.md *.csv *.txt
var files embed.FS

// Names of the sample files.
const (
	Secutix   = "secutix-reseller.csv" // 40 lines, two products, every TICKET_STATE
	BoxOffice = "box-office.csv"       // 15 lines, BOM, CRLF, RFC 4180 quotes
	Paste     = "paste-barcodes.txt"   // 28 barcodes, CRLF, one blank line
)

// FS returns the sample files.
func FS() fs.FS { return files }

// Read returns one sample file's bytes.
func Read(name string) ([]byte, error) { return files.ReadFile(name) }
