package upload

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mailferry/upload/fingerprint"
)

// selectFolder selects (or, read-only, examines) a folder. A folder that
// does not exist gives exists false and no error.
func (cn *conn) selectFolder(name string, readOnly bool) (data *imap.SelectData, exists bool, err error) {
	cn.selected = "" // a failed SELECT leaves nothing selected
	cn.expect(cn.small())
	return cn.selected1(name, readOnly, cn.c.Select(name, &imap.SelectOptions{ReadOnly: readOnly}))
}

// selected1 waits for a SELECT (or EXAMINE) of name and judges its
// answer as selectFolder does.
func (cn *conn) selected1(name string, readOnly bool, cmd *imapclient.SelectCommand) (data *imap.SelectData, exists bool, err error) {
	data, err = cmd.Wait()
	if err != nil {
		if ie := serverError(err); ie != nil && ie.Type == imap.StatusResponseTypeNo && (ie.Code == imap.ResponseCodeNonExistent ||
			strings.Contains(strings.ToLower(ie.Text), "exist") || strings.Contains(strings.ToLower(ie.Text), "no such")) {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("select folder %q: %w", name, cn.guardErr(err))
	}
	cn.selected, cn.readOnly = name, readOnly
	return data, true, nil
}

var headerSection = &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, Peek: true}

// fetchSet learns what a folder holds: one UID FETCH 1:* (RFC822.SIZE
// BODY.PEEK[HEADER]) hashed as it streams in; no message body is ever
// fetched. withIDs keeps a Message-ID and the UIDs per fingerprint for
// reports and the full check.
func (cn *conn) fetchSet(ctx context.Context, name string, readOnly, withIDs bool) (*serverSet, *imap.SelectData, error) {
	set := newServerSet()
	if withIDs {
		set.ids = map[Fingerprint]string{}
		set.uids = map[Fingerprint][]imap.UID{}
	}
	// SELECT and the FETCH go in one flight: a UID FETCH 1:* is valid
	// whatever the folder holds, even nothing. The FETCH's budget is set
	// once the SELECT said how many messages there are (until then the
	// flight's budget bounds what comes).
	cn.selected = ""
	cn.expect(cn.smallFlight(2))
	sel := cn.c.Select(name, &imap.SelectOptions{ReadOnly: readOnly})
	cmd := cn.c.Fetch(imap.UIDSet{imap.UIDRange{Start: 1, Stop: 0}}, &imap.FetchOptions{
		UID:         true,
		RFC822Size:  true,
		BodySection: []*imap.FetchItemBodySection{headerSection},
	})
	data, exists, err := cn.selected1(name, readOnly, sel)
	var n uint32
	if data != nil {
		n = data.NumMessages
	}
	cn.expect(cn.headerFetch(n))
	if err != nil || !exists || n == 0 {
		// The FETCH finds nothing, or is refused with the SELECT; a
		// server that never finishes it is cut off all the same.
		if cerr := cmd.Close(); err == nil && cerr != nil && !cn.alive() {
			return nil, data, fmt.Errorf("fetch headers of %q: %w", name, cn.guardErr(cerr))
		}
		return set, data, err
	}
	if err := cn.collect(ctx, cmd, set); err != nil {
		if ctx.Err() != nil {
			return nil, data, ctx.Err()
		}
		return nil, data, fmt.Errorf("fetch headers of %q: %w", name, cn.guardErr(err))
	}
	if set.total < int(data.NumMessages) {
		// A pre-scan that misses messages would make the upload send them
		// again (duplicates): never trust one. Another client expunging
		// meanwhile passes on a new try.
		return nil, data, fmt.Errorf("fetch headers of %q: the server said it holds %d messages but returned %d", name, data.NumMessages, set.total)
	}
	return set, data, nil
}

// collect adds the fingerprints of a FETCH (RFC822.SIZE BODY.PEEK[HEADER])
// to set. It closes cmd, or, when a header fails to read, the connection.
func (cn *conn) collect(ctx context.Context, cmd *imapclient.FetchCommand, set *serverSet) error {
	hh := fingerprint.NewHasher()
	// A header that fails to read (the connection broke or stalled) is
	// left alone, and so is cmd: go-imap v2 beta.8's Next and Close would
	// drain the literal again from the buffer that the client's reader
	// goroutine reads too once the literal has failed (a data race, seen
	// under -race after a stall). The connection is closed instead; the
	// reader stops on its own and the caller reconnects.
	broken := func(err error) error {
		if cn.raw != nil {
			_ = cn.raw.Close()
		}
		return err
	}
	for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
		if ctx.Err() != nil {
			break
		}
		hh.Reset()
		size := int64(-1)
		var uid imap.UID
		for item := msg.Next(); item != nil; item = msg.Next() {
			switch it := item.(type) {
			case imapclient.FetchItemDataUID:
				uid = it.UID
			case imapclient.FetchItemDataRFC822Size:
				size = it.Size
			case imapclient.FetchItemDataBodySection:
				if it.Literal != nil {
					if _, err := hh.ReadFrom(it.Literal); err != nil {
						return broken(err)
					}
					if _, err := io.Copy(io.Discard, it.Literal); err != nil {
						return broken(err)
					}
				}
			}
		}
		id := hh.Identity(size)
		set.add(id)
		if set.uids != nil && uid != 0 {
			set.uids[id.Fingerprint] = append(set.uids[id.Fingerprint], uid)
		}
	}
	if err := cmd.Close(); err != nil {
		return err
	}
	return ctx.Err()
}
