package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/httpapi"
)

// clientFlags are the flags every tool that talks to an appliance shares.
type clientFlags struct {
	url, token string
	timeout    time.Duration
	getenv     func(string) string
}

func (m *Main) clientFlagSet(fs *flag.FlagSet, f *clientFlags) {
	def := m.Getenv("ADMIT_URL")
	if def == "" {
		def = "http://127.0.0.1:8080"
	}
	fs.StringVar(&f.url, "url", def, "the appliance's URL (ADMIT_URL)")
	// The token's default is read when it is used, never set as the flag's
	// default: -h prints defaults, and a secret is never shown.
	fs.StringVar(&f.token, "token", "", "a bearer token (default: ADMIT_TOKEN); prefer the variable, flags show in ps")
	f.getenv = m.Getenv
	fs.DurationVar(&f.timeout, "timeout", 0, "give up after this long (0: 10s for a scan, none for an import)")
}

// call sends a request and decodes a JSON answer into out, returning the
// API's error message for a 4xx or 5xx that is not wanted.
func (f *clientFlags) call(ctx context.Context, method, path string, body io.Reader, out any, ok ...int) (int, error) {
	token := f.token
	if token == "" && f.getenv != nil {
		token = f.getenv("ADMIT_TOKEN")
	}
	if token == "" {
		return 0, &exitError{code: 2, err: errors.New("no token: set ADMIT_TOKEN or -token")}
	}
	if f.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, f.timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(f.url, "/")+path, body)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/octet-stream")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", method, f.url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return resp.StatusCode, err
	}
	wanted := resp.StatusCode == http.StatusOK
	for _, s := range ok {
		wanted = wanted || resp.StatusCode == s
	}
	if !wanted {
		var e httpapi.ErrorBody
		if json.Unmarshal(b, &e) == nil && e.Error.Message != "" {
			return resp.StatusCode, fmt.Errorf("%d %s: %s", resp.StatusCode, e.Error.Code, e.Error.Message)
		}
		return resp.StatusCode, fmt.Errorf("%s: %.200s", resp.Status, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, fmt.Errorf("the appliance answered %d with a body that is not the expected JSON: %w", resp.StatusCode, err)
		}
	}
	return resp.StatusCode, nil
}

func (m *Main) importCmd(ctx context.Context, args []string) error {
	var cf clientFlags
	var provider, event, priceType, format, onError, name string
	var dryRun, createProvider bool
	fs := m.flags("import", "Usage: admit import [flags] FILE\n\nSend a barcode file (or - for standard input) to a running appliance. Exit 3 when rejected.")
	m.clientFlagSet(fs, &cf)
	fs.StringVar(&provider, "provider", "", "the provider the barcodes belong to (required)")
	fs.StringVar(&event, "event", "", "the event of every line (default: from the file)")
	fs.StringVar(&priceType, "price-type", "", "the price type of every line (default: from the file)")
	fs.StringVar(&format, "format", "", "lines, csv or secutix (default: detected)")
	fs.StringVar(&onError, "on-error", "reject", "reject: one bad line rejects the file; skip: load the good lines")
	fs.StringVar(&name, "name", "", "the name kept in the import record (default: the file's name)")
	fs.BoolVar(&dryRun, "dry-run", false, "report what would change, change nothing")
	fs.BoolVar(&createProvider, "create-provider", false, "create the provider if the appliance does not have it (default: refuse, so a misspelt provider is not made a new one)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 || provider == "" {
		return usageError(fs, errors.New("import needs -provider and one FILE"))
	}
	var body io.Reader
	path := fs.Arg(0)
	if path == "-" {
		body = m.Stdin
	} else {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		body = f
		if name == "" {
			name = filepath.Base(path)
		}
	}
	q := url.Values{"provider": {provider}, "on_error": {onError}}
	for k, v := range map[string]string{"event": event, "price_type": priceType, "format": format, "name": name} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if dryRun {
		q.Set("dry_run", "true")
	}
	if createProvider {
		q.Set("create_provider", "true")
	}
	var res httpapi.ImportResponse
	status, err := cf.call(ctx, "POST", "/v1/imports?"+q.Encode(), body, &res, http.StatusUnprocessableEntity)
	if err != nil {
		return err
	}
	verb := "imported"
	switch {
	case status == http.StatusUnprocessableEntity:
		verb = "REJECTED, nothing loaded"
	case res.DryRun:
		verb = "dry run, nothing changed"
	}
	fmt.Fprintf(m.Stdout, "%s: %s (import %d, %s): %d lines, %d added, %d updated, %d unchanged, %d rejected\n",
		path, verb, res.ID, res.Format, res.Lines, res.Added, res.Updated, res.Unchanged, res.Rejected)
	for _, e := range res.Errors {
		fmt.Fprintf(m.Stdout, "  line %d: %s %q %s\n", e.Line, e.Reason, e.Barcode, e.Detail)
	}
	if res.Rejected > len(res.Errors) {
		fmt.Fprintf(m.Stdout, "  ... and %d more rejected lines\n", res.Rejected-len(res.Errors))
	}
	if status == http.StatusUnprocessableEntity {
		return &exitError{code: 3}
	}
	return nil
}

func (m *Main) scanCmd(ctx context.Context, args []string) error {
	var cf clientFlags
	var lane, direction, nonce string
	var check, asJSON bool
	fs := m.flags("scan", "Usage: admit scan [flags] BARCODE\n\nSend one scan to a running appliance. Exit 0 when admitted, 3 when refused.")
	m.clientFlagSet(fs, &cf)
	fs.StringVar(&lane, "lane", m.Getenv("ADMIT_LANE"), "the lane (ADMIT_LANE)")
	fs.StringVar(&direction, "direction", "", "in or out (default: the lane's)")
	fs.StringVar(&nonce, "nonce", "", "makes a retried scan idempotent for 15 minutes")
	fs.BoolVar(&check, "check", false, "decide without redeeming (POST /v1/check)")
	fs.BoolVar(&asJSON, "json", false, "print the decision as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 || lane == "" {
		return usageError(fs, errors.New("scan needs -lane (or ADMIT_LANE) and one BARCODE"))
	}
	if cf.timeout == 0 {
		cf.timeout = 10 * time.Second
	}
	body, _ := json.Marshal(httpapi.ScanRequest{Barcode: fs.Arg(0), Lane: lane, Direction: direction, Nonce: nonce})
	path := "/v1/scan"
	if check {
		path = "/v1/check"
	}
	var d gate.Decision
	if _, err := cf.call(ctx, "POST", path, bytes.NewReader(body), &d); err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(d)
	} else {
		fmt.Fprintln(m.Stdout, describeDecision(d))
	}
	if !d.Admit {
		return &exitError{code: 3}
	}
	return nil
}

// describeDecision is a decision in one line, for the door.
func describeDecision(d gate.Decision) string {
	var b strings.Builder
	if d.Admit {
		b.WriteString("ADMIT ")
	} else {
		b.WriteString("DENY  ")
	}
	b.WriteString(d.Reason.String())
	if d.Event != "" {
		b.WriteString(" event=" + d.Event)
	}
	if t := d.Ticket; t != nil {
		fmt.Fprintf(&b, " %s/%s", t.Provider, t.PriceType)
		if t.PriceTypeName != "" {
			b.WriteString(" (" + t.PriceTypeName + ")")
		}
	}
	if f := d.FirstUsed; f != nil {
		if f.At.IsZero() {
			fmt.Fprintf(&b, " first used: %s", f.Lane)
		} else {
			fmt.Fprintf(&b, " first used %s at %s", f.At.Local().Format("15:04:05"), f.Lane)
		}
		if f.Appliance != "" {
			b.WriteString(" (" + f.Appliance + ")") // in a venue: which appliance
		}
	}
	if d.Detail != "" {
		b.WriteString(" (" + d.Detail + ")")
	}
	if d.Seq != 0 {
		fmt.Fprintf(&b, " seq=%d", d.Seq)
	}
	if d.Replayed {
		b.WriteString(" replayed")
	}
	if d.Offline {
		b.WriteString(" offline") // the venue's hub did not answer
	}
	return b.String()
}
