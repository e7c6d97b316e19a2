package importfile

import (
	"strings"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
)

// ticketCase is one input and the tickets it must yield, in order.
type ticketCase struct {
	name  string
	req   gate.ImportRequest
	input string
	want  []gate.Ticket // Provider "p1" and State valid are filled in when unset
	lines []int         // the line numbers, when they are not 1, 2, 3...
}

func runTicketCases(t *testing.T, format gate.Format, tests []ticketCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := tt.req
			if req.Format == gate.FormatAuto {
				req.Format = format
			}
			lines, src := parse(t, tt.input, req)
			if len(lines) != len(tt.want) {
				t.Fatalf("%d lines, want %d: %+v", len(lines), len(tt.want), lines)
			}
			for i, l := range lines {
				if l.Reject != nil {
					t.Fatalf("line %d rejected: %v", l.Line, l.Reject)
				}
				want := tt.want[i]
				if want.Provider == "" {
					want.Provider = "p1"
				}
				if want.State == 0 {
					want.State = gate.StateValid
				}
				assertTicket(t, l.Ticket, want)
				if err := l.Ticket.Validate(); err != nil {
					t.Error(err)
				}
				wantLine := i + 1
				if tt.lines != nil {
					wantLine = tt.lines[i]
				}
				if l.Line != wantLine {
					t.Errorf("ticket %d on line %d, want %d", i, l.Line, wantLine)
				}
			}
			if n := len(lines) + src.blank + src.header + src.continued; n != physicalLines([]byte(tt.input)) {
				t.Errorf("%d lines accounted for, the input has %d", n, physicalLines([]byte(tt.input)))
			}
		})
	}
}

func ev(ids ...string) []string { return ids }

func TestLinesFormat(t *testing.T) {
	e := gate.ImportRequest{Event: "E1"}
	runTicketCases(t, gate.FormatLines, []ticketCase{
		{name: "LF", req: e, input: "A1\nb2\n", want: []gate.Ticket{
			{Barcode: "A1", Events: ev("E1")}, {Barcode: "b2", Events: ev("E1")}}},
		{name: "CRLF and no final line end", req: e, input: "A1\r\nB2", want: []gate.Ticket{
			{Barcode: "A1", Events: ev("E1")}, {Barcode: "B2", Events: ev("E1")}}},
		{name: "BOM", req: e, input: bom + "A1\n", want: []gate.Ticket{{Barcode: "A1", Events: ev("E1")}}},
		{name: "blank lines and spaces around", req: e, input: "\n  A1 \t\r\n   \n\u00a0B2\u00a0\n\n",
			want: []gate.Ticket{{Barcode: "A1", Events: ev("E1")}, {Barcode: "B2", Events: ev("E1")}}, lines: []int{2, 4}},
		{name: "inside kept, case kept", req: e, input: "a B  c\n\"Q\";x,y\n", want: []gate.Ticket{
			{Barcode: "a B  c", Events: ev("E1")}, {Barcode: `"Q";x,y`, Events: ev("E1")}}},
		{name: "GS1 group separator", req: e, input: "0109501101530003\x1d10ABC\n", want: []gate.Ticket{
			{Barcode: "0109501101530003\x1d10ABC", Events: ev("E1")}}},
		{name: "price type from the request", req: gate.ImportRequest{Event: "E1", PriceType: "ADU"},
			input: "A1\n", want: []gate.Ticket{{Barcode: "A1", Events: ev("E1"), PriceType: gate.Code{Code: "ADU"}}}},
		{name: "a 256-byte barcode", req: e, input: strings.Repeat("x", 256) + "\n", want: []gate.Ticket{
			{Barcode: strings.Repeat("x", 256), Events: ev("E1")}}},
		{name: "empty file", req: e, input: ""},
	})
}

func TestCSVFormat(t *testing.T) {
	runTicketCases(t, gate.FormatCSV, []ticketCase{
		{name: "comma", input: "barcode,event\nA1,E1\nA2,E2\n", want: []gate.Ticket{
			{Barcode: "A1", Events: ev("E1")}, {Barcode: "A2", Events: ev("E2")}}, lines: []int{2, 3}},
		{name: "semicolon", input: "barcode;event;holder\nA1;E1;Li, Wei\n", want: []gate.Ticket{
			{Barcode: "A1", Events: ev("E1"), Holder: "Li, Wei"}}, lines: []int{2}},
		{name: "tab", input: "barcode\tevent\tholder\nA1\tE1\tLi; Wei\n", want: []gate.Ticket{
			{Barcode: "A1", Events: ev("E1"), Holder: "Li; Wei"}}, lines: []int{2}},
		{name: "BOM, CRLF, quotes", input: bom + "barcode,event,holder\r\n\"A,1\",E1,\"O'Brien, \"\"Sean\"\"\"\r\n",
			want: []gate.Ticket{{Barcode: "A,1", Events: ev("E1"), Holder: `O'Brien, "Sean"`}}, lines: []int{2}},
		{name: "quoted line breaks", input: "barcode,event,holder\nA1,E1,\"two\r\nlines\"\nA2,E1,x\n",
			want: []gate.Ticket{{Barcode: "A1", Events: ev("E1"), Holder: "two\nlines"},
				{Barcode: "A2", Events: ev("E1"), Holder: "x"}}, lines: []int{2, 4}},
		{name: "spaces around fields dropped, inside and quoted kept",
			input: "barcode , event\n  A 1 , E1\n\" A2 \",E1\n  \"A3\"  ,E1\n",
			want: []gate.Ticket{{Barcode: "A 1", Events: ev("E1")}, {Barcode: " A2 ", Events: ev("E1")},
				{Barcode: "A3", Events: ev("E1")}}, lines: []int{2, 3, 4}},
		{name: "aliases in any case, extra columns ignored",
			input: "Seat,TICKET,Event_ID,Tariff,Tariff Name,Name,Order-ID,contact_number,PRICE,Status,Validity,Ordered_At,Product,Product_Code\n" +
				"R1,T1,E1,ADU,Adult,Ann,O7,C9,\"12,50\",cancelled,05/12/2026,2026-11-01T10:00:00Z,Derby,P1\n",
			want: []gate.Ticket{{Barcode: "T1", Events: ev("E1"), PriceType: gate.Code{Code: "ADU", Name: "Adult"},
				Holder: "Ann", Order: "O7", Contact: "C9", Price: "12.50", State: gate.StateCancelled,
				ValidityAt: time.Date(2026, 12, 5, 0, 0, 0, 0, zurich),
				OrderedAt:  time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC),
				Product:    gate.Code{Code: "P1", Name: "Derby"}}}, lines: []int{2}},
		{name: "the best alias wins", input: "code,barcode,event\nX,A1,E1\n", want: []gate.Ticket{
			{Barcode: "A1", Events: ev("E1")}}, lines: []int{2}},
		{name: "several events", input: "barcode,event\nA1,E2|E1| E2\n", want: []gate.Ticket{
			{Barcode: "A1", Events: ev("E1", "E2")}}, lines: []int{2}},
		{name: "product code names the event", input: "barcode,product_code\nA1,P1\n", want: []gate.Ticket{
			{Barcode: "A1", Events: ev("P1"), Product: gate.Code{Code: "P1"}}}, lines: []int{2}},
		{name: "request event and price type win", req: gate.ImportRequest{Event: "E9", PriceType: "VIP"},
			input: "barcode,event,price_type,price_type_name\nA1,E1,ADU,Adult\n", want: []gate.Ticket{
				{Barcode: "A1", Events: ev("E9"), PriceType: gate.Code{Code: "VIP"}}}, lines: []int{2}},
		{name: "request event with no event column", req: gate.ImportRequest{Event: "E9"},
			input: "barcode\nA1\n", want: []gate.Ticket{{Barcode: "A1", Events: ev("E9")}}, lines: []int{2}},
		{name: "states", input: "barcode,event,state\nA1,E1,\nA2,E1,CONTROLLED\nA3,E1,Invalidated\nA4,E1,used\n",
			want: []gate.Ticket{{Barcode: "A1", Events: ev("E1")},
				{Barcode: "A2", Events: ev("E1"), UsedUpstream: true},
				{Barcode: "A3", Events: ev("E1"), State: gate.StateInvalidated},
				{Barcode: "A4", Events: ev("E1"), UsedUpstream: true}}, lines: []int{2, 3, 4, 5}},
		{name: "blank lines and empty rows", input: "\n\nbarcode;event\n\n;\n ; \nA1;E1\n   \n",
			want: []gate.Ticket{{Barcode: "A1", Events: ev("E1")}}, lines: []int{7}},
		{name: "header only", input: "barcode,event\n"},
	})
}

func TestSecutixFormat(t *testing.T) {
	derby := func(bc, state string) string {
		return bc + ";" + state + ";880000;MATCH-1;Derby;05/12/2026 20:00;ADU;Adult;45,00;2026-11-01 10:00;1000"
	}
	base := gate.Ticket{Events: ev("MATCH-1"), Product: gate.Code{Code: "MATCH-1", Name: "Derby"},
		PriceType: gate.Code{Code: "ADU", Name: "Adult"}, Order: "880000", Contact: "1000", Price: "45.00",
		ValidityAt: time.Date(2026, 12, 5, 20, 0, 0, 0, zurich), OrderedAt: time.Date(2026, 11, 1, 10, 0, 0, 0, zurich)}
	with := func(bc string, f func(*gate.Ticket)) gate.Ticket {
		tk := base
		tk.Barcode = bc
		if f != nil {
			f(&tk)
		}
		return tk
	}
	header := strings.Join(secutixColumns[:], ";") + "\n"
	runTicketCases(t, gate.FormatSecutix, []ticketCase{
		{name: "no header", input: derby("111", "PRINTED") + "\n" + derby("222", "NOT_PRINTED") + "\n",
			want: []gate.Ticket{with("111", nil), with("222", nil)}},
		{name: "header", input: header + derby("111", "CANCELLED") + "\n",
			want: []gate.Ticket{with("111", func(t *gate.Ticket) { t.State = gate.StateCancelled })}, lines: []int{2}},
		{name: "states", input: derby("1", "INVALIDATED") + "\n" + derby("2", "CONTROLLED") + "\n" + derby("3", "printed") + "\n",
			want: []gate.Ticket{with("1", func(t *gate.Ticket) { t.State = gate.StateInvalidated }),
				with("2", func(t *gate.Ticket) { t.UsedUpstream = true }), with("3", nil)}},
		{name: "columns in another order", input: "TICKET_STATE;BAR_CODE;PRODUCT_CODE;EXTRA\nPRINTED;111;MATCH-1;x\n",
			want: []gate.Ticket{{Barcode: "111", Events: ev("MATCH-1"), Product: gate.Code{Code: "MATCH-1"}}}, lines: []int{2}},
		{name: "request event keeps the product", req: gate.ImportRequest{Event: "E9", PriceType: "VIP"},
			input: derby("111", "PRINTED") + "\n", want: []gate.Ticket{with("111", func(t *gate.Ticket) {
				t.Events, t.PriceType = ev("E9"), gate.Code{Code: "VIP"}
			})}},
		{name: "quotes, CRLF, BOM", input: bom + header + "\"111\";PRINTED;880000;MATCH-1;\"Derby; \"\"the\"\" final\";05/12/2026 20:00;ADU;Adult;45.00;2026-11-01 10:00;1000\r\n",
			want: []gate.Ticket{with("111", func(t *gate.Ticket) { t.Product.Name = `Derby; "the" final` })}, lines: []int{2}},
		{name: "dates", input: "1;PRINTED;;M;;5/12/2026;;;;2026-11-01T10:00:00.5+01:00;\n" +
			"2;PRINTED;;M;;05/12/2026 20:00:30;;;;2026-11-01;\n" +
			"3;PRINTED;;M;;2026-12-05T19:00:00Z;;;;01.11.2026 7:05;\n",
			want: []gate.Ticket{
				{Barcode: "1", Events: ev("M"), Product: gate.Code{Code: "M"},
					ValidityAt: time.Date(2026, 12, 5, 0, 0, 0, 0, zurich),
					OrderedAt:  time.Date(2026, 11, 1, 9, 0, 0, 5e8, time.UTC)},
				{Barcode: "2", Events: ev("M"), Product: gate.Code{Code: "M"},
					ValidityAt: time.Date(2026, 12, 5, 20, 0, 30, 0, zurich),
					OrderedAt:  time.Date(2026, 11, 1, 0, 0, 0, 0, zurich)},
				{Barcode: "3", Events: ev("M"), Product: gate.Code{Code: "M"},
					ValidityAt: time.Date(2026, 12, 5, 19, 0, 0, 0, time.UTC),
					OrderedAt:  time.Date(2026, 11, 1, 7, 5, 0, 0, zurich)}}},
	})
}

func TestDetect(t *testing.T) {
	tests := []struct {
		input string
		want  gate.Format
	}{
		{"", gate.FormatLines},
		{"ABC\nDEF\n", gate.FormatLines},
		{"barcode\nABC\n", gate.FormatCSV},
		{"\n\n Ticket ; Event\nA;B\n", gate.FormatCSV},
		{bom + "\"Bar Code\"\tholder\n", gate.FormatCSV},
		{"BAR_CODE;TICKET_STATE\n1;PRINTED\n", gate.FormatSecutix},
		{"1;CONTROLLED;;;;;;;;;\n", gate.FormatSecutix},
		{"1;SOLD;;;;;;;;;\n", gate.FormatLines},
		{"A,B\n", gate.FormatLines},
	}
	for _, tt := range tests {
		if got := detect([]byte(tt.input)); got != tt.want {
			t.Errorf("detect(%q) = %q, want %q", tt.input, got, tt.want)
		}
	}
}

func TestParseDate(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"05/12/2026", time.Date(2026, 12, 5, 0, 0, 0, 0, zurich), true},
		{"5/1/2026 9:05", time.Date(2026, 1, 5, 9, 5, 0, 0, zurich), true},
		{"05/12/2026 20:00:59", time.Date(2026, 12, 5, 20, 0, 59, 0, zurich), true},
		{"29/02/2028", time.Date(2028, 2, 29, 0, 0, 0, 0, zurich), true},
		{"2026-12-05", time.Date(2026, 12, 5, 0, 0, 0, 0, zurich), true},
		{"2026-12-05 20:00", time.Date(2026, 12, 5, 20, 0, 0, 0, zurich), true},
		{"2026-12-05T20:00:00Z", time.Date(2026, 12, 5, 20, 0, 0, 0, time.UTC), true},
		{"2026-12-05T20:00:00.123456789-05:30", time.Date(2026, 12, 6, 1, 30, 0, 123456789, time.UTC), true},
		{"2026-12-05T20:00:00+0100", time.Date(2026, 12, 5, 19, 0, 0, 0, time.UTC), true},
		{"2026-12-05T20:00+01", time.Date(2026, 12, 5, 19, 0, 0, 0, time.UTC), true},
		{"29/02/2026", time.Time{}, false},
		{"31/04/2026", time.Time{}, false},
		{"12/31/2026", time.Time{}, false},
		{"05/12/26", time.Time{}, false},
		{"05-12-2026", time.Time{}, false},
		{"05/12.2026", time.Time{}, false},
		{"2026-12-05 24:00", time.Time{}, false},
		{"2026-12-05 20:60", time.Time{}, false},
		{"2026-12-05 20:00:00 CET", time.Time{}, false},
		{"2026-12-05T20", time.Time{}, false},
		{"2026-1-05", time.Time{}, false},
		{"tomorrow", time.Time{}, false},
		{"2026-12-05T20:00:00+15:00", time.Time{}, false},
		{"05/12/2026 20:00:00.1234567891", time.Time{}, false},
	}
	for _, tt := range tests {
		got, ok := parseDate([]byte(tt.in), zurich)
		if ok != tt.ok || !got.Equal(tt.want) {
			t.Errorf("parseDate(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestNormalizePrice(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"45.00", "45.00", true}, {"45,00", "45.00", true}, {"0", "0", true}, {"1234,5", "1234.5", true},
		{"", "", false}, {"-5", "", false}, {"45.", "", false}, {",5", "", false}, {"1.234,50", "", false},
		{"45 EUR", "", false}, {"4 5", "", false}, {"1e3", "", false},
	}
	for _, tt := range tests {
		got, ok := normalizePrice(nil, []byte(tt.in))
		if ok != tt.ok || (ok && string(got) != tt.want) {
			t.Errorf("normalizePrice(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
