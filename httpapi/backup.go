package httpapi

import (
	"context"
	"path/filepath"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/admitgate/admit/gate"
)

// BackupFunc makes a backup of the running appliance into dir, an absolute
// directory on the appliance's own file system, absent or empty (POST
// /v1/backup; cmd/admit wires index.Backup). Its errors carry gate codes:
// EINVALID for a directory inside the data directory, ECONFLICT for one
// that is not empty or while another backup runs, ENOSPACE for a full disk.
type BackupFunc func(ctx context.Context, dir string) (BackupResponse, error)

// BackupRequest is the body of POST /v1/backup.
type BackupRequest struct {
	// Dir is where the backup goes: an absolute path on the appliance,
	// absent or empty, outside its data directory.
	Dir string `json:"dir"`
}

// BackupResponse is the answer to POST /v1/backup: what the backup holds
// (its manifest, backup.json in Dir, lists every file with its SHA-256).
type BackupResponse struct {
	Dir         string    `json:"dir"`
	StoreID     string    `json:"store_id"`
	StoreFormat uint64    `json:"store_format"`
	LastSeq     uint64    `json:"last_seq"` // the last journal entry in the backup
	Tickets     uint64    `json:"tickets"`
	Files       int       `json:"files"`
	Bytes       int64     `json:"bytes"`
	CreatedAt   time.Time `json:"created_at"`
	TookMs      int64     `json:"took_ms"`
}

// maxBackupDir bounds the directory's name.
const maxBackupDir = 1024

func (s *Server) backup(ctx *fasthttp.RequestCtx, c *call) error {
	var req BackupRequest
	if err := s.readJSON(ctx, &req); err != nil {
		return err
	}
	switch {
	case req.Dir == "":
		return gate.Errorf(gate.EINVALID, "field \"dir\" is required: an absolute directory on the appliance, absent or empty")
	case len(req.Dir) > maxBackupDir || strings.ContainsRune(req.Dir, 0):
		return gate.Errorf(gate.EINVALID, "field \"dir\" is not a directory name")
	case !filepath.IsAbs(req.Dir):
		return gate.Errorf(gate.EINVALID, "field \"dir\" must be an absolute path on the appliance, not %q", truncate(req.Dir, 200))
	}
	if s.cfg.Backup == nil {
		return gate.Errorf(gate.EUNAVAILABLE, "this appliance makes no backups over the API")
	}
	// Not the client's context: a backup is finished or removed whole, never
	// left half written because a client hung up.
	bctx, cancel := context.WithTimeout(s.inner, s.cfg.ImportTimeout)
	defer cancel()
	res, err := s.cfg.Backup(bctx, filepath.Clean(req.Dir))
	if err != nil {
		s.audit(c, "backup").Str("dir", req.Dir).Str("refused", gate.ErrorMessage(err)).Msg("backup failed")
		return err
	}
	s.audit(c, "backup").Str("dir", res.Dir).Uint64("last_seq", res.LastSeq).Int("files", res.Files).
		Int64("bytes", res.Bytes).Int64("took_ms", res.TookMs).Msg("backup written")
	return writeJSON(ctx, fasthttp.StatusOK, res)
}
