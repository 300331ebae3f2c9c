package pst

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"mailferry/formats"
	"mailferry/formats/mapi"
	"mailferry/internal/testutil"
)

// corpusFiles are the Outlook files of ../shared/corpus/pst.
var corpusFiles = []string{"go-pst-32-bit.pst", "go-pst-support.pst", "java-libpst-dist-list.pst", "java-libpst-passworded.pst", "pst-extractor-enron.pst", "pst-extractor-test-2013.ost"}

// comparedFile is a file the comparisons read: a corpus file, or the
// sample mailbox of written_test.go in one layout and encoding, which
// checks psttest's files against two other readers as well.
type comparedFile struct {
	name string
	path func(t *testing.T) string
}

func comparedFiles() []comparedFile {
	var out []comparedFile
	for _, name := range corpusFiles {
		out = append(out, comparedFile{name, func(t *testing.T) string { return testutil.Corpus(t, filepath.Join("pst", name)) }})
	}
	for _, v := range writtenVariants {
		out = append(out, comparedFile{"written " + v.name, func(t *testing.T) string { return writeSample(t, v.opts) }})
	}
	return out
}

// seenMessage is what the comparisons need of one message as this package
// reads it.
type seenMessage struct {
	box         *formats.Mailbox
	class       string
	subject     string
	messageID   string
	body        string
	from        string   // the From address (lower case), when it parses
	mimeSubject string   // the Subject of the converted message (RFC 2047 decoded)
	mimeID      string   // its Message-ID
	attachments []string // "name size" of file attachments
	embedded    int
}

// readResult is a corpus file as readAll read it.
type readResult struct {
	ipmPath []string
	boxes   []*formats.Mailbox
	msgs    []seenMessage
}

// readCache keeps readAll's results: both comparisons need them, and a
// reading with the MIME conversion is slow under the race detector.
var readCache sync.Map // path → *readResult

// readAll reads a corpus file with a converter that records each message's
// properties and the headers of its MIME conversion.
func readAll(t *testing.T, path string) *readResult {
	t.Helper()
	if v, ok := readCache.Load(path); ok {
		return v.(*readResult)
	}
	var cur seenMessage
	conv := func(w io.Writer, m mapi.Message) (Meta, error) {
		cur = seenMessage{class: stringProp(m, propMessageClass), subject: subject(m), messageID: stringProp(m, propInternetMessageID), body: stringProp(m, 0x1000)}
		atts, err := m.Attachments()
		if err != nil {
			return Meta{}, err
		}
		for _, a := range atts {
			if method, _ := int32Prop(a, propAttachMethod); method == 5 {
				if _, err := a.Embedded(); err != nil {
					return Meta{}, err
				}
				cur.embedded++
				continue
			}
			rc, size, ok, err := a.Open(0x3701)
			if err != nil {
				return Meta{}, err
			}
			if !ok {
				continue // no content (by reference): pffexport writes no file either
			}
			n, err := io.Copy(io.Discard, rc)
			rc.Close()
			if err != nil || n != size {
				return Meta{}, fmt.Errorf("attachment: %d of %d bytes: %v", n, size, err)
			}
			name := stringProp(a, 0x3707) // PidTagAttachLongFilename
			if name == "" {
				name = stringProp(a, 0x3704) // PidTagAttachFilename
			}
			cur.attachments = append(cur.attachments, fmt.Sprintf("%s %d", name, size))
		}
		var buf bytes.Buffer
		meta, err := ConvertMIME(io.MultiWriter(w, &buf), m)
		if err != nil || meta.NotMail {
			return meta, err
		}
		h := parseEML(t, buf.Bytes())
		cur.mimeSubject, cur.mimeID, cur.from = h.subject, h.messageID, h.from
		return meta, nil
	}
	r, err := OpenWith(path, Config{Convert: conv})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	boxes, err := r.Mailboxes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []seenMessage
	for {
		cur = seenMessage{}
		m, err := r.Next(context.Background())
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if m.Skip == SkipUnreadable {
			t.Errorf("%v: unreadable", m.Pos)
		}
		cur.box = m.Mailbox
		out = append(out, cur)
	}
	res := &readResult{ipmPath: r.ipmPath, boxes: boxes, msgs: out}
	readCache.Store(path, res)
	return res
}

// run runs an external tool, which must exist (SkipOrFail otherwise).
func run(t *testing.T, dir, tool string, args ...string) {
	t.Helper()
	if _, err := exec.LookPath(tool); err != nil {
		testutil.SkipOrFail(t, "%s not installed (Debian: pst-utils, pff-tools)", tool)
	}
	cmd := exec.Command(tool, args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %q: %v\n%s", tool, args, err, out)
	}
}

// TestCompareReadpst compares the mail folders with what readpst (libpst)
// exports as e-mail: per folder the number of messages, their subjects,
// Message-IDs and plain-text bodies.
//
// Differences that are explained rather than compared:
//   - readpst names its top directory after the store (or, for an .ost
//     without a name, the file) and only creates folders that hold items;
//     the paths below it are ours.
//   - readpst takes the Message-ID from the transport headers, as this
//     package does; without headers (drafts, sent mail) this package
//     takes PidTagInternetMessageId and readpst may have none, so every
//     Message-ID readpst writes must be among ours, not the reverse.
//   - readpst runs with -j 0: its parallel jobs (one per folder) sometimes
//     lost a message of a folder in our runs.
//   - readpst -t e exports e-mail only: items of calendar or contacts
//     folders, and items of other classes in mail folders, are compared
//     with pffexport instead.
func TestCompareReadpst(t *testing.T) {
	for _, cf := range comparedFiles() {
		t.Run(cf.name, func(t *testing.T) {
			path := cf.path(t)
			out := t.TempDir()
			run(t, out, "readpst", "-D", "-q", "-j", "0", "-8", "-e", "-b", "-t", "e", "-o", out, path)
			want := readpstTree(t, out)
			got := readAll(t, path).msgs
			have := map[string][]seenMessage{}
			for _, m := range got {
				// A contact or meeting item in a mail folder is not e-mail
				// to readpst -t e either.
				if m.box.Skip == "" && mapi.IsMail(m.class) {
					have[m.box.Path.String()] = append(have[m.box.Path.String()], m)
				}
			}
			for folder, ws := range want {
				hs := have[folder]
				if len(hs) != len(ws) {
					t.Errorf("%s: %d messages, readpst %d", folder, len(hs), len(ws))
					continue
				}
				var gs, wsub, gids, wids, gmime, gfrom, wfrom []string
				for _, h := range hs {
					gmime = append(gmime, normSpace(h.mimeSubject))
					gfrom = append(gfrom, h.from)
					gs = append(gs, normSpace(h.subject))
					if h.mimeID != "" {
						gids = append(gids, h.mimeID)
					}
				}
				for _, w := range ws {
					wfrom = append(wfrom, w.from)
					wsub = append(wsub, normSpace(w.subject))
					if w.messageID != "" {
						wids = append(wids, w.messageID)
					}
				}
				slices.Sort(gs)
				slices.Sort(wsub)
				slices.Sort(gmime)
				if !slices.Equal(gs, wsub) {
					t.Errorf("%s: subjects\n got %q\nwant %q", folder, gs, wsub)
				}
				if !slices.Equal(gmime, wsub) {
					t.Errorf("%s: Subject headers\n got %q\nwant %q", folder, gmime, wsub)
				}
				slices.Sort(gfrom)
				slices.Sort(wfrom)
				if !slices.Equal(gfrom, wfrom) {
					t.Errorf("%s: From addresses\n got %q\nwant %q", folder, gfrom, wfrom)
				}
				for _, h := range hs {
					if h.messageID != "" && h.mimeID != h.messageID {
						t.Errorf("%s: %q: Message-ID header %q, property %q", folder, h.subject, h.mimeID, h.messageID)
					}
				}
				for _, id := range wids {
					if len(gids) > 0 && !slices.Contains(gids, id) {
						t.Errorf("%s: readpst has Message-ID %s, we do not", folder, id)
					}
				}
				// Bodies, matched by subject where subjects are unique.
				for _, w := range ws {
					if w.body == "" {
						continue
					}
					var match *seenMessage
					for i := range hs {
						if normSpace(hs[i].subject) == normSpace(w.subject) {
							if match != nil {
								match = nil
								break
							}
							match = &hs[i]
						}
					}
					if match != nil && normSpace(match.body) != normSpace(w.body) {
						t.Errorf("%s: %q: body differs from readpst's\n got %.200q\nwant %.200q", folder, w.subject, normSpace(match.body), normSpace(w.body))
					}
				}
			}
			for folder, hs := range have {
				if _, ok := want[folder]; !ok && len(hs) > 0 {
					t.Errorf("%s: %d messages that readpst does not export", folder, len(hs))
				}
			}
		})
	}
}

// readpstTree reads readpst's -e output: one directory per folder below a
// top directory named after the store, one .eml file per message.
func readpstTree(t *testing.T, dir string) map[string][]seenMessage {
	t.Helper()
	out := map[string][]seenMessage{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".eml") {
			return err
		}
		rel, _ := filepath.Rel(dir, filepath.Dir(p))
		parts := strings.Split(filepath.ToSlash(rel), "/")
		folder := strings.Join(parts[1:], "/") // below the store's directory
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out[folder] = append(out[folder], parseEML(t, b))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func parseEML(t *testing.T, b []byte) seenMessage {
	msg, err := mail.ReadMessage(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("readpst output: %v", err)
	}
	dec := new(mime.WordDecoder)
	subj, err := dec.DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		subj = msg.Header.Get("Subject")
	}
	m := seenMessage{subject: subj, messageID: strings.TrimSpace(msg.Header.Get("Message-ID"))}
	if a, err := mail.ParseAddress(msg.Header.Get("From")); err == nil {
		m.from = strings.ToLower(a.Address)
	}
	m.body = firstPlain(msg.Header.Get("Content-Type"), msg.Body)
	return m
}

// firstPlain returns the first text/plain part of a message body.
func firstPlain(ctype string, body io.Reader) string {
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil {
		return ""
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err != nil {
				return ""
			}
			if p.Header.Get("Content-Disposition") != "" {
				continue
			}
			if s := firstPlain(p.Header.Get("Content-Type"), p); s != "" {
				return s
			}
		}
	}
	if mt != "text/plain" {
		return ""
	}
	b, _ := io.ReadAll(body)
	return string(b)
}

var spaces = regexp.MustCompile(`\s+`)

func normSpace(s string) string { return strings.TrimSpace(spaces.ReplaceAllString(s, " ")) }

// TestComparePffexport compares every folder of the IPM subtree, mail or
// not, with what pffexport (libpff) exports: the number of items per
// folder and, in mail folders, the attachments' names and sizes.
//
// pffexport shortens long attachment names (keeping the extension and
// putting "..." before it), so a name ending that way is compared by its
// start; embedded messages become directories and are counted.
func TestComparePffexport(t *testing.T) {
	for _, cf := range comparedFiles() {
		t.Run(cf.name, func(t *testing.T) {
			path := cf.path(t)
			out := t.TempDir()
			run(t, out, "pffexport", "-q", "-t", filepath.Join(out, "x"), path)
			res := readAll(t, path)
			boxes, got := res.boxes, res.msgs
			top := filepath.Join(append([]string{out, "x.export"}, res.ipmPath...)...)
			for _, b := range boxes {
				if b.Skip == SkipSystemFolder {
					continue // outside the IPM subtree: not below top
				}
				dir := filepath.Join(append([]string{top}, b.Path...)...)
				items, atts := pffFolder(t, dir)
				var n int
				var mine []string
				for _, m := range got {
					if m.box != b {
						continue
					}
					n++
					if b.Skip == "" && !strings.HasPrefix(m.class, "IPM.Schedule.") {
						for _, a := range m.attachments {
							mine = append(mine, pffName(a))
						}
					}
				}
				if n != items {
					t.Errorf("%s: %d items, pffexport %d", b.Path, n, items)
				}
				if b.Skip != "" {
					continue
				}
				slices.Sort(mine)
				slices.Sort(atts)
				if len(mine) != len(atts) {
					t.Errorf("%s: attachments\n got %q\nwant %q", b.Path, mine, atts)
					continue
				}
				for i := range mine {
					w := atts[i]
					if k := strings.Index(w, "..."); k >= 0 {
						if !strings.HasPrefix(mine[i], w[:k]) || !strings.HasSuffix(mine[i], w[strings.LastIndex(w, " "):]) {
							t.Errorf("%s: attachment %q, pffexport %q", b.Path, mine[i], w)
						}
					} else if mine[i] != w {
						t.Errorf("%s: attachment %q, pffexport %q", b.Path, mine[i], w)
					}
				}
			}
		})
	}
}

// pffName is an attachment name as pffexport writes it: characters that
// are unsafe in file names become "_".
func pffName(s string) string {
	return strings.Map(func(r rune) rune {
		if strings.ContainsRune(`&!@~$%^*|\/:?"<>`, r) {
			return '_'
		}
		return r
	}, s)
}

// subject returns a message's subject without the prefix marker of
// [MS-OXCMSG] 2.2.1.46 (a 0x01 character, then one giving the length of
// the prefix, at the start of PidTagSubject).
func subject(p mapi.Properties) string {
	s := stringProp(p, propSubject)
	if len(s) >= 2 && s[0] == 1 {
		return s[2:]
	}
	return s
}

var pffItem = regexp.MustCompile(`^[A-Z][A-Za-z]*[0-9]{5}$`)

// pffFolder counts the item directories of a pffexport folder and lists the
// "name size" of the attachment files of its items.
func pffFolder(t *testing.T, dir string) (items int, atts []string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return 0, nil
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.IsDir() || !pffItem.MatchString(e.Name()) {
			continue
		}
		items++
		if strings.HasPrefix(e.Name(), "Meeting") {
			continue // pffexport writes no attachments of meeting requests
		}
		ad := filepath.Join(dir, e.Name(), "Attachments")
		files, _ := os.ReadDir(ad)
		for _, f := range files {
			if f.IsDir() {
				continue // an embedded message
			}
			st, err := os.Stat(filepath.Join(ad, f.Name()))
			if err != nil {
				t.Fatal(err)
			}
			_, name, _ := strings.Cut(f.Name(), "_")
			atts = append(atts, fmt.Sprintf("%s %d", name, st.Size()))
		}
	}
	return items, atts
}
