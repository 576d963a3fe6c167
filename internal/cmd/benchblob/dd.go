package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"time"
)

// ddResult is dd's figure: bytes over the seconds dd reports (its own
// clock, from open to after the fsync), or the process's wall time when
// dd's summary cannot be read.
type ddResult struct {
	bytes   int64
	elapsed time.Duration
	summary string // dd's last line
}

func (d ddResult) mbps() float64 { return float64(d.bytes) / 1e6 / d.elapsed.Seconds() }

// runDD writes size bytes of zeros to dir/dd.bin in 1 MiB blocks with a
// final fsync, then removes the file.
func runDD(ctx context.Context, dir string, size int64) (ddResult, error) {
	out := filepath.Join(dir, "dd.bin")
	defer os.Remove(out)
	cmd := exec.CommandContext(ctx, "dd", "if=/dev/zero", "of="+out, "bs=1M",
		fmt.Sprintf("count=%d", size/mib), "conv=fsync")
	cmd.Env = append(os.Environ(), "LC_ALL=C") // "1.23 s", not "1,23 s"
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return ddResult{}, fmt.Errorf("dd: %w: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	res, perr := parseDD(stderr.Bytes())
	if perr != nil {
		res = ddResult{bytes: size, elapsed: wall, summary: perr.Error() + "; timed by benchblob"}
	}
	if res.bytes != size {
		return res, fmt.Errorf("dd wrote %d bytes, want %d: %s", res.bytes, size, res.summary)
	}
	if err := os.Remove(out); err != nil {
		return res, fmt.Errorf("remove dd's file: %w", err)
	}
	return res, nil
}

// ddSummary matches GNU dd's "N bytes (…) copied, S s, R MB/s" and
// busybox's "N bytes (…) copied, S seconds, …".
var ddSummary = regexp.MustCompile(`(?m)^(\d+) bytes .*copied, ([0-9.]+(?:e[-+]?\d+)?) s(?:econds)?,.*$`)

func parseDD(stderr []byte) (ddResult, error) {
	m := ddSummary.FindSubmatch(stderr)
	if m == nil {
		return ddResult{}, errors.New("dd's summary not found")
	}
	n, err := strconv.ParseInt(string(m[1]), 10, 64)
	if err != nil {
		return ddResult{}, err
	}
	s, err := strconv.ParseFloat(string(m[2]), 64)
	if err != nil || s <= 0 {
		return ddResult{}, fmt.Errorf("dd's time %q", m[2])
	}
	return ddResult{bytes: n, elapsed: time.Duration(s * float64(time.Second)), summary: string(bytes.TrimSpace(m[0]))}, nil
}
