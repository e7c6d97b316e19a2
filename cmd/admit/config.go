package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/rs/zerolog"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/httpapi"
	"github.com/admitgate/admit/index"
)

// Config is admit's configuration file (TOML). docs/config.md documents
// every field with its default; DefaultConfig holds those defaults.
type Config struct {
	// DataDir holds the ticket store. Default /var/lib/admit.
	DataDir string `toml:"data_dir"`
	// Appliance names this appliance in every redemption. Default the hostname.
	Appliance string `toml:"appliance"`
	// Timezone is the venue's zone, for import dates written without one
	// (SecuTix writes local time). Default the system's.
	Timezone string `toml:"timezone"`

	HTTP  HTTPConfig  `toml:"http"`
	Log   LogConfig   `toml:"log"`
	Store StoreConfig `toml:"store"`

	Tokens      []TokenConfig      `toml:"tokens"`
	Providers   []ProviderConfig   `toml:"providers"`
	Events      []EventConfig      `toml:"events"`
	Lanes       []LaneConfig       `toml:"lanes"`
	DropFolders []DropFolderConfig `toml:"drop_folders"`
	Exports     []ExportConfig     `toml:"exports"`  // outbound.go
	Webhooks    []WebhookConfig    `toml:"webhooks"` // outbound.go

	Zones           []ZoneConfig           `toml:"zones"`            // zones_wiring.go
	SupervisorCards []SupervisorCardConfig `toml:"supervisor_cards"` // zones_wiring.go
}

// HTTPConfig is the API's listener and limits.
type HTTPConfig struct {
	Listen        string   `toml:"listen"`         // default ":8080"
	TLSCert       string   `toml:"tls_cert"`       // PEM certificate; with tls_key, serve HTTPS
	TLSKey        string   `toml:"tls_key"`        // PEM key
	ReadTimeout   Duration `toml:"read_timeout"`   // default 10s
	WriteTimeout  Duration `toml:"write_timeout"`  // default 30s
	IdleTimeout   Duration `toml:"idle_timeout"`   // default 2m
	ImportTimeout Duration `toml:"import_timeout"` // default 15m: reading one import upload
	ShutdownGrace Duration `toml:"shutdown_grace"` // default 15s: draining requests at SIGTERM
	MaxBodySize   Size     `toml:"max_body_size"`  // default 8KiB: JSON bodies
	MaxImportSize Size     `toml:"max_import_size"`
}

// StoreConfig sizes the ticket store's memory (index.Options). It changes
// only at restart.
type StoreConfig struct {
	// CacheSize is the block cache: two memtables plus about 150 bytes a
	// ticket keep every ticket record in memory. Default 512MiB (about 2M
	// tickets).
	CacheSize Size `toml:"cache_size"`
	// MemtableSize is the write buffer (and WAL file) size. Default 16MiB.
	MemtableSize Size `toml:"memtable_size"`
	// JournalBacklog bounds the refusals waiting for the journal writer
	// (about 300 bytes each). Default 65536.
	JournalBacklog int `toml:"journal_backlog"`
	// CommitTimeout bounds a durable write: one that does not complete in
	// time (a full or stalled disk) is refused with error and never
	// applied later. Default 500ms.
	CommitTimeout Duration `toml:"commit_timeout"`
}

// indexOptions are the store's options for this configuration.
func (c *Config) indexOptions(log zerolog.Logger) *index.Options {
	return &index.Options{Appliance: c.Appliance, Logger: log, CacheSize: int64(c.Store.CacheSize),
		MemTableSize: uint64(c.Store.MemtableSize), JournalBacklog: c.Store.JournalBacklog,
		CommitTimeout: time.Duration(c.Store.CommitTimeout),
		CompileRule:   compileRule, Location: c.location()} // zones_wiring.go
}

// LogConfig is where and how admit logs.
type LogConfig struct {
	Level  string `toml:"level"`  // debug, info (default), warn, error
	Format string `toml:"format"` // auto (default: human on a terminal, else JSON), json, console
}

// TokenConfig is one bearer token.
type TokenConfig struct {
	Name       string   `toml:"name"`
	Role       string   `toml:"role"`        // admin, scanner, viewer
	Secret     string   `toml:"secret"`      // the secret inline, or
	SecretFile string   `toml:"secret_file"` // a file holding it (trailing white space ignored)
	Lanes      []string `toml:"lanes"`       // scanner tokens: the lanes it may scan for (default all)
}

// ProviderConfig declares a provider, applied at start and on reload.
type ProviderConfig struct {
	ID   string `toml:"id"`
	Name string `toml:"name"`
}

// EventConfig declares an event, applied at start and on reload.
type EventConfig struct {
	ID       string    `toml:"id"`
	Name     string    `toml:"name"`
	OpensAt  time.Time `toml:"opens_at"`
	ClosesAt time.Time `toml:"closes_at"`
	Reentry  bool      `toml:"reentry"`
	Entries  int       `toml:"entries"`

	// What entry rules read, and the rule (zones_wiring.go, docs/rules.md).
	TimeZone string    `toml:"time_zone"` // default the venue's (timezone)
	StartsAt time.Time `toml:"starts_at"` // default opens_at
	EndsAt   time.Time `toml:"ends_at"`   // default closes_at
	Rule     string    `toml:"rule"`      // JsonLogic; default none
}

// DropFolderConfig is a watched folder whose files are imported for one
// provider.
type DropFolderConfig struct {
	Dir       string   `toml:"dir"`
	Provider  string   `toml:"provider"`
	Event     string   `toml:"event"`
	PriceType string   `toml:"price_type"`
	Format    string   `toml:"format"`   // lines, csv, secutix; default detected
	OnError   string   `toml:"on_error"` // reject (default) or skip
	Settle    Duration `toml:"settle"`   // default 10s: how long a file must stay unchanged
}

// DefaultConfig returns the configuration with every default set.
func DefaultConfig() *Config {
	return &Config{
		DataDir: "/var/lib/admit",
		HTTP: HTTPConfig{
			Listen:        ":8080",
			ReadTimeout:   Duration(httpapi.DefaultReadTimeout),
			WriteTimeout:  Duration(httpapi.DefaultWriteTimeout),
			IdleTimeout:   Duration(httpapi.DefaultIdleTimeout),
			ImportTimeout: Duration(httpapi.DefaultImportTimeout),
			ShutdownGrace: Duration(15 * time.Second),
			MaxBodySize:   httpapi.DefaultMaxBodyBytes,
			MaxImportSize: httpapi.DefaultMaxImportBytes,
		},
		Log: LogConfig{Level: "info", Format: "auto"},
		Store: StoreConfig{CacheSize: index.DefaultCacheSize, MemtableSize: index.DefaultMemTableSize,
			JournalBacklog: index.DefaultJournalBacklog, CommitTimeout: Duration(index.DefaultCommitTimeout)},
	}
}

// ParseConfig reads a TOML configuration over the defaults. Unknown keys are
// errors that name their line, so a typo never silently falls back to a
// default. It does not validate; call Validate.
func ParseConfig(r io.Reader) (*Config, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxConfigSize+1))
	if err != nil {
		return nil, fmt.Errorf("config: read: %w", err)
	}
	if len(data) > maxConfigSize {
		return nil, fmt.Errorf("config: the configuration is over %s; is it the right file?", sizeWords(maxConfigSize))
	}
	c := DefaultConfig()
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(c)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("config: line %d: %s", pe.Position.Line, pe.Message)
		}
		return nil, fmt.Errorf("config: %w", err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		var msgs []string
		for _, k := range und {
			if line := keyLine(data, k); line > 0 {
				msgs = append(msgs, fmt.Sprintf("line %d: unknown key %q%s", line, k.String(), laneKeyHint(k)))
			} else {
				msgs = append(msgs, fmt.Sprintf("unknown key %q%s", k.String(), laneKeyHint(k)))
			}
		}
		return nil, fmt.Errorf("config: %s", strings.Join(msgs, "; "))
	}
	return c, nil
}

// keyLine finds the line where key k is written: the first assignment or
// table header of its last part after the header of its parent table.
func keyLine(data []byte, k toml.Key) int {
	last := regexp.QuoteMeta(k[len(k)-1])
	assign := regexp.MustCompile(`^\s*"?` + last + `"?\s*=`)
	header := regexp.MustCompile(`^\s*\[\[?\s*([^\]]+\.)?"?` + last + `"?\s*\]\]?`)
	parent := ""
	if len(k) > 1 {
		parent = regexp.QuoteMeta(k[len(k)-2])
	}
	parentRE := regexp.MustCompile(`^\s*\[\[?\s*([^\]]+\.)?"?` + parent + `"?\s*\]\]?`)
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	inParent := parent == ""
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if parent != "" && parentRE.MatchString(line) {
			inParent = true
			continue
		}
		if inParent && (assign.MatchString(line) || header.MatchString(line)) {
			return n
		}
	}
	return 0
}

// errNoTokens refuses a configuration without tokens: admit serves no API
// that nobody may use safely.
var errNoTokens = errors.New("config: no [[tokens]]: admit refuses to serve an API nobody may use safely; add an admin token (see docs/config.md)")

// checkServe holds c to the rules admit serves under: Validate's, and at
// least one token. The start, every reload (SIGHUP) and check-config apply
// the same rules, so a file check-config passes is one a reload takes
// (issue 21, item 5: an emptied file once reloaded as "tokens=0").
func (c *Config) checkServe() error {
	if err := c.Validate(); err != nil {
		return err
	}
	if len(c.Tokens) == 0 {
		return errNoTokens
	}
	return nil
}

// Validate checks the whole configuration and returns every problem found,
// one per line, each naming the field.
func (c *Config) Validate() error {
	var errs []string
	add := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	if c.DataDir == "" {
		add("data_dir is empty")
	}
	if c.Timezone != "" {
		if _, err := time.LoadLocation(c.Timezone); err != nil {
			add("timezone %q: %v", c.Timezone, err)
		}
	}
	if c.HTTP.Listen == "" {
		add("http.listen is empty")
	}
	if (c.HTTP.TLSCert == "") != (c.HTTP.TLSKey == "") {
		add("http.tls_cert and http.tls_key go together")
	}
	for name, d := range map[string]Duration{"read_timeout": c.HTTP.ReadTimeout, "write_timeout": c.HTTP.WriteTimeout,
		"idle_timeout": c.HTTP.IdleTimeout, "import_timeout": c.HTTP.ImportTimeout, "shutdown_grace": c.HTTP.ShutdownGrace} {
		if d <= 0 {
			add("http.%s must be positive", name)
		}
	}
	if c.HTTP.MaxBodySize < 512 || c.HTTP.MaxBodySize > 1<<20 {
		add("http.max_body_size must be between 512B and 1MiB")
	}
	if c.HTTP.MaxImportSize < 1<<10 {
		add("http.max_import_size must be at least 1KiB")
	}
	if m := c.Store.MemtableSize; m < 1<<20 || m > 1<<30 {
		add("store.memtable_size must be between 1MiB and 1GiB")
	}
	if c.Store.CacheSize < 2*c.Store.MemtableSize+16<<20 {
		add("store.cache_size must be at least two memtables (store.memtable_size) and 16MiB")
	}
	if b := c.Store.JournalBacklog; b < 1024 || b > 1<<24 {
		add("store.journal_backlog must be between 1024 and 16777216")
	}
	if d := time.Duration(c.Store.CommitTimeout); d < 10*time.Millisecond || d > time.Minute {
		add("store.commit_timeout must be between 10ms and 1m, not %s", d)
	}
	if _, err := zerolog.ParseLevel(c.Log.Level); err != nil || c.Log.Level == "" {
		add("log.level must be debug, info, warn or error, not %q", c.Log.Level)
	}
	switch c.Log.Format {
	case "auto", "json", "console":
	default:
		add("log.format must be auto, json or console, not %q", c.Log.Format)
	}
	if _, err := c.auth(); err != nil {
		add("%s", gate.ErrorMessage(err))
	}
	providers := map[string]bool{}
	for i, p := range c.Providers {
		if err := (gate.Provider{ID: p.ID, Name: p.Name}).Validate(); err != nil {
			add("providers[%d]: %s", i, gate.ErrorMessage(err))
		}
		if providers[p.ID] {
			add("providers[%d]: %q is declared twice", i, p.ID)
		}
		providers[p.ID] = true
	}
	events := map[string]bool{}
	for i, e := range c.Events {
		if err := e.event().Validate(); err != nil {
			add("events[%d]: %s", i, gate.ErrorMessage(err))
		}
		if events[e.ID] {
			add("events[%d]: %q is declared twice", i, e.ID)
		}
		events[e.ID] = true
	}
	lanes := map[string]bool{}
	for i := range c.Lanes {
		for _, msg := range c.Lanes[i].validate() {
			add("lanes[%d] (%s): %s", i, c.Lanes[i].ID, msg)
		}
		lanes[c.Lanes[i].ID] = true
	}
	seenLane := map[string]int{}
	for i, l := range c.Lanes {
		if j, dup := seenLane[l.ID]; dup {
			add("lanes[%d]: lane %q is configured twice (also lanes[%d])", i, l.ID, j)
		}
		seenLane[l.ID] = i
	}
	for _, msg := range validateLanes(c.Lanes) {
		add("lanes: %s", msg)
	}
	for _, t := range c.Tokens {
		for _, l := range t.Lanes {
			if !lanes[l] {
				add("token %q: lane %q is not configured", t.Name, l)
			}
		}
	}
	for i, d := range c.DropFolders {
		if d.Dir == "" {
			add("drop_folders[%d]: dir is empty", i)
		}
		req := gate.ImportRequest{Provider: d.Provider, Event: d.Event, Format: gate.Format(d.Format), OnError: gate.OnError(d.OnError)}
		if err := req.Validate(); err != nil {
			add("drop_folders[%d]: %s", i, gate.ErrorMessage(err))
		}
		if d.Settle < 0 {
			add("drop_folders[%d]: settle must not be negative", i)
		}
	}
	errs = append(errs, c.validateOutbound()...)
	errs = append(errs, c.validateZones()...) // zones_wiring.go
	if len(errs) > 0 {
		return errors.New("config: " + strings.Join(errs, "\n  "))
	}
	return nil
}

func (e EventConfig) event() gate.Event {
	return gate.Event{ID: e.ID, Name: e.Name, OpensAt: e.OpensAt, ClosesAt: e.ClosesAt, Reentry: e.Reentry, Entries: e.Entries,
		TimeZone: e.TimeZone, StartsAt: e.StartsAt, EndsAt: e.EndsAt, Rule: gate.RuleSource(strings.TrimSpace(e.Rule))}
}

// auth builds the API's tokens.
func (c *Config) auth() (*httpapi.Auth, error) {
	tokens := make([]httpapi.Token, 0, len(c.Tokens))
	for _, t := range c.Tokens {
		tokens = append(tokens, httpapi.Token{Name: t.Name, Role: httpapi.Role(t.Role), Secret: t.Secret, Lanes: t.Lanes})
	}
	return httpapi.NewAuth(tokens)
}

// location is the venue's time zone.
func (c *Config) location() *time.Location {
	if c.Timezone == "" {
		return time.Local
	}
	loc, err := time.LoadLocation(c.Timezone)
	if err != nil {
		return time.Local
	}
	return loc
}

// Duration is a time.Duration written as a string ("1.5s", "2m").
type Duration time.Duration

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a duration such as \"1.5s\" or \"2m\"", b)
	}
	*d = Duration(v)
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// Size is a byte count written as a number or with a unit ("64KiB", "1GiB",
// "10MB").
type Size int64

var sizeUnits = []struct {
	suffix string
	mult   int64
}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1000}, {"MB", 1000 * 1000}, {"GB", 1000 * 1000 * 1000}, {"B", 1}}

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Size) UnmarshalText(b []byte) error {
	str := strings.TrimSpace(string(b))
	mult := int64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(str, u.suffix) {
			str, mult = strings.TrimSpace(strings.TrimSuffix(str, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(str, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return fmt.Errorf("%q is not a size such as 8192, \"64KiB\" or \"1GiB\"", b)
	}
	*s = Size(n * mult)
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (s Size) MarshalText() ([]byte, error) { return []byte(strconv.FormatInt(int64(s), 10)), nil }
