package mapi

import (
	"strings"
)

// header returns the message's header fields (each rendered, ending in
// CRLF) and the stored header's Content-Type, if any.
func (c *converter) header(m Message, cp int, prefix string) ([]string, string, error) {
	th, ok, err := getString(m, PidTagTransportMessageHeaders, cp)
	if err != nil {
		return nil, "", err
	}
	var raw []rawField
	dropped := 0
	if ok {
		raw, dropped = parseRawHeader(th)
	}
	useful := false
	for _, f := range raw {
		switch strings.ToLower(f.name) {
		case "from", "date", "received", "subject", "to", "message-id":
			useful = true
		}
	}
	if !useful {
		if ok && strings.TrimSpace(th) != "" {
			c.notes.add(NoteHeaderRebuilt, prefix, "the stored header has no usable fields; the header was rebuilt from the message's properties")
		} else {
			c.notes.add(NoteHeaderRebuilt, prefix, "no original header stored; the header was rebuilt from the message's properties")
		}
		fields, err := c.propFields(m, cp, prefix, nil)
		return fields, "", err
	}
	var fields []string
	have := map[string]bool{}
	origType := ""
	cut := false
	for _, f := range raw {
		name := strings.ToLower(f.name)
		if name == "content-type" && origType == "" {
			origType = f.value()
		}
		if contentField(f.name) {
			continue
		}
		have[name] = true
		s, c := f.render()
		cut = cut || c
		fields = append(fields, s)
	}
	if dropped > 0 {
		c.notes.add(NoteHeaderRepaired, prefix, "%d lines of the stored header were not header fields and were dropped", dropped)
	}
	if cut {
		c.notes.add(NoteHeaderRepaired, prefix, "a stored header line longer than 998 characters was cut")
	}
	add, err := c.propFields(m, cp, prefix, have)
	if err != nil {
		return nil, "", err
	}
	return append(fields, add...), origType, nil
}

// propFields makes header fields from properties. With have == nil it
// makes the whole header; otherwise only Date, From, Subject and
// Message-ID, when have lacks them (noting each).
func (c *converter) propFields(m Message, cp int, prefix string, have map[string]bool) ([]string, error) {
	full := have == nil
	want := func(name string) bool { return full || !have[strings.ToLower(name)] }
	var fields []string
	added := func(name, value string) {
		fields = append(fields, field(name, value))
		if !full {
			c.notes.add(NoteHeaderAdded, prefix, "the stored header had no %s field; it was added from the message's properties", name)
		}
	}
	if want("Date") {
		for _, id := range []PropID{PidTagClientSubmitTime, PidTagMessageDeliveryTime, PidTagCreationTime} {
			t, ok, err := getTime(m, id)
			if err != nil {
				return nil, err
			}
			if ok {
				added("Date", formatDate(t))
				break
			}
		}
	}
	if want("From") {
		from, sender, err := c.senders(m, cp, prefix)
		if err != nil {
			return nil, err
		}
		if from != nil {
			added("From", from.render())
		}
		if full && sender != nil {
			fields = append(fields, field("Sender", sender.render()))
		}
	}
	if full {
		to, cc, bcc, err := c.recipients(m, cp, prefix)
		if err != nil {
			return nil, err
		}
		for _, l := range []struct {
			name string
			as   []address
		}{{"To", to}, {"Cc", cc}, {"Bcc", bcc}} {
			if len(l.as) > 0 {
				fields = append(fields, field(l.name, addressList(l.as)))
			}
		}
	}
	if want("Subject") {
		s, ok, err := getString(m, PidTagSubject, cp)
		if err != nil {
			return nil, err
		}
		if !ok {
			pre, _, err := getString(m, PidTagSubjectPrefix, cp)
			if err != nil {
				return nil, err
			}
			norm, _, err := getString(m, PidTagNormalizedSubject, cp)
			if err != nil {
				return nil, err
			}
			s = pre + norm
		}
		if s = cleanLine(s); s != "" {
			added("Subject", unstructured(s))
		}
	}
	ids := []struct {
		name string
		id   PropID
	}{{"Message-ID", PidTagInternetMessageID}, {"In-Reply-To", PidTagInReplyToID}, {"References", PidTagInternetReferences}}
	for _, f := range ids {
		if f.name != "Message-ID" && !full || !want(f.name) {
			continue
		}
		s, ok, err := getString(m, f.id, cp)
		if err != nil {
			return nil, err
		}
		if s = msgIDs(s); ok && s != "" {
			added(f.name, s)
		}
	}
	return fields, nil
}

// msgIDs cleans a stored Message-ID, In-Reply-To or References value:
// one line, ASCII, each ID in angle brackets.
func msgIDs(s string) string {
	s = cleanLine(s)
	var ids []string
	for _, id := range strings.Fields(strings.NewReplacer(",", " ").Replace(s)) {
		if !isPlainASCII(id) {
			continue
		}
		if !strings.HasPrefix(id, "<") {
			id = "<" + id
		}
		if !strings.HasSuffix(id, ">") {
			id += ">"
		}
		if len(id) > 2 {
			ids = append(ids, id)
		}
	}
	return strings.Join(ids, " ")
}

// person reads one party's name and SMTP address from the given
// properties.
func person(p Properties, cp int, nameIDs []PropID, typeID, emailID, smtpID PropID, entryIDs []PropID) (address, error) {
	var a address
	for _, id := range nameIDs {
		s, ok, err := getString(p, id, cp)
		if err != nil {
			return a, err
		}
		if ok {
			a.Name = cleanLine(s)
			break
		}
	}
	smtp, ok, err := getString(p, smtpID, cp)
	if err != nil {
		return a, err
	}
	if ok && plausibleAddr(strings.TrimSpace(smtp)) {
		a.Addr = strings.TrimSpace(smtp)
		return a, nil
	}
	typ, _, err := getString(p, typeID, cp)
	if err != nil {
		return a, err
	}
	email, _, err := getString(p, emailID, cp)
	if err != nil {
		return a, err
	}
	email = strings.TrimSpace(email)
	if (strings.EqualFold(typ, "SMTP") || typ == "" && !strings.HasPrefix(email, "/")) && plausibleAddr(email) {
		a.Addr = email
		return a, nil
	}
	for _, id := range entryIDs {
		v, ok, err := p.Get(id)
		if err != nil {
			return a, err
		}
		if !ok {
			continue
		}
		name, t, addr, ok := parseOneOff(v.Data)
		if ok && strings.EqualFold(t, "SMTP") && plausibleAddr(addr) {
			if a.Name == "" {
				a.Name = cleanLine(name)
			}
			a.Addr = addr
			return a, nil
		}
	}
	return a, nil
}

// senders returns From (the represented sender, else the sender) and
// Sender (the sender, when it differs from From); nil when absent.
func (c *converter) senders(m Message, cp int, prefix string) (from, sender *address, err error) {
	rep, err := person(m, cp, []PropID{PidTagSentRepresentingName}, PidTagSentRepresentingAddressType,
		PidTagSentRepresentingEmailAddress, PidTagSentRepresentingSMTPAddress, []PropID{PidTagSentRepresentingEntryID})
	if err != nil {
		return nil, nil, err
	}
	snd, err := person(m, cp, []PropID{PidTagSenderName}, PidTagSenderAddressType,
		PidTagSenderEmailAddress, PidTagSenderSMTPAddress, []PropID{PidTagSenderEntryID})
	if err != nil {
		return nil, nil, err
	}
	hasRep := rep.Name != "" || rep.Addr != ""
	hasSnd := snd.Name != "" || snd.Addr != ""
	switch {
	case hasRep:
		from = &rep
		if rep.Addr == "" && snd.Addr != "" && (rep.Name == "" || rep.Name == snd.Name) {
			from = &snd
		}
		if hasSnd && snd.Addr != "" && from.Addr != "" && !strings.EqualFold(snd.Addr, from.Addr) {
			sender = &snd
		}
	case hasSnd:
		from = &snd
	default:
		return nil, nil, nil
	}
	if from.Addr == "" {
		c.notes.add(NoteNoAddress, prefix, "the sender “%s” has no e-mail address in the message (only an Exchange address); From shows the name only", from.Name)
	}
	return from, sender, nil
}

// recipients reads the recipient table into To, Cc and Bcc. Without a
// table, the display lists (PidTagDisplayTo, ...) give names only.
func (c *converter) recipients(m Message, cp int, prefix string) (to, cc, bcc []address, err error) {
	rows, err := m.Recipients()
	if err != nil {
		return nil, nil, nil, err
	}
	noAddr := 0
	for _, r := range rows {
		a, err := person(r, cp, []PropID{PidTagDisplayName, PidTagRecipientDisplayName, PidTagTransmittableDisplayName},
			PidTagAddressType, PidTagEmailAddress, PidTagSMTPAddress, []PropID{PidTagEntryID, PidTagRecipientEntryID})
		if err != nil {
			return nil, nil, nil, err
		}
		if a.Name == "" && a.Addr == "" {
			continue
		}
		if a.Addr == "" {
			noAddr++
		}
		typ, ok, err := getInt(r, PidTagRecipientType)
		if err != nil {
			return nil, nil, nil, err
		}
		if !ok {
			typ = RecipientTo
		}
		switch typ &^ RecipientResend {
		case RecipientCc:
			cc = append(cc, a)
		case RecipientBcc:
			bcc = append(bcc, a)
		case RecipientOriginator:
			// the sender's own row in some stores: not a recipient
		default:
			to = append(to, a)
		}
	}
	if len(rows) == 0 {
		for _, l := range []struct {
			id   PropID
			list *[]address
		}{{PidTagDisplayTo, &to}, {PidTagDisplayCc, &cc}, {PidTagDisplayBcc, &bcc}} {
			s, _, err := getString(m, l.id, cp)
			if err != nil {
				return nil, nil, nil, err
			}
			for _, name := range strings.Split(s, ";") {
				if name = cleanLine(name); name != "" {
					*l.list = append(*l.list, address{Name: name})
					noAddr++
				}
			}
		}
	}
	if noAddr > 0 {
		c.notes.add(NoteNoAddress, prefix, "%d recipients have no e-mail address in the message (only an Exchange address or a name); they are listed by name", noAddr)
	}
	return to, cc, bcc, nil
}
