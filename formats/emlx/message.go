package emlx

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"mailferry/formats"
)

// IsPartial reports whether name is a .partial.emlx file.
func IsPartial(name string) bool {
	return strings.HasSuffix(strings.ToLower(name), ".partial.emlx")
}

// messageID is the number a Messages file is named by ("114892" for
// "114892.partial.emlx"); Attachments/<id>/ belongs to it.
func messageID(name string) string {
	base := filepath.Base(name)
	if i := strings.IndexByte(base, '.'); i >= 0 {
		return base[:i]
	}
	return base
}

// attachmentsDir is ../Attachments/<id> relative to the file's directory.
func attachmentsDir(path string) string {
	return filepath.Join(filepath.Dir(filepath.Dir(path)), "Attachments", messageID(path))
}

// converted is the result of turning one emlx file into message bytes.
type converted struct {
	file    *File
	header  formats.Header
	missing []missingPart
}

// convert parses the emlx file read through ra and writes its message to
// w with CRLF line endings. For a partial file (partial) the stored
// attachments under attDir are put back. name is used in positions.
func convert(ra io.ReaderAt, size int64, name string, partial bool, attDir string, w io.Writer, warn func(formats.Warning)) (*converted, error) {
	f, err := Parse(ra, size, name, warn)
	if err != nil {
		return nil, err
	}
	c := &converted{file: f}
	pos := formats.Pos{File: name, Line: 2, Offset: f.MsgStart}

	// The header, for the date fallbacks.
	hb := make([]byte, min(f.MsgEnd-f.MsgStart, 256<<10))
	if _, err := ra.ReadAt(hb, f.MsgStart); err != nil && err != io.EOF {
		return nil, &formats.MessageError{Pos: pos, Op: "read message header", Err: err}
	}
	if n := formats.HeaderEnd(hb); n >= 0 {
		hb = hb[:n]
	}
	c.header = formats.ParseHeader(hb)

	crlf := formats.NewCRLFWriter(w)
	msg := io.NewSectionReader(ra, f.MsgStart, f.MsgEnd-f.MsgStart)
	var src io.Reader = msg
	if f.AddDash {
		src = io.MultiReader(msg, strings.NewReader("-"))
	}
	if partial {
		c.missing, err = rebuild(src, crlf, attDir, func(s string) {
			if warn != nil {
				warn(formats.Warning{Pos: pos, Message: s})
			}
		})
	} else {
		_, err = io.Copy(crlf, src)
	}
	if err == nil {
		err = crlf.Close()
	}
	if err != nil {
		return nil, &formats.MessageError{Pos: pos, Op: "copy message", Err: err}
	}
	if len(c.missing) > 0 && warn != nil {
		where := attDir
		if _, serr := os.Stat(attDir); serr != nil {
			where += " (missing)"
		}
		warn(formats.Warning{Pos: pos, Message: fmt.Sprintf("%s; looked in %s; message kept without them", incompleteReason(c.missing), where)})
	}
	return c, nil
}

// receivedDate chooses the message's internal date: the plist's
// date-received, else the top-most Received: header, else Date:, else the
// file's modification time. Dates after now+48h are not believed.
func (c *converted) receivedDate(mtime time.Time) (time.Time, formats.DateSource) {
	limit := time.Now().Add(48 * time.Hour)
	ok := func(t time.Time) bool { return !t.IsZero() && t.Before(limit) && t.Year() >= 1971 }
	if t, found := c.file.Plist.DateReceived(); found && ok(t) {
		return t, formats.DateStore
	}
	if t, found := c.header.ReceivedDate(); found && ok(t) {
		return t, formats.DateReceived
	}
	if t, found := c.header.Date(); found && ok(t) {
		return t, formats.DateHeader
	}
	if ok(mtime) {
		return mtime, formats.DateFileMtime
	}
	return time.Time{}, formats.DateUnknown
}
