//go:build !linux

package thunderbird

// kernelFS names the kernel file system dir lies on; only Linux mounts
// them where a path could lead (elsewhere the fixed paths suffice).
func kernelFS(string) string { return "" }
