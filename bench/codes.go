package bench

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/admitgate/admit/codes"
	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/index"
	"github.com/admitgate/admit/index/indextest"
)

// The validate workload's steps of codes that prove themselves (issue 17):
//
//   - validate/ed25519-verify: one bare Ed25519 verify, the yardstick of the
//     signed steps, measured in the same run;
//   - validate/forged/lanes=N: a well-formed pretix_sig1 code no key signed,
//     refused unknown before the store (StatP50Verify: its p50 over one
//     verify's);
//   - validate/first-use/signed/lanes=1: fresh signed codes, each admitted
//     on its first sight (the ticket created with the admission, durable),
//     beside validate/first-use/lanes=1 (StatP50OverFirstUse: its p50 less
//     the imported first use's);
//   - validate/rotating/lanes=N: rotating codes of tickets already used,
//     refused already_used: the clock, the two one-time codes and the
//     ticket from memory.

// Providers of the code steps.
const (
	CodesSig1Provider     = "bench-pretix"
	CodesRotatingProvider = "bench-rotating"
	codesItem             = 12
)

// Codes is what the code steps scan: a store set up with a pretix_sig1 and
// a rotating provider (SetupCodes).
type Codes struct {
	signer   ed25519.PrivateKey
	next     int // the seeds handed out
	forged   string
	payload  []byte // of a valid code, for the bare verify
	sig      []byte
	pub      ed25519.PublicKey
	eventKey []byte
	tokens   []string
	keys     [][]byte
}

// codesRotating is how many rotating tickets SetupCodes imports.
const codesRotating = 1024

// SetupCodes puts a pretix_sig1 provider (item 12 admits to the fixture's
// event) and a rotating one (its codes good for 10 minutes either way, so
// codes drawn before a step stay good through it) into ix, and imports the
// rotating provider's tickets with their customer keys.
func SetupCodes(ctx context.Context, ix *index.Index) (*Codes, error) {
	c := &Codes{signer: ed25519.NewKeyFromSeed(bytes.Repeat([]byte{0x5e}, ed25519.SeedSize)),
		eventKey: bytes.Repeat([]byte{0xe5}, 20)}
	c.pub = c.signer.Public().(ed25519.PublicKey)
	sp := index.ProviderSpec{Provider: gate.Provider{ID: CodesSig1Provider, Name: "pretix (bench)"}, Kind: index.ProviderSig1,
		Sig1: codes.Sig1Config{Keys: []string{codes.PublicKeyText(c.pub)}, Items: []codes.Sig1Item{
			{Item: codesItem, PriceType: gate.Code{Code: "ADU", Name: "Adult"}, Events: []string{indextest.EventID}}}}}
	if _, err := ix.PutProviderSpec(ctx, sp); err != nil {
		return nil, fmt.Errorf("bench: codes: %w", err)
	}
	rot := index.ProviderSpec{Provider: gate.Provider{ID: CodesRotatingProvider, Name: "rotating (bench)"}, Kind: index.ProviderRotating,
		Rotating: index.RotatingSpec{EventKey: c.eventKey, Skew: 10 * time.Minute}}
	if _, err := ix.PutProviderSpec(ctx, rot); err != nil {
		return nil, fmt.Errorf("bench: codes: %w", err)
	}
	src := &rotatingSource{}
	for i := range codesRotating {
		token := fmt.Sprintf("BENCH-ROT-%06d", i)
		var key [20]byte
		binary.BigEndian.PutUint64(key[:], uint64(i)+1)
		copy(key[8:], c.eventKey[:12])
		c.tokens = append(c.tokens, token)
		c.keys = append(c.keys, key[:])
		src.lines = append(src.lines, gate.ImportLine{Line: i + 1, CustomerKey: key[:], Ticket: gate.Ticket{Barcode: token,
			Provider: CodesRotatingProvider, Events: []string{indextest.EventID}, State: gate.StateValid, PriceType: gate.Code{Code: "ADU"}}})
	}
	if _, err := ix.Load(ctx, gate.ImportRequest{Provider: CodesRotatingProvider, Source: "bench"}, src); err != nil {
		return nil, fmt.Errorf("bench: codes: import the rotating tickets: %w", err)
	}
	valid := c.Signed(1)[0]
	parsed, err := codes.ParseSig1(valid)
	if err != nil {
		return nil, fmt.Errorf("bench: codes: %w", err)
	}
	c.payload, c.sig = parsed.Payload, parsed.Signature
	other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{0x0f}, ed25519.SeedSize))
	tk := codes.Sig1Ticket{Seed: "FORGED001", Item: codesItem}
	codes.Sig1Bounds(&tk, time.Time{}, time.Time{})
	if c.forged, err = codes.SignSig1(other, tk); err != nil {
		return nil, fmt.Errorf("bench: codes: %w", err)
	}
	return c, nil
}

// rotatingSource is the import of the rotating tickets.
type rotatingSource struct {
	lines []gate.ImportLine
	next  int
}

func (s *rotatingSource) Next() (gate.ImportLine, error) {
	if s.next >= len(s.lines) {
		return gate.ImportLine{}, io.EOF
	}
	s.next++
	return s.lines[s.next-1], nil
}
func (s *rotatingSource) Format() gate.Format { return gate.FormatAuto }
func (s *rotatingSource) Digest() string      { return "" }

// Signed returns n fresh signed codes (never handed out before), signed
// now: about one Ed25519 signature each, outside any measured step.
func (c *Codes) Signed(n int) []string {
	out := make([]string, n)
	for i := range out {
		tk := codes.Sig1Ticket{Seed: fmt.Sprintf("B%08d", c.next), Item: codesItem}
		c.next++
		codes.Sig1Bounds(&tk, time.Time{}, time.Time{})
		code, err := codes.SignSig1(c.signer, tk)
		if err != nil {
			panic("bench: sign: " + err.Error()) // a fixed key and seed: cannot fail
		}
		out[i] = code
	}
	return out
}

// RunVerify times one bare Ed25519 verify of a valid code's payload, at one
// lane: "validate/ed25519-verify".
func RunVerify(ctx context.Context, c *Codes, lim Limit) (Observation, error) {
	if err := lim.valid(); err != nil {
		return Observation{}, err
	}
	op := func(int, int64) string {
		if !ed25519.Verify(c.pub, c.payload, c.sig) {
			return "the signature did not verify"
		}
		return ""
	}
	runLanes(ctx, 1, lim.warmup(), 0, nil, op)
	r := runLanes(ctx, 1, lim, 0, nil, op)
	return observe("validate/ed25519-verify", "verify", &r, true, false)
}

// RunForged scans a well-formed signed code no key of the provider signed
// from lanes lanes: refused unknown before the store,
// "validate/forged/lanes=N".
func RunForged(ctx context.Context, v gate.Validator, c *Codes, lanes int, lim Limit) (Observation, error) {
	if err := lim.valid(); err != nil {
		return Observation{}, err
	}
	scans := laneScans(lanes)
	op := func(l int, _ int64) string {
		s := scans[l]
		s.Barcode = c.forged
		d := v.Scan(ctx, s)
		return expect(&d, gate.ReasonUnknown)
	}
	runLanes(ctx, lanes, lim.warmup(), 0, nil, op)
	r := runLanes(ctx, lanes, lim, 0, nil, op)
	return observe(fmt.Sprintf("validate/forged/lanes=%d", lanes), "scan", &r, true, false)
}

// RunFirstUseSigned admits fresh signed codes, each once, at one lane:
// each creates its ticket with its admission, durably,
// "validate/first-use/signed/lanes=1". The codes are signed before each
// part of the step, as many as the warm-up's rate says it needs.
func RunFirstUseSigned(ctx context.Context, v gate.Validator, c *Codes, lim Limit) (Observation, error) {
	if err := lim.valid(); err != nil {
		return Observation{}, err
	}
	scans := laneScans(1)
	step := func(lim Limit, batch []string) lanesResult {
		return runLanes(ctx, 1, lim, int64(len(batch)), nil, func(_ int, i int64) string {
			s := scans[0]
			s.Barcode = batch[i]
			d := v.Scan(ctx, s)
			return expect(&d, gate.ReasonOK)
		})
	}
	warm := lim.warmup()
	w := step(warm, c.Signed(int(max(warm.Ops, 64))))
	chunk := lim.Ops
	if chunk <= 0 {
		perSec := float64(w.ops) / max(w.elapsed.Seconds(), 1e-3)
		chunk = int64(math.Ceil(1.5*perSec*lim.Duration.Seconds())) + 64
	}
	var total lanesResult
	left := lim
	for {
		batch := c.Signed(int(chunk))
		r := step(left, batch)
		total.merge(&r)
		if !left.spend(&r, len(batch)) || ctx.Err() != nil {
			break
		}
	}
	return observe("validate/first-use/signed/lanes=1", "admit", &total, true, true)
}

// AdmitRotating admits every rotating ticket once (unmeasured), so the
// rotating steps scan used ones.
func AdmitRotating(ctx context.Context, v gate.Validator, c *Codes) error {
	scans := laneScans(64)
	codes := c.rotatingCodes(time.Now())
	r := runLanes(ctx, 64, Limit{Ops: int64(len(codes))}, 0, nil, func(l int, i int64) string {
		s := scans[l]
		s.Barcode = codes[i]
		d := v.Scan(ctx, s)
		return expect(&d, gate.ReasonOK)
	})
	if r.errs > 0 || r.ops != int64(len(codes)) {
		return fmt.Errorf("bench: admit the rotating tickets: %d of %d scans wrong, first: %s", r.errs, len(codes), r.firstErr)
	}
	return nil
}

// rotatingCodes draws the code of every rotating ticket at at.
func (c *Codes) rotatingCodes(at time.Time) []string {
	out := make([]string, len(c.tokens))
	for i, token := range c.tokens {
		code, err := codes.Rotate(token, c.eventKey, c.keys[i], at, 0)
		if err != nil {
			panic("bench: rotate: " + err.Error()) // fixed tokens and keys: cannot fail
		}
		out[i] = code
	}
	return out
}

// RunRotating scans rotating codes of tickets already used (AdmitRotating)
// from lanes lanes, cycling through them: the clock and both one-time
// codes checked, the ticket and its redemptions from memory, refused
// already_used: "validate/rotating/lanes=N". The codes are drawn before the
// step; the provider's skew keeps them good through it.
func RunRotating(ctx context.Context, v gate.Validator, c *Codes, lanes int, lim Limit) (Observation, error) {
	if err := lim.valid(); err != nil {
		return Observation{}, err
	}
	codes := c.rotatingCodes(time.Now())
	scans := laneScans(lanes)
	op := func(l int, i int64) string {
		s := scans[l]
		s.Barcode = codes[int(i%int64(len(codes)))]
		d := v.Scan(ctx, s)
		return expect(&d, gate.ReasonAlreadyUsed)
	}
	runLanes(ctx, lanes, lim.warmup(), 0, nil, op)
	r := runLanes(ctx, lanes, lim, 0, nil, op)
	return observe(fmt.Sprintf("validate/rotating/lanes=%d", lanes), "scan", &r, true, false)
}

// runCodesCPU runs the code steps that need no disk: the bare verify, the
// forged code and the rotating codes (after admitting their tickets) at the
// CPU lane counts.
func runCodesCPU(ctx context.Context, v gate.Validator, cfg ValidateConfig, cpu []int, settle func() error,
	add func(Observation, error) error) error {
	if err := settle(); err != nil {
		return err
	}
	verify, err := RunVerify(ctx, cfg.Codes, cfg.Limit)
	if err := add(verify, err); err != nil {
		return err
	}
	for _, l := range cpu {
		if err := settle(); err != nil {
			return err
		}
		o, err := RunForged(ctx, v, cfg.Codes, l, cfg.Limit)
		if err == nil && l == 1 && verify.Sample[StatP50] > 0 {
			o.Sample[StatP50Verify] = o.Sample[StatP50] / verify.Sample[StatP50]
		}
		if err := add(o, err); err != nil {
			return err
		}
	}
	if err := AdmitRotating(ctx, v, cfg.Codes); err != nil {
		return err
	}
	for _, l := range cpu {
		if err := settle(); err != nil {
			return err
		}
		if err := add(RunRotating(ctx, v, cfg.Codes, l, cfg.Limit)); err != nil {
			return err
		}
	}
	return nil
}
