//go:build !windows

package oauth

import "errors"

// credentialManager exists on Windows only; OpenStore never returns it
// elsewhere.
type credentialManager struct{}

var errNotWindows = errors.New("the Windows Credential Manager exists on Windows only")

func (credentialManager) Where() string                { return "the Windows Credential Manager" }
func (credentialManager) Save(*Record) error           { return errNotWindows }
func (credentialManager) Load(string) (*Record, error) { return nil, errNotWindows }
func (credentialManager) Delete(string) error          { return errNotWindows }
