package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{
		"1GiB": gib, "1G": gib, "1gb": gib, "512MiB": 512 * mib, "64M": 64 * mib,
		"1048576": mib, "2048KiB": 2 * mib, " 3 GiB ": 3 * gib,
	} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "GiB", "0", "-1GiB", "1.5GiB", "1000", "1KiB", "1XB", "99999999999T"} {
		if got, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) = %d, want an error", in, got)
		}
	}
}

func TestFormatSize(t *testing.T) {
	for in, want := range map[int64]string{gib: "1 GiB", 3 * gib: "3 GiB", 512 * mib: "512 MiB", 1000: "1000 B"} {
		if got := formatSize(in); got != want {
			t.Errorf("formatSize(%d) = %q, want %q", in, got, want)
		}
	}
}

func TestParseDD(t *testing.T) {
	gnu := "1024+0 records in\n1024+0 records out\n1073741824 bytes (1.1 GB, 1.0 GiB) copied, 5.48241 s, 196 MB/s\n"
	r, err := parseDD([]byte(gnu))
	if err != nil || r.bytes != gib || r.elapsed != 5482410*time.Microsecond {
		t.Errorf("GNU dd: %+v, %v", r, err)
	}
	if !strings.HasSuffix(r.summary, "196 MB/s") {
		t.Errorf("summary %q", r.summary)
	}
	busybox := "1024+0 records in\n1024+0 records out\n1073741824 bytes (1.0GB) copied, 2.000000 seconds, 512.0MB/s\n"
	if r, err := parseDD([]byte(busybox)); err != nil || r.bytes != gib || r.elapsed != 2*time.Second {
		t.Errorf("busybox dd: %+v, %v", r, err)
	}
	if _, err := parseDD([]byte("dd: error writing: No space left on device\n")); err == nil {
		t.Error("no summary: want an error")
	}
}

func TestParseStatus(t *testing.T) {
	status := "Name:\tflymodel\nVmPeak:\t 1234 kB\nVmHWM:\t   40960 kB\nVmRSS:\t   20480 kB\nThreads:\t9\n"
	got, err := parseStatus([]byte(status), "VmRSS", "VmHWM")
	if err != nil || got["VmRSS"] != 20*mib || got["VmHWM"] != 40*mib {
		t.Errorf("parseStatus = %v, %v", got, err)
	}
	if _, err := parseStatus([]byte(status), "VmSwap"); err == nil {
		t.Error("missing field: want an error")
	}
}

func TestParseStatCPU(t *testing.T) {
	// pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime …
	stat := "4242 (fly model) S 1 4242 4242 0 -1 4194560 100 0 0 0 150 25 0 0 20 0 9 0\n"
	if got, err := parseStatCPU([]byte(stat)); err != nil || got != 1750*time.Millisecond {
		t.Errorf("parseStatCPU = %v, %v; want 1.75s", got, err)
	}
}

func TestFindMount(t *testing.T) {
	mounts := []byte("/dev/vda / ext4 rw,relatime 0 0\n" +
		"tmpfs /tmp tmpfs rw 0 0\n" +
		"/dev/vdb /srv/my\\040data xfs rw 0 0\n" +
		"/dev/vdc /tmpx ext4 rw 0 0\n")
	for path, want := range map[string]string{
		"/":                "ext4",
		"/work/main":       "ext4",
		"/tmp":             "tmpfs",
		"/tmp/a/b":         "tmpfs",
		"/tmpx/y":          "ext4",
		"/srv/my data/run": "xfs",
		"/srv/my":          "ext4",
	} {
		m, ok := findMount(mounts, path)
		if !ok || m.fsType != want {
			t.Errorf("findMount(%q) = %+v, %v; want %s", path, m, ok, want)
		}
	}
	if m, _ := findMount(mounts, "/srv/my data"); m.point != "/srv/my data" || m.device != "/dev/vdb" {
		t.Errorf("escaped mount point: %+v", m)
	}
}

func TestPatternStream(t *testing.T) {
	p := newPattern()
	const size = 3*patternLen + 12345
	// Read in odd sizes and through WriteTo: the same bytes.
	var viaRead bytes.Buffer
	r := p.reader(size)
	buf := make([]byte, 100_003)
	for {
		n, err := r.Read(buf)
		viaRead.Write(buf[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	var viaWriteTo bytes.Buffer
	if n, err := p.reader(size).WriteTo(&viaWriteTo); err != nil || n != size {
		t.Fatalf("WriteTo = %d, %v", n, err)
	}
	if viaRead.Len() != size || !bytes.Equal(viaRead.Bytes(), viaWriteTo.Bytes()) {
		t.Fatalf("Read gave %d bytes, WriteTo %d, or they differ", viaRead.Len(), viaWriteTo.Len())
	}
	sum := sha256.Sum256(viaRead.Bytes())
	if got := p.sha256(size); got != hex.EncodeToString(sum[:]) {
		t.Errorf("sha256 = %s, want %s", got, hex.EncodeToString(sum[:]))
	}
	if !bytes.Equal(newPattern().block, p.block) {
		t.Error("the pattern is not deterministic")
	}

	// The verifier accepts the stream in any chunking and spots one
	// changed byte.
	v := &verifier{p: p}
	if _, err := io.CopyBuffer(v, bytes.NewReader(viaRead.Bytes()), make([]byte, 77_777)); err != nil || v.n != size {
		t.Fatalf("verifier: %d bytes, %v", v.n, err)
	}
	bad := bytes.Clone(viaRead.Bytes())
	bad[2*patternLen+5] ^= 1
	v = &verifier{p: p}
	if _, err := io.Copy(v, bytes.NewReader(bad)); !errors.Is(err, errContent) {
		t.Fatalf("verifier on altered bytes: %v", err)
	}
}

func TestReportMedians(t *testing.T) {
	mk := func(dd, up, down float64) round {
		return round{
			dd:       ddResult{bytes: 1e9, elapsed: time.Duration(1e9 / dd * float64(time.Second) / 1e6)},
			upload:   transfer{bytes: 1e9, elapsed: time.Duration(1e9 / up * float64(time.Second) / 1e6), peakReset: true, peak: 30 * mib},
			download: transfer{bytes: 1e9, elapsed: time.Duration(1e9 / down * float64(time.Second) / 1e6)},
		}
	}
	r := results{size: gib, client: "raw", rounds: []round{mk(100, 60, 900), mk(300, 250, 400), mk(200, 150, 600)}, loadBefore: "0.1 0 0", loadAfter: "0.2 0 0"}
	var out strings.Builder
	printReport(&out, config{interval: 20 * time.Millisecond}, r)
	for _, want := range []string{
		"| dd conv=fsync 1 GiB | 200 MB/s (median, 100–300) | — |  |",
		"| upload 1 GiB | 150 MB/s (75% of dd; median, 60–250) | ≥ 70% of dd | PASS |",
		"| download 1 GiB (verified) | 600 MB/s (median, 400–900) | ≥ 500 MB/s | PASS |",
		"| server peak RSS during upload | 30.0 MiB | < 100 MiB | PASS |",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}
