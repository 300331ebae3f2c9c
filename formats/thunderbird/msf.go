package thunderbird

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// What mailferry takes from a folder's .msf summary (column names from cc:mailnews/db/msgdb/src/nsMsgDatabase.cpp and
// nsDBFolderInfo.cpp).
const (
	scopeMsgs       = "ns:msg:db:row:scope:msgs:all"
	kindMsgs        = "ns:msg:db:table:kind:msgs"
	scopeFolderInfo = "ns:msg:db:row:scope:dbfolderinfo:all"
)

// maxMSFSize bounds the summary files read into memory; bigger ones are
// left alone (they only enrich).
const maxMSFSize = 256 << 20

// msfInfo is the part of a summary file mailferry uses.
type msfInfo struct {
	FolderName  string // dbfolderinfo folderName (display name)
	MailboxName string
	OnlineName  string // IMAP folders: the server's name
	Flags       uint32 // folder flags (nsMsgFolderFlags), when HasFlags
	HasFlags    bool
	Msgs        []*msfMsg

	// What Thunderbird checks before it trusts the summary (see
	// summaryCurrent); absent values are 0, as Thunderbird reads them.
	Version      uint32 // summary format version
	FolderSize   int64  // size of the mbox when the summary was last made current
	FolderDate   uint32 // modification time of the mbox then, in Unix seconds
	NumUnread    int32  // numNewMsgs; negative means broken
	NumMsgs      int32
	ForceReparse bool // Thunderbird was told to rebuild the summary
	MaildirValid bool // maildir store: the summary matches the files
}

// msfMsg is one message header of the summary.
type msfMsg struct {
	Key       uint64 // message key (row id)
	Token     string // storeToken: byte offset in the mbox, or the maildir file name
	Offset    int64  // Token (or, in old files, the key) as an mbox offset; -1 if unknown
	MessageID string
	Flags     uint32
	Keywords  []string
	JunkScore string // "100" junk, "0" not junk
	JunkFrom  string // junkscoreorigin: "user", "filter", "plugin", ...
}

// readMSF reads and interprets a summary file.
func readMSF(path string) (*msfInfo, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Size() > maxMSFSize {
		return nil, fmt.Errorf("summary file too large to read (%d bytes)", st.Size())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseMSF(data)
}

func parseMSF(data []byte) (*msfInfo, error) {
	db, err := parseMork(data)
	if err != nil {
		return nil, err
	}
	info := &msfInfo{}
	if rows := db.rowsInScope(scopeFolderInfo); len(rows) > 0 {
		c := rows[0].Cells
		info.FolderName = morkString(c["folderName"])
		info.MailboxName = morkString(c["mailboxName"])
		info.OnlineName = morkString(c["onlineName"])
		if v, ok := c["flags"]; ok {
			if f, err := strconv.ParseUint(v, 16, 32); err == nil {
				info.Flags, info.HasFlags = uint32(f), true
			}
		}
		// Mork keeps numbers as hex text (nsDBFolderInfo's
		// Get/SetUint32Property and Int64Property).
		hex := func(col string, bits int) uint64 {
			n, _ := strconv.ParseUint(c[col], 16, bits)
			return n
		}
		info.Version = uint32(hex("version", 32))
		info.FolderSize = int64(hex("folderSize", 63))
		info.FolderDate = uint32(hex("folderDate", 32))
		info.NumUnread = int32(uint32(hex("numNewMsgs", 32)))
		info.NumMsgs = int32(uint32(hex("numMsgs", 32)))
		info.ForceReparse = hex("forceReparse", 32) != 0
		info.MaildirValid = hex("maildirValid", 32) != 0
	}
	var rows []*morkRow
	if t := db.tableOfKind(kindMsgs); t != nil {
		for _, oid := range t.Rows {
			if r := db.rows[oid]; r != nil {
				rows = append(rows, r)
			}
		}
	} else {
		rows = db.rowsInScope(scopeMsgs)
	}
	for _, r := range rows {
		c := r.Cells
		m := &msfMsg{Key: r.OID.ID, Offset: -1}
		m.Token = c["storeToken"]
		switch {
		case m.Token != "":
			if n, err := strconv.ParseInt(m.Token, 10, 64); err == nil && n >= 0 {
				m.Offset = n
			}
		case c["msgOffset"] != "":
			if n, err := strconv.ParseInt(c["msgOffset"], 16, 64); err == nil && n >= 0 {
				m.Offset = n
			}
		default:
			// Before storeToken, the key of a local message was its offset.
			m.Offset = int64(r.OID.ID)
		}
		if f, err := strconv.ParseUint(c["flags"], 16, 32); err == nil {
			m.Flags = uint32(f)
		}
		m.MessageID = strings.Trim(c["message-id"], "<> ")
		m.Keywords = strings.Fields(c["keywords"])
		m.JunkScore = c["junkscore"]
		m.JunkFrom = c["junkscoreorigin"]
		info.Msgs = append(info.Msgs, m)
	}
	return info, nil
}

// morkString turns a stored string into UTF-8: most are UTF-8 already;
// some older ones were stored as UTF-16LE, and a few in Latin-1.
func morkString(s string) string {
	if s == "" {
		return s
	}
	if strings.IndexByte(s, 0) >= 0 && len(s)%2 == 0 {
		u := make([]uint16, len(s)/2)
		for i := range u {
			u[i] = uint16(s[2*i]) | uint16(s[2*i+1])<<8
		}
		return string(utf16.Decode(u))
	}
	if utf8.ValidString(s) {
		return s
	}
	r := make([]rune, 0, len(s))
	for i := 0; i < len(s); i++ {
		r = append(r, rune(s[i]))
	}
	return string(r)
}
