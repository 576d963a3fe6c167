package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
)

// mount is one line of /proc/mounts.
type mount struct {
	device, point, fsType, options string
}

// mountOf returns the mount that holds path (after resolving links).
func mountOf(path string) (mount, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return mount{}, err
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		abs = r
	}
	b, err := os.ReadFile("/proc/mounts")
	if err != nil {
		return mount{}, fmt.Errorf("which disk holds %s: %w", path, err)
	}
	m, ok := findMount(b, abs)
	if !ok {
		return mount{}, fmt.Errorf("which disk holds %s: no mount in /proc/mounts", path)
	}
	return m, nil
}

// findMount picks the longest mount point that contains path; of several
// mounts on one point, the last one (the one on top).
func findMount(procMounts []byte, path string) (mount, bool) {
	var best mount
	found := false
	for line := range bytes.Lines(procMounts) {
		f := strings.Fields(string(line))
		if len(f) < 4 {
			continue
		}
		m := mount{device: unescapeMount(f[0]), point: unescapeMount(f[1]), fsType: f[2], options: f[3]}
		if !within(path, m.point) {
			continue
		}
		if !found || len(m.point) >= len(best.point) {
			best, found = m, true
		}
	}
	return best, found
}

func within(path, dir string) bool {
	if dir == "/" {
		return strings.HasPrefix(path, "/")
	}
	return path == dir || strings.HasPrefix(path, dir+"/")
}

// unescapeMount undoes /proc/mounts' octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// machineInfo describes the machine and the disk that work is on.
func machineInfo(work string) []string {
	var out []string
	cpu := firstValue("/proc/cpuinfo", "model name")
	if cpu == "" {
		cpu = runtime.GOARCH
	}
	out = append(out, fmt.Sprintf("CPU: %s, %d logical CPUs (GOMAXPROCS %d)", cpu, runtime.NumCPU(), runtime.GOMAXPROCS(0)))
	if mem := firstValue("/proc/meminfo", "MemTotal"); mem != "" {
		if kb, err := strconv.ParseInt(strings.TrimSuffix(mem, " kB"), 10, 64); err == nil {
			mem = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
		}
		out = append(out, "memory: "+mem)
	}
	if rel, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		out = append(out, "kernel: Linux "+strings.TrimSpace(string(rel)))
	}
	if m, err := mountOf(work); err == nil {
		out = append(out, fmt.Sprintf("disk: %s (%s, %s) mounted on %s; run folder %s",
			m.device, m.fsType, m.options, m.point, work))
	} else {
		out = append(out, "disk: "+err.Error())
	}
	out = append(out, fmt.Sprintf("Go: %s %s/%s (the benchmark; the server is built by the same go command)",
		runtime.Version(), runtime.GOOS, runtime.GOARCH))
	out = append(out, "the download reads a file written moments before, so from the page cache: it measures the server, not the disk")
	return out
}

// firstValue returns the value of the first "key: value" line of a /proc
// file with that key.
func firstValue(file, key string) string {
	b, err := os.ReadFile(file)
	if err != nil {
		return ""
	}
	for line := range bytes.Lines(b) {
		k, v, ok := strings.Cut(string(line), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// loadAverage is the first three fields of /proc/loadavg.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
