package mapi

import (
	"path"
	"strings"
)

// extensionTypes maps file extensions to MIME types, for attachments
// stored without PidTagAttachMimeTag. It is a fixed table rather than the
// system's (mime.TypeByExtension reads /etc/mime.types, which differs
// between machines): the output must not depend on where it is made.
var extensionTypes = map[string]string{
	".7z":   "application/x-7z-compressed",
	".bmp":  "image/bmp",
	".csv":  "text/csv",
	".doc":  "application/msword",
	".docm": "application/vnd.ms-word.document.macroEnabled.12",
	".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	".dot":  "application/msword",
	".dotx": "application/vnd.openxmlformats-officedocument.wordprocessingml.template",
	".eml":  "message/rfc822",
	".emf":  "image/emf",
	".gif":  "image/gif",
	".gz":   "application/gzip",
	".htm":  "text/html",
	".html": "text/html",
	".ics":  "text/calendar",
	".jpeg": "image/jpeg",
	".jpg":  "image/jpeg",
	".json": "application/json",
	".mp3":  "audio/mpeg",
	".mp4":  "video/mp4",
	".msg":  "application/vnd.ms-outlook",
	".odp":  "application/vnd.oasis.opendocument.presentation",
	".ods":  "application/vnd.oasis.opendocument.spreadsheet",
	".odt":  "application/vnd.oasis.opendocument.text",
	".pdf":  "application/pdf",
	".png":  "image/png",
	".pps":  "application/vnd.ms-powerpoint",
	".ppt":  "application/vnd.ms-powerpoint",
	".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
	".rar":  "application/vnd.rar",
	".rtf":  "application/rtf",
	".svg":  "image/svg+xml",
	".tar":  "application/x-tar",
	".tif":  "image/tiff",
	".tiff": "image/tiff",
	".txt":  "text/plain",
	".vcf":  "text/vcard",
	".vsd":  "application/vnd.visio",
	".wav":  "audio/wav",
	".webp": "image/webp",
	".wmf":  "image/wmf",
	".xls":  "application/vnd.ms-excel",
	".xlsm": "application/vnd.ms-excel.sheet.macroEnabled.12",
	".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	".xml":  "application/xml",
	".zip":  "application/zip",
}

// mimeType chooses an attachment's MIME type: its stored tag when that is
// a well-formed type/subtype, else the type of its file name's extension,
// else application/octet-stream. Composite types (message/*,
// multipart/*) cannot be base64-encoded (RFC 2046 5.2.1, 5.1), so an
// attachment stored as bytes with such a type is sent as
// application/octet-stream; its name keeps its extension.
func mimeType(tag, name string) string {
	t := strings.ToLower(strings.TrimSpace(tag))
	if i := strings.IndexByte(t, ';'); i >= 0 {
		t = strings.TrimSpace(t[:i]) // parameters of a stored tag are not kept
	}
	if !validType(t) {
		t = extensionTypes[strings.ToLower(path.Ext(name))]
	}
	if t == "" || strings.HasPrefix(t, "message/") || strings.HasPrefix(t, "multipart/") {
		return "application/octet-stream"
	}
	return t
}

// validType reports whether t is "type/subtype" made of tokens.
func validType(t string) bool {
	typ, sub, ok := strings.Cut(t, "/")
	return ok && isToken(typ) && isToken(sub)
}
