package main

import (
	"bufio"
	"bytes"
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

	// Venue, when set, makes this appliance one of a venue's
	// (venue_wiring.go); nil: a single appliance.
	Venue *VenueConfig `toml:"venue"`

	// src is the file the configuration was read from, where its keys
	// are and what was wrong while decoding it (configcheck_decode.go);
	// nil for one built in Go.
	src *configSource
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
	return &index.Options{Appliance: c.applianceID(), Logger: log, CacheSize: int64(c.Store.CacheSize),
		MemTableSize: uint64(c.Store.MemtableSize), JournalBacklog: c.Store.JournalBacklog,
		CommitTimeout: time.Duration(c.Store.CommitTimeout), LogBarcodes: c.logBarcodes(),
		CompileRule: compileRule, Location: c.location()} // zones_wiring.go
}

// LogConfig is where and how admit logs.
type LogConfig struct {
	Level  string `toml:"level"`  // debug, info (default), warn, error
	Format string `toml:"format"` // auto (default: human on a terminal, else JSON), json, console
	// Barcodes is how log lines show a barcode: last4 (default), full or
	// none (logging.go).
	Barcodes string `toml:"barcodes"`
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

	// How the provider's codes are checked: kind, keys, items,
	// event_key_file... (codes_wiring.go).
	ProviderCodesConfig
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
		Log: LogConfig{Level: "info", Format: "auto", Barcodes: "last4"},
		Store: StoreConfig{CacheSize: index.DefaultCacheSize, MemtableSize: index.DefaultMemTableSize,
			JournalBacklog: index.DefaultJournalBacklog, CommitTimeout: Duration(index.DefaultCommitTimeout)},
	}
}

// ParseConfig reads a TOML configuration over the defaults. A file that
// does not parse, a value of the wrong type or an unknown key (a typo must
// never fall back to a default silently) is an error listing every such
// problem with its line. It does not validate; call Validate.
func ParseConfig(r io.Reader) (*Config, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxConfigSize+1))
	if err != nil {
		return nil, fmt.Errorf("config: read: %w", err)
	}
	c := parseConfig(data, "")
	if err := c.src.decode.Err(); err != nil {
		return nil, err
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
		return fmt.Errorf("%q is not a duration; write one such as \"500ms\", \"1.5s\" or \"2m\"", b)
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
		return fmt.Errorf("%q is not a size; write one such as 8192, \"64KiB\" or \"1GiB\"", b)
	}
	*s = Size(n * mult)
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (s Size) MarshalText() ([]byte, error) { return []byte(strconv.FormatInt(int64(s), 10)), nil }
