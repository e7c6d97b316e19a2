package importfile

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/rs/zerolog"

	"github.com/admitgate/admit/gate"
)

var _ gate.Importer = (*Service)(nil)

// Service is the gate.Importer: it checks a request, reads the file through
// a Source and hands it to a Loader, whose result and error it returns as
// they are. The HTTP API and the drop folders call it. It is safe for
// concurrent use when the Loader is.
type Service struct {
	Loader  gate.Loader    // required: the store that applies imports
	Options *Options       // parser options; nil means the defaults
	Logger  zerolog.Logger // one line per import; the zero Logger logs nothing
}

// NewService returns a Service over loader that logs with a component field.
func NewService(loader gate.Loader, logger zerolog.Logger, opts *Options) *Service {
	return &Service{Loader: loader, Options: opts, Logger: logger.With().Str("component", "importfile").Logger()}
}

// Import validates req (EINVALID), then loads file in req's format. A read
// error of file (such as a body over its size limit) fails the import, which
// then changes nothing.
func (s *Service) Import(ctx context.Context, req gate.ImportRequest, file io.Reader) (gate.ImportResult, error) {
	if err := req.Validate(); err != nil {
		return gate.ImportResult{}, err
	}
	if file == nil {
		return gate.ImportResult{}, gate.Errorf(gate.EINVALID, "no file to import")
	}
	if s.Loader == nil {
		return gate.ImportResult{}, errors.New("importfile: service has no loader")
	}
	start := time.Now()
	src := NewSource(file, req, s.Options)
	res, err := s.Loader.Load(ctx, req, src)
	s.log(req, src, res, err, time.Since(start))
	return res, err
}

func (s *Service) log(req gate.ImportRequest, src *Source, res gate.ImportResult, err error, took time.Duration) {
	ev := s.Logger.Info()
	switch code := gate.ErrorCode(err); code {
	case "":
	case gate.EINVALID, gate.EREJECTED, gate.ETOOLARGE, gate.ECONFLICT, gate.ENOTFOUND:
		ev = s.Logger.Warn().Str("code", code).Str("error", err.Error())
	default:
		ev = s.Logger.Error().Str("code", code).Err(err)
	}
	ev.Str("provider", req.Provider).Str("source", req.Source).Str("by", req.By).
		Str("format", string(src.Format())).Bool("dry_run", req.DryRun).Bool("applied", res.Applied).
		Uint64("id", res.ID).Int("lines", res.Lines).Int("added", res.Added).Int("updated", res.Updated).
		Int("unchanged", res.Unchanged).Int("rejected", res.Rejected).Dur("took_ms", took).Msg("import")
}
