// Command benchblob measures artifact uploads and downloads on the
// filesystem blob store through a real `flymodel serve` process, beside
// `dd conv=fsync` of the same size to the same disk in the same run, and
// the server's peak resident memory during the upload. It prints a
// Markdown table with PASS or MISS per target, and machine details.
//
//	go run ./internal/cmd/benchblob                  # 1 GiB in a temporary folder
//	go run ./internal/cmd/benchblob -size 256MiB -dir /srv/scratch
//	make bench-artifacts BENCH_FLAGS='-size 2GiB'
//
// It builds the flymodel binary, starts `serve -p 0` as a separate process
// in a fresh folder (so the data goes to ./flymodel-data there: SQLite and
// the filesystem store), creates a namespace, model and version over HTTP,
// then:
//
//   - dd: `dd if=/dev/zero of=DIR/dd.bin bs=1M count=N conv=fsync`, the
//     disk's rate for a write that ends with an fsync, as an upload does;
//   - upload: PUT …/artifacts/{name} of a deterministic stream (a 1 MiB
//     pseudo-random block repeated) with its Digest, written on a raw
//     loopback connection in 1 MiB writes so the client costs little; the
//     rate is the wall time of the request, to the 201 (the server hashes,
//     writes, fsyncs, renames and commits the metadata before answering);
//     the server's VmRSS is sampled every 20 ms and its VmHWM read at the
//     end (reset before the upload through /proc/PID/clear_refs);
//   - download: GET of the same path, which the server hashes as it
//     streams; the client checks the status, the length, the Digest header
//     and every byte against the generator (a comparison, not a hash).
//
// MB is 10^6 bytes, as dd prints it. The download reads a file written a
// moment before, so it comes from the page cache: it measures the server,
// not the disk. The exit status is non-zero when a step or request failed,
// not when a target is missed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case errors.Is(err, errUsage):
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "benchblob:", err)
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

const (
	mib = 1 << 20
	gib = 1 << 30
	// defaultMaxUpload is the server's default server.max_upload_bytes;
	// a larger -size raises it for the benchmark's server.
	defaultMaxUpload = 5 * gib
)

type config struct {
	size     int64
	dir      string
	keep     bool
	timeout  time.Duration
	goTool   string
	client   string // raw or nethttp
	interval time.Duration
	runs     int
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("benchblob", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := config{size: gib}
	fs.Func("size", "artifact `size`, a multiple of 1 MiB: 1GiB, 512MiB, 2G (binary) or bytes (default 1GiB)", func(s string) error {
		n, err := parseSize(s)
		if err != nil {
			return err
		}
		c.size = n
		return nil
	})
	fs.StringVar(&c.dir, "dir", "", "`folder` under which the run's folder is made: the disk measured (default: the temporary folder unless it is in memory, else the user cache folder, else the module root)")
	fs.BoolVar(&c.keep, "keep", false, "keep the run's folder (binary, database, blobs, server log) instead of removing it")
	fs.DurationVar(&c.timeout, "timeout", 20*time.Minute, "bound on the whole run, build included")
	fs.StringVar(&c.goTool, "go", "go", "the go `command` that builds the server")
	fs.StringVar(&c.client, "client", "raw", "upload client: raw (hand-written HTTP/1.1 on a connection, 1 MiB writes) or nethttp (net/http's transport, which copies bodies in 32 KiB writes)")
	fs.IntVar(&c.runs, "runs", 3, "rounds of dd, upload and download; the table shows medians")
	fs.DurationVar(&c.interval, "rss-interval", 20*time.Millisecond, "how often the server's VmRSS is sampled")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: benchblob [flags]\n\nUpload and download of one artifact on the filesystem store of a real\nflymodel server, beside dd conv=fsync on the same disk; prints a Markdown table.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, err
		}
		return c, errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "benchblob: unexpected arguments %q\n", fs.Args())
		return c, errUsage
	}
	if c.client != "raw" && c.client != "nethttp" {
		fmt.Fprintf(stderr, "benchblob: -client must be raw or nethttp, not %q\n", c.client)
		return c, errUsage
	}
	if c.timeout <= 0 || c.interval <= 0 || c.runs <= 0 {
		fmt.Fprintln(stderr, "benchblob: -timeout, -rss-interval and -runs must be positive")
		return c, errUsage
	}
	return c, nil
}

// parseSize reads "1GiB", "512MiB", "64M", "1073741824": binary units
// whatever the spelling (K, KB, KiB are all 1024), a positive multiple of
// 1 MiB (dd writes it in 1 MiB blocks).
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	num := strings.TrimRightFunc(t, func(r rune) bool { return r < '0' || r > '9' })
	unit := strings.ToLower(strings.TrimSpace(t[len(num):]))
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("size %q: want a number and a unit, e.g. 1GiB", s)
	}
	var mult int64
	switch unit {
	case "", "b":
		mult = 1
	case "k", "kb", "kib":
		mult = 1 << 10
	case "m", "mb", "mib":
		mult = mib
	case "g", "gb", "gib":
		mult = gib
	case "t", "tb", "tib":
		mult = 1 << 40
	default:
		return 0, fmt.Errorf("size %q: unknown unit %q", s, unit)
	}
	if n <= 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("size %q: out of range", s)
	}
	n *= mult
	if n%mib != 0 {
		return 0, fmt.Errorf("size %q: must be a multiple of 1 MiB", s)
	}
	return n, nil
}

// formatSize prints a size in the largest binary unit that divides it.
func formatSize(n int64) string {
	switch {
	case n%gib == 0:
		return fmt.Sprintf("%d GiB", n/gib)
	case n%mib == 0:
		return fmt.Sprintf("%d MiB", n/mib)
	}
	return fmt.Sprintf("%d B", n)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	if len(args) > 0 && args[0] == "promote" {
		return runPromote(ctx, args[1:], stdout, stderr)
	}
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	logf := func(format string, a ...any) {
		fmt.Fprintf(stderr, "benchblob: "+format+"\n", a...)
	}

	root, err := moduleRoot(ctx, cfg.goTool)
	if err != nil {
		return err
	}
	base := cfg.dir
	if base == "" {
		if base, err = pickBase(root); err != nil {
			return err
		}
	} else if err := os.MkdirAll(base, 0o755); err != nil {
		return err
	}
	if err := checkFree(base, cfg.size, cfg.runs); err != nil {
		return err
	}
	work, err := os.MkdirTemp(base, ".benchblob-")
	if err != nil {
		return err
	}
	defer func() {
		if cfg.keep {
			logf("kept %s", work)
			return
		}
		if rerr := os.RemoveAll(work); rerr != nil {
			err = errors.Join(err, fmt.Errorf("remove the run's folder: %w", rerr))
		}
	}()

	logf("building the server in %s", root)
	bin, err := buildServer(ctx, cfg.goTool, root, work)
	if err != nil {
		return err
	}
	var env []string
	if cfg.size > defaultMaxUpload {
		env = append(env, fmt.Sprintf("FLYMODEL_SERVER_MAX_UPLOAD_BYTES=%d", cfg.size))
	}
	srv, err := startServer(ctx, bin, work, env)
	if err != nil {
		return err
	}
	defer func() {
		if serr := srv.stop(30 * time.Second); serr != nil {
			err = errors.Join(err, serr)
		}
		if err != nil {
			fmt.Fprintf(stderr, "server log (last lines):\n%s", srv.logTail())
		}
	}()
	logf("server pid %d at %s, data in %s", srv.pid(), srv.addr, srv.dataDir)

	res, err := measure(ctx, cfg, srv, work, logf)
	if err != nil {
		return err
	}
	res.machine = machineInfo(work)
	printReport(stdout, cfg, res)
	return nil
}

// measure runs cfg.runs rounds of the three measurements, in order: dd,
// upload (a new artifact each round), download of that artifact.
func measure(ctx context.Context, cfg config, srv *server, work string, logf func(string, ...any)) (results, error) {
	res := results{size: cfg.size, client: cfg.client, loadBefore: loadAverage()}
	c := newAPIClient(srv.addr)
	if err := c.createVersion(ctx); err != nil {
		return res, err
	}

	gen := newPattern()
	logf("hashing the %s stream", formatSize(cfg.size))
	digest := gen.sha256(cfg.size)

	for i := range cfg.runs {
		logf("round %d/%d: dd %s conv=fsync", i+1, cfg.runs, formatSize(cfg.size))
		dd, err := runDD(ctx, work, cfg.size)
		if err != nil {
			return res, err
		}
		name := fmt.Sprintf("model-%d.bin", i+1)
		logf("round %d/%d: upload %s (%s client)", i+1, cfg.runs, name, cfg.client)
		up, err := c.upload(ctx, cfg, srv, name, gen, digest)
		if err != nil {
			return res, err
		}
		logf("round %d/%d: download %s", i+1, cfg.runs, name)
		down, err := c.download(ctx, srv, name, gen, cfg.size, digest)
		if err != nil {
			return res, err
		}
		res.rounds = append(res.rounds, round{dd: dd, upload: up, download: down})
	}
	res.loadAfter = loadAverage()
	return res, nil
}
