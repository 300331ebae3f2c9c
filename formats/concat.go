package formats

import (
	"context"
	"errors"
	"io"
)

// Concat returns a reader that yields the mailboxes and then the messages
// of each reader in turn: one stream for a source tree that mixes store
// kinds. Closing it closes them all.
func Concat(readers ...Reader) Reader { return &concat{readers: readers} }

type concat struct {
	readers []Reader
	i       int
}

func (c *concat) Mailboxes(ctx context.Context) ([]*Mailbox, error) {
	var all []*Mailbox
	for _, r := range c.readers {
		b, err := r.Mailboxes(ctx)
		if err != nil {
			return nil, err
		}
		all = append(all, b...)
	}
	return all, nil
}

func (c *concat) Next(ctx context.Context) (*Message, error) {
	for c.i < len(c.readers) {
		m, err := c.readers[c.i].Next(ctx)
		if err != io.EOF {
			return m, err
		}
		c.i++
	}
	return nil, io.EOF
}

func (c *concat) Close() error {
	var errs []error
	for _, r := range c.readers {
		errs = append(errs, r.Close())
	}
	return errors.Join(errs...)
}
