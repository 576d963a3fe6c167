//go:build !linux || arm

package fsblob

import "os"

// startWriteback is a no-op where sync_file_range is missing: the final
// fsync writes everything.
func startWriteback(f *os.File, off, n int64) {}
