//go:build windows

package oauth

import (
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/windows"
)

// credentialManager keeps records in the Windows Credential Manager as
// generic credentials named "mailferry:<address>", through advapi32's
// CredWriteW, CredReadW and CredDeleteW (x/sys/windows has no wrappers).
// The secret passes no command line: it is a call's argument.
type credentialManager struct{}

var (
	advapi32       = windows.NewLazySystemDLL("advapi32.dll")
	procCredWrite  = advapi32.NewProc("CredWriteW")
	procCredRead   = advapi32.NewProc("CredReadW")
	procCredDelete = advapi32.NewProc("CredDeleteW")
	procCredFree   = advapi32.NewProc("CredFree")
)

// credential is CREDENTIALW (wincred.h).
type credential struct {
	Flags              uint32
	Type               uint32
	TargetName         *uint16
	Comment            *uint16
	LastWritten        windows.Filetime
	CredentialBlobSize uint32
	CredentialBlob     *byte
	Persist            uint32
	AttributeCount     uint32
	Attributes         uintptr
	TargetAlias        *uint16
	UserName           *uint16
}

const (
	credTypeGeneric           = 1
	credPersistLocalMachine   = 2
	credMaxCredentialBlobSize = 5 * 512 // CRED_MAX_CREDENTIAL_BLOB_SIZE
)

func (credentialManager) Where() string { return "the Windows Credential Manager" }

func credTarget(account string) (*uint16, error) {
	a, err := accountKey(account)
	if err != nil {
		return nil, err
	}
	return windows.UTF16PtrFromString(keychainService + ":" + a)
}

func (credentialManager) Save(r *Record) error {
	target, err := credTarget(r.Account)
	if err != nil {
		return err
	}
	b, err := encodeRecord(r)
	if err != nil {
		return err
	}
	if len(b) > credMaxCredentialBlobSize {
		return fmt.Errorf("the sign-in is too large for the Windows Credential Manager (%d bytes, at most %d)", len(b), credMaxCredentialBlobSize)
	}
	user, _ := windows.UTF16PtrFromString(normalAccount(r.Account))
	c := credential{
		Type:               credTypeGeneric,
		TargetName:         target,
		CredentialBlobSize: uint32(len(b)),
		CredentialBlob:     &b[0],
		Persist:            credPersistLocalMachine,
		UserName:           user,
	}
	if ok, _, err := procCredWrite.Call(uintptr(unsafe.Pointer(&c)), 0); ok == 0 {
		return fmt.Errorf("store the sign-in in the Windows Credential Manager: %w", err)
	}
	return nil
}

func (credentialManager) Load(account string) (*Record, error) {
	target, err := credTarget(account)
	if err != nil {
		return nil, err
	}
	var pc *credential
	if ok, _, err := procCredRead.Call(uintptr(unsafe.Pointer(target)), credTypeGeneric, 0, uintptr(unsafe.Pointer(&pc))); ok == 0 {
		if errors.Is(err, windows.ERROR_NOT_FOUND) {
			return nil, fmt.Errorf("%w for %s", ErrNotStored, account)
		}
		return nil, fmt.Errorf("read the Windows Credential Manager: %w", err)
	}
	defer procCredFree.Call(uintptr(unsafe.Pointer(pc)))
	b := make([]byte, pc.CredentialBlobSize)
	copy(b, unsafe.Slice(pc.CredentialBlob, pc.CredentialBlobSize))
	return decodeRecord(b, account)
}

func (credentialManager) Delete(account string) error {
	target, err := credTarget(account)
	if err != nil {
		return err
	}
	if ok, _, err := procCredDelete.Call(uintptr(unsafe.Pointer(target)), credTypeGeneric, 0); ok == 0 && !errors.Is(err, windows.ERROR_NOT_FOUND) {
		return fmt.Errorf("delete from the Windows Credential Manager: %w", err)
	}
	return nil
}
