// Package importfile turns import files into gate.ImportLines: the parsers
// for the three formats admins load, and the gate.Importer (Service) that
// puts them in front of the store's gate.Loader.
//
// # Streaming
//
// A [Source] reads its file once, through a fixed buffer: memory does not
// grow with the file, and a line longer than [Options.MaxLineBytes] (64 KiB
// by default) is rejected too_long and skipped without being held whole. It
// hashes every byte it reads, so [Source.Digest] (after io.EOF) is the
// SHA-256 of the file as received. A read error of the underlying reader,
// such as a body over its size limit, is an error of Next, never a rejected
// line: the import then fails and changes nothing.
//
// # Formats
//
// [gate.FormatAuto] picks the format from the first non-blank line: a
// SecuTix header (BAR_CODE and TICKET_STATE), or eleven ';'-separated fields
// with a known ticket state, is secutix; a header naming a barcode column is
// csv; anything else is lines. Files that are not text at all (UTF-16,
// ZIP/XLSX, XLS, gzip, PDF, or binary data: one byte in sixteen of the first
// 4 KiB, and at least 32, control bytes no text holds) are rejected
// unreadable_format on line 1. In a text file a NUL or another control byte
// rejects only its own line (control_character), wherever it sits. Every
// format accepts LF or CRLF line ends and a UTF-8 BOM at the start of the
// file, and skips blank lines.
//
// A barcode is taken as written, and refused when a scanner could never
// read it back: control characters (control_character) and the invisible
// characters editors and concatenated files slip in (invisible_character):
// the byte order mark U+FEFF (cat a.csv b.csv leaves b's at the start of a
// line), the zero-width U+200B-U+200D and U+2060, the bidirectional marks
// U+200E, U+200F, U+202A-U+202E and U+2066-U+2069, and the soft hyphen
// U+00AD.
//
//   - lines: one barcode per line, as pasted. Spaces around a line are
//     ignored; nothing inside it is changed. The event comes from the request.
//
//   - csv: a header row, then one ticket per row. The separator (',', ';' or
//     tab) is the one the header uses most. Quotes follow RFC 4180 (doubled
//     quotes inside, separators and line breaks inside a quoted field; such a
//     record's line number is that of its first line). Spaces around unquoted
//     fields are dropped; quoted fields are kept exactly. Column names are
//     case-insensitive, spaces and dashes count as '_', unknown columns are
//     ignored, and each column has aliases (see the table below).
//
//   - secutix: the SecuTix reseller export: ';'-separated BAR_CODE,
//     TICKET_STATE, FILE_NUMBER, PRODUCT_CODE, PRODUCT_NAME, VALIDITY_DATE,
//     TARIFF_CODE, TARIFF_NAME, PRICE, ORDER_DATE, CONTACT_NUMBER, with or
//     without the header (with it, the columns may come in any order). States:
//     PRINTED and NOT_PRINTED are valid, CANCELLED cancelled, INVALIDATED
//     invalidated, CONTROLLED valid but already used upstream
//     (Ticket.UsedUpstream); any case. The csv format reads these states too,
//     and also valid, cancelled, invalidated and used.
//
// The CSV columns and their aliases:
//
//	barcode          barcode, bar_code, code, ticket_code, ticket_barcode, ticket
//	event            event, event_id, event_code, events
//	                 (several events of a pass separated by '|': "MATCH-1|MATCH-2")
//	product code     product_code, product_id (also the event when there is no event column)
//	product name     product_name, product
//	price type       price_type, tariff_code, tariff, price_type_code
//	price type name  price_type_name, tariff_name
//	holder           holder, holder_name, name, attendee
//	order            order, order_id, order_number, file_number
//	contact          contact, contact_number, contact_id
//	price            price, amount ("45.00" or "45,00"; kept with '.')
//	state            state, ticket_state, status (an empty state is valid)
//	validity date    validity_date, validity
//	order date       order_date, ordered_at
//	customer key     customer_key, holder_key (a rotating provider's ticket
//	                 holder's key, hex: gate.ImportLine.CustomerKey, a secret
//	                 no rejection shows)
//
// Dates are dd/MM/yyyy[ HH:mm[:ss]] (day, month and hour may have one digit,
// '.' may replace '/') or ISO 8601 (yyyy-MM-dd, 'T' or ' ', seconds and
// fractions optional, Z or ±hh:mm); a date without a zone is in
// [Options.Location].
//
// # Mapping
//
// Provider comes from the request. Events come from the request's Event,
// else from the file's event column, else from its product code column. The
// price type is the request's PriceType, else the file's code and name. The
// parser checks what a line alone can tell (see gate/imports.go for the
// reasons: empty, too_long, control_character, invisible_character,
// invalid_utf8, wrong_column_count, missing_event, bad_event_id, bad_date,
// bad_state, bad_price, bad_field, bad_quote, bad_header,
// unreadable_format); the
// Loader checks what needs the store (unknown_event, other_provider,
// conflicting_duplicate).
//
// # Sharing
//
// The strings that repeat across lines (product, tariff, price, event) are
// interned, so ten million tickets hold one copy of each; a ticket's own
// strings (barcode, holder, order, contact) share one allocation. Tickets of
// one source may share their Events slice: treat it as read-only (its
// capacity equals its length, so an append copies).
package importfile
