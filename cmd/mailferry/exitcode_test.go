package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"mailferry/upload"
)

func TestExitCode(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"nil", nil, 0},
		{"auth", errors.Join(errors.New("x"), upload.ErrAuth), 2},
		{"config", upload.ErrConfig, 2},
		{"usage", usageErrorf("bad flag"), 2},
		{"verify", upload.ErrVerify, 1},
		{"quota", upload.ErrOverQuota, 1},
		{"incomplete", fmt.Errorf("run: %w", upload.ErrIncomplete), 3},
		{"daily limit", fmt.Errorf("stopped: %w", upload.ErrDailyLimit), 4},
		{"throttled", fmt.Errorf("stopped: %w", upload.ErrThrottled), 4},
		{"cancelled", context.Canceled, 130},
		{"other", errors.New("boom"), 1},
	}
	for _, tt := range tests {
		if got := exitCode(tt.err); got != tt.want {
			t.Errorf("%s: exitCode(%v) = %d, want %d", tt.name, tt.err, got, tt.want)
		}
	}
}

// Every exit code of the table is listed in --help, once.
func TestExitCodesHelp(t *testing.T) {
	for _, c := range exitCodes {
		line := fmt.Sprintf("\n  %-4d ", c.code)
		if strings.Count(exitCodesHelp, line) != 1 {
			t.Errorf("exit code %d appears %d times in the help:\n%s", c.code, strings.Count(exitCodesHelp, line), exitCodesHelp)
		}
	}
}
