package convert

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"mailferry/formats"
)

// NotConvertedDir is the directory under Out that keeps what the source
// holds but is not a message (formats.Message.Quarantine: text before the
// first From_ line of an mbox file). Each item is one file with the bytes
// exactly as the source has them. Its name is reserved among the top-level
// folders, so no folder of the output can take it.
const NotConvertedDir = "not-converted"

// NotConverted is one quarantined item of the source, kept in
// NotConvertedDir instead of being converted.
type NotConverted struct {
	// Source is where the bytes are in the source (file:line).
	Source string `json:"source"`
	// Folder is the mailbox they belong to, as scan shows it.
	Folder string `json:"folder"`
	Reason string `json:"reason"`
	// Output is the file that keeps them, relative to Out ('/').
	Output string `json:"output"`
	Bytes  int64  `json:"bytes"`
}

// quarantine keeps a quarantined item in NotConvertedDir, named after its
// source file and byte offset. A failure to read the source counts as a
// failed item; a failure to write the output ends the run.
func (c *converter) quarantine(fr *FolderReport, m *formats.Message) error {
	if m.Open == nil {
		c.failed(fr, m, errors.New("the reader gave no way to open the quarantined bytes"))
		return nil
	}
	dir := filepath.Join(c.out, NotConvertedDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("convert: create %s: %w", NotConvertedDir, err)
	}
	if c.notConverted == nil {
		c.notConverted = newNamer(rulesFor(FormatEML))
	}
	base := SafeName(FormatEML, fmt.Sprintf("%s at byte %d", filepath.Base(m.Pos.File), m.Pos.Offset))
	name := c.notConverted.unique(base, ".txt")
	rc, err := m.Open()
	if err != nil {
		c.failed(fr, m, err)
		return nil
	}
	defer rc.Close()
	rr := &recordingReader{rc: rc}
	tmp := filepath.Join(dir, ".mailferry-"+name+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("convert: %w", err)
	}
	n, err := io.Copy(f, rr)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, name))
	}
	if err != nil {
		os.Remove(tmp)
		if rr.err != nil {
			c.failed(fr, m, rr.err)
			return nil
		}
		return &formats.MessageError{Pos: m.Pos, Op: "keep quarantined bytes in " + NotConvertedDir, Err: err}
	}
	if fr.Quarantined == nil {
		fr.Quarantined = map[string]int{}
	}
	fr.Quarantined[m.Quarantine]++
	c.report.NotConverted = append(c.report.NotConverted, NotConverted{
		Source: m.Pos.String(), Folder: fr.Source, Reason: m.Quarantine,
		Output: NotConvertedDir + "/" + name, Bytes: n,
	})
	c.log.Warn("not a message: kept, not converted", "source", m.Pos.String(), "reason", m.Quarantine, "output", NotConvertedDir+"/"+name)
	return nil
}
