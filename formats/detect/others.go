package detect

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"

	"mailferry/formats/msg"
	"mailferry/formats/pst"
)

// Other is the kind of a store that belongs to a mail program mailferry
// cannot read (Outlook for Mac, Windows Mail, eM Client, ...), or an
// Outlook file it cannot read (damaged, or of an unknown version). Detect
// reports such stores with Program and Advice set, so that the user hears
// what they are and what to do instead; Open reads none of them.
const Other Kind = "other"

// otherStore describes the stores of one program mailferry cannot read.
type otherStore struct {
	program string
	what    string
	advice  string
}

// Advice shared by the programs that keep mail in a database of their
// own: the program itself is the one tool that reads it.
const (
	adviceMoveInProgram = "in that program, add your IMAP account and drag the folders across to it; mail of an IMAP or Exchange account there is already on its server"
)

var (
	// Outlook files that the readers of packages pst and msg do not
	// accept: the files Outlook reads are read.
	outlookDamaged = otherStore{"Outlook", "Outlook data file (.pst, .ost), damaged or of a version mailferry does not know",
		"open it in Outlook; if Outlook says it is damaged, repair it with Outlook's Inbox Repair Tool (scanpst.exe, which keeps a backup) and point mailferry at the repaired file, or add your IMAP account in Outlook and drag the folders across. An .ost is Outlook's copy of a mailbox that lives on a server: that mail is usually still there"}
	outlookMSG = otherStore{"Outlook", "file named .msg that holds no Outlook message (damaged, or another program's file)",
		"open it in Outlook; if it opens as a message, drag it from there into a folder and point mailferry at that folder"}
	outlookMac = otherStore{"Outlook for Mac", "Outlook for Mac's mail database",
		"Outlook for Mac keeps mail in a database of its own: " + adviceMoveInProgram + ", or drag a folder's messages into a Finder folder (that writes .eml files) and point mailferry at it"}
	outlookOLM = otherStore{"Outlook for Mac", "Outlook for Mac export (.olm)",
		"import the .olm file into Outlook for Mac, then " + adviceMoveInProgram}
	outlookDBX = otherStore{"Outlook Express", "Outlook Express folder (.dbx)",
		"import the .dbx folders into Windows Live Mail or Thunderbird (their import tools read them) and point mailferry at the result"}
	windowsMail = otherStore{"Windows Mail", "the mail database of Windows 10/11's Mail app",
		"the Mail app keeps mail in a database no other program reads: " + adviceMoveInProgram + " (Outlook, which replaced the app, offers the same)"}
	emClient = otherStore{"eM Client", "eM Client's mail databases",
		"eM Client keeps mail in databases of its own: export the folders from eM Client as .eml files and point mailferry at them, or " + adviceMoveInProgram}
	theBat = otherStore{"The Bat!", "The Bat!'s message bases (.tbb)",
		"The Bat! keeps mail in message bases of its own: export the folders from The Bat! as .eml or Unix mailbox files and point mailferry at them, or " + adviceMoveInProgram}
	operaMail = otherStore{"Opera Mail", "Opera Mail's store",
		"Opera Mail keeps its folders in a database of its own: " + adviceMoveInProgram}
	lotusNotes = otherStore{"Lotus Notes", "Notes database (.nsf)",
		"Notes keeps mail in databases of its own: " + adviceMoveInProgram + ", or export the mail from Notes as .eml files"}
)

// otherStoreFile recognises a file of a store mailferry cannot read by
// its name (and, for the Outlook containers, its first bytes).
func otherStoreFile(path, name string) *otherStore {
	lower := strings.ToLower(name)
	switch {
	case strings.HasSuffix(lower, ".pst") || strings.HasSuffix(lower, ".ost"):
		if isOutlookFile(path) {
			return nil // read by package pst
		}
		return &outlookDamaged
	case strings.HasSuffix(lower, ".msg") && hasPrefix(path, cfbMagic) && !msg.Detect(path):
		return &outlookMSG
	case strings.HasSuffix(lower, ".olm"):
		return &outlookOLM
	case strings.HasSuffix(lower, ".dbx"):
		return &outlookDBX
	case strings.Contains(lower, ".olk14") || strings.Contains(lower, ".olk15") || lower == "outlook.sqlite":
		return &outlookMac
	case lower == "store.vol":
		return &windowsMail
	case lower == "mail_data.dat" || lower == "mail_index.dat" || lower == "mail_fti.dat":
		return &emClient
	case strings.HasSuffix(lower, ".tbb"):
		return &theBat
	case lower == "omailbase.dat":
		return &operaMail
	case strings.HasSuffix(lower, ".nsf"):
		return &lotusNotes
	}
	if knownNoMail(path, name) == "" && hasPrefix(path, pstMagic) && !pst.Detect(path) {
		return &outlookDamaged // under another name (a renamed backup); a readable one is read
	}
	return nil
}

// otherStoreDir recognises a directory that is (or holds) a store of a
// program mailferry cannot read, so that it is named once as a whole.
func otherStoreDir(dir, name string) *otherStore {
	parent := filepath.Base(filepath.Dir(dir))
	switch {
	case name == "Outlook 15 Profiles" || name == "Outlook 14 Profiles":
		return &outlookMac
	case (name == "Unistore" || name == "UnistoreDB") && strings.EqualFold(parent, "Comms"):
		return &windowsMail
	case name == "eM Client":
		return &emClient
	case name == "The Bat!":
		return &theBat
	case name == "Opera Mail" || isFile(filepath.Join(dir, "omailbase.dat")):
		return &operaMail
	}
	return nil
}

// Magic numbers: the Outlook personal folders file ("!BDN", [MS-PST]
// 2.2.2.6) and the compound file binary format that .msg files use
// ([MS-CFB] 2.2).
var (
	pstMagic = []byte("!BDN")
	cfbMagic = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}
)

func hasPrefix(path string, magic []byte) bool {
	head, err := fileHead(path)
	return err == nil && bytes.HasPrefix(head, magic)
}

// fileHead returns the first 8 bytes of the file at path, fewer when it
// is shorter: enough for the magic numbers above.
func fileHead(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := make([]byte, 8)
	n, err := io.ReadFull(f, b)
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		err = nil
	}
	return b[:n], err
}

func isFile(p string) bool {
	st, err := os.Lstat(p)
	return err == nil && st.Mode().IsRegular()
}

func isDir(p string) bool {
	st, err := os.Lstat(p)
	return err == nil && st.IsDir()
}

// otherFound makes the Found entry of a store mailferry cannot read.
func otherFound(path string, o *otherStore) Found {
	return Found{Kind: Other, Path: path, Note: o.what, Program: o.program, Advice: o.advice}
}

// OtherSources lists the stores of mail programs mailferry cannot read in
// the places those programs keep them (Windows Mail, Outlook for Mac, eM
// Client, The Bat!, Opera Mail), and the Outlook files there that it
// cannot read (DefaultSources has those it reads), so that a run without
// SOURCE can say what it found there and what to do.
func OtherSources(p Paths) []Found {
	if p.Getenv == nil {
		p.Getenv = func(string) string { return "" }
	}
	var out []Found
	check := func(path string, o *otherStore) {
		if st, err := os.Stat(path); err == nil && st.IsDir() {
			out = append(out, otherFound(path, o))
		}
	}
	files := func(dir string, exts ...string) {
		ents, err := os.ReadDir(dir)
		if err != nil {
			return
		}
		for _, e := range ents {
			for _, x := range exts {
				if strings.HasSuffix(strings.ToLower(e.Name()), x) && e.Type().IsRegular() {
					if o := otherStoreFile(filepath.Join(dir, e.Name()), e.Name()); o != nil {
						out = append(out, otherFound(filepath.Join(dir, e.Name()), o))
					}
				}
			}
		}
	}
	switch p.GOOS {
	case "windows":
		local, roaming := p.Getenv("LOCALAPPDATA"), p.Getenv("APPDATA")
		if local == "" && p.Home != "" {
			local = filepath.Join(p.Home, "AppData", "Local")
		}
		if roaming == "" && p.Home != "" {
			roaming = filepath.Join(p.Home, "AppData", "Roaming")
		}
		if local != "" {
			check(filepath.Join(local, "Comms", "Unistore"), &windowsMail)
		}
		if roaming != "" {
			check(filepath.Join(roaming, "eM Client"), &emClient)
			check(filepath.Join(roaming, "The Bat!"), &theBat)
			check(filepath.Join(roaming, "Opera Mail"), &operaMail)
		}
	case "darwin":
		if p.Home != "" {
			check(filepath.Join(p.Home, "Library", "Group Containers", "UBF8T346G9.Office", "Outlook", "Outlook 15 Profiles"), &outlookMac)
		}
	}
	for _, dir := range outlookDirs(p) {
		files(dir, ".pst", ".ost")
	}
	return out
}
