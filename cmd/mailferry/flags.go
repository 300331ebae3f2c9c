package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// stringList is a repeatable string flag (--include A --include B).
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// newFlagSet returns a flag set whose usage prints the command's manual.
func newFlagSet(name, manual string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), manual)
		if fs.Lookup("log") != nil { // see outputFlags
			fmt.Fprint(fs.Output(), "\n"+outputHelp)
		}
		fmt.Fprintln(fs.Output(), "\nFlags:")
		fs.PrintDefaults()
		fmt.Fprint(fs.Output(), "\n"+exitCodesHelp)
	}
	return fs
}

// parseArgs parses flags that may come before or after the positional
// arguments ("upload SOURCE --to URL" as well as "upload --to URL SOURCE")
// and returns the positional ones. --help prints the manual on stdout (so
// that it can be paged) and returns flag.ErrHelp; flag errors go to the
// flag set's output (stderr).
func parseArgs(fs *flag.FlagSet, args []string, stdout io.Writer) ([]string, error) {
	for _, a := range args {
		if a == "--" {
			break
		}
		if a == "-h" || a == "-help" || a == "--help" {
			fs.SetOutput(stdout)
			fs.Usage()
			return nil, flag.ErrHelp
		}
	}
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		if rest[0] == "--" {
			return append(positional, rest[1:]...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}
