package httpapi_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/httpapi"
)

func TestBackupRoute(t *testing.T) {
	var mu sync.Mutex
	var dirs []string
	backup := func(ctx context.Context, dir string) (httpapi.BackupResponse, error) {
		if _, ok := ctx.Deadline(); !ok {
			t.Error("a backup runs without a deadline")
		}
		mu.Lock()
		dirs = append(dirs, dir)
		mu.Unlock()
		switch dir {
		case "/var/lib/admit/b":
			return httpapi.BackupResponse{}, gate.Errorf(gate.EINVALID, "inside the data directory")
		case "/full":
			return httpapi.BackupResponse{}, gate.Errorf(gate.ENOSPACE, "the disk is full")
		case "/busy":
			return httpapi.BackupResponse{}, gate.Errorf(gate.ECONFLICT, "another backup is running")
		}
		return httpapi.BackupResponse{Dir: dir, StoreID: "ab", StoreFormat: 3, LastSeq: 42, Files: 7, Bytes: 1000,
			CreatedAt: time.Date(2026, 12, 7, 20, 0, 0, 0, time.UTC), TookMs: 12}, nil
	}
	_, base := testServer(t, httpapi.Config{Index: echoIndex(nil), Backup: backup})

	var res httpapi.BackupResponse
	do(t, "POST", base+"/v1/backup", adminSecret, map[string]string{"dir": "/srv/backups/2026-12-07/"}).json(t, &res)
	if res.Dir != "/srv/backups/2026-12-07" || res.LastSeq != 42 || res.StoreFormat != 3 {
		t.Errorf("backup answered %+v", res)
	}
	for _, tt := range []struct {
		secret string
		body   any
		status int
		code   string
	}{
		{viewerSecret, map[string]string{"dir": "/b"}, 403, gate.EFORBIDDEN},
		{scannerSecret, map[string]string{"dir": "/b"}, 403, gate.EFORBIDDEN},
		{"", map[string]string{"dir": "/b"}, 401, gate.EUNAUTHORIZED},
		{adminSecret, map[string]string{}, 400, gate.EINVALID},
		{adminSecret, map[string]string{"dir": "backups/b"}, 400, gate.EINVALID},
		{adminSecret, map[string]string{"dir": "/b", "into": "x"}, 400, gate.EINVALID},
		{adminSecret, `{"dir": "/b\u0000c"}`, 400, gate.EINVALID},
		{adminSecret, map[string]string{"dir": "/var/lib/admit/b"}, 400, gate.EINVALID},
		{adminSecret, map[string]string{"dir": "/busy"}, 409, gate.ECONFLICT},
		{adminSecret, map[string]string{"dir": "/full"}, 507, gate.ENOSPACE},
	} {
		r := do(t, "POST", base+"/v1/backup", tt.secret, tt.body)
		if r.Status != tt.status || r.errorCode(t) != tt.code {
			t.Errorf("POST /v1/backup %v: %d %s, want %d %s", tt.body, r.Status, r.Body, tt.status, tt.code)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(dirs) != 4 {
		t.Errorf("the backup ran for %v; only the checked requests should reach it", dirs)
	}
}

func TestBackupRouteUnwired(t *testing.T) {
	_, base := testServer(t, httpapi.Config{Index: echoIndex(nil)})
	r := do(t, "POST", base+"/v1/backup", adminSecret, map[string]string{"dir": "/b"})
	if r.Status != 503 || r.errorCode(t) != gate.EUNAVAILABLE {
		t.Errorf("an appliance without backups: %d %s", r.Status, r.Body)
	}
}
