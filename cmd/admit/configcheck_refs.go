package main

// This file checks the configuration's references: a lane's events, a
// token's lanes, a drop folder's provider and event, an export's or a
// webhook's provider and event. A lane naming "EV-1" when the event is
// "EV1" would refuse every scan wrong_event; a filter naming a provider
// that does not exist would export nothing.
//
// Lanes live in the file only. Events and providers also live in the
// store: the API creates them at run time (PUT /v1/events/{id}). So what a
// reference is checked against depends on what is at hand (refScope):
//
//   - the daemon (start, after the store opens; every reload): the file's
//     and the store's; a reference to neither is an error;
//   - check-config, which does not read the store: the file's own. When the
//     file declares events at all, it is where events are kept, and an
//     event it does not declare is almost surely a typo: an error. When it
//     declares none (events are made through the API), the reference
//     cannot be checked here: a warning, and the start checks it;
//   - before the store is open (Validate, checkServe): not checked.
//
// A drop folder creates its provider with its first file (it names it in
// the file, which is asking for it): its provider is an error only when
// the file declares providers and not this one, nor has the store it.
//
// A new kind of reference (zones) is a refKind and the lines of
// Config.references that name it.

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/admitgate/admit/gate"
)

// refScope is what references to events and providers are checked
// against. The zero refScope does not check them.
type refScope struct {
	file  bool     // check-config: the file alone, no store at hand
	store *catalog // the daemon's store, with the file
}

// catalog is what the store holds of the kinds that live there.
type catalog struct {
	ids map[*refKind]map[string]bool
}

// storeCatalog reads the events and providers of a store.
func storeCatalog(ctx context.Context, st gate.Catalog) (*catalog, error) {
	cat := &catalog{ids: map[*refKind]map[string]bool{refEvent: {}, refProvider: {}}}
	events, err := st.Events(ctx)
	if err != nil {
		return nil, fmt.Errorf("admit: read the events to check the configuration's references: %w", err)
	}
	for _, e := range events {
		cat.ids[refEvent][e.ID] = true
	}
	providers, err := st.Providers(ctx)
	if err != nil {
		return nil, fmt.Errorf("admit: read the providers to check the configuration's references: %w", err)
	}
	for _, p := range providers {
		cat.ids[refProvider][p.ID] = true
	}
	return cat, nil
}

// refKind is a kind of thing the configuration refers to by id.
type refKind struct {
	noun, plural string
	table        string                   // where the file declares them
	declared     func(c *Config) []string // the file's
	inStore      bool                     // the API also creates them
	create       string                   // how, for the message; %s is the id
}

var (
	refEvent = &refKind{noun: "event", plural: "events", table: "[[events]]", inStore: true, create: "PUT /v1/events/%s",
		declared: func(c *Config) []string {
			var ids []string
			for _, e := range c.Events {
				ids = append(ids, e.ID)
			}
			return ids
		}}
	refProvider = &refKind{noun: "provider", plural: "providers", table: "[[providers]]", inStore: true, create: "PUT /v1/providers/%s",
		declared: func(c *Config) []string {
			var ids []string
			for _, p := range c.Providers {
				ids = append(ids, p.ID)
			}
			return ids
		}}
	refLane = &refKind{noun: "lane", plural: "lanes", table: "[[lanes]]",
		declared: func(c *Config) []string {
			var ids []string
			for _, l := range c.Lanes {
				ids = append(ids, l.ID)
			}
			return ids
		}}
)

// reference is one id the configuration refers to, at key.
type reference struct {
	key     string
	kind    *refKind
	id      string
	creates bool // naming it creates it (a drop folder's provider)
}

// references lists every reference of the file.
func (c *Config) references() []reference {
	var refs []reference
	add := func(key string, kind *refKind, id string, creates bool) {
		if id != "" {
			refs = append(refs, reference{key: key, kind: kind, id: id, creates: creates})
		}
	}
	for i, l := range c.Lanes {
		for j, e := range l.Events {
			add(indexPath(indexPath("lanes", i)+".events", j), refEvent, e, false)
		}
	}
	for i, t := range c.Tokens {
		for j, l := range t.Lanes {
			add(indexPath(indexPath("tokens", i)+".lanes", j), refLane, l, false)
		}
	}
	for i, d := range c.DropFolders {
		at := indexPath("drop_folders", i)
		add(at+".provider", refProvider, d.Provider, true)
		add(at+".event", refEvent, d.Event, false)
	}
	for i, e := range c.Exports {
		at := indexPath("exports", i)
		add(at+".provider", refProvider, e.Provider, false)
		add(at+".event", refEvent, e.Event, false)
	}
	for i, w := range c.Webhooks {
		at := indexPath("webhooks", i)
		add(at+".provider", refProvider, w.Provider, false)
		add(at+".event", refEvent, w.Event, false)
	}
	return refs
}

// references checks every reference as scope says.
func (k *checker) references(scope refScope) {
	declared := map[*refKind]map[string]bool{}
	unresolved := 0
	for _, r := range k.c.references() {
		if idProblem(r.id) != "" {
			continue // the id itself is reported
		}
		kind := r.kind
		if declared[kind] == nil {
			declared[kind] = map[string]bool{}
			for _, id := range kind.declared(k.c) {
				declared[kind][id] = true
			}
		}
		file := declared[kind]
		if file[r.id] {
			continue
		}
		var stored map[string]bool
		if kind.inStore {
			switch {
			case scope.store != nil:
				stored = scope.store.ids[kind]
				if stored[r.id] {
					continue
				}
			case !scope.file:
				continue // checked once the store is open
			}
		}
		var known []string // for the message: the valid ids, the file's first
		for _, id := range slices.Sorted(maps.Keys(file)) {
			if idProblem(id) == "" {
				known = append(known, id)
			}
		}
		for _, id := range slices.Sorted(maps.Keys(stored)) {
			if !file[id] {
				known = append(known, id)
			}
		}
		var hint string
		// Suggestions are bounded: a file of thousands of wrong ids gets
		// its first ones.
		if unresolved++; unresolved <= 100 && len(known) <= 1000 {
			if near := closest(r.id, known); len(near) > 0 {
				hint = fmt.Sprintf("; did you mean %s?", orList(quoteAll(near)))
			}
		}
		switch {
		case !kind.inStore:
			k.errf(r.key, "%q is not among the configured %s (%s)%s", r.id, kind.plural, listIDs(known), hint)
		case r.creates && len(file) == 0:
			// A drop folder's provider: created with its first file.
		case scope.store != nil:
			how := fmt.Sprintf("declare it under %s, or create it with %s", kind.table, fmt.Sprintf(kind.create, r.id))
			if hint != "" {
				how = hint[2:] + " Or " + how
			}
			k.errf(r.key, "there is no %s %q, neither in the file nor in the store; %s", kind.noun, r.id, how)
		case len(file) > 0:
			k.errf(r.key, "%q is not among the configured %s (%s)%s", r.id, kind.plural, listIDs(known), orDeclare(hint, kind))
		default:
			k.warnf(r.key, "%q is not among the configured %s: the file declares none, so it cannot be checked here; admit serve checks it against the store at start and refuses to start without it (create it with %s)",
				r.id, kind.plural, fmt.Sprintf(kind.create, r.id))
		}
	}
}

func orDeclare(hint string, kind *refKind) string {
	if hint != "" {
		return hint
	}
	return "; declare it under " + kind.table
}

// listIDs writes ids for a message: at most six, "none" for none.
func listIDs(ids []string) string {
	switch {
	case len(ids) == 0:
		return "none"
	case len(ids) > 6:
		return strings.Join(ids[:6], ", ") + ", …"
	}
	return strings.Join(ids, ", ")
}

// checkStore holds c to the rules of the start with its references checked
// against the open store (as the store is before Open's first scan, or at
// a reload). It logs the warnings, and at a reload every problem, each a
// line of its own; it returns the errors.
func (d *Daemon) checkStore(ctx context.Context, c *Config, reload bool) error {
	var scope refScope
	if ix := d.store.get(); ix != nil {
		cat, err := storeCatalog(ctx, ix)
		if err != nil {
			return err
		}
		scope.store = cat
	}
	ps := c.serveProblems(scope)
	log := d.Logger.With().Str("component", "daemon").Logger()
	if reload {
		logProblems(log, ps, "reload: a problem of the new configuration")
	} else {
		logProblems(log, ps.Warnings(), "a problem of the configuration")
	}
	return ps.Err()
}
