package upload

import (
	"context"
	"fmt"
	"log/slog"

	"mailferry/formats"
)

type slogPrintf struct{ log *slog.Logger }

func (s slogPrintf) Printf(format string, args ...any) {
	s.log.Debug("rehearsal server: " + fmt.Sprintf(format, args...))
}

// rehearse runs the upload and verification against a fresh in-process
// rehearsal server (rehearsal_server.go), which keeps only header blocks,
// sizes, flags and dates, so that its memory does not grow with the mail.
func rehearse(ctx context.Context, r formats.Reader, opts Options) (*Report, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ms, err := startRehearsalServer(log, opts.TempDir)
	if err != nil {
		return nil, err
	}
	defer ms.close()
	opts.Password = ms.password
	opts.CAFile, opts.InsecureSkipVerify, opts.AllowPlaintext = "", false, true
	rep, err := rehearsal(ctx, r, opts, ms.target)
	if rep != nil {
		rep.Rehearsal = true
		rep.Target = "rehearsal (in-process test server)"
	}
	return rep, err
}

// rehearsal is upload with quarantine files switched off.
func rehearsal(ctx context.Context, r formats.Reader, opts Options, target Target) (*Report, error) {
	return upload(ctx, r, opts, target, true)
}
