package main

// `benchblob promote` measures what a state change costs now that it places
// the version's artifacts in the store of the target lifecycle: one version
// holding one large artifact promoted on the filesystem (four stores on
// one disk: a hard link) and on S3 (four buckets of one server: a
// server-side copy), with the seconds and the bytes that passed through
// the process (read and written, from /proc/self/io); then many versions of
// small artifacts promoted in a row: promotions per second. The registry
// runs in this process on SQLite, as `serve` would run it, so its byte
// counters are the server's.
//
//	go run ./internal/cmd/benchblob promote              # 1 GiB, filesystem, and S3 when FLYMODEL_TEST_S3_ENDPOINT is set
//	make bench-promote BENCH_FLAGS='-size 256MiB -versions 20'

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/flymodel/flymodel/internal/blob"
	"github.com/flymodel/flymodel/internal/blob/fsblob"
	"github.com/flymodel/flymodel/internal/blob/s3blob"
	"github.com/flymodel/flymodel/internal/db"
	"github.com/flymodel/flymodel/internal/db/sqlite"
	"github.com/flymodel/flymodel/internal/registry"
)

type promoteConfig struct {
	size               int64
	versions, files    int
	fileSize           int64
	dir                string
	s3Endpoint, region string
}

func runPromote(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("benchblob promote", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := promoteConfig{size: gib, versions: 100, files: 20, fileSize: 4 << 10}
	fs.Func("size", "the large artifact's `size` (default 1GiB)", func(s string) error {
		n, err := parseSize(s)
		c.size = n
		return err
	})
	fs.IntVar(&c.versions, "versions", c.versions, "versions of small artifacts promoted in a row")
	fs.IntVar(&c.files, "files", c.files, "small artifacts per version")
	fs.StringVar(&c.dir, "dir", "", "`folder` for the run (default: the temporary folder)")
	fs.StringVar(&c.s3Endpoint, "s3", os.Getenv("FLYMODEL_TEST_S3_ENDPOINT"), "S3 `endpoint` (keys from FLYMODEL_TEST_S3_ACCESS_KEY/SECRET_KEY); empty: filesystem only")
	fs.StringVar(&c.region, "region", envOr("FLYMODEL_TEST_S3_REGION", "us-east-1"), "S3 region")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	work, err := os.MkdirTemp(c.dir, ".benchpromote-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	fmt.Fprintf(stdout, "| store | measure | value |\n|---|---|---:|\n")
	kinds := []string{"fs"}
	if c.s3Endpoint != "" {
		kinds = append(kinds, "s3")
	}
	for _, kind := range kinds {
		fmt.Fprintf(stderr, "benchblob: promote on %s\n", kind)
		if err := promoteOn(ctx, c, kind, filepath.Join(work, kind), stdout); err != nil {
			return fmt.Errorf("%s: %w", kind, err)
		}
	}
	for _, line := range machineInfo(work) {
		if !strings.HasPrefix(line, "the download") { // benchblob's own note
			fmt.Fprintln(stdout, line)
		}
	}
	return nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// promoteOn runs both measurements on one kind of store.
func promoteOn(ctx context.Context, c promoteConfig, kind, dir string, out io.Writer) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	database, err := sqlite.Open(ctx, filepath.Join(dir, "flymodel.db"))
	if err != nil {
		return err
	}
	defer database.Close()
	if _, err := database.Migrate(ctx, db.MigrateOptions{}); err != nil {
		return err
	}
	blobs := registry.BlobStores{ByName: map[string]blob.Store{}, ForRole: map[string]string{}}
	stamp := strconv.FormatInt(time.Now().UnixNano(), 36)
	for _, role := range []string{"test", "qa", "stage", "prod"} {
		var st blob.Store
		if kind == "fs" {
			st, err = fsblob.New(filepath.Join(dir, "blobs-"+role))
		} else {
			st, err = s3blob.New(s3blob.Config{Bucket: "bench-" + role + "-" + stamp, Endpoint: c.s3Endpoint, Region: c.region, PathStyle: true,
				AccessKeyID: os.Getenv("FLYMODEL_TEST_S3_ACCESS_KEY"), SecretAccessKey: os.Getenv("FLYMODEL_TEST_S3_SECRET_KEY")})
		}
		if err != nil {
			return err
		}
		if err := st.Ensure(ctx); err != nil {
			return err
		}
		name := "st-" + role
		blobs.ByName[name], blobs.ForRole[role] = st, name
	}
	reg := registry.New(registry.Options{DB: database, Blobs: blobs, MaxUploadBytes: max(c.size, registry.DefaultMaxUploadBytes)})
	if _, err := reg.CreateNamespace(ctx, registry.NewNamespace{Name: "bench"}); err != nil {
		return err
	}
	if _, err := reg.CreateModel(ctx, "bench", "m"); err != nil {
		return err
	}

	// One version, one large artifact.
	big := registry.Ref{Namespace: "bench", Model: "m", Version: "big"}
	if _, err := reg.CreateVersion(ctx, "bench", "m", registry.NewVersion{Version: big.Version}); err != nil {
		return err
	}
	if _, _, err := reg.PutArtifact(ctx, registry.Owner{Ref: big}, registry.NewArtifact{Name: "weights.bin"}, newPattern().reader(c.size)); err != nil {
		return err
	}
	before, err := procIO()
	if err != nil {
		return err
	}
	start := time.Now()
	if _, err := reg.SetVersionState(ctx, big, "qa"); err != nil {
		return err
	}
	elapsed := time.Since(start)
	after, err := procIO()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "| %s | promote a version of one %s artifact | %.2f s |\n", kind, formatSize(c.size), elapsed.Seconds())
	fmt.Fprintf(out, "| %s | bytes the process read / wrote during it | %s / %s |\n", kind, formatBytes(after.read-before.read), formatBytes(after.written-before.written))

	// Many versions of small artifacts, promoted in a row.
	small := bytes.Repeat([]byte{0}, int(c.fileSize))
	var refs []registry.Ref
	for v := range c.versions {
		ref := registry.Ref{Namespace: "bench", Model: "m", Version: fmt.Sprintf("v%d", v)}
		if _, err := reg.CreateVersion(ctx, "bench", "m", registry.NewVersion{Version: ref.Version}); err != nil {
			return err
		}
		for f := range c.files {
			// Distinct bytes per file: nothing is de-duplicated.
			copy(small, fmt.Sprintf("version %d file %d", v, f))
			if _, _, err := reg.PutArtifact(ctx, registry.Owner{Ref: ref}, registry.NewArtifact{Name: fmt.Sprintf("f%02d.bin", f)}, bytes.NewReader(small)); err != nil {
				return err
			}
		}
		refs = append(refs, ref)
	}
	start = time.Now()
	for _, ref := range refs {
		if _, err := reg.SetVersionState(ctx, ref, "qa"); err != nil {
			return err
		}
	}
	elapsed = time.Since(start)
	fmt.Fprintf(out, "| %s | promote %d versions of %d × %s artifacts in a row | %.1f promotions/s (%.0f ms each) |\n",
		kind, c.versions, c.files, formatBytes(c.fileSize), float64(c.versions)/elapsed.Seconds(), elapsed.Seconds()*1000/float64(c.versions))
	return nil
}

type ioCounters struct{ read, written int64 }

// procIO reads the bytes this process has read and written through
// system calls (files and sockets alike): /proc/self/io rchar and wchar.
func procIO() (ioCounters, error) {
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return ioCounters{}, fmt.Errorf("read /proc/self/io: %w", err)
	}
	var c ioCounters
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		switch k {
		case "rchar":
			c.read = n
		case "wchar":
			c.written = n
		}
	}
	return c, nil
}

func formatBytes(n int64) string {
	switch {
	case n >= gib:
		return fmt.Sprintf("%.2f GiB", float64(n)/gib)
	case n >= mib:
		return fmt.Sprintf("%.1f MiB", float64(n)/mib)
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
