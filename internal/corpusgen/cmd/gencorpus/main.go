// Command gencorpus writes a deterministic benchmark corpus: DIR/Bench, a
// Thunderbird-style mbox, and DIR/maildir, the same messages as a Maildir.
//
//	go run ./internal/corpusgen/cmd/gencorpus -n 5000 -out /tmp/corpus
//	go run ./internal/corpusgen/cmd/gencorpus -size 50M -seed 7 -out /tmp/small
//	go run ./internal/corpusgen/cmd/gencorpus -n 2000 -mix text -out /tmp/text
//
// It prints one line of key=value facts about what it wrote.
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"mailferry/internal/corpusgen"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	fs := flag.NewFlagSet("gencorpus", flag.ContinueOnError)
	n := fs.Int("n", 0, "number of messages (default 5000 when -size is not given)")
	size := fs.String("size", "", "stop at about this many bytes instead (e.g. 300M, 2G)")
	seed := fs.Uint64("seed", 1, "seed: the same seed gives the same corpus")
	attach := fs.Float64("attachments", corpusgen.DefaultAttachmentRate, "share of messages with a 100 KB-2 MB attachment (negative: none)")
	huge := fs.Int("huge-every", corpusgen.DefaultHugeEvery, "every N-th message is about 10 MB (negative: none)")
	mixName := fs.String("mix", "default", "kind of mail: default (text, attachments, huge ones) or text (plain and HTML, no attachments)")
	out := fs.String("out", "", "directory to write (required; Bench and maildir must not exist in it)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *out == "" || fs.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "gencorpus: need -out DIR and no arguments")
		return 2
	}
	mix, err := corpusgen.ParseMix(*mixName)
	if err != nil {
		fmt.Fprintf(os.Stderr, "gencorpus: -mix: %v\n", err)
		return 2
	}
	opts := corpusgen.Options{Seed: *seed, Messages: *n, AttachmentRate: *attach, HugeEvery: *huge, Mix: mix}
	if *size != "" {
		b, err := parseSize(*size)
		if err != nil {
			fmt.Fprintf(os.Stderr, "gencorpus: -size: %v\n", err)
			return 2
		}
		opts.Bytes = b
	} else if *n == 0 {
		opts.Messages = 5000
	}
	st, err := corpusgen.Write(*out, opts)
	if err != nil {
		fmt.Fprintf(os.Stderr, "gencorpus: %v\n", err)
		return 1
	}
	fmt.Printf("messages=%d bytes=%d imap_bytes=%d mbox_bytes=%d attachments=%d huge=%d largest=%d\n",
		st.Messages, st.Bytes, st.IMAPBytes, st.MboxBytes, st.Attachments, st.Huge, st.Largest)
	return 0
}

// parseSize reads "300M", "2G", "512K" or plain bytes.
func parseSize(s string) (int64, error) {
	mult := int64(1)
	switch strings.ToUpper(s[len(s)-1:]) {
	case "K":
		mult = 1 << 10
	case "M":
		mult = 1 << 20
	case "G":
		mult = 1 << 30
	}
	if mult > 1 {
		s = s[:len(s)-1]
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("%q is not a size like 300M", s)
	}
	return v * mult, nil
}
