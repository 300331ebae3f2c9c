package oauth

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"time"
)

// ErrNoBrowser means there is no graphical session to open a browser in
// (an SSH session, a server): the user opens the printed address.
var ErrNoBrowser = errors.New("no graphical session to open a browser in")

// OpenBrowser opens url in the user's default browser, for
// BrowserOptions.Open: open(1) on macOS, the URL handler of rundll32 on
// Windows, xdg-open elsewhere. The address holds no secret (PKCE sends
// only the challenge), so it may be an argument. Without DISPLAY or
// WAYLAND_DISPLAY on Linux and the BSDs it does not try (xdg-open would
// start a text browser on the terminal mailferry is using).
func OpenBrowser(url string) error {
	return openBrowser(runtime.GOOS, os.Getenv, url)
}

func openBrowser(goos string, getenv func(string) string, url string) error {
	var cmd *exec.Cmd
	switch goos {
	case "darwin":
		cmd = exec.Command("open", url)
	case "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", url)
	default:
		if getenv("DISPLAY") == "" && getenv("WAYLAND_DISPLAY") == "" {
			return ErrNoBrowser
		}
		cmd = exec.Command("xdg-open", url)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("open a browser: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	// Openers hand the address to the browser and exit; one that fails
	// (no browser configured) does so at once. One still running after a
	// few seconds is taken to have worked.
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("open a browser: %s: %w", cmd.Args[0], err)
		}
	case <-time.After(5 * time.Second):
	}
	return nil
}
