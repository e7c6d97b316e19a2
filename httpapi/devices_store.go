package httpapi

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/internal/atomicfile"
)

// Limits of the device store.
const (
	// DefaultPairingTTL is how long a pairing code may be exchanged for a
	// device token: long enough to walk a phone to the door, short enough
	// that a photo of the QR code is worth little.
	DefaultPairingTTL = 15 * time.Minute
	// MaxDevices bounds the paired devices; each scan by a device token
	// compares its hash with every device's.
	MaxDevices = 500
	// maxDeviceName bounds a device's name in bytes.
	maxDeviceName = 64
)

// DevicesFile is the name of the device store's file in the data directory.
const DevicesFile = "devices.json"

// Device is a door device (a phone, tablet or kiosk) paired with the
// appliance: a scanner token of its own, limited to some lanes, that an
// admin made and can revoke. Its secret is never stored or shown; only its
// SHA-256 hash is kept.
type Device struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Lanes     []string  `json:"lanes"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by"`
	// PairedAt is when the device exchanged its pairing code for its token;
	// zero while it waits for its first pairing.
	PairedAt time.Time `json:"paired_at,omitzero"`
	// PairingExpiresAt is when the pending pairing code stops working; zero
	// when no code is pending.
	PairingExpiresAt time.Time `json:"pairing_expires_at,omitzero"`
	// LastSeen is the last request the device made with its token since the
	// appliance started (kept in memory only).
	LastSeen time.Time `json:"last_seen,omitzero"`
	// State is "paired", "waiting" (a code is pending and the device has no
	// token yet) or "expired" (no token, and the code expired unused).
	State string `json:"state"`
}

// Pairing is a one-time pairing code for a device and where the door page
// takes it.
type Pairing struct {
	Code      string    `json:"code"`
	ExpiresAt time.Time `json:"expires_at"`
	// Path is the door page's address with the code in its fragment
	// (/door#pair=CODE); the fragment never leaves the browser, so the code
	// is in no request line or log.
	Path string `json:"path"`
}

// DeviceStore keeps the paired door devices in a small file in the data
// directory, rewritten whole and atomically on every change (a temporary
// file, fsync, rename, fsync of the directory). The file holds SHA-256
// hashes of device tokens and pairing codes, never the secrets. Lookups on
// the request path read an immutable snapshot without locks. It is safe
// for concurrent use.
type DeviceStore struct {
	path string
	ttl  time.Duration
	now  func() time.Time

	mu      sync.Mutex // serialises changes and the file's writes
	devices []*deviceRecord
	snap    atomic.Pointer[deviceSnapshot]
}

// deviceRecord is one device as the file keeps it.
type deviceRecord struct {
	ID               string    `json:"id"`
	Name             string    `json:"name"`
	Lanes            []string  `json:"lanes"`
	CreatedAt        time.Time `json:"created_at"`
	CreatedBy        string    `json:"created_by"`
	PairedAt         time.Time `json:"paired_at,omitzero"`
	TokenSHA256      string    `json:"token_sha256,omitempty"`
	PairingSHA256    string    `json:"pairing_sha256,omitempty"`
	PairingExpiresAt time.Time `json:"pairing_expires_at,omitzero"`

	tokenHash   [sha256.Size]byte // decoded TokenSHA256; zero when none
	pairingHash [sha256.Size]byte
	lastSeen    *atomic.Int64 // unix nanoseconds; shared by every snapshot
}

// deviceFile is the file's layout.
type deviceFile struct {
	Version int             `json:"version"`
	Devices []*deviceRecord `json:"devices"`
}

const deviceFileVersion = 1

// deviceSnapshot is what authentication reads: one entry per device with a
// token, its scanner token built once.
type deviceSnapshot struct {
	entries []deviceEntry
}

type deviceEntry struct {
	hash     [sha256.Size]byte
	token    *authToken
	lastSeen *atomic.Int64
}

// OpenDevices opens the device store kept in the file at path (created on
// the first change; a missing file is an empty store). ttl is how long a
// pairing code lasts (0: DefaultPairingTTL); now is the clock (nil:
// time.Now). A file that cannot be read is an error: the appliance would
// otherwise forget which devices it paired, or start again from a file a
// person damaged.
func OpenDevices(path string, ttl time.Duration, now func() time.Time) (*DeviceStore, error) {
	if ttl <= 0 {
		ttl = DefaultPairingTTL
	}
	if now == nil {
		now = time.Now
	}
	s := &DeviceStore{path: path, ttl: ttl, now: now}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("read the paired devices: %w", err)
	default:
		if err := s.decode(b); err != nil {
			return nil, fmt.Errorf("the paired devices file %s is damaged (%v); move it away to unpair every device", path, err)
		}
	}
	s.publish()
	return s, nil
}

// decode reads the file's contents into s.devices.
func (s *DeviceStore) decode(b []byte) error {
	var f deviceFile
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return err
	}
	if f.Version != deviceFileVersion {
		return fmt.Errorf("version %d, this admit reads version %d", f.Version, deviceFileVersion)
	}
	ids, names := map[string]bool{}, map[string]bool{}
	for _, d := range f.Devices {
		if d == nil || d.ID == "" || ids[d.ID] {
			return errors.New("a device without an id, or an id twice")
		}
		ids[d.ID] = true
		if err := checkDeviceName(d.Name); err != nil {
			return fmt.Errorf("device %s: %v", d.ID, gate.ErrorMessage(err))
		}
		if names[foldName(d.Name)] {
			return fmt.Errorf("device name %q twice", d.Name)
		}
		names[foldName(d.Name)] = true
		// A scanner token without lanes scans at every lane: a device
		// never does.
		if len(d.Lanes) == 0 || slices.Contains(d.Lanes, "") {
			return fmt.Errorf("device %s has no lanes", d.ID)
		}
		if d.TokenSHA256 != "" {
			if err := decodeHash(d.TokenSHA256, &d.tokenHash); err != nil {
				return fmt.Errorf("device %s: token hash: %v", d.ID, err)
			}
		}
		if d.PairingSHA256 != "" {
			if err := decodeHash(d.PairingSHA256, &d.pairingHash); err != nil {
				return fmt.Errorf("device %s: pairing hash: %v", d.ID, err)
			}
		}
		d.lastSeen = new(atomic.Int64)
	}
	if len(f.Devices) > MaxDevices {
		return fmt.Errorf("%d devices, at most %d", len(f.Devices), MaxDevices)
	}
	s.devices = f.Devices
	return nil
}

func decodeHash(h string, out *[sha256.Size]byte) error {
	b, err := hex.DecodeString(h)
	if err != nil || len(b) != sha256.Size {
		return errors.New("not 64 hex digits")
	}
	copy(out[:], b)
	return nil
}

// Create adds a device named name for lanes (which the caller checked are
// configured) and returns it with its first pairing code.
func (s *DeviceStore) Create(name string, lanes []string, by string) (Device, Pairing, error) {
	name = strings.TrimSpace(name)
	if err := checkDeviceName(name); err != nil {
		return Device{}, Pairing{}, err
	}
	if len(lanes) == 0 {
		return Device{}, Pairing{}, gate.Errorf(gate.EINVALID, "a device needs at least one lane to scan at")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.devices) >= MaxDevices {
		return Device{}, Pairing{}, gate.Errorf(gate.ECONFLICT, "%d devices are paired already, the most there may be; unpair one first", MaxDevices)
	}
	for _, d := range s.devices {
		if foldName(d.Name) == foldName(name) {
			return Device{}, Pairing{}, gate.Errorf(gate.ECONFLICT, "a device is named %q already", d.Name)
		}
	}
	now := s.now()
	d := &deviceRecord{ID: "dev-" + randomHex(6), Name: name, Lanes: slices.Clone(lanes), CreatedAt: now.UTC(), CreatedBy: by,
		lastSeen: new(atomic.Int64)}
	code := d.newPairing(now, s.ttl)
	next := append(slices.Clone(s.devices), d)
	if err := s.commit(next); err != nil {
		return Device{}, Pairing{}, err
	}
	return d.view(now), pairingFor(code, d.PairingExpiresAt), nil
}

// NewPairing gives device id a new pairing code. Its token, if it has one,
// keeps working until the code is exchanged, which replaces it.
func (s *DeviceStore) NewPairing(id string) (Device, Pairing, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.find(id)
	if i < 0 {
		return Device{}, Pairing{}, errNoDevice(id)
	}
	now := s.now()
	d := *s.devices[i]
	code := d.newPairing(now, s.ttl)
	next := slices.Clone(s.devices)
	next[i] = &d
	if err := s.commit(next); err != nil {
		return Device{}, Pairing{}, err
	}
	return d.view(now), pairingFor(code, d.PairingExpiresAt), nil
}

// Pair exchanges a pairing code for the device's token, once: the code is
// spent, and a token the device had before stops working. EUNAUTHORIZED for
// a code that is unknown, spent or expired.
func (s *DeviceStore) Pair(code string) (Device, string, error) {
	h := sha256.Sum256([]byte(normalizeCode(code)))
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	match := -1
	for i, d := range s.devices { // every one compared, in constant time
		if d.PairingSHA256 != "" && subtle.ConstantTimeCompare(h[:], d.pairingHash[:]) == 1 {
			match = i
		}
	}
	if match < 0 || !now.Before(s.devices[match].PairingExpiresAt) {
		return Device{}, "", gate.Errorf(gate.EUNAUTHORIZED,
			"the pairing code is not valid: it expired, was used already or was mistyped; ask an admin for a new one")
	}
	d := *s.devices[match]
	secret := randomToken()
	d.tokenHash = sha256.Sum256([]byte(secret))
	d.TokenSHA256 = hex.EncodeToString(d.tokenHash[:])
	d.PairingSHA256, d.pairingHash, d.PairingExpiresAt = "", [sha256.Size]byte{}, time.Time{}
	d.PairedAt = now.UTC()
	next := slices.Clone(s.devices)
	next[match] = &d
	if err := s.commit(next); err != nil {
		return Device{}, "", err
	}
	return d.view(now), secret, nil
}

// Revoke removes device id: its token and any pending pairing code stop
// working at once.
func (s *DeviceStore) Revoke(id string) (Device, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.find(id)
	if i < 0 {
		return Device{}, errNoDevice(id)
	}
	d := s.devices[i]
	next := slices.Delete(slices.Clone(s.devices), i, i+1)
	if err := s.commit(next); err != nil {
		return Device{}, err
	}
	return d.view(s.now()), nil
}

// List returns every device, oldest first, without secrets or hashes.
func (s *DeviceStore) List() []Device {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	out := make([]Device, 0, len(s.devices))
	for _, d := range s.devices {
		out = append(out, d.view(now))
	}
	return out
}

// Len returns the number of devices.
func (s *DeviceStore) Len() int {
	if s == nil {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.devices)
}

// authenticate returns the scanner token of the device whose token the
// Authorization header value carries, or nil. Every device is compared, in
// constant time over fixed-length hashes.
func (s *DeviceStore) authenticate(header []byte) *authToken {
	if s == nil || len(header) < len(bearerPrefix) || !bytes.EqualFold(header[:len(bearerPrefix)], bearerPrefix) {
		return nil
	}
	snap := s.snap.Load()
	if len(snap.entries) == 0 {
		return nil
	}
	h := sha256.Sum256(bytes.TrimSpace(header[len(bearerPrefix):]))
	match := -1
	for i := range snap.entries {
		if subtle.ConstantTimeCompare(h[:], snap.entries[i].hash[:]) == 1 {
			match = i
		}
	}
	if match < 0 {
		return nil
	}
	e := &snap.entries[match]
	e.lastSeen.Store(s.now().UnixNano())
	return e.token
}

// find returns the index of device id, or -1. The caller holds s.mu.
func (s *DeviceStore) find(id string) int {
	return slices.IndexFunc(s.devices, func(d *deviceRecord) bool { return d.ID == id })
}

// commit writes next to the file and, once it is there, makes it the
// store's devices. The caller holds s.mu; on error nothing changes.
func (s *DeviceStore) commit(next []*deviceRecord) error {
	b, err := json.MarshalIndent(deviceFile{Version: deviceFileVersion, Devices: next}, "", "  ")
	if err != nil {
		return fmt.Errorf("encode the paired devices: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(s.path), 0o755); err != nil {
		return fmt.Errorf("save the paired devices: %w", err)
	}
	if err := atomicfile.Write(s.path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("save the paired devices: %w", err)
	}
	s.devices = next
	s.publish()
	return nil
}

// publish builds the snapshot authentication reads. The caller holds s.mu
// (or owns s alone).
func (s *DeviceStore) publish() {
	snap := &deviceSnapshot{}
	for _, d := range s.devices {
		if d.TokenSHA256 == "" {
			continue
		}
		t := Token{Name: d.Name, Role: RoleScanner, Lanes: slices.Clone(d.Lanes)}
		snap.entries = append(snap.entries, deviceEntry{hash: d.tokenHash, lastSeen: d.lastSeen,
			token: &authToken{Token: t, hash: d.tokenHash, source: deviceSource + d.ID}})
	}
	s.snap.Store(snap)
}

// newPairing sets a new pairing code on d and returns it.
func (d *deviceRecord) newPairing(now time.Time, ttl time.Duration) string {
	code := randomCode()
	d.pairingHash = sha256.Sum256([]byte(code))
	d.PairingSHA256 = hex.EncodeToString(d.pairingHash[:])
	d.PairingExpiresAt = now.Add(ttl).UTC()
	return code
}

// view is the device as the API shows it.
func (d *deviceRecord) view(now time.Time) Device {
	v := Device{ID: d.ID, Name: d.Name, Lanes: slices.Clone(d.Lanes), CreatedAt: d.CreatedAt, CreatedBy: d.CreatedBy,
		PairedAt: d.PairedAt}
	if d.PairingSHA256 != "" && now.Before(d.PairingExpiresAt) {
		v.PairingExpiresAt = d.PairingExpiresAt
	}
	if ns := d.lastSeen.Load(); ns != 0 {
		v.LastSeen = time.Unix(0, ns).UTC()
	}
	switch {
	case d.TokenSHA256 != "":
		v.State = "paired"
	case !v.PairingExpiresAt.IsZero():
		v.State = "waiting"
	default:
		v.State = "expired"
	}
	return v
}

func pairingFor(code string, expires time.Time) Pairing {
	return Pairing{Code: code, ExpiresAt: expires, Path: "/door#pair=" + code}
}

func errNoDevice(id string) error {
	return gate.Errorf(gate.ENOTFOUND, "no device has the id %q (unpaired already?)", truncate(id, 80))
}

// checkDeviceName accepts 1 to 64 bytes of printable UTF-8.
func checkDeviceName(name string) error {
	if name == "" {
		return gate.Errorf(gate.EINVALID, "a device needs a name (\"door 3 phone\")")
	}
	if len(name) > maxDeviceName || !utf8.ValidString(name) {
		return gate.Errorf(gate.EINVALID, "a device name is valid UTF-8 of at most %d bytes", maxDeviceName)
	}
	for _, r := range name {
		if !unicode.IsPrint(r) {
			return gate.Errorf(gate.EINVALID, "a device name holds printable characters only")
		}
	}
	return nil
}

func foldName(n string) string { return strings.ToLower(n) }
