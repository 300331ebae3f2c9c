// Command bulkupload appends every message of a mail source into one
// existing mailbox through upload/bulk (pipelined APPEND with LITERAL+,
// MULTIAPPEND batches), for bench.sh: it shows what the bulk path does on
// the same corpus and server as `mailferry upload`, before and apart from
// the uploader's resume, verify and folder logic.
//
//	bulkupload -to 127.0.0.1:993 -user tester -password-file pw -tls-ca ca.pem -mailbox Bulk SOURCE
//
// Messages are spooled (in memory up to 1 MiB, else in a temporary file)
// while their command is in flight.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"mailferry/formats"
	"mailferry/formats/detect"
	"mailferry/upload/bulk"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "bulkupload: %v\n", err)
		os.Exit(1)
	}
}

// batch is one command on its way and the spools of its messages.
type batch struct {
	cmd    *bulk.Command
	spools []*formats.Spool
}

func run() error {
	addr := flag.String("to", "", "server address for implicit TLS (HOST:PORT)")
	user := flag.String("user", "", "user name")
	pwFile := flag.String("password-file", "", "file holding the password")
	caFile := flag.String("tls-ca", "", "PEM file of the CA to trust")
	mailbox := flag.String("mailbox", "", "existing mailbox to append to")
	maxBatch := flag.Int("batch", 50, "messages per MULTIAPPEND")
	inflight := flag.Int("inflight", 4, "commands in flight")
	flag.Parse()
	if *addr == "" || *mailbox == "" || flag.NArg() != 1 {
		return errors.New("need -to, -mailbox and one SOURCE")
	}
	pw, err := os.ReadFile(*pwFile)
	if err != nil {
		return err
	}
	cfg := &tls.Config{ServerName: strings.Split(*addr, ":")[0], MinVersion: tls.VersionTLS12}
	if *caFile != "" {
		pem, err := os.ReadFile(*caFile)
		if err != nil {
			return err
		}
		cfg.RootCAs = x509.NewCertPool()
		cfg.RootCAs.AppendCertsFromPEM(pem)
	}
	src, err := detect.Open(flag.Arg(0), detect.Auto, formats.Options{})
	if err != nil {
		return err
	}
	defer src.Reader.Close()
	ctx := context.Background()
	if _, err := src.Reader.Mailboxes(ctx); err != nil {
		return err
	}
	conn, err := tls.Dial("tcp", *addr, cfg)
	if err != nil {
		return err
	}
	opts := bulk.Options{MaxBatch: *maxBatch, MaxInFlight: *inflight}
	c, err := bulk.New(conn, opts)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Login(ctx, *user, strings.TrimSpace(string(pw))); err != nil {
		return err
	}
	if _, err := c.Select(ctx, *mailbox); err != nil {
		return err
	}
	n := 1
	if c.MultiAppend() {
		n = *maxBatch
	}
	start := time.Now()
	var queue []batch
	var items []bulk.Item
	var spools []*formats.Spool
	var size int64
	count := 0
	settle := func() error {
		b := queue[0]
		queue = queue[1:]
		_, err := b.cmd.Wait(ctx)
		for _, s := range b.spools {
			s.Close()
		}
		return err
	}
	submit := func() error {
		if len(items) == 0 {
			return nil
		}
		cmd, err := c.Submit(ctx, *mailbox, items)
		if err != nil {
			return err
		}
		queue = append(queue, batch{cmd, spools})
		items, spools, size = nil, nil, 0
		for len(queue) > *inflight {
			if err := settle(); err != nil {
				return err
			}
		}
		return nil
	}
	for {
		m, err := src.Reader.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if m.Skip != "" {
			continue
		}
		sp := formats.NewSpool("", 1<<20)
		rc, err := m.Open()
		if err != nil {
			return err
		}
		_, err = io.Copy(sp, rc)
		rc.Close()
		if err != nil {
			return err
		}
		items = append(items, bulk.Item{Flags: m.Flags, Date: m.Date, Size: sp.Size(), Open: sp.Open})
		spools = append(spools, sp)
		size += sp.Size()
		count++
		if len(items) >= n || size >= 8<<20 {
			if err := submit(); err != nil {
				return err
			}
		}
	}
	if err := submit(); err != nil {
		return err
	}
	for len(queue) > 0 {
		if err := settle(); err != nil {
			return err
		}
	}
	fmt.Printf("appended %d messages in %v (MULTIAPPEND %v, LITERAL+ %v)\n", count, time.Since(start).Round(time.Millisecond), c.MultiAppend(), c.Has("LITERAL+"))
	return c.Logout(ctx)
}
