package main

// This file checks a configuration and says everything wrong with it at
// once, each problem as
//
//	admit.toml:12: lanes[0].direction: "exit" is not a direction; use in or out
//
// (the file, the line, the key, what is wrong and what is accepted), the
// way `nats-server -t` does. check-config, the start and every reload
// (SIGHUP) apply the same checks (Config.check); what differs is what
// references to events and providers are checked against (refScope,
// configcheck_refs.go). Decoding problems (a value of the wrong type, an
// unknown key) come from configcheck_decode.go, lines from
// configcheck_locate.go; a Problem, and the error and log lines it becomes,
// are configcheck_problem.go's.

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rs/zerolog"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/httpapi"
)

// Validate checks the whole configuration, the problems found while
// decoding it included, and returns every error (a *ConfigError), each
// naming its key and line. References to events and providers are not
// checked here: they need the store (Config.check).
func (c *Config) Validate() error { return c.check(refScope{}).Err() }

// checkServe holds c to the rules admit serves under: Validate's, and at
// least one token. The start, every reload (SIGHUP) and check-config apply
// the same rules, so a file check-config passes is one a reload takes
// (issue 21, item 5: an emptied file once reloaded as "tokens=0").
func (c *Config) checkServe() error { return c.serveProblems(refScope{}).Err() }

// serveProblems are check's, and the refusal of a configuration without
// tokens.
func (c *Config) serveProblems(scope refScope) Problems {
	ps := c.check(scope)
	if len(c.Tokens) == 0 && (c.src == nil || !c.src.broken && !c.src.bad["tokens"]) {
		ps = append(ps, Problem{File: c.file(), Msg: errNoTokensMsg})
	}
	return ps
}

// errNoTokensMsg refuses a configuration without tokens: admit serves no
// API that nobody may use safely.
const errNoTokensMsg = "no [[tokens]]: admit refuses to serve an API nobody may use safely; add an admin token (see docs/config.md)"

func (c *Config) file() string {
	if c.src == nil {
		return ""
	}
	return c.src.file
}

// checker collects the problems of one configuration.
type checker struct {
	c  *Config
	ps Problems
}

func (k *checker) errf(key, format string, args ...any) {
	k.ps = append(k.ps, Problem{Key: key, Msg: fmt.Sprintf(format, args...)})
}

func (k *checker) warnf(key, format string, args ...any) {
	k.ps = append(k.ps, Problem{Key: key, Msg: fmt.Sprintf(format, args...), Warning: true})
}

// issues adds a part's issues, their keys under table.
func (k *checker) issues(table string, is []issue) {
	for _, i := range under(table, is) {
		k.errf(i.key, "%s", i.msg)
	}
}

// check returns every problem of c: those found while decoding it, then
// each section's, then the references (as scope says), in the order of
// the file.
func (c *Config) check(scope refScope) Problems {
	k := &checker{c: c}
	if c.src != nil && c.src.broken {
		return slices.Clone(c.src.decode)
	}
	k.top()
	k.http()
	k.store()
	k.log()
	k.tokens()
	k.providers()
	k.events()
	k.lanes()
	k.dropFolders()
	k.issues("", c.validateOutbound())
	k.issues("", c.validateProviderCodes()) // codes_wiring.go
	k.issues("", c.validateZones())         // zones_wiring.go
	k.venue()                               // venue_wiring.go
	k.references(scope)
	return k.finish()
}

// finish places the problems at their lines, leaves out those about keys
// whose value could not be decoded (the decoding problem says it), and
// sorts them by line.
func (k *checker) finish() Problems {
	var ps Problems
	src := k.c.src
	if src != nil {
		ps = append(ps, src.decode...)
	}
	for _, p := range k.ps {
		if src != nil && src.badKey(p.Key) {
			continue
		}
		p.File = k.c.file()
		if src != nil {
			p.Line = src.lines.lineOf(p.Key)
		}
		ps = append(ps, p)
	}
	slices.SortStableFunc(ps, func(a, b Problem) int {
		la, lb := a.Line, b.Line
		if la == 0 {
			la = 1 << 30 // unwritten keys last
		}
		if lb == 0 {
			lb = 1 << 30
		}
		return la - lb
	})
	return slices.CompactFunc(ps, func(a, b Problem) bool { return a == b })
}

// badKey says whether key, or a table it is in, held a value the decoder
// could not take.
func (s *configSource) badKey(key string) bool {
	for p := key; p != ""; p = parentPath(p) {
		if s.bad[p] {
			return true
		}
	}
	return false
}

// idProblem says what is wrong with an id of a provider, event or lane;
// "" when nothing is.
func idProblem(id string) string {
	if err := gate.CheckID("", id); err == nil {
		return ""
	}
	switch {
	case id == "":
		return "is missing; an id is 1 to 128 of A-Z a-z 0-9 . _ : @ + -"
	case len(id) > gate.MaxIDLen:
		return fmt.Sprintf("is longer than %d characters", gate.MaxIDLen)
	}
	for _, r := range id {
		if !(r < utf8.RuneSelf && (isBareByte(byte(r)) || strings.ContainsRune(".:@+", r))) {
			return fmt.Sprintf("%q holds %q; an id is 1 to 128 of A-Z a-z 0-9 . _ : @ + -", id, r)
		}
	}
	return fmt.Sprintf("%q is not an id; an id is 1 to 128 of A-Z a-z 0-9 . _ : @ + -", id)
}

func (k *checker) top() {
	c := k.c
	if c.DataDir == "" {
		k.errf("data_dir", "is empty; name the ticket store's folder, such as \"/var/lib/admit\"")
	}
	if c.Timezone != "" {
		if _, err := time.LoadLocation(c.Timezone); err != nil {
			k.errf("timezone", "%q is not a time zone; write an IANA zone such as \"Europe/Zurich\", or omit it for the system's", c.Timezone)
		}
	}
}

func (k *checker) http() {
	h := k.c.HTTP
	if h.Listen == "" {
		k.errf("http.listen", "is empty; write an address such as \":8080\" or \"10.0.0.5:8080\"")
	}
	if (h.TLSCert == "") != (h.TLSKey == "") {
		if h.TLSCert == "" {
			k.errf("http.tls_key", "is set without http.tls_cert; set both for HTTPS, or neither")
		} else {
			k.errf("http.tls_cert", "is set without http.tls_key; set both for HTTPS, or neither")
		}
	}
	for _, d := range []struct {
		key string
		v   Duration
	}{{"read_timeout", h.ReadTimeout}, {"write_timeout", h.WriteTimeout}, {"idle_timeout", h.IdleTimeout},
		{"import_timeout", h.ImportTimeout}, {"shutdown_grace", h.ShutdownGrace}} {
		if d.v <= 0 {
			k.errf("http."+d.key, "%s is not positive; write a duration such as \"10s\"", time.Duration(d.v))
		}
	}
	if h.MaxBodySize < 512 || h.MaxBodySize > 1<<20 {
		k.errf("http.max_body_size", "%s is out of range; use 512B to 1MiB (unset: 8KiB)", sizeText(h.MaxBodySize))
	}
	if h.MaxImportSize < 1<<10 {
		k.errf("http.max_import_size", "%s is too small; use at least 1KiB (unset: 1GiB)", sizeText(h.MaxImportSize))
	}
}

func (k *checker) store() {
	s := k.c.Store
	if m := s.MemtableSize; m < 1<<20 || m > 1<<30 {
		k.errf("store.memtable_size", "%s is out of range; use 1MiB to 1GiB (unset: 16MiB)", sizeText(m))
	}
	if s.CacheSize < 2*s.MemtableSize+16<<20 {
		k.errf("store.cache_size", "%s is too small; use at least two memtables (store.memtable_size, %s) and 16MiB: %s",
			sizeText(s.CacheSize), sizeText(s.MemtableSize), sizeText(2*s.MemtableSize+16<<20))
	}
	if b := s.JournalBacklog; b < 1024 || b > 1<<24 {
		k.errf("store.journal_backlog", "%d is out of range; use 1024 to 16777216 (unset: 65536)", b)
	}
	if d := time.Duration(s.CommitTimeout); d < 10*time.Millisecond || d > time.Minute {
		k.errf("store.commit_timeout", "%s is out of range; use 10ms to 1m (unset: %s)", d, time.Duration(DefaultConfig().Store.CommitTimeout))
	}
}

// sizeText writes a size as it may be written in the file.
func sizeText(s Size) string {
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if s != 0 && int64(s)%u.mult == 0 {
			return strconv.FormatInt(int64(s)/u.mult, 10) + u.suffix
		}
	}
	return strconv.FormatInt(int64(s), 10) + "B"
}

func (k *checker) log() {
	l := k.c.Log
	if _, err := zerolog.ParseLevel(l.Level); err != nil || l.Level == "" {
		k.errf("log.level", "%q is not a level; use debug, info, warn or error", l.Level)
	}
	switch l.Format {
	case "auto", "json", "console":
	default:
		k.errf("log.format", "%q is not a format; use auto, json or console", l.Format)
	}
	if _, err := gate.ParseBarcodeLog(l.Barcodes); err != nil {
		k.errf("log.barcodes", "%q is not a way to log barcodes; use last4, full or none", l.Barcodes)
	}
}

// tokens checks each token as httpapi.NewAuth will, naming the key; what
// NewAuth still refuses is reported too, so no rule is missed.
func (k *checker) tokens() {
	names := map[string]string{}
	secrets := map[string]string{}
	found := len(k.ps)
	for i, t := range k.c.Tokens {
		at := indexPath("tokens", i)
		secretKey := at + ".secret"
		if t.SecretFile != "" {
			secretKey = at + ".secret_file"
		}
		if t.Name == "" {
			k.errf(at+".name", "is missing; every token needs a name (logs and the journal name who did what by it)")
		} else if prev, dup := names[t.Name]; dup {
			k.errf(at+".name", "%q is also the name of %s; each token needs its own", t.Name, prev)
		} else {
			names[t.Name] = at
		}
		if _, err := httpapi.ParseRole(t.Role); err != nil {
			if t.Role == "" {
				k.errf(at+".role", "is missing; use admin, scanner, viewer or supervisor")
			} else {
				k.errf(at+".role", "%q is not a role; use admin, scanner, viewer or supervisor", t.Role)
			}
		}
		switch {
		case t.Secret == "" && t.SecretFile == "":
			k.errf(at+".secret", "is missing; set secret, or secret_file naming a file that holds it (generate one with head -c 24 /dev/urandom | base64)")
		case k.c.src != nil && k.c.src.bad[secretKey]:
			// the file could not be read: its problem says so
		case len(t.Secret) < httpapi.MinSecretLen:
			k.errf(secretKey, "the secret is shorter than %d bytes; generate one with head -c 24 /dev/urandom | base64", httpapi.MinSecretLen)
		case strings.ContainsAny(t.Secret, " \t\r\n"):
			k.errf(secretKey, "the secret holds white space; a secret is one word")
		default:
			if prev, dup := secrets[t.Secret]; dup {
				k.errf(secretKey, "the secret is also %s's; each token needs its own", prev)
			}
			secrets[t.Secret] = at
		}
		if len(t.Lanes) > 0 && t.Role != string(httpapi.RoleScanner) && t.Role != string(httpapi.RoleSupervisor) {
			k.errf(at+".lanes", "only scanner and supervisor tokens are limited to lanes, and this one is %s; remove lanes, or make it role = \"scanner\"", t.Role)
		}
	}
	if len(k.ps) == found && (k.c.src == nil || len(k.c.src.decode) == 0) {
		if _, err := k.c.auth(); err != nil {
			k.errf("tokens", "%s", gate.ErrorMessage(err))
		}
	}
}

func (k *checker) providers() {
	seen := map[string]string{}
	for i, p := range k.c.Providers {
		at := indexPath("providers", i)
		if msg := idProblem(p.ID); msg != "" {
			k.errf(at+".id", "%s", msg)
		} else if prev, dup := seen[p.ID]; dup {
			k.errf(at+".id", "%q is also %s's id; declare each provider once", p.ID, prev)
		} else {
			seen[p.ID] = at
		}
		if len(p.Name) > 256 || !utf8.ValidString(p.Name) {
			k.errf(at+".name", "is longer than 256 bytes or not UTF-8; write a shorter name")
		}
	}
}

func (k *checker) events() {
	seen := map[string]string{}
	for i, e := range k.c.Events {
		at := indexPath("events", i)
		n := len(k.ps)
		if msg := idProblem(e.ID); msg != "" {
			k.errf(at+".id", "%s", msg)
		} else if prev, dup := seen[e.ID]; dup {
			k.errf(at+".id", "%q is also %s's id; declare each event once", e.ID, prev)
		} else {
			seen[e.ID] = at
		}
		if len(e.Name) > 256 || !utf8.ValidString(e.Name) {
			k.errf(at+".name", "is longer than 256 bytes or not UTF-8; write a shorter name")
		}
		if !e.OpensAt.IsZero() && !e.ClosesAt.IsZero() && !e.ClosesAt.After(e.OpensAt) {
			k.errf(at+".closes_at", "%s is not after opens_at (%s); an event closes after it opens",
				e.ClosesAt.Format(time.RFC3339), e.OpensAt.Format(time.RFC3339))
		}
		if e.Entries < 0 || e.Entries > 10000 {
			k.errf(at+".entries", "%d is out of range; use 1 to 10000 (unset: 1)", e.Entries)
		}
		if err := e.event().Validate(); err != nil && len(k.ps) == n {
			k.errf(at, "%s", gate.ErrorMessage(err))
		}
	}
}

// maxLanes bounds the lanes of one appliance (one entrance): far more than
// any has, few enough that the checks between lanes stay instant.
const maxLanes = 1000

func (k *checker) lanes() {
	if n := len(k.c.Lanes); n > maxLanes {
		k.errf("lanes", "%d lanes are more than one appliance drives (at most %d); split them between appliances", n, maxLanes)
	}
	seen := map[string]string{}
	for i := range k.c.Lanes {
		l := &k.c.Lanes[i]
		at := indexPath("lanes", i)
		k.issues(at, l.validate())
		if l.ID == "" {
			continue
		}
		if prev, dup := seen[l.ID]; dup {
			k.errf(at+".id", "%q is also %s's id; each lane needs its own", l.ID, prev)
		}
		seen[l.ID] = at
	}
	if len(k.c.Lanes) <= maxLanes {
		k.issues("", validateLanes(k.c.Lanes))
	}
}

func (k *checker) dropFolders() {
	dirs := map[string]string{}
	for i, d := range k.c.DropFolders {
		at := indexPath("drop_folders", i)
		if d.Dir == "" {
			k.errf(at+".dir", "is missing; name the folder files are dropped into")
		} else if prev, dup := dirs[filepath.Clean(d.Dir)]; dup {
			k.errf(at+".dir", "%q is also %s's folder; a folder imports for one provider", d.Dir, prev)
		} else {
			dirs[filepath.Clean(d.Dir)] = at
		}
		if msg := idProblem(d.Provider); msg != "" {
			k.errf(at+".provider", "%s", msg)
		}
		if d.Event != "" {
			if msg := idProblem(d.Event); msg != "" {
				k.errf(at+".event", "%s", msg)
			}
		}
		if _, err := gate.ParseFormat(d.Format); err != nil {
			k.errf(at+".format", "%q is not a format; use lines, csv or secutix (unset: detected from each file)", d.Format)
		}
		if _, err := gate.ParseOnError(d.OnError); err != nil {
			k.errf(at+".on_error", "%q is not an answer to bad lines; use reject or skip", d.OnError)
		}
		if d.Settle < 0 {
			k.errf(at+".settle", "must not be negative; write a duration such as \"10s\"")
		}
	}
}

// reportProblems is check-config: it reads the file at path, prints the
// warnings to standard error, one a line, and returns the errors (a
// *ConfigError, which lists them as serve does). References to events and
// providers are checked against the file alone (refScope), as check-config
// does not read the store.
func (m *Main) reportProblems(path string) (*Config, error) {
	c, err := readConfigFile(context.Background(), path)
	if err != nil {
		return nil, err
	}
	ps := c.serveProblems(refScope{file: true})
	for _, p := range ps.Warnings() {
		fmt.Fprintln(m.Stderr, p)
	}
	if err := ps.Err(); err != nil {
		return nil, err
	}
	return c, nil
}
