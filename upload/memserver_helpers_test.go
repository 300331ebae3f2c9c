package upload

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
)

// memServer is go-imap's in-memory IMAP server running in-process on the
// loopback interface, for the rehearsal and for tests.
//
// What it does and does not do, compared with a real server: it keeps
// flags, keywords (PERMANENTFLAGS has \*; it stores flags lower-cased) and
// internal dates; its delimiter is '/'; it announces no SPECIAL-USE folders
// (so special folders go to conventional names); it has no INBOX until
// created (we create it); it refuses messages over 100 MiB ([TOOBIG]); it
// returns an empty header section for a message whose header it cannot
// parse (handled by the size-only match in Fingerprint). It announces
// LITERAL+, as Dovecot does; startMemServerCaps starts one without (every
// literal over 4 KiB then waits for the server's "+").
type memServer struct {
	srv      *imapserver.Server
	ln       net.Listener
	user     *imapmemserver.User
	target   Target
	password string
}

func startMemServer(log *slog.Logger) (*memServer, error) {
	return startMemServerWith(log, nil)
}

// startMemServerWith lets tests wrap the server's sessions (to refuse
// messages, answer over quota, hide \* from PERMANENTFLAGS).
func startMemServerWith(log *slog.Logger, wrap func(imapserver.Session) imapserver.Session) (*memServer, error) {
	return startMemServerCaps(log, wrap, imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapUIDPlus: {}, imap.CapLiteralPlus: {}})
}

// startMemServerCaps starts a memory server announcing caps.
func startMemServerCaps(log *slog.Logger, wrap func(imapserver.Session) imapserver.Session, caps imap.CapSet) (*memServer, error) {
	var pw [12]byte
	_, _ = rand.Read(pw[:])
	ms := &memServer{password: hex.EncodeToString(pw[:])}
	mem := imapmemserver.New()
	ms.user = imapmemserver.NewUser("rehearsal", ms.password)
	if err := ms.user.Create("INBOX", nil); err != nil {
		return nil, fmt.Errorf("rehearsal server: %w", err)
	}
	mem.AddUser(ms.user)
	ms.srv = imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			var sess imapserver.Session = strictSession{mem.NewSession()}
			if wrap != nil {
				sess = wrap(sess)
			}
			return sess, nil, nil
		},
		Caps:         caps,
		InsecureAuth: true, // loopback, in-process
		Logger:       slogPrintf{log},
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("rehearsal server: %w", err)
	}
	ms.ln = ln
	go func() { _ = ms.srv.Serve(ln) }()
	addr := ln.Addr().(*net.TCPAddr)
	ms.target = Target{User: "rehearsal", Host: "127.0.0.1", Port: addr.Port, Security: plainTCP}
	return ms, nil
}

// slogPrintf adapts a slog.Logger to imapserver.Logger.
type slogPrintf struct{ log *slog.Logger }

func (s slogPrintf) Printf(format string, args ...any) {
	s.log.Debug("memory server: " + fmt.Sprintf(format, args...))
}

func (ms *memServer) close() {
	_ = ms.srv.Close()
	_ = ms.ln.Close()
}

// strictSession refuses a message whose literal was cut short by a broken
// connection: the memory server would store the truncated bytes, which no
// real server does.
type strictSession struct{ imapserver.Session }

func (s strictSession) Append(mailbox string, r imap.LiteralReader, options *imap.AppendOptions) (*imap.AppendData, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	if int64(len(b)) != r.Size() {
		return nil, fmt.Errorf("literal cut short: %d of %d bytes", len(b), r.Size())
	}
	return s.Session.Append(mailbox, sizedReader{bytes.NewReader(b), r.Size()}, options)
}

type sizedReader struct {
	*bytes.Reader
	n int64
}

func (r sizedReader) Size() int64 { return r.n }
