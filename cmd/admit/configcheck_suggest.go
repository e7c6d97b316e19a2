package main

// This file says what a misspelt name could have meant: the keys of the
// table an unknown key sits in, and the ids a reference could have meant.

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/BurntSushi/toml"
)

// unknown records an unknown key of the table at path (of type t), with
// the key it probably meant, or the tables it belongs to, or what the
// table takes.
func (d *decoder) unknown(path, key string, t reflect.Type) {
	var known []string
	for _, f := range tomlFields(t) {
		known = append(known, f.key)
	}
	where, in := "the top level", "at the top level"
	if path != "" {
		where = "[" + headerOf(path) + "]"
		in = "in " + where
	}
	full := keyPath(path, key)
	tk := toml.Key(strings.Split(headerOf(full), "."))
	switch hint := laneKeyHint(tk); {
	case hint != "":
		d.fail(full, "unknown key; %s", strings.TrimSuffix(strings.TrimPrefix(hint, " ("), ")"))
	case len(closest(key, known)) > 0:
		d.fail(full, "unknown key; did you mean %s?", orList(closest(key, known)))
	case len(tablesWithKey(full, key)) > 0 && len(tablesWithKey(full, key)) <= 3:
		d.fail(full, "unknown key %s; it is a key of %s", in, orList(tablesWithKey(full, key)))
	default:
		d.fail(full, "unknown key; %s takes %s", where, strings.Join(known, ", "))
	}
}

// tablesWithKey lists the other tables that have a key named key, within
// the top-level section of path (the whole file for a top-level key):
// "[lanes.relay]" for "unlock_time" written under [[lanes]].
func tablesWithKey(path, key string) []string {
	here := headerOf(parentPath(path))
	var out []string
	var walk func(header string, t reflect.Type)
	walk = func(header string, t reflect.Type) {
		for t.Kind() == reflect.Slice {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || t == timeType {
			return
		}
		for _, tf := range tomlFields(t) {
			if tf.key == key && header != here {
				if header == "" {
					out = append(out, "the top level")
				} else {
					out = append(out, "["+header+"]")
				}
			}
			sub := tf.key
			if header != "" {
				sub = header + "." + tf.key
			}
			walk(sub, t.FieldByIndex(tf.index).Type)
		}
	}
	if here == "" {
		walk("", reflect.TypeFor[Config]())
		return out
	}
	top, _, _ := strings.Cut(here, ".")
	ct := reflect.TypeFor[Config]()
	for _, tf := range tomlFields(ct) {
		if tf.key == top {
			walk(top, ct.FieldByIndex(tf.index).Type)
		}
	}
	return out
}

// closest returns the candidates a misspelling of word could have meant:
// the same but for case, or within a small edit distance (one edit for a
// short word, two from five letters, three from ten).
func closest(word string, candidates []string) []string {
	limit := 1
	switch {
	case len(word) >= 10:
		limit = 3
	case len(word) >= 5:
		limit = 2
	}
	best, out := limit+1, []string(nil)
	for _, c := range candidates {
		if c == word {
			continue
		}
		d := editDistance(strings.ToLower(word), strings.ToLower(c))
		if strings.EqualFold(c, word) {
			d = 0
		}
		switch {
		case d < best:
			best, out = d, []string{c}
		case d == best:
			out = append(out, c)
		}
	}
	if len(out) == 0 && len(word) >= 3 {
		// A word cut short or run on: "cache" for "cache_size".
		for _, c := range candidates {
			lw, lc := strings.ToLower(word), strings.ToLower(c)
			if c != word && (strings.HasPrefix(lc, lw) || strings.HasPrefix(lw, lc) && len(c) >= 3) {
				out = append(out, c)
			}
		}
	}
	if len(out) > 3 {
		return nil // too many to be a suggestion
	}
	return out
}

// editDistance is the optimal string alignment distance: insertions,
// deletions, substitutions and transpositions of neighbours cost one each.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

// orList writes "a", "a or b", "a, b or c".
func orList(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}

// quoteAll quotes each id: "EV1", "EV2".
func quoteAll(ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = fmt.Sprintf("%q", id)
	}
	return out
}
