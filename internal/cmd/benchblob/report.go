package main

import (
	"fmt"
	"io"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Targets of issue 4.
const (
	uploadShareOfDD = 0.70      // upload rate over dd's
	downloadMinMBps = 500       // verified download, MB/s
	peakRSSLimit    = 100 * mib // server peak RSS during the upload
)

type results struct {
	size                  int64
	client                string
	rounds                []round
	machine               []string
	loadBefore, loadAfter string
}

// round is one dd, upload and download.
type round struct {
	dd       ddResult
	upload   transfer
	download transfer
}

// median of the values of f over the rounds (the mean of the middle two
// for an even count).
func (r results) median(f func(round) float64) float64 {
	v := make([]float64, len(r.rounds))
	for i, rd := range r.rounds {
		v[i] = f(rd)
	}
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// spread prints " (min–max over N rounds)" or "" for one round.
func (r results) spread(f func(round) float64, format string) string {
	if len(r.rounds) < 2 {
		return ""
	}
	lo, hi := f(r.rounds[0]), f(r.rounds[0])
	for _, rd := range r.rounds[1:] {
		lo, hi = min(lo, f(rd)), max(hi, f(rd))
	}
	return fmt.Sprintf(", "+format+"–"+format, lo, hi)
}

// peakRSS is the server's peak resident memory during the uploads: VmHWM
// when it was reset just before each, else the largest sample.
func (r results) peakRSS() (int64, string) {
	var peak int64
	how := "VmHWM, reset before each upload"
	for _, rd := range r.rounds {
		u := rd.upload
		if u.peakReset {
			peak = max(peak, u.peak, u.rssSampled)
		} else {
			peak = max(peak, u.rssSampled)
			how = "largest VmRSS sample: VmHWM could not be reset and includes the start"
		}
	}
	return peak, how
}

func verdict(ok bool) string {
	if ok {
		return "PASS"
	}
	return "MISS"
}

func mibString(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/mib) }

func seconds(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%.3f s", d.Seconds())
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}

// cpuShare prints CPU time and its share of the wall time; the share only
// when the request lasted long enough for /proc's 10 ms ticks.
func cpuShare(cpu, wall time.Duration) string {
	if wall < 500*time.Millisecond {
		return fmt.Sprintf("%.2f s", cpu.Seconds())
	}
	return fmt.Sprintf("%.2f s (%.0f%% of one core)", cpu.Seconds(), cpu.Seconds()/wall.Seconds()*100)
}

func printReport(w io.Writer, cfg config, r results) {
	var (
		size     = formatSize(r.size)
		ddRate   = func(rd round) float64 { return rd.dd.mbps() }
		upRate   = func(rd round) float64 { return rd.upload.mbps() }
		downRate = func(rd round) float64 { return rd.download.mbps() }
		dd       = r.median(ddRate)
		up       = r.median(upRate)
		down     = r.median(downRate)
		share    = up / dd
	)
	peak, peakHow := r.peakRSS()
	what := "median"
	if len(r.rounds) == 1 {
		what = "one round"
	}
	rows := [][4]string{
		{"dd conv=fsync " + size, fmt.Sprintf("%.0f MB/s (%s%s)", dd, what, r.spread(ddRate, "%.0f")), "—", ""},
		{"upload " + size, fmt.Sprintf("%.0f MB/s (%.0f%% of dd; %s%s)", up, share*100, what, r.spread(upRate, "%.0f")),
			fmt.Sprintf("≥ %.0f%% of dd", uploadShareOfDD*100), verdict(share >= uploadShareOfDD)},
		{"download " + size + " (verified)", fmt.Sprintf("%.0f MB/s (%s%s)", down, what, r.spread(downRate, "%.0f")),
			fmt.Sprintf("≥ %d MB/s", downloadMinMBps), verdict(down >= downloadMinMBps)},
		{"server peak RSS during upload", mibString(peak),
			fmt.Sprintf("< %d MiB", peakRSSLimit/mib), verdict(peak < peakRSSLimit)},
	}
	fmt.Fprintf(w, "## Artifact transfer: %s on the filesystem store, %d round(s)\n\n", size, len(r.rounds))
	fmt.Fprintln(w, "| measure | value | target | result |")
	fmt.Fprintln(w, "|---|---:|---|---|")
	for _, row := range rows {
		fmt.Fprintf(w, "| %s |\n", strings.Join(row[:], " | "))
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Rounds (MB = 10^6 bytes; upload: %s client, wall time to the 201; download: every byte compared in the client, the server hashes as it streams):\n\n", r.client)
	fmt.Fprintln(w, "| round | dd | upload | server CPU | client CPU | download | server CPU | client CPU | server RSS before → peak |")
	fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for i, rd := range r.rounds {
		u, d := rd.upload, rd.download
		peak := u.rssSampled
		if u.peakReset {
			peak = max(peak, u.peak)
		}
		fmt.Fprintf(w, "| %d | %.0f MB/s, %s | %.0f MB/s, %s | %s | %.2f s | %.0f MB/s, %s | %s | %.2f s | %s → %s |\n",
			i+1, rd.dd.mbps(), seconds(rd.dd.elapsed),
			u.mbps(), seconds(u.elapsed), cpuShare(u.serverCPU, u.elapsed), u.clientCPU.Seconds(),
			d.mbps(), seconds(d.elapsed), cpuShare(d.serverCPU, d.elapsed), d.clientCPU.Seconds(),
			mibString(u.rssBefore), mibString(peak))
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Peak RSS: %s; VmRSS sampled every %s as well.\n", peakHow, cfg.interval)
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Machine:")
	for _, m := range r.machine {
		fmt.Fprintf(w, "- %s\n", m)
	}
	note := ""
	if busy(r.loadBefore) || busy(r.loadAfter) {
		note = ": other work was running on the machine, the figures are noisy"
	}
	fmt.Fprintf(w, "- load average (1, 5, 15 min): %s before, %s after%s\n", r.loadBefore, r.loadAfter, note)
}

// busy reports whether a load average's first figure is at least half a
// task per CPU, when the benchmark alone accounts for about that.
func busy(load string) bool {
	f, err := strconv.ParseFloat(strings.Fields(load + " x")[0], 64)
	return err == nil && f >= float64(runtime.NumCPU())/2
}
