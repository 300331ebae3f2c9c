package upload

import (
	"context"
	"log/slog"

	"mailferry/formats"
	"mailferry/upload/rehearsal"
)

// rehearse runs the upload and verification against a fresh in-process
// rehearsal server (package rehearsal), which keeps only header blocks,
// sizes, flags and dates, so that its memory does not grow with the mail.
func rehearse(ctx context.Context, r formats.Reader, opts Options) (*Report, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	srv, err := rehearsal.Start(rehearsal.Options{Logger: log, TempDir: opts.TempDir})
	if err != nil {
		return nil, err
	}
	defer srv.Close()
	opts.Password = srv.Password()
	opts.CAFile, opts.InsecureSkipVerify, opts.AllowPlaintext = "", false, true
	rep, err := uploadRehearsal(ctx, r, opts, rehearsalTarget(srv))
	if rep != nil {
		rep.Rehearsal = true
		rep.Target = "rehearsal (in-process test server)"
	}
	return rep, err
}

// rehearsalTarget is the Target of a rehearsal server: plain TCP on the
// loopback interface.
func rehearsalTarget(srv *rehearsal.Server) Target {
	return Target{User: srv.User(), Host: "127.0.0.1", Port: srv.Port(), Security: plainTCP}
}

// uploadRehearsal is upload with quarantine files switched off.
func uploadRehearsal(ctx context.Context, r formats.Reader, opts Options, target Target) (*Report, error) {
	return upload(ctx, r, opts, target, true)
}
