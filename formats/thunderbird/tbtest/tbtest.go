// Package tbtest builds Thunderbird profiles in a test's temporary
// directory: profiles.ini, prefs.js, Mail/ and ImapMail/ account
// directories with mbox folders (or maildir-store folders), .msf summaries,
// .sbd subfolder directories, hashed folder file names and the folder
// caches (folderCache.json keyed by another machine's paths). Tests of the
// reader, of scan and of uploads share it. Standard() is the profile issue
// 2 asks for; StandardWant says what a reader must find in it.
package tbtest

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
)

// Spec describes a Thunderbird root with one profile.
type Spec struct {
	// ProfileDir is the profile's directory name (default
	// "k3l9x2qa.default-release"); ProfileName its name in profiles.ini
	// (default "default-release").
	ProfileDir, ProfileName string
	// ExtraProfiles are further (empty) profiles listed in profiles.ini,
	// not the default.
	ExtraProfiles []string
	// OldProfilePath is the absolute profile path on the machine that
	// wrote prefs.js "directory" values and folderCache.json keys (default
	// a Windows path); the profile was copied from there.
	OldProfilePath string
	Accounts       []Account
	// Unlisted are account directories that prefs.js does not mention
	// (Mail/<name> or, with IMAP set, ImapMail/<name>).
	Unlisted []Account
	// Hostname of the machine in maildir file names; default "host".
	Hostname string
}

// Account is one server of prefs.js and its directory.
type Account struct {
	Type     string // "none", "pop3", "imap", "rss"
	Name     string // display name (the name pref); "" writes no name pref
	Hostname string
	UserName string
	// Dir is the directory name below Mail/ (ImapMail/ for imap); default
	// the host name ("Local Folders" for type none).
	Dir     string
	Maildir bool // Thunderbird's maildir store
	// BackslashRel writes directory-rel with Windows backslashes.
	BackslashRel bool
	// NoDirectoryRel leaves directory-rel out: only the (foreign)
	// absolute directory is written, so the reader must fall back.
	NoDirectoryRel bool
	Folders        []Folder
	// Files are extra files in the account directory (name → content),
	// such as msgFilterRules.dat or a leftover nstmp.
	Files map[string]string
}

// Folder is a mail folder and its subfolders.
type Folder struct {
	Name string // the real folder name
	// Disk is the on-disk name; default Name hashed as Thunderbird on
	// Linux would (HashIfNecessary rules for '/').
	Disk string
	// Kind: "" an mbox file, "parent" only a .sbd directory, "empty" only
	// a .msf, "maildir" a maildir-store folder.
	Kind string
	// MSF writes a .msf summary with the folder name and one record per
	// message (flags, keywords, junk score, storeToken).
	MSF bool
	// MSFName is the folderName written in the .msf (default Name).
	MSFName string
	// MSFStale makes the .msf out of date for its store as Thunderbird
	// judges it: "size" (folderSize differs from the mbox's size), "date"
	// (folderDate two hours off the mbox's modification time), "version"
	// (summary version 0). "" writes a current summary: version 1, the
	// mbox's size and modification time, maildirValid for maildir folders.
	MSFStale string
	// CacheName, when set, is the folderName in folderCache.json for this
	// folder; CacheFlags its folder flags (nsMsgFolderFlags).
	CacheName  string
	CacheFlags uint32
	CRLF       bool // write the mbox with CRLF line endings
	Messages   []Message
	Children   []Folder
	// TmpFiles are files left in a maildir folder's tmp/.
	TmpFiles int
	// Mtime sets the mbox file's modification time; zero leaves it.
	Mtime time.Time
}

// Message is one message of a folder.
type Message struct {
	// FromLine is the mbox separator line; default "From - Mon Jan 01
	// 00:00:00 2024".
	FromLine string
	Status   string // X-Mozilla-Status value ("0001"); "" writes none
	Status2  string // X-Mozilla-Status2 value ("00000000"); "" writes none
	Keys     string // X-Mozilla-Keys value, padded to 80 with blanks; "-" writes none
	// Received is the date part of a Received: header; "" writes none.
	Received  string
	Date      string // Date: header; "" writes none
	Subject   string
	MessageID string // without <>; default generated
	Body      string // default a line naming the subject
	// MSFFlags, MSFKeywords and MSFJunk go into the .msf record when the
	// folder has one (MSFFlags 0 means "same as Status").
	MSFFlags    int64
	MSFKeywords string
	MSFJunk     string
	NotInMSF    bool // leave the message out of the .msf
	// File is the maildir file name (default "<n>.M<n>P1Q<n>.<host>.eml").
	File  string
	Mtime time.Time // the file's mtime (maildir); zero leaves it
}

// Built says where BuildProfile put things.
type Built struct {
	Root    string // the directory with profiles.ini
	Profile string // the profile directory
}

// BuildProfile writes spec below dir (normally t.TempDir()).
func BuildProfile(t testing.TB, dir string, spec Spec) Built {
	t.Helper()
	b := &builder{t: t, spec: spec}
	if b.spec.ProfileDir == "" {
		b.spec.ProfileDir = "k3l9x2qa.default-release"
	}
	if b.spec.ProfileName == "" {
		b.spec.ProfileName = "default-release"
	}
	if b.spec.OldProfilePath == "" {
		b.spec.OldProfilePath = `C:\Users\alice\AppData\Roaming\Thunderbird\Profiles\` + b.spec.ProfileDir
	}
	if b.spec.Hostname == "" {
		b.spec.Hostname = "host"
	}
	root := dir
	prof := filepath.Join(root, "Profiles", b.spec.ProfileDir)
	b.prof = prof
	b.mkdir(prof)
	b.cache = map[string]map[string]any{}

	ini := "[Profile1]\nName=" + b.spec.ProfileName + "\nIsRelative=1\nPath=Profiles/" + b.spec.ProfileDir + "\n\n"
	for i, p := range spec.ExtraProfiles {
		ini += fmt.Sprintf("[Profile%d]\nName=%s\nIsRelative=1\nPath=Profiles\\%s\nDefault=1\n\n", i+2, p, p)
		b.mkdir(filepath.Join(root, "Profiles", p))
	}
	ini += "[Install4F96D1932A9F858E]\nDefault=Profiles/" + b.spec.ProfileDir + "\nLocked=1\n\n[General]\nStartWithLastProfile=1\nVersion=2\n"
	b.write(filepath.Join(root, "profiles.ini"), ini)
	b.write(filepath.Join(root, "installs.ini"), "[4F96D1932A9F858E]\nDefault=Profiles/"+b.spec.ProfileDir+"\nLocked=1\n")

	var prefs []string
	var accts []string
	localKey := ""
	for i, a := range b.spec.Accounts {
		n := i + 1
		key := fmt.Sprintf("server%d", n)
		accts = append(accts, fmt.Sprintf("account%d", n))
		prefs = append(prefs, pref(fmt.Sprintf("mail.account.account%d.server", n), key))
		root, dirName := b.accountDir(a)
		rel := root + "/" + dirName
		if a.BackslashRel {
			rel = root + `\` + dirName
		}
		p := func(f, v string) { prefs = append(prefs, pref("mail.server."+key+"."+f, v)) }
		p("type", a.Type)
		if a.Hostname != "" {
			p("hostname", a.Hostname)
		}
		if a.UserName != "" {
			p("userName", a.UserName)
		}
		if a.Name != "" {
			p("name", a.Name)
		}
		if !a.NoDirectoryRel {
			p("directory-rel", "[ProfD]"+rel)
		}
		p("directory", b.spec.OldProfilePath+`\`+root+`\`+dirName)
		if a.Maildir {
			p("storeContractID", "@mozilla.org/msgstore/maildirstore;1")
		}
		if a.Type == "none" {
			localKey = key
		}
		if a.Type != "rss" || len(a.Folders) > 0 {
			b.account(a)
		}
	}
	prefs = append(prefs, pref("mail.accountmanager.accounts", strings.Join(accts, ",")))
	if localKey != "" {
		prefs = append(prefs, pref("mail.accountmanager.localfoldersserver", localKey))
	}
	for _, a := range b.spec.Unlisted {
		b.account(a)
	}
	sort.Strings(prefs)
	b.write(filepath.Join(prof, "prefs.js"), "// Mozilla User Preferences\n\n/* Do not edit this file. */\n\n"+strings.Join(prefs, "\n")+"\n")
	b.writeCache()
	return Built{Root: root, Profile: prof}
}

type builder struct {
	t     testing.TB
	spec  Spec
	prof  string
	cache map[string]map[string]any
}

func (b *builder) mkdir(d string) {
	b.t.Helper()
	if err := os.MkdirAll(d, 0o755); err != nil {
		b.t.Fatal(err)
	}
}

func (b *builder) write(p, content string) {
	b.t.Helper()
	b.mkdir(filepath.Dir(p))
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		b.t.Fatal(err)
	}
}

func (b *builder) accountDir(a Account) (root, name string) {
	root = "Mail"
	if a.Type == "imap" {
		root = "ImapMail"
	}
	name = a.Dir
	if name == "" {
		name = a.Hostname
		if a.Type == "none" {
			name = "Local Folders"
		}
	}
	return root, name
}

func (b *builder) account(a Account) {
	root, name := b.accountDir(a)
	dir := filepath.Join(b.prof, root, name)
	b.mkdir(dir)
	for n, c := range a.Files {
		b.write(filepath.Join(dir, n), c)
	}
	for _, f := range a.Folders {
		b.folder(dir, root+`\`+name, f)
	}
}

// folder writes f in dir; cacheKey is its directory's path below the
// profile in the old machine's notation.
func (b *builder) folder(dir, cacheDir string, f Folder) {
	disk := f.Disk
	if disk == "" {
		disk = HashName(f.Name)
	}
	full := filepath.Join(dir, disk)
	switch f.Kind {
	case "":
		b.write(full, b.mbox(f))
		if !f.Mtime.IsZero() {
			if err := os.Chtimes(full, f.Mtime, f.Mtime); err != nil {
				b.t.Fatal(err)
			}
		}
	case "maildir":
		b.maildir(full, f)
	case "parent", "empty":
	default:
		b.t.Fatalf("tbtest: unknown folder kind %q", f.Kind)
	}
	if f.MSF || f.Kind == "empty" {
		b.write(full+".msf", b.msf(f, full))
	}
	if f.CacheName != "" || f.CacheFlags != 0 {
		e := map[string]any{"folderName": f.CacheName, "flags": f.CacheFlags, "totalMsgs": len(f.Messages)}
		b.cache[b.spec.OldProfilePath+`\`+cacheDir+`\`+disk+".msf"] = e
	}
	if len(f.Children) > 0 || f.Kind == "parent" {
		b.mkdir(full + ".sbd")
		for _, c := range f.Children {
			b.folder(full+".sbd", cacheDir+`\`+disk+".sbd", c)
		}
	}
}

func (b *builder) writeCache() {
	if len(b.cache) == 0 {
		return
	}
	var keys []string
	for k := range b.cache {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		e := b.cache[k]
		parts = append(parts, fmt.Sprintf("  %s: {\n    \"flags\": %d,\n    \"folderName\": %s,\n    \"totalMsgs\": %d\n  }",
			jsonString(k), e["flags"], jsonString(e["folderName"].(string)), e["totalMsgs"]))
	}
	b.write(filepath.Join(b.prof, "folderCache.json"), "{\n"+strings.Join(parts, ",\n")+"\n}\n")
}

func jsonString(s string) string {
	var out strings.Builder
	out.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			out.WriteByte('\\')
			out.WriteRune(r)
		case r < 0x20:
			fmt.Fprintf(&out, `\u%04x`, r)
		default:
			out.WriteRune(r)
		}
	}
	out.WriteByte('"')
	return out.String()
}

// text renders one message (without From_ line) with LF line endings.
func (b *builder) text(m Message, i int, folder string) string {
	var h []string
	if m.Status != "" {
		h = append(h, "X-Mozilla-Status: "+m.Status)
	}
	if m.Status2 != "" {
		h = append(h, "X-Mozilla-Status2: "+m.Status2)
	}
	if m.Keys != "-" {
		k := m.Keys
		if len(k) < 80 {
			k += strings.Repeat(" ", 80-len(k))
		}
		if m.Status != "" {
			h = append(h, "X-Mozilla-Keys: "+k)
		}
	}
	if m.Received != "" {
		h = append(h, "Received: from mx.example.com (mx.example.com [192.0.2.1])\n\tby pop.example.com with ESMTP id abc"+fmt.Sprint(i)+";\n\t"+m.Received)
	}
	if m.Date != "" {
		h = append(h, "Date: "+m.Date)
	}
	h = append(h, "From: Sender <sender@example.com>", "To: alice@example.com", "Subject: "+m.Subject, "Message-ID: <"+b.msgID(m, i, folder)+">")
	body := m.Body
	if body == "" {
		body = "This is " + m.Subject + ".\n"
	}
	return strings.Join(h, "\n") + "\n\n" + body
}

func (b *builder) msgID(m Message, i int, folder string) string {
	if m.MessageID != "" {
		return m.MessageID
	}
	return fmt.Sprintf("%d.%s@example.com", i+1, strings.NewReplacer(" ", "-", "/", "-").Replace(folder))
}

func (b *builder) fromLine(m Message) string {
	if m.FromLine != "" {
		return m.FromLine
	}
	return "From - Mon Jan 01 00:00:00 2024"
}

// mbox renders a folder's mbox file and remembers each message's offset.
func (b *builder) mbox(f Folder) string {
	var s strings.Builder
	for i, m := range f.Messages {
		if i > 0 {
			s.WriteString("\n")
		}
		s.WriteString(b.fromLine(m) + "\n" + b.text(m, i, f.Name))
	}
	out := s.String()
	if f.CRLF {
		out = strings.ReplaceAll(out, "\n", "\r\n")
	}
	return out
}

// offsets returns the byte offset of each message's From_ line in the mbox.
func (b *builder) offsets(f Folder) []int {
	var offs []int
	off := 0
	for i, m := range f.Messages {
		if i > 0 {
			off += nl(f)
		}
		offs = append(offs, off)
		t := b.fromLine(m) + "\n" + b.text(m, i, f.Name)
		off += len(t) + strings.Count(t, "\n")*(nl(f)-1)
	}
	return offs
}

func nl(f Folder) int {
	if f.CRLF {
		return 2
	}
	return 1
}

func (b *builder) maildir(dir string, f Folder) {
	b.mkdir(filepath.Join(dir, "cur"))
	b.mkdir(filepath.Join(dir, "tmp"))
	for i, m := range f.Messages {
		name := b.fileName(m, i)
		p := filepath.Join(dir, "cur", name)
		b.write(p, b.text(m, i, f.Name))
		if !m.Mtime.IsZero() {
			if err := os.Chtimes(p, m.Mtime, m.Mtime); err != nil {
				b.t.Fatal(err)
			}
		}
	}
	for i := 0; i < f.TmpFiles; i++ {
		b.write(filepath.Join(dir, "tmp", fmt.Sprintf("17000009%02d.M0P1Q%d.%s.eml", i, i, b.spec.Hostname)), "Subject: half written\n")
	}
}

func (b *builder) fileName(m Message, i int) string {
	if m.File != "" {
		return m.File
	}
	return fmt.Sprintf("%d.M%dP1Q%d.%s.eml", 1700000000+100*i, i, i+1, b.spec.Hostname)
}

// msf renders a Mork summary: column dictionary, an atom, the messages
// table (storeToken = mbox offset or maildir file name) and the folder
// info row with folderName. Values use Mork's escapes (\) \\ \$ and $XX
// for bytes outside ASCII), so readers are tested on them.
func (b *builder) msf(f Folder, store string) string {
	name := f.MSFName
	if name == "" {
		name = f.Name
	}
	var s strings.Builder
	s.WriteString("// <!-- <mdb:mork:z v=\"1.4\"/> -->\n< <(a=c)> // (f=iso-8859-1)\n")
	s.WriteString("  (80=ns:msg:db:row:scope:msgs:all)(81=subject)(82=message-id)(83=flags)\n")
	s.WriteString("  (84=keywords)(85=storeToken)(86=junkscore)(87=ns:msg:db:table:kind:msgs)\n")
	s.WriteString("  (88=ns:msg:db:row:scope:dbfolderinfo:all)(89=ns:msg:db:table:kind:dbfolderinfo)\n")
	s.WriteString("  (8A=folderName)(8B=numMsgs)(8C=junkscoreorigin)(8D=version)(8E=folderSize)\n")
	s.WriteString("  (8F=folderDate)(90=numNewMsgs)(91=maildirValid)>\n")
	s.WriteString("<(A0=1)(A1=" + morkEscape(name) + ")>\n")
	s.WriteString("{1:^80 {(k^87:c)(s=9)}\n")
	var offs []int
	if f.Kind == "" {
		offs = b.offsets(f)
	}
	n := 0
	for i, m := range f.Messages {
		if m.NotInMSF {
			continue
		}
		n++
		flags := m.MSFFlags
		if flags == 0 && m.Status != "" {
			var v int64
			fmt.Sscanf(m.Status, "%x", &v)
			flags = v
		}
		token := ""
		if f.Kind == "maildir" {
			token = b.fileName(m, i)
		} else if i < len(offs) {
			token = fmt.Sprint(offs[i])
		}
		fmt.Fprintf(&s, "  [%X(^81=%s)(^82=%s)(^83=%x)(^85=%s)", i+1, morkEscape(m.Subject), morkEscape(b.msgID(m, i, f.Name)), flags, morkEscape(token))
		if m.MSFKeywords != "" {
			fmt.Fprintf(&s, "(^84=%s)", morkEscape(m.MSFKeywords))
		}
		if m.MSFJunk != "" {
			fmt.Fprintf(&s, "(^86=%s)(^8C=user)", m.MSFJunk)
		}
		s.WriteString("]\n")
	}
	s.WriteString("}\n")
	version, size, date, valid := 1, int64(0), int64(0), 1
	if st, err := os.Stat(store); err == nil && f.Kind == "" {
		size, date = st.Size(), st.ModTime().Unix()
	}
	switch f.MSFStale {
	case "size":
		size++
	case "date":
		date -= 7200
	case "version":
		version = 0
	case "":
	default:
		b.t.Fatalf("tbtest: unknown MSFStale %q", f.MSFStale)
	}
	if f.MSFStale != "" {
		valid = 0
	}
	fmt.Fprintf(&s, "{1:^88 {(k^89:c)(s=9)}\n  [1(^8A^A1)(^8B=%x)(^8D=%x)(^8E=%x)(^8F=%x)(^90=0)(^91=%x)]}\n", n, version, size, date, valid)
	// A committed transaction, as Thunderbird appends them.
	fmt.Fprintf(&s, "@$${2{@\n<(A2=%x)>[1:^88(^8B^A2)]\n@$$}2}@\n", n)
	// An aborted one, which must be ignored.
	s.WriteString("@$${3{@\n[1:^88(^8A=WRONG NAME)]\n@$$}~~}@\n")
	return s.String()
}

// morkEscape writes a Mork value: ')' '\' '$' escaped with '\', bytes
// outside printable ASCII as $XX.
func morkEscape(v string) string {
	var s strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == ')' || c == '\\' || c == '$':
			s.WriteByte('\\')
			s.WriteByte(c)
		case c < 0x20 || c >= 0x7F:
			fmt.Fprintf(&s, "$%02X", c)
		default:
			s.WriteByte(c)
		}
	}
	return s.String()
}

func pref(name, value string) string {
	return fmt.Sprintf("user_pref(%s, %s);", jsString(name), jsString(value))
}

// jsString writes a JavaScript string literal as Thunderbird does: \\ and
// \" escaped, everything else as is (UTF-8).
func jsString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// HashName is the file name Thunderbird on Linux gives a folder: the name
// itself, or when it holds '/', ';' or '#', starts with '.', ends with
// '.', '~' or ' ', or is longer than 55 UTF-16 units, its first part plus
// the hash of the whole name (nsMsgUtils.cpp NS_MsgHashIfNecessary). It is
// written here independently of the reader's copy, so that tests check
// one against the other.
func HashName(name string) string {
	u := utf16.Encode([]rune(name))
	if len(u) == 0 {
		return name
	}
	kept := -1
	for i, c := range u {
		if c == '/' || c == ';' || c == '#' {
			kept = i
			break
		}
	}
	if kept < 0 {
		switch {
		case u[0] == '.':
			kept = 0
		case u[len(u)-1] == '.' || u[len(u)-1] == '~' || u[len(u)-1] == ' ':
			kept = len(u) - 1
		case len(u) > 55:
			kept = 47
			if u[46] >= 0xD800 && u[46] < 0xDC00 {
				kept = 46
			}
		}
	}
	if kept < 0 {
		return name
	}
	return string(utf16.Decode(u[:kept])) + Hash(name)
}

// Hash is Thunderbird's folder-name hash (nsMsgUtils.cpp StringHash over
// the UTF-16LE bytes of name) as 8 lower-case hex digits.
func Hash(name string) string {
	h := uint32(1)
	for _, c := range utf16.Encode([]rune(name)) {
		h = 0x63c63cd9*h + 0x9c39c33d + uint32(byte(c))
		h = 0x63c63cd9*h + 0x9c39c33d + uint32(byte(c>>8))
	}
	return fmt.Sprintf("%08x", h)
}
