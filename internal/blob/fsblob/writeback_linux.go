//go:build linux && !arm

package fsblob

import (
	"os"
	"syscall"
)

const syncFileRangeWrite = 0x2 // SYNC_FILE_RANGE_WRITE: start writeback, do not wait

// startWriteback asks the kernel to start writing [off, off+n) of f to the
// disk now rather than at the final fsync, so that the disk works while
// the rest of the upload is received and hashed. A hint: errors are ignored
// (the fsync that follows is what guarantees durability).
func startWriteback(f *os.File, off, n int64) {
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) {
		_ = syscall.SyncFileRange(int(fd), off, n, syncFileRangeWrite)
	})
}
