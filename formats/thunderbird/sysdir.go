package thunderbird

import (
	"path/filepath"
	"runtime"
	"strings"
)

// systemDirs are directories of the operating system that never hold a
// user's mail: reading in them can block (a FIFO, /dev/tty, /proc/kmsg)
// or make folders of kernel files.
var systemDirs = []string{"/proc", "/sys", "/dev", "/run"}

// systemDir reports whether dir is a system directory or lies on a
// kernel file system (procfs, sysfs, ... mounted anywhere), with why.
func systemDir(dir string) (bool, string) {
	if runtime.GOOS != "windows" {
		clean := filepath.Clean(dir)
		for _, s := range systemDirs {
			if clean == s || strings.HasPrefix(clean, s+"/") {
				return true, s + " is a system directory, not mail"
			}
		}
	}
	if fsName := kernelFS(dir); fsName != "" {
		return true, "it lies on " + fsName + ", a kernel file system, not mail"
	}
	return false, ""
}
