package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flymodel/flymodel/internal/db/dbtest"
)

// s3Config writes a configuration with one S3 store per lifecycle on the
// test S3 server, in fresh buckets; it skips (or fails in CI) without one.
func s3Config(t *testing.T, dir string) string {
	t.Helper()
	var b [4]byte
	_, _ = rand.Read(b[:])
	suffix := hex.EncodeToString(b[:])
	cfg := s3StorageTOML(t, "cli-", suffix)
	path := filepath.Join(dir, "flymodel.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return suffix
}

// s3StorageTOML is the [[storage.s3]] entries of one store per lifecycle on
// the test S3 server, in buckets named prefix+role+"-"+suffix (not created
// here: setup-storage does); it skips (or fails in CI) without a server.
func s3StorageTOML(t *testing.T, prefix, suffix string) string {
	t.Helper()
	endpoint := os.Getenv("FLYMODEL_TEST_S3_ENDPOINT")
	if endpoint == "" {
		dbtest.SkipOrFail(t, "FLYMODEL_TEST_S3_ENDPOINT not set: skipping S3")
	}
	region := os.Getenv("FLYMODEL_TEST_S3_REGION")
	if region == "" {
		region = "us-east-1"
	}
	var cfg strings.Builder
	for _, role := range []string{"test", "qa", "stage", "prod"} {
		fmt.Fprintf(&cfg, "[[storage.s3]]\nbucket = %q\nendpoint = %q\nregion = %q\nrole = %q\naccess_key_id = %q\nsecret_access_key = %q\n\n",
			prefix+role+"-"+suffix, endpoint, region, role, os.Getenv("FLYMODEL_TEST_S3_ACCESS_KEY"), os.Getenv("FLYMODEL_TEST_S3_SECRET_KEY"))
	}
	return cfg.String()
}

func TestSetupStorageFilesystem(t *testing.T) {
	dir := t.TempDir()
	dry := flymodel(t, dir, nil, "--dry", "setup-storage")
	dry.expectCode(t, 0)
	if !strings.Contains(dry.stdout, "would ensure fs:") {
		t.Fatalf("dry run output: %s", dry)
	}
	if _, err := os.Stat(filepath.Join(dir, "flymodel-data")); !os.IsNotExist(err) {
		t.Fatalf("--dry created the data folder: %v", err)
	}
	res := flymodel(t, dir, nil, "setup-storage")
	res.expectCode(t, 0)
	if !strings.Contains(res.stdout, "ok fs:"+filepath.Join(dir, "flymodel-data", "blobs")) || !strings.Contains(res.stdout, "test, qa, stage, prod") {
		t.Fatalf("setup-storage output: %s", res)
	}
	if st, err := os.Stat(filepath.Join(dir, "flymodel-data", "blobs")); err != nil || !st.IsDir() {
		t.Fatalf("blob root not created: %v", err)
	}
}

func TestSetupStorageS3(t *testing.T) {
	dir := t.TempDir()
	suffix := s3Config(t, dir)
	res := flymodel(t, dir, nil, "setup-storage")
	res.expectCode(t, 0)
	for _, role := range []string{"test", "qa", "stage", "prod"} {
		if !strings.Contains(res.stdout, "ok s3:cli-"+role+"-"+suffix+" ("+role+")") {
			t.Fatalf("no line for %s: %s", role, res)
		}
	}
	// Recording the buckets for a namespace.
	flymodel(t, dir, nil, "migrate", "up", "--test-data", "basic").expectCode(t, 0)
	rec := flymodel(t, dir, nil, "setup-storage", "--namespace", "canada")
	rec.expectCode(t, 0)
	if !strings.Contains(rec.stdout, "recorded bucket cli-prod-"+suffix) {
		t.Fatalf("setup-storage --namespace: %s", rec)
	}
	// A rerun records nothing new.
	if again := flymodel(t, dir, nil, "setup-storage", "--namespace", "canada"); !strings.Contains(again.stdout, "unchanged bucket cli-prod-"+suffix) {
		t.Fatalf("setup-storage --namespace again: %s", again)
	}
	flymodel(t, dir, nil, "setup-storage", "--namespace", "nowhere").expectCode(t, 1)
}

func TestSetupStorageReportsEachFailure(t *testing.T) {
	dir := t.TempDir()
	cfg := `[[storage.s3]]
bucket = "ml-test"
endpoint = "http://127.0.0.1:1"
region = "us-east-1"
role = "test"
access_key_id = "x"
secret_access_key = "y"

[[storage.fs]]
path = "blobs"
role = "prod"
`
	if err := os.WriteFile(filepath.Join(dir, "flymodel.toml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	res := flymodel(t, dir, nil, "setup-storage")
	res.expectCode(t, 1)
	// qa and stage, which no entry serves, are served by the data folder's
	// root: three locations.
	if !strings.Contains(res.stderr, "FAILED s3:ml-test") || !strings.Contains(res.stdout, "ok fs:") ||
		!strings.Contains(res.stdout, "(qa, stage)") || !strings.Contains(res.stderr, "1 of 3 storage locations failed") {
		t.Fatalf("output: %s", res)
	}
}

// TestServeRemovesInterruptedUploads: a crash mid-upload leaves a temporary
// file; the next start removes it once it has been idle for a minute.
func TestServeRemovesInterruptedUploads(t *testing.T) {
	dir := t.TempDir()
	tmp := filepath.Join(dir, "flymodel-data", "blobs", ".tmp")
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(tmp, "upload-crashed")
	fresh := filepath.Join(tmp, "upload-in-progress")
	for _, f := range []string{stale, fresh} {
		if err := os.WriteFile(f, []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	s := startServe(t, dir, nil, "-p", "0")
	ready := s.get(t, "/readyz", http.StatusOK)
	if checks := fmt.Sprint(ready["checks"]); !strings.Contains(checks, "storage:local:ok") {
		t.Errorf("readyz does not report the store: %v", ready)
	}
	s.stop(t, syscall.SIGINT)
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("the interrupted upload's temporary file is still there: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("a recent temporary file was removed: %v", err)
	}
}

func TestVerifyAndGCCommands(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "f.txt"), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	flymodel(t, dir, nil, "verify").expectCode(t, 1) // no registry here
	flymodel(t, dir, nil, "upsert", "--namespace", "n", "--model", "m", "--version", "v", "--artifact", "f.txt=f.txt").expectCode(t, 0)
	ok := flymodel(t, dir, nil, "verify")
	ok.expectCode(t, 0)
	if !strings.Contains(ok.stdout, "checked 1 artifacts") {
		t.Fatalf("verify: %s", ok)
	}
	var objects []string
	filepath.WalkDir(filepath.Join(dir, "flymodel-data", "blobs", "objects"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			objects = append(objects, p)
		}
		return nil
	})
	if len(objects) != 1 {
		t.Fatalf("objects: %v", objects)
	}
	if err := os.WriteFile(objects[0], []byte("HELLO"), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := flymodel(t, dir, nil, "verify")
	bad.expectCode(t, 1)
	if !strings.Contains(bad.stdout, "altered") || !strings.Contains(bad.stdout, "artifacts/f.txt") {
		t.Fatalf("verify of an altered blob: %s", bad)
	}
	dry := flymodel(t, dir, nil, "--dry", "gc")
	dry.expectCode(t, 0)
	if !strings.Contains(dry.stdout, "would remove 0 blobs") {
		t.Fatalf("gc --dry: %s", dry)
	}
	flymodel(t, dir, nil, "gc", "--grace", "1s").expectCode(t, 2)
}

func TestRetentionCommand(t *testing.T) {
	dir := t.TempDir()
	flymodel(t, dir, nil, "retention").expectCode(t, 0) // nothing configured
	if err := os.WriteFile(filepath.Join(dir, "flymodel.toml"), []byte("[[retention.test]]\nmodels = 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "f.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	flymodel(t, dir, nil, "upsert", "--namespace", "n", "--model", "m", "--version", "v", "--artifact", "f.txt=f.txt").expectCode(t, 0)
	res := flymodel(t, dir, nil, "--dry", "retention")
	res.expectCode(t, 0)
	if !strings.Contains(res.stdout, "would remove 0 versions") {
		t.Fatalf("a fresh version is not past a 1-day limit: %s", res)
	}
}

// TestServeSweeps: the server's sweeper collects an object no record knows
// once it is older than the grace period.
func TestServeSweeps(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "flymodel.toml"), []byte("[server]\nsweep_interval = \"50ms\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	orphan := filepath.Join(dir, "flymodel-data", "blobs", "objects", "ab", "abandoned")
	recent := filepath.Join(dir, "flymodel-data", "blobs", "objects", "ab", "in-flight")
	for _, f := range []string{orphan, recent} {
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, []byte("bytes"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(orphan, old, old); err != nil {
		t.Fatal(err)
	}
	s := startServe(t, dir, nil, "-p", "0")
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(orphan); os.IsNotExist(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the sweeper did not collect the orphaned object\n%s", s.drainLogs())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := os.Stat(recent); err != nil {
		t.Fatalf("the sweeper collected a recent object: %v", err)
	}
	res, err := http.Get("http://" + s.addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{`flymodel_swept_total{kind="orphans",task="gc"} 1`, `flymodel_sweeps_total{outcome="done"}`, `flymodel_db_pool`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("no %s in /metrics", want)
		}
	}
	s.stop(t, syscall.SIGINT)
	if logs := s.drainLogs(); !strings.Contains(logs, `"msg":"garbage collected"`) {
		t.Errorf("no sweep in the log:\n%s", logs)
	}
}

func TestServeLogFormatFlag(t *testing.T) {
	dir := t.TempDir()
	res := flymodel(t, dir, nil, "serve", "-p", "0", "--log-format", "yaml")
	res.expectCode(t, 1)
	if !strings.Contains(res.stderr, `log.format "yaml"`) {
		t.Fatalf("bad --log-format: %s", res)
	}
}

// TestSetupStorageS3Explains: setup-storage against the real S3 server
// says what it found and did: --dry checks the connection and credentials
// and writes nothing; created, then exists; versioning as the server
// reports it; the server's own message for a wrong region; an unknown
// --namespace before any store is touched.
func TestSetupStorageS3Explains(t *testing.T) {
	dir := t.TempDir()
	suffix := s3Config(t, dir)
	prod := "s3:cli-prod-" + suffix + " (prod)"

	for range 2 { // a dry run changes nothing: the second says the same
		dry := flymodel(t, dir, nil, "--dry", "setup-storage")
		dry.expectCode(t, 0)
		if !strings.Contains(dry.stdout, "would ensure "+prod+": missing: would create it, turn versioning on, probe (connection and credentials checked; nothing written)") {
			t.Fatalf("--dry on a missing bucket: %s", dry)
		}
	}
	first := flymodel(t, dir, nil, "setup-storage")
	first.expectCode(t, 0)
	if !strings.Contains(first.stdout, "ok "+prod+": created, versioning turned on, write/read/delete probe passed") {
		t.Fatalf("first run: %s", first)
	}
	again := flymodel(t, dir, nil, "setup-storage")
	again.expectCode(t, 0)
	if !strings.Contains(again.stdout, "ok "+prod+": exists, versioning on, write/read/delete probe passed") {
		t.Fatalf("second run: %s", again)
	}
	dry := flymodel(t, dir, nil, "--dry", "setup-storage")
	if !strings.Contains(dry.stdout, "would ensure "+prod+": exists, versioning on: would probe") {
		t.Fatalf("--dry on a ready bucket: %s", dry)
	}

	// The S3 server's message, not "400 Bad Request".
	cfg, err := os.ReadFile(filepath.Join(dir, "flymodel.toml"))
	if err != nil {
		t.Fatal(err)
	}
	region := os.Getenv("FLYMODEL_TEST_S3_REGION")
	if region == "" {
		region = "us-east-1"
	}
	wrong := t.TempDir()
	if err := os.WriteFile(filepath.Join(wrong, "flymodel.toml"), []byte(strings.ReplaceAll(string(cfg), "region = \""+region+"\"", `region = "ca"`)), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"setup-storage"}, {"--dry", "setup-storage"}} {
		res := flymodel(t, wrong, nil, args...)
		res.expectCode(t, 1)
		if want := `region "ca" is wrong; expecting "` + region + `"`; !strings.Contains(res.stderr, want) {
			t.Errorf("%v with region ca: want %q\n%s", args, want, res)
		}
	}
	// Wrong credentials fail the dry run too.
	badKey := t.TempDir()
	if err := os.WriteFile(filepath.Join(badKey, "flymodel.toml"), []byte(strings.ReplaceAll(string(cfg), os.Getenv("FLYMODEL_TEST_S3_ACCESS_KEY"), "no-such-key")), 0o644); err != nil {
		t.Fatal(err)
	}
	if res := flymodel(t, badKey, nil, "--dry", "setup-storage"); res.code != 1 || !strings.Contains(res.stderr, "FAILED "+prod) {
		t.Errorf("--dry with an unknown access key: %s", res)
	}

	// An unknown namespace is refused before any store is touched.
	flymodel(t, dir, nil, "migrate", "up").expectCode(t, 0)
	nowhere := flymodel(t, dir, nil, "setup-storage", "--namespace", "nowhere")
	nowhere.expectCode(t, 1)
	if strings.Contains(nowhere.stdout, "ok ") || !strings.Contains(nowhere.stderr, "nowhere") {
		t.Errorf("--namespace nowhere: %s", nowhere)
	}
}
