// Package rules compiles and evaluates entry rules: JsonLogic expressions
// over the facts of a scan, with the variables and operations pretix's
// check-in rules use, so a rule written for pretix means the same here.
//
// A rule is compiled once, when an event or a lane is given one
// ([Compile]), and evaluated for each scan that reaches it ([Rule.Eval]) in a
// few hundred nanoseconds, allocating nothing when it admits:
//
//	{"and": [
//	  {"inList": [{"var": "product"}, {"objectList": [{"lookup": ["product", "DAY", "Day pass"]}]}]},
//	  {"<": [{"var": "entries_today"}, 1]},
//	  {"isAfter": [{"var": "now"}, {"buildTime": ["date_admission"]}, 10]}
//	]}
//
// # Facts and variables
//
// [Facts] holds what the index knows at the moment of a scan: the ticket's
// product, variation, price type and provider; the scan's time, lane,
// direction and zone; the event's time zone and dates; and the times the
// ticket entered the event before. A rule reads them with {"var": name}; the
// names are pretix's (product, variation, gate — here the lane —, now,
// now_isoweekday, entries_number, entries_today, entries_days,
// minutes_since_last_entry, minutes_since_first_entry) and admit's own
// (price_type, provider, zone, direction). The entry counts are computed
// from the sorted entry history; "today" is the scan's calendar day in the
// event's time zone, across daylight-saving changes. entries_since,
// entries_before, entries_days_since and entries_days_before are operations,
// as in pretix: {"entries_since": [{"buildTime": ["customtime", "06:00"]}]}.
//
// # Operations
//
// Every JsonLogic operation of jsonlogic.com, with json-logic-js's meaning
// (loose and strict equality, truthiness where [] is false, "+" with
// parseFloat), held against the official test suite (testdata/tests.json);
// and pretix's additions: objectList, lookup, inList, buildTime (custom,
// customtime, date_from, date_to, date_admission), isBefore and isAfter with
// a tolerance in minutes, and the entries_* counts. "log" and "method" are
// not offered.
//
// # Refusing, and saying why
//
// A rule that does not compile is refused with a [*CompileError] naming the
// byte offset and JSON path of the fault and what is wrong; unknown
// variables and operators are refused there, not at the gate. Compiling is
// bounded ([MaxSize], [MaxDepth], [MaxNodes]) and so is every evaluation
// ([MaxWork]): no rule loops or grows without limit. A false rule's detail
// names the part that failed and the facts it read, worked out only after
// the refusal. A fault during evaluation (a time compared with a number, an
// event without the date a rule asks for) refuses: rules fail closed.
package rules
