package outbound

import "testing"

// parseFileName reads back exactly the names fileName writes, and nothing
// it accepts names another range: a foreign file in the folder cannot move
// the position by accident.
func FuzzParseFileName(f *testing.F) {
	for _, s := range []string{"north-000042-1001-1250.csv", "north-000043-1251-1250.csv", "north-000001-1-0.jsonl",
		".north-000042-1-2.csv.tmp", "north-000042-1-2.csv.report.json", "north--1-2.csv", "north-0000042-01-2.csv"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		for _, ext := range []string{".csv", ".jsonl"} {
			n, from, to, ok := parseFileName("north", ext, name)
			if !ok {
				continue
			}
			if n == 0 || from == 0 || from-1 > to {
				t.Fatalf("%q parsed as %d %d %d", name, n, from, to)
			}
			// Zero-padded forms parse to the same numbers; the canonical
			// name parses back to them.
			if n2, f2, t2, ok := parseFileName("north", ext, fileName("north", n, from, to, ext)); !ok || n2 != n || f2 != from || t2 != to {
				t.Fatalf("%q: the canonical name does not round-trip", name)
			}
		}
	})
}
