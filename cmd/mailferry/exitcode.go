package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"mailferry/upload"
)

// exitCodes is the one table of mailferry's exit codes: scripts rely on
// them; --help, the README and the guided run describe them from here.
var exitCodes = []struct {
	code    int
	meaning string
}{
	{exitOK, "everything done; for upload and verify: every message is on the server"},
	{exitFailure, "failed: a verification mismatch or a fatal error (a re-run resumes)"},
	{exitUsage, "usage or configuration error: bad flags or URL, wrong password, unreadable source"},
	{exitIncomplete, "finished, but some messages did not arrive as complete copies of the source\n" +
		"(quarantined after the server refused them, or incomplete in the source itself);\n" +
		"the summary and the report list them"},
	{exitLater, "stopped because the server asks to come back later (the provider's upload limit for the\n" +
		"day is used up, or it kept asking to slow down): run the same command again later;\n" +
		"it continues where it stopped"},
	{exitInterrupted, "interrupted (Ctrl-C, SIGTERM, or the terminal window closed); run the same\ncommand again to resume"},
}

// Exit codes.
const (
	exitOK          = 0
	exitFailure     = 1
	exitUsage       = 2
	exitIncomplete  = 3
	exitLater       = 4
	exitInterrupted = 130
)

// exitCodesHelp lists the exit codes for --help.
var exitCodesHelp = func() string {
	var b strings.Builder
	b.WriteString("Exit codes:\n")
	for _, c := range exitCodes {
		lines := strings.Split(c.meaning, "\n")
		fmt.Fprintf(&b, "  %-4d %s\n", c.code, lines[0])
		for _, l := range lines[1:] {
			fmt.Fprintf(&b, "       %s\n", l)
		}
	}
	return b.String()
}()

// exitCode maps an error to the exit code, in one place (the commands and
// the guided run all end here).
func exitCode(err error) int {
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, context.Canceled):
		return exitInterrupted
	case errors.Is(err, errUsage), errors.Is(err, upload.ErrConfig), errors.Is(err, upload.ErrAuth):
		return exitUsage
	case errors.Is(err, upload.ErrIncomplete):
		return exitIncomplete
	case errors.Is(err, upload.ErrDailyLimit), errors.Is(err, upload.ErrThrottled):
		return exitLater
	default:
		return exitFailure
	}
}
