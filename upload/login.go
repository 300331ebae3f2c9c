package upload

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
)

// CheckLogin connects to opts.Target, secures the connection as the target
// says (TLS or STARTTLS, verified against the system roots plus
// opts.CAFile), logs in with opts.Password and logs out. It lets a caller
// try a password at once, before reading any mail.
//
// The errors are those of Upload: ErrAuth for a refused login, ErrConfig
// for certificate problems (IsCertificateError tells them apart from other
// configuration errors) and for a server that would need the password sent
// in clear text, ctx.Err() unwrapped when ctx ends, and a plain error for
// network failures (server unknown, unreachable, connection refused).
func CheckLogin(ctx context.Context, opts Options) error {
	if opts.Target == nil {
		return fmt.Errorf("%w: check login: no server given", ErrConfig)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d, err := newDialer(*opts.Target, opts.Password, &opts, log)
	if err != nil {
		return err
	}
	cn, err := d.dial(ctx)
	if err != nil {
		return err
	}
	cn.close()
	return nil
}

// IsCertificateError reports whether err (from CheckLogin, Upload or
// Verify) says that the server's TLS certificate is not trusted (a
// *CertificateError).
func IsCertificateError(err error) bool {
	var ce *CertificateError
	return errors.As(err, &ce)
}
