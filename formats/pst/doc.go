// Package pst reads Outlook data files, .pst and .ost, as a
// formats.Reader: the folders the user sees, and every message in them as
// an Internet message converted from its MAPI properties by
// mapi.WriteMIME. It also offers the file's messages as mapi.Message
// values (Store), for tools and tests. It only ever reads the file.
//
// # Layers
//
// The format ([MS-PST]) has three layers, each in its own package:
//
//   - internal/ndb, the node database ([MS-PST] 2.2): the header, the node
//     and block B-trees, blocks and their encodings, data trees and
//     subnode trees. Its package comment says what it checks and what it
//     knows of the 4 KiB-page .ost layout that [MS-PST] leaves out.
//   - internal/ltp, lists, tables and properties ([MS-PST] 2.3): heaps on
//     nodes, B-trees on heaps, property contexts (one object's properties)
//     and table contexts (rows of properties).
//   - this package, the messaging layer ([MS-PST] 2.4): the message store
//     (node 0x21), the name-to-ID map of named properties (node 0x61),
//     folders (a property context; its hierarchy, contents and associated
//     contents tables are nodes with the same index and types 0x0D, 0x0E,
//     0x0F), messages (a property context whose subnodes hold the
//     recipient table, 0x692, the attachment table, 0x671, and one
//     property context per attachment), and attached messages (the
//     attachment's PidTagAttachDataObject is an object value, [MS-PST]
//     2.3.3.5: the NID of a subnode of the attachment that is the
//     message's property context, with subnodes of its own).
//
// Values larger than a heap allocation live in subnodes and are streamed
// block by block (Properties.Open), so an attachment of any size never
// sits in memory whole; Properties.Get refuses values over 64 MiB.
//
// # Folders
//
// The mailboxes are the folders below the IPM subtree, the root of the
// folders Outlook shows ("Top of Personal Folders", "IPM_SUBTREE"), with
// their real names as paths relative to it; Mailbox.Account is the
// store's display name, or the file's name when it has none (as .ost
// files may). That is the name Outlook shows at the top of the file's
// folder tree ("Personal Folders", "Outlook Data File", the address of
// the account it belongs to), so scan shows the folders as the user
// knows them; --include and --exclude also match the path without it,
// and when a source holds several stores package detect puts the file's
// path in front, so that two files with the same display name (every
// .pst of older Outlooks is "Personal Folders") never share a folder
// name. The IPM subtree is the one the message store's
// PidTagIpmSubTreeEntryId names; .ost files have no such entry, so it is
// then the parent of the receive folder (the Inbox, below), then a child
// of the root with Outlook's name for it, then the root folder itself.
//
// The walk starts at the root folder (node 0x122) and follows the
// hierarchy tables, at most 64 levels deep and visiting each folder once.
// Search folders (NID type 0x03) are left out: their contents are links to
// messages that live in other folders. Associated contents (hidden items:
// views, rules, settings) are not messages and are not read. Folders
// outside the IPM subtree are Outlook's own (free/busy data, reminders,
// views, Exchange's "Root - Public"); one that holds items is listed with
// Skip = SkipSystemFolder, so that its items are counted, and an empty one
// is left out. Such items are Outlook's data, not the user's mail (the
// "Freebusy Data" folder of .pst files holds the free/busy record, class
// IPM.Microsoft.ScheduleData.FreeBusy), but leaving the folder out would
// leave its items in no bucket: they would only show in the warning
// about message nodes of no folder read, as if the file were damaged.
// Listed, they are counted as skipped with their reason, and no server
// folder is made for them. Hidden folders inside the IPM subtree are treated like the
// others: their class decides. Sync Issues and its subfolders are mail
// folders holding real messages (synchronisation logs Outlook wrote), so
// they are uploaded, as readpst and pffexport export them too.
//
// Folders whose container class (PidTagContainerClass) is not mail get
// Mailbox.Skip "not mail: calendar" (IPF.Appointment), "not mail:
// contacts" (IPF.Contact), "not mail: tasks", "not mail: notes", "not
// mail: journal", "not mail: settings" (IPF.Configuration), or "not
// mail: folder of class X"; mail is a folder without a class (older
// files) or of class IPF.Note and its sub-classes (IPF.Note.OutlookHomepage
// is the RSS Feeds folder). Every item of such a folder comes as a
// Message with that Skip and no Open, so the counts add up.
//
// Special roles come first from the store's own records, then from names:
// the Inbox is the folder the receive folder table (node 0x62B, message
// class "" or "IPM") names; Deleted Items, Sent Items and Outbox are the
// message store's PidTagIpmWastebasketEntryId, PidTagIpmSentMailEntryId
// and PidTagIpmOutboxEntryId; Drafts and Junk E-mail are
// PidTagIpmDraftsEntryId and the fifth PidTagAdditionalRenEntryIds value
// ([MS-OXOSFLD]) of the root folder, the IPM subtree or the Inbox. Entry
// IDs have two forms: the 24 bytes of a .pst (flags, the store's record
// key, the NID, [MS-PST] 2.4.3.2), and in .ost files the 46-byte
// long-term IDs of the Exchange server ([MS-OXCDATA] 2.2.4.1) whose last
// six significant bytes are the folder's global counter; .ost folders
// keep that counter in the last six bytes of property 0x67F4, which is
// how they are matched. Roles still unassigned go to top-level folders of
// the IPM subtree with Outlook's name for them in English, German,
// French, Spanish, Italian, Dutch, Portuguese or a Scandinavian language.
//
// # Messages
//
// Each folder's messages come in the order of its contents table. A
// message node that belongs to a read folder (its parent in the node
// B-tree) but that no contents table lists, as a damaged table would
// leave it, is read at the end with a warning, so that nothing is lost;
// message nodes belonging to no read folder are counted in a warning.
//
// A message is converted by Config.Convert (ConvertMIME by default:
// mapi.WriteMIME, mapi.Flags, mapi.ReceivedDate) into a formats.Spool, so
// Size is exact; the bytes are the same on every run. Items in mail
// folders whose message class is not mail (mapi.IsMail) are skipped as
// formats.SkipNotMail. A message that cannot be read or converted is
// skipped as SkipUnreadable with a warning naming the file, the folder
// and the message's NID; what WriteMIME could not rebuild is
// Message.Incomplete. Pos.File is the file and Pos.Index the message's
// number in the file (1-based, all folders counted): a message has no
// single byte offset.
//
// # Damaged files
//
// Damage costs what it touches, and every warning names the file and the
// offset the node database found bad. A message that cannot be read is
// skipped as above; an attachment damaged in its middle costs only that
// attachment (mapi.WriteMIMESalvaging writes the message again without
// it, a note in its place, and the message is Incomplete). A folder whose own property context is damaged is
// read with the row its parent's hierarchy table has of it (its name; its
// messages and subfolders are nodes of their own); a damaged hierarchy
// table is replaced by the node B-tree's parent links, which name every
// folder's parent; a damaged contents table by the orphan pass above.
// Only a folder whose record and whose parent's list are both damaged is
// left out, its messages counted in the warning about message nodes of no
// folder read. A damaged name-to-ID map costs the named properties
// (categories), and a damaged root folder nothing (its subfolders are
// read without it), each with a warning. The file fails to open only
// when its header, its B-tree roots or the message store cannot be read.
//
// A password-protected .pst opens like any other: the password is only a
// CRC-32 of it in the message store (PidTagPstPassword), nothing is
// encrypted with it. The "compressible" and "high" encodings of [MS-PST]
// 5.1 and 5.2 are fixed substitutions, undone for every data block.
//
// # Memory
//
// The file is read through io.ReaderAt with bounded caches (256 B-tree
// pages, 128 decoded blocks, 1024 block B-tree entries); a message's
// bytes go through the spool. What grows is small and bounded by counts,
// not bytes: the folder tree, the current folder's list of message NIDs
// and, for the check for unlisted messages, four bytes per message read.
//
// # Compared with other readers
//
// The tests read every file of the shared corpus with readpst (libpst)
// and pffexport (libpff) and compare folder by folder; compare_test.go
// says what they do differently and why.
package pst
