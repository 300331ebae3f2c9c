package tbtest

import "time"

// Standard is the profile most Thunderbird tests use: a Thunderbird root
// with the profile "default-release" (the install default) and a stale
// second profile; in it
//
//   - a POP3 account "alice@example.com" (Mail/pop.example.com, prefs.js
//     with Windows backslashes in directory-rel) with Inbox (4 messages,
//     one deleted but not compacted, tags in X-Mozilla-Keys and one more
//     only in the .msf), Sent, an empty Trash (.msf only) and the nested
//     folders Archives (parent only) / 2023 / Q1;
//   - Local Folders with Inbox (a partial download, a forwarded message
//     with legacy label 2), Drafts, the non-ASCII folders "Entwürfe" and
//     "Entwürfe/Ärger", a folder "Fragen/Antworten" stored under a hashed
//     file name whose real name is only in folderCache.json (keyed by the
//     old Windows path), a folder "Notes: 2024" hashed as Windows does,
//     named in its .msf, and Trash with a deleted message; a leftover
//     nstmp file; filter files to ignore;
//   - a POP3 account using the maildir store (Mail/maildir.example.com:
//     Inbox with 2 messages and an interrupted write in tmp/);
//   - an RSS account (skipped);
//   - an IMAP offline cache not in prefs.js (ImapMail/imap.example.com:
//     INBOX with one message deleted on the server).
//
// StandardWant lists what a reader must find.
func Standard() Spec {
	d := func(day int) string { return time.Date(2024, 1, day, 9, 0, 0, 0, time.UTC).Format(time.RFC1123Z) }
	return Spec{
		ExtraProfiles: []string{"old.default"},
		Accounts: []Account{
			{
				Type: "pop3", Name: "alice@example.com", Hostname: "pop.example.com", UserName: "alice", BackslashRel: true,
				Files: map[string]string{"msgFilterRules.dat": "version=\"9\"\nlogging=\"no\"\n", "popstate.dat": "# POP3 State File\n", "filterlog.html": "<p>log</p>\n"},
				Folders: []Folder{
					{Name: "Inbox", MSF: true, CacheFlags: 0x1004, Messages: []Message{
						{Status: "0003", Status2: "00000000", Received: "Tue, 02 Jan 2024 10:00:00 +0100", Date: "Tue, 02 Jan 2024 09:59:00 +0100", Subject: "read and replied"},
						{Status: "0004", Status2: "00000000", Keys: "$label1 projekt-x", Received: "Wed, 03 Jan 2024 11:00:00 +0000", Subject: "flagged with tags", MSFKeywords: "$label1 projekt-x later-tag"},
						{Status: "0009", Status2: "00000000", Date: d(4), Subject: "deleted not compacted", NotInMSF: true},
						{Status: "0001", Status2: "00000000", Date: "Fri, 05 Jan 2024 08:00:00 +0000", Subject: "only a Date header", MSFJunk: "100"},
					}},
					{Name: "Sent", Messages: []Message{{Status: "0001", Status2: "00000000", Date: d(6), Subject: "sent mail"}}},
					{Name: "Trash", Kind: "empty"},
					{Name: "Archives", Kind: "parent", Children: []Folder{
						{Name: "2023", Messages: []Message{{Status: "0001", Status2: "00000000", Date: d(7), Subject: "archived"}}, Children: []Folder{
							{Name: "Q1", Mtime: time.Date(2020, 2, 2, 12, 0, 0, 0, time.UTC), Messages: []Message{
								{Status: "0001", Status2: "00000000", FromLine: "From - Sat Jan  3 01:05:34 2015", Subject: "only a From line"},
								{Status: "0000", Status2: "00000000", FromLine: "From ", Subject: "no date at all"},
							}},
						}},
					}},
				},
			},
			{
				Type: "none", Name: "Local Folders", Hostname: "Local Folders", UserName: "nobody",
				Files: map[string]string{"nstmp": "From - Mon Jan 01 00:00:00 2024\nSubject: half compacted\n\nx\n"},
				Folders: []Folder{
					{Name: "Inbox", Messages: []Message{
						{Status: "0401", Status2: "00000000", Date: d(8), Subject: "partial download"},
						{Status: "1001", Status2: "04000000", Date: d(9), Subject: "forwarded with label 2"},
					}},
					{Name: "Drafts", Messages: []Message{{Status: "0000", Status2: "00000000", Date: d(10), Subject: "a draft"}}},
					{Name: "Entwürfe", Messages: []Message{{Status: "0001", Status2: "00000000", Date: d(11), Subject: "Umlaute"}}, Children: []Folder{
						{Name: "Ärger", Messages: []Message{{Status: "0000", Status2: "00000000", Date: d(12), Subject: "noch mehr Ärger"}}},
					}},
					{Name: "Fragen/Antworten", CacheName: "Fragen/Antworten", Messages: []Message{{Status: "0001", Status2: "00000000", Date: d(13), Subject: "hashed name from folderCache"}}},
					{Name: "Notes: 2024", Disk: "Notes" + Hash("Notes: 2024"), MSF: true, Messages: []Message{{Status: "0001", Status2: "00000000", Date: d(14), Subject: "hashed name from msf"}}},
					{Name: "Trash", CRLF: true, Messages: []Message{
						{Status: "0009", Status2: "00000000", Date: d(15), Subject: "deleted in trash"},
						{Status: "0001", Status2: "00000000", Date: d(16), Subject: "kept in trash"},
					}},
				},
			},
			{
				Type: "pop3", Name: "Maildir Account", Hostname: "maildir.example.com", UserName: "bob", Maildir: true,
				Folders: []Folder{{Name: "Inbox", Kind: "maildir", MSF: true, TmpFiles: 1, Messages: []Message{
					{Status: "0001", Status2: "00000000", Date: d(17), Subject: "maildir read"},
					{Status: "0004", Status2: "00000000", Keys: "todo", Date: d(18), Subject: "maildir flagged", MSFKeywords: "todo"},
				}}},
			},
			{Type: "rss", Name: "News & Blogs", Hostname: "Feeds"},
		},
		Unlisted: []Account{{Type: "imap", Hostname: "imap.example.com", Folders: []Folder{{Name: "INBOX", Messages: []Message{
			{Status: "0001", Status2: "00000000", Date: d(19), Subject: "cached"},
			{Status: "0001", Status2: "00200000", Date: d(20), Subject: "deleted on the server"},
		}}}}},
	}
}

// WantFolder is what a reader must find in one folder of Standard().
type WantFolder struct {
	Path     string // Mailbox.DisplayPath()
	Special  string // formats.Special value
	Messages int    // messages not skipped
	Skipped  int
}

// StandardWant lists every mailbox of Standard() in reading order.
func StandardWant() []WantFolder {
	return []WantFolder{
		{"alice@example.com/Inbox", "inbox", 3, 1},
		{"alice@example.com/Sent", "sent", 1, 0},
		{"alice@example.com/Archives", "archive", 0, 0},
		{"alice@example.com/Archives/2023", "", 1, 0},
		{"alice@example.com/Archives/2023/Q1", "", 2, 0},
		{"alice@example.com/Trash", "trash", 0, 0},
		{"Local Folders/Inbox", "inbox", 2, 0},
		{"Local Folders/Drafts", "drafts", 1, 0},
		{"Local Folders/Trash", "trash", 1, 1},
		{"Local Folders/Entwürfe", "", 1, 0},
		{"Local Folders/Entwürfe/Ärger", "", 1, 0},
		{"Local Folders/Fragen/Antworten", "", 1, 0},
		{"Local Folders/Notes: 2024", "", 1, 0},
		{"Maildir Account/Inbox", "inbox", 2, 0},
		{"imap.example.com/INBOX", "inbox", 1, 1},
	}
}
