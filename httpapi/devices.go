package httpapi

import (
	"slices"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/admitgate/admit/gate"
)

// A door device is paired in three steps: an admin creates it (POST
// /v1/devices, a name and its lanes) and is shown a one-time pairing link
// as a QR code; the device opens the link, and the door page exchanges the
// code in it (POST /v1/devices/pair, no token) for the device's own scanner
// token, which it keeps in the browser's localStorage, so a kiosk that
// restarts scans again without anyone typing a token. An admin lists the
// devices (GET /v1/devices) and unpairs one (DELETE /v1/devices/{id}): its
// next request is 401.

// deviceSource is the scan source of a device's scans: "device:<id>".
const deviceSource = "device:"

// DeviceRequest is the body of POST /v1/devices.
type DeviceRequest struct {
	Name  string   `json:"name"`
	Lanes []string `json:"lanes"`
}

// DeviceCreated is the answer to POST /v1/devices and POST
// /v1/devices/{id}/pairing: the device and its pairing code, shown once.
type DeviceCreated struct {
	Device  Device  `json:"device"`
	Pairing Pairing `json:"pairing"`
}

// DevicesResponse is the answer to GET /v1/devices.
type DevicesResponse struct {
	Devices []Device `json:"devices"`
}

// PairRequest is the body of POST /v1/devices/pair.
type PairRequest struct {
	Code string `json:"code"`
}

// PairResponse is the answer to POST /v1/devices/pair: the device's token,
// shown this once.
type PairResponse struct {
	Token  string `json:"token"`
	Device Device `json:"device"`
}

// authenticate returns the token the Authorization header carries: one of
// the configured tokens, or a paired device's scanner token.
func (s *Server) authenticate(header []byte) (*authToken, error) {
	at, err := s.auth.Load().authenticate(header)
	if err != nil && gate.ErrorCode(err) == gate.EUNAUTHORIZED {
		if dt := s.cfg.Devices.authenticate(header); dt != nil {
			return dt, nil
		}
	}
	return at, err
}

// deviceID returns the device id of a call made with a device token, or "".
func (c *call) deviceID() string {
	id, ok := strings.CutPrefix(c.source, deviceSource)
	if !ok {
		return ""
	}
	return id
}

func (s *Server) devicesStore() (*DeviceStore, error) {
	if s.cfg.Devices == nil {
		return nil, gate.Errorf(gate.EUNAVAILABLE, "this appliance pairs no devices (it has no device store)")
	}
	return s.cfg.Devices, nil
}

func (s *Server) createDevice(ctx *fasthttp.RequestCtx, c *call) error {
	ds, err := s.devicesStore()
	if err != nil {
		return err
	}
	var req DeviceRequest
	if err := s.readJSON(ctx, &req); err != nil {
		return err
	}
	lanes, err := s.deviceLanes(req.Lanes)
	if err != nil {
		return err
	}
	name := strings.TrimSpace(req.Name)
	if a := s.auth.Load(); a != nil {
		for _, t := range a.tokens {
			if strings.EqualFold(t.Name, name) {
				return gate.Errorf(gate.ECONFLICT, "a configured token is named %q already; give the device another name", t.Name)
			}
		}
	}
	d, p, err := ds.Create(name, lanes, c.by())
	if err != nil {
		return err
	}
	s.audit(c, "device_create").Str("device", d.ID).Str("name", d.Name).Strs("lanes", d.Lanes).
		Time("pairing_expires_at", p.ExpiresAt).Msg("door device created; waiting to be paired")
	return writeJSON(ctx, fasthttp.StatusCreated, DeviceCreated{Device: d, Pairing: p})
}

// deviceLanes checks that lanes are configured lanes, each once, and
// returns them in the configuration's order.
func (s *Server) deviceLanes(lanes []string) ([]string, error) {
	if len(lanes) == 0 {
		return nil, gate.Errorf(gate.EINVALID, "field \"lanes\" must name at least one lane the device may scan at")
	}
	t := s.lanes.table.Load()
	var out []string
	for _, st := range t.order {
		if slices.Contains(lanes, st.info.ID) {
			out = append(out, st.info.ID)
		}
	}
	for i, l := range lanes {
		if _, ok := t.byID[l]; !ok {
			return nil, gate.Errorf(gate.EINVALID, "unknown lane %q; GET /v1/lanes lists the configured lanes", truncate(l, 64))
		}
		if slices.Contains(lanes[:i], l) {
			return nil, gate.Errorf(gate.EINVALID, "lane %q is named twice", l)
		}
	}
	return out, nil
}

func (s *Server) listDevices(ctx *fasthttp.RequestCtx, c *call) error {
	resp := DevicesResponse{Devices: []Device{}}
	if s.cfg.Devices != nil {
		resp.Devices = s.cfg.Devices.List()
	}
	return writeJSON(ctx, fasthttp.StatusOK, resp)
}

func (s *Server) revokeDevice(ctx *fasthttp.RequestCtx, c *call) error {
	ds, err := s.devicesStore()
	if err != nil {
		return err
	}
	d, err := ds.Revoke(c.params[0])
	if err != nil {
		return err
	}
	s.audit(c, "device_revoke").Str("device", d.ID).Str("name", d.Name).Msg("door device unpaired: its token no longer works")
	return writeJSON(ctx, fasthttp.StatusOK, d)
}

func (s *Server) repairDevice(ctx *fasthttp.RequestCtx, c *call) error {
	ds, err := s.devicesStore()
	if err != nil {
		return err
	}
	d, p, err := ds.NewPairing(c.params[0])
	if err != nil {
		return err
	}
	s.audit(c, "device_pairing").Str("device", d.ID).Str("name", d.Name).Time("pairing_expires_at", p.ExpiresAt).
		Msg("new pairing code for a door device")
	return writeJSON(ctx, fasthttp.StatusOK, DeviceCreated{Device: d, Pairing: p})
}

// pairDevice exchanges a pairing code for a device token. It needs no
// bearer token (the code is the proof) and no ticket store.
func (s *Server) pairDevice(ctx *fasthttp.RequestCtx, c *call) error {
	ds, err := s.devicesStore()
	if err != nil {
		return err
	}
	var req PairRequest
	if err := s.readJSON(ctx, &req); err != nil {
		return err
	}
	if req.Code == "" || len(req.Code) > 64 {
		return gate.Errorf(gate.EINVALID, "field \"code\" must hold the pairing code")
	}
	d, secret, err := ds.Pair(req.Code)
	if err != nil {
		s.log.Info().Str("audit", "device_pair").Str("remote", ctx.RemoteIP().String()).Msg("pairing refused: unknown or expired code")
		return err
	}
	s.log.Info().Str("audit", "device_pair").Str("device", d.ID).Str("name", d.Name).Str("remote", ctx.RemoteIP().String()).
		Msg("door device paired")
	ctx.Response.Header.Set("Cache-Control", "no-store")
	return writeJSON(ctx, fasthttp.StatusOK, PairResponse{Token: secret, Device: d})
}
