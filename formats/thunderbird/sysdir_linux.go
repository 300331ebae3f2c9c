package thunderbird

import "syscall"

// Magic numbers of kernel file systems (statfs(2), linux/magic.h).
var kernelFSMagic = map[int64]string{
	0x9fa0:     "procfs",
	0x62656572: "sysfs",
	0x1cd1:     "devpts",
	0x64626720: "debugfs",
	0x74726163: "tracefs",
	0x73636673: "securityfs",
	0x27e0eb:   "cgroupfs",
	0x63677270: "cgroup2fs",
	0x6e736673: "nsfs",
	0xcafe4a11: "bpffs",
}

// kernelFS names the kernel file system dir lies on, or "".
func kernelFS(dir string) string {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return ""
	}
	return kernelFSMagic[int64(st.Type)]
}
