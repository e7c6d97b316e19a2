// Command admit is the gate validation appliance: one binary with the
// daemon (serve) and the tools that talk to it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	m := &Main{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv, SetProcs: runtime.GOMAXPROCS}
	err := m.Run(context.Background(), os.Args[1:])
	os.Exit(exitCode(err, m.Stderr))
}

// exitError carries a process exit code (2: usage, 3: a refused scan or a
// rejected import).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageError prints fs's usage and returns err as a usage error (exit 2).
func usageError(fs *flag.FlagSet, err error) error {
	fs.Usage()
	return &exitError{code: 2, err: err}
}

// exitCode maps Run's error to the process's exit code and prints it.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	if errors.Is(err, flag.ErrHelp) {
		return 2
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil && ee.err.Error() != "" {
			fmt.Fprintln(stderr, prefixed(ee.err))
		}
		return ee.code
	}
	fmt.Fprintln(stderr, prefixed(err))
	return 1
}

// prefixed returns err's message behind one "admit: ", whether or not the
// error already carries it.
func prefixed(err error) string {
	msg := err.Error()
	if strings.HasPrefix(msg, "admit: ") {
		return msg
	}
	return "admit: " + msg
}

// Main is the program, with its standard streams and environment, so tests
// run commands in process.
type Main struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	// SetProcs is runtime.GOMAXPROCS in the binary, for serve (see
	// serveProcs); nil leaves the process's setting alone (tests running
	// commands in their own process).
	SetProcs func(int) int
}

const usage = `admit is a gate validation appliance.

Usage:
  admit serve [-config FILE] [-listen ADDR] [-data-dir DIR] [-log-level LEVEL]
                              run the appliance; without a config, the demo
  admit import [flags] FILE   send a barcode file to a running appliance
  admit scan [flags] BARCODE  send one scan (exit 0 admitted, 3 refused)
  admit check-config FILE     check a configuration file (an appliance's or a hub's)
  admit hub -config FILE      run one node of a venue's hub; admit hub init creates its buckets
  admit devices [-json]       list attached scanners and relay boards, with config snippets
  admit backup DIR            copy the running appliance's store into DIR (-data-dir D: a
                              stopped one's)
  admit restore BACKUP -data-dir D
                              bring a backup back into a stopped appliance's empty data directory
  admit version               print the version
  admit bench [flags]         benchmark this box; -gate holds the budgets
  admit codes COMMAND         make and read signed and rotating codes (keygen, sign,
                              rotate, decode)

Run "admit COMMAND -h" for a command's flags. The tools read ADMIT_URL and
ADMIT_TOKEN from the environment.
`

// Run runs the command args name.
func (m *Main) Run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(m.Stderr, usage)
		return &exitError{code: 2, err: errors.New("")}
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return m.serve(ctx, rest)
	case "import":
		return m.importCmd(ctx, rest)
	case "scan":
		return m.scanCmd(ctx, rest)
	case "check-config":
		return m.checkConfig(rest)
	case "hub":
		return m.hubCmd(ctx, rest)
	case "devices":
		return m.devices(ctx, rest)
	case "backup":
		return m.backupCmd(ctx, rest)
	case "restore":
		return m.restoreCmd(ctx, rest)
	case "bench":
		return m.bench(ctx, rest)
	case "codes":
		return m.codesCmd(rest)
	case "version", "-version", "--version":
		return m.versionCmd(rest)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(m.Stdout, usage)
		return nil
	}
	fmt.Fprint(m.Stderr, usage)
	return &exitError{code: 2, err: fmt.Errorf("unknown command %q", cmd)}
}

func (m *Main) flags(name, summary string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(m.Stderr, "%s\n\nFlags:\n", summary)
		fs.PrintDefaults()
	}
	return fs
}

// ServeFlags are the flags of admit serve; set ones override the file.
type ServeFlags struct {
	ConfigPath string
	Listen     string
	DataDir    string
	LogLevel   string
	LogFormat  string
	DemoReset  bool // demo.go
}

// ParseServeFlags reads admit serve's flags.
func (m *Main) ParseServeFlags(args []string) (ServeFlags, error) {
	var f ServeFlags
	fs := m.flags("serve", "Usage: admit serve [flags]\n\nRun the appliance. Without -config (or ADMIT_CONFIG) it runs the built-in demo.")
	fs.StringVar(&f.ConfigPath, "config", m.Getenv("ADMIT_CONFIG"), "the configuration file (TOML)")
	fs.StringVar(&f.Listen, "listen", "", "override http.listen")
	fs.StringVar(&f.DataDir, "data-dir", "", "override data_dir")
	fs.StringVar(&f.LogLevel, "log-level", "", "override log.level (debug, info, warn, error)")
	fs.StringVar(&f.LogFormat, "log-format", "", "override log.format (auto, json, console)")
	fs.BoolVar(&f.DemoReset, "demo-reset", false, "the demo only: delete the demo's data (tickets, scans, imports) and start afresh")
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	if fs.NArg() > 0 {
		return f, &exitError{code: 2, err: fmt.Errorf("serve takes no arguments, got %q", fs.Args())}
	}
	if err := f.checkDemoReset(); err != nil {
		return f, err
	}
	return f, nil
}

func (f ServeFlags) apply(c *Config) {
	if f.Listen != "" {
		c.HTTP.Listen = f.Listen
	}
	if f.DataDir != "" {
		c.DataDir = f.DataDir
	}
	if f.LogLevel != "" {
		c.Log.Level = f.LogLevel
	}
	if f.LogFormat != "" {
		c.Log.Format = f.LogFormat
	}
}

// loadConfig reads the file named by the flags and applies the flags.
func (f ServeFlags) loadConfig(ctx context.Context) (*Config, error) {
	c, err := readConfigFile(ctx, f.ConfigPath)
	if err != nil {
		return nil, err
	}
	f.apply(c)
	return c, nil
}

// newLogger builds the process's logger: JSON, or human-readable when the
// format is console or auto on a terminal.
func newLogger(c LogConfig, w io.Writer) zerolog.Logger {
	level, err := zerolog.ParseLevel(c.Level)
	if err != nil || c.Level == "" {
		level = zerolog.InfoLevel
	}
	human := c.Format == "console"
	if c.Format == "auto" || c.Format == "" {
		if f, ok := w.(*os.File); ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())) {
			human = true
		}
	}
	if human {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: "15:04:05.000"}
	}
	return zerolog.New(w).Level(level).With().Timestamp().Logger()
}

func (m *Main) serve(ctx context.Context, args []string) error {
	f, err := m.ParseServeFlags(args)
	if err != nil {
		return err
	}
	var cfg *Config
	var demo *demoSetup
	if f.ConfigPath == "" {
		demo, err = newDemo(m.Getenv, f.DemoReset)
		if err != nil {
			return err
		}
		cfg = demo.config
		f.apply(cfg)
	} else if cfg, err = f.loadConfig(ctx); err != nil {
		return err
	}
	if err := cfg.checkServe(); err != nil {
		return err
	}
	logOut, logCfg := m.Stderr, cfg.Log
	if f, ok := m.Stderr.(*os.File); ok {
		// The log's write system call leaves the request path (one line
		// per request, 3-7 µs a line measured on a scan); Close at the end
		// writes what is pending, also when serve fails.
		aw := newAsyncWriter(f)
		defer aw.Close()
		logOut = aw
		if logCfg.Format == "" || logCfg.Format == "auto" {
			// newLogger decides "auto" from the file, not the wrapper.
			logCfg.Format = "json"
			if isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()) {
				logCfg.Format = "console"
			}
		}
	}
	log := newLogger(logCfg, logOut)
	if m.SetProcs != nil {
		procs := serveProcs(m.Getenv, m.SetProcs(0))
		m.SetProcs(procs)
		msg := "Go runs on twice the usable CPUs: a WAL sync holds one while it waits (GOMAXPROCS overrides)"
		if m.Getenv("GOMAXPROCS") != "" {
			msg = "Go runs on GOMAXPROCS from the environment"
		}
		log.Info().Str("component", "daemon").Int("gomaxprocs", procs).Int("cpus", runtime.NumCPU()).Msg(msg)
	}
	d := &Daemon{Config: cfg, Logger: log}
	if demo != nil {
		d.Seed = demo.seed
	}

	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	if err := d.Open(ctx); err != nil {
		return err
	}
	if demo != nil {
		demo.printBanner(m.Stdout, d.Addr().String())
	}
	rl := &reloader{kick: make(chan struct{}, 1), log: log.With().Str("component", "daemon").Logger(),
		reload: func(ctx context.Context) error {
			next, err := f.loadConfig(ctx)
			if err != nil {
				return err
			}
			return d.Reload(ctx, next)
		}}
	rctx, stopReloads := context.WithCancel(ctx)
	reloads := make(chan struct{})
	go func() { rl.run(rctx); close(reloads) }()
	defer func() { stopReloads(); <-reloads }()
	for {
		select {
		case <-ctx.Done():
			log.Info().Str("component", "daemon").Msg("shutting down: draining requests")
			cctx, cancel := context.WithTimeout(context.Background(), time.Duration(cfg.HTTP.ShutdownGrace))
			err := d.Close(cctx)
			cancel()
			return err
		case err := <-d.Done():
			_ = d.Close(context.Background())
			return fmt.Errorf("http server stopped: %w", err)
		case <-hup:
			if f.ConfigPath == "" {
				log.Warn().Str("component", "daemon").Msg("SIGHUP: the demo has no configuration file to reload")
				continue
			}
			rl.request()
		}
	}
}

// reloader runs the reloads SIGHUP asks for, one at a time and away from
// the signal loop, so that a reload that takes long (a configuration file
// that is slow to read) never keeps the daemon from its other signals,
// SIGTERM included (issue 21, item 6). A SIGHUP during a reload asks for one
// more, which reads the file again once it ends; any further ones fold into
// that one.
type reloader struct {
	kick   chan struct{} // capacity 1: the one reload waiting
	reload func(ctx context.Context) error
	log    zerolog.Logger
}

// request asks for a reload without waiting.
func (r *reloader) request() {
	select {
	case r.kick <- struct{}{}:
	default: // one is waiting already and will read the file as it is then
	}
}

// run reloads on each request until ctx ends.
func (r *reloader) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.kick:
		}
		if err := r.reload(ctx); err != nil {
			r.log.Error().Err(err).Msg("SIGHUP: the new configuration is refused; keeping the old one")
		}
	}
}

func (m *Main) checkConfig(args []string) error {
	fs := m.flags("check-config", "Usage: admit check-config FILE\n\nParse and check a configuration file, secret files included.")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError(fs, errors.New("check-config takes one file"))
	}
	if isHubConfig(fs.Arg(0)) {
		return m.checkHubConfig(fs.Arg(0))
	}
	c, err := m.reportProblems(fs.Arg(0)) // configcheck.go: every problem, one a line
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "%s: ok: listen %s, data %s, %d tokens, %d providers, %d events, %d lanes, %d drop folders\n",
		fs.Arg(0), c.HTTP.Listen, c.DataDir, len(c.Tokens), len(c.Providers), len(c.Events), len(c.Lanes), len(c.DropFolders))
	var roles []string
	for _, t := range c.Tokens {
		r := t.Name + "=" + t.Role
		if len(t.Lanes) > 0 {
			r += "[" + strings.Join(t.Lanes, ",") + "]"
		}
		roles = append(roles, r)
	}
	fmt.Fprintf(m.Stdout, "tokens: %s\n", strings.Join(roles, " "))
	if c.Venue != nil {
		fmt.Fprintln(m.Stdout, c.describeVenue()) // venue_wiring.go
	}
	for _, l := range c.Lanes {
		fmt.Fprintf(m.Stdout, "lane %s: %s%s\n", l.ID, l.describe(), l.describeVenue(c.Venue != nil))
	}
	if slices.ContainsFunc(c.Lanes, func(l LaneConfig) bool { return l.hardware() }) {
		fmt.Fprintln(m.Stdout, "devices are not looked for now: a missing one shows in GET /v1/lanes and is picked up when it appears (admit devices lists what is attached)")
	}
	return nil
}
