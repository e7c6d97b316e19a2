package main

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/admitgate/admit/codes"
)

const codesUsage = `Usage: admit codes COMMAND [flags]

Make and read codes that prove themselves (docs/codes.md), for box offices
printing tickets for admit and for tests. Keys come from files; nothing
secret is printed except what a command is asked to make.

  admit codes keygen [-out FILE]     an Ed25519 key pair for pretix_sig1: writes the
                                     private key (PEM) to FILE, prints the public key
                                     as pretix hands it out (base64 of PEM)
  admit codes sign -key FILE -item N [-seed S] [-variation N] [-subevent N]
                   [-valid-from TIME] [-valid-until TIME]
                                     print a pretix_sig1 code
  admit codes rotate -event-key FILE -customer-key FILE -token T [-at TIME]
                                     print a rotating code drawn at TIME (default now)
  admit codes decode [-key FILE] CODE
                                     show what a pretix_sig1 or rotating code holds

TIME is RFC 3339 (2026-12-05T18:00:00Z) or Unix seconds.
`

// codesCmd runs admit codes SUBCOMMAND.
func (m *Main) codesCmd(args []string) error {
	if len(args) == 0 {
		fmt.Fprint(m.Stderr, codesUsage)
		return &exitError{code: 2, err: errors.New("")}
	}
	switch args[0] {
	case "keygen":
		return m.codesKeygen(args[1:])
	case "sign":
		return m.codesSign(args[1:])
	case "rotate":
		return m.codesRotate(args[1:])
	case "decode":
		return m.codesDecode(args[1:])
	case "help", "-h", "-help", "--help":
		fmt.Fprint(m.Stdout, codesUsage)
		return nil
	}
	fmt.Fprint(m.Stderr, codesUsage)
	return &exitError{code: 2, err: fmt.Errorf("unknown codes command %q", args[0])}
}

func (m *Main) codesKeygen(args []string) error {
	fs := m.flags("codes keygen", "Usage: admit codes keygen [-out FILE]\n\n"+
		"Make an Ed25519 key pair for a pretix_sig1 provider. The private key is written to FILE\n"+
		"(PEM, mode 0600, never over an existing file); the public key is printed as pretix hands\n"+
		"devices their valid_keys: put it in the provider's keys.")
	out := fs.String("out", "private.pem", "the file for the private key")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &exitError{code: 2, err: fmt.Errorf("codes keygen takes no arguments, got %q", fs.Args())}
	}
	pub, priv, err := codes.GenerateSig1Key(nil)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("codes keygen: %w", err)
	}
	if _, err := f.Write(codes.MarshalPrivateKey(priv)); err != nil {
		f.Close()
		return fmt.Errorf("codes keygen: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("codes keygen: %w", err)
	}
	fmt.Fprintln(m.Stdout, codes.PublicKeyText(pub))
	return nil
}

func (m *Main) codesSign(args []string) error {
	fs := m.flags("codes sign", "Usage: admit codes sign -key FILE -item N [flags]\n\n"+
		"Print a pretix_sig1 code signed with the private key in FILE (PEM, or base64 of PEM as\n"+
		"pretix keeps it), laid out as pretix lays it out: both validity bounds written, 0 for none.")
	keyFile := fs.String("key", "", "the private key file")
	item := fs.Int64("item", 0, "the pretix item id")
	seed := fs.String("seed", "", "the seed, the ticket's venue-wide id (default: 9 random characters, as pretix draws)")
	variation := fs.Int64("variation", 0, "the pretix variation id")
	subevent := fs.Int64("subevent", 0, "the pretix subevent id")
	from := fs.String("valid-from", "", "valid from TIME")
	until := fs.String("valid-until", "", "valid until TIME (inclusive)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 || *keyFile == "" || *item <= 0 {
		return usageError(fs, errors.New("codes sign needs -key and a positive -item"))
	}
	if *variation < 0 || *subevent < 0 {
		return &exitError{code: 2, err: errors.New("codes sign: -variation and -subevent are ids, not negative")}
	}
	b, err := os.ReadFile(*keyFile)
	if err != nil {
		return fmt.Errorf("codes sign: %w", err)
	}
	priv, err := codes.ParsePrivateKey(b)
	if err != nil {
		return err
	}
	t := codes.Sig1Ticket{Seed: *seed, Item: *item, Variation: *variation, Subevent: *subevent}
	var bounds [2]time.Time
	for i, s := range []string{*from, *until} {
		if s == "" {
			continue
		}
		if bounds[i], err = parseCodeTime(s); err != nil {
			return &exitError{code: 2, err: fmt.Errorf("codes sign: %w", err)}
		}
	}
	if !bounds[0].IsZero() && !bounds[1].IsZero() && bounds[1].Before(bounds[0]) {
		return &exitError{code: 2, err: errors.New("codes sign: -valid-until is before -valid-from")}
	}
	codes.Sig1Bounds(&t, bounds[0], bounds[1])
	if t.Seed == "" {
		if t.Seed, err = codes.NewSeed(nil); err != nil {
			return err
		}
	}
	code, err := codes.SignSig1(priv, t)
	if err != nil {
		return err
	}
	fmt.Fprintln(m.Stdout, code)
	return nil
}

func (m *Main) codesRotate(args []string) error {
	fs := m.flags("codes rotate", "Usage: admit codes rotate -event-key FILE -customer-key FILE -token T [-at TIME]\n\n"+
		"Print the rotating code token::otp1::otp2::unixSeconds drawn at TIME: RFC 6238 TOTPs\n"+
		"(HMAC-SHA-1, 6 digits) of the event key and of the customer key, each file holding a key as hex.")
	eventFile := fs.String("event-key", "", "the file holding the event key (hex)")
	customerFile := fs.String("customer-key", "", "the file holding the ticket holder's customer key (hex)")
	token := fs.String("token", "", "the ticket's token")
	at := fs.String("at", "", "draw the code at TIME (default now)")
	step := fs.Duration("step", codes.DefaultStep, "the TOTP step")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 || *eventFile == "" || *customerFile == "" || *token == "" {
		return usageError(fs, errors.New("codes rotate needs -event-key, -customer-key and -token"))
	}
	var keys [2][]byte
	for i, name := range []string{*eventFile, *customerFile} {
		b, err := os.ReadFile(name)
		if err != nil {
			return fmt.Errorf("codes rotate: %w", err)
		}
		if keys[i], err = codes.ParseKey(string(b)); err != nil {
			return fmt.Errorf("codes rotate: %s: %w", name, err)
		}
	}
	when := time.Now()
	if *at != "" {
		var err error
		if when, err = parseCodeTime(*at); err != nil {
			return &exitError{code: 2, err: fmt.Errorf("codes rotate: %w", err)}
		}
	}
	code, err := codes.Rotate(*token, keys[0], keys[1], when, *step)
	if err != nil {
		return err
	}
	fmt.Fprintln(m.Stdout, code)
	return nil
}

func (m *Main) codesDecode(args []string) error {
	fs := m.flags("codes decode", "Usage: admit codes decode [-key FILE] CODE\n\n"+
		"Show what a pretix_sig1 or a rotating code holds. With -key (a public key, base64 of PEM or\n"+
		"PEM), also whether that key signed a pretix_sig1 code. Exit 3 when the code is neither, or\n"+
		"the key did not sign it.")
	keyFile := fs.String("key", "", "a pretix_sig1 public key file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError(fs, errors.New("codes decode takes one CODE"))
	}
	text := fs.Arg(0)
	if c, err := codes.ParseSig1(text); err == nil {
		t := c.Ticket
		fmt.Fprintf(m.Stdout, "pretix_sig1 seed=%s item=%d variation=%d subevent=%d valid_from=%s valid_until=%s\n",
			t.Seed, t.Item, t.Variation, t.Subevent, bound(t.HasValidFrom, t.ValidFromUnix, t.ValidFrom()), bound(t.HasValidUntil, t.ValidUntilUnix, t.ValidUntil()))
		if *keyFile == "" {
			fmt.Fprintln(m.Stdout, "signature: not checked (no -key)")
			return nil
		}
		b, err := os.ReadFile(*keyFile)
		if err != nil {
			return fmt.Errorf("codes decode: %w", err)
		}
		pub, err := codes.ParsePublicKey(string(b))
		if err != nil {
			return err
		}
		if !ed25519.Verify(pub, c.Payload, c.Signature) {
			fmt.Fprintln(m.Stdout, "signature: BAD, not signed by this key")
			return &exitError{code: 3}
		}
		fmt.Fprintln(m.Stdout, "signature: good")
		return nil
	} else if rc, rerr := codes.ParseRotating(text); rerr == nil {
		fmt.Fprintf(m.Stdout, "rotating token=%s otp1=%s otp2=%s at=%s (%d)\n", rc.Token, rc.OTP1, rc.OTP2,
			time.Unix(rc.At, 0).UTC().Format(time.RFC3339), rc.At)
		return nil
	} else {
		fmt.Fprintf(m.Stdout, "neither: %s; %s\n", strings.TrimPrefix(err.Error(), "codes: "), strings.TrimPrefix(rerr.Error(), "codes: "))
		return &exitError{code: 3}
	}
}

// bound shows a validity bound as it is on the wire and what it means.
func bound(has bool, raw int64, t time.Time) string {
	switch {
	case !has:
		return "absent"
	case t.IsZero():
		return strconv.FormatInt(raw, 10) + "(none)"
	}
	return t.Format(time.RFC3339)
}

// parseCodeTime reads RFC 3339 or Unix seconds.
func parseCodeTime(s string) (time.Time, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("time %q is neither RFC 3339 nor Unix seconds", s)
	}
	return t, nil
}
