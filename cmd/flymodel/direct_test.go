package main

import (
	"bytes"
	"context"
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

	"github.com/flymodel/flymodel/client"
	"github.com/flymodel/flymodel/internal/db/dbtest"
)

// TestServePublicAndPrivateS3 runs the binary on two buckets of the test
// S3 server: test (private) and prod (public = true). setup-storage makes
// prod's objects readable anonymously; serve redirects downloads of the
// private bucket to presigned URLs (storage.presign_ttl) and shows the
// object URL of artifacts in the public one.
func TestServePublicAndPrivateS3(t *testing.T) {
	endpoint := os.Getenv("FLYMODEL_TEST_S3_ENDPOINT")
	if endpoint == "" {
		dbtest.SkipOrFail(t, "FLYMODEL_TEST_S3_ENDPOINT not set: skipping S3")
	}
	dir := t.TempDir()
	var b [4]byte
	_, _ = rand.Read(b[:])
	suffix := hex.EncodeToString(b[:])
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "[storage]\npresign_ttl = \"2m\"\n\n")
	for _, e := range []struct {
		role   string
		public bool
	}{{"test", false}, {"prod", true}} {
		fmt.Fprintf(&cfg, "[[storage.s3]]\nbucket = %q\nendpoint = %q\nregion = %q\nrole = %q\npublic = %v\naccess_key_id = %q\nsecret_access_key = %q\n\n",
			"cli-"+e.role+"-"+suffix, endpoint, s3Region(), e.role, e.public, os.Getenv("FLYMODEL_TEST_S3_ACCESS_KEY"), os.Getenv("FLYMODEL_TEST_S3_SECRET_KEY"))
	}
	// qa and stage: the local disk.
	cfg.WriteString("[[storage.fs]]\npath = \"blobs\"\n")
	if err := os.WriteFile(filepath.Join(dir, "flymodel.toml"), []byte(cfg.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	dry := flymodel(t, dir, nil, "--dry", "setup-storage")
	dry.expectCode(t, 0)
	if !strings.Contains(dry.stdout, "s3:cli-prod-"+suffix+" (prod): missing: would create it, turn versioning on, probe, grant anonymous read of objects (public = true)") {
		t.Fatalf("setup-storage --dry: %s", dry)
	}
	setup := flymodel(t, dir, nil, "setup-storage")
	setup.expectCode(t, 0)
	if !strings.Contains(setup.stdout, "ok s3:cli-prod-"+suffix+" (prod): created, versioning turned on, write/read/delete probe passed, anonymous read of objects granted (bucket policy)") ||
		strings.Contains(setup.stdout, "cli-test-"+suffix+" (test): created, versioning turned on, write/read/delete probe passed, anonymous") {
		t.Fatalf("setup-storage: %s", setup)
	}
	if again := flymodel(t, dir, nil, "setup-storage"); !strings.Contains(again.stdout, "anonymous read of objects already granted") {
		t.Fatalf("setup-storage again: %s", again)
	}

	s := startServe(t, dir, nil, "-p", "0")
	base := "http://" + s.addr
	ctx := context.Background()
	c, err := client.New(base)
	if err != nil {
		t.Fatal(err)
	}
	weights := bytes.Repeat([]byte("weights "), 100000)
	if err := os.WriteFile(filepath.Join(dir, "w.bin"), weights, 0o644); err != nil {
		t.Fatal(err)
	}
	flymodel(t, dir, nil, "upsert", "--server", base, "--namespace", "canada", "--model", "llm.sm",
		"--version", "v-test", "--artifact", "w.bin=w.bin").expectCode(t, 0)
	// A version in prod: its experiment's outputs go to the public bucket,
	// and show where; anyone may GET them.
	prod, err := c.CreateVersion(ctx, "canada", "llm.sm", client.NewVersion{Version: "v-prod", State: "prod"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateExperiment(ctx, prod.Ref(), "eval", nil); err != nil {
		t.Fatal(err)
	}
	report := []byte("<p>all green</p>")
	art, _, err := c.UploadArtifact(ctx, prod.Ref().ExperimentOwner("eval"), "report.html", bytes.NewReader(report), client.UploadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(art.URL, endpoint+"/cli-prod-"+suffix+"/objects/") {
		t.Fatalf("public artifact url %q", art.URL)
	}
	res, err := http.Get(art.URL)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !bytes.Equal(got, report) {
		t.Fatalf("anonymous GET of the public object: %d %q", res.StatusCode, got)
	}
	// The private bucket's artifact has no url, and its download redirects.
	private, err := c.AllArtifacts(ctx, client.Owner{Namespace: "canada", Model: "llm.sm", Version: "v-test"})
	if err != nil || len(private) != 1 || private[0].URL != "" {
		t.Fatalf("private artifacts: %+v %v", private, err)
	}
	req, _ := http.NewRequest("GET", base+"/api/v1/namespaces/canada/models/llm.sm/versions/v-test/artifacts/w.bin?redirect=true", nil)
	res, err = http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if loc := res.Header.Get("Location"); res.StatusCode != 307 || !strings.Contains(loc, "/cli-test-"+suffix+"/objects/") ||
		!strings.Contains(loc, "X-Amz-Expires=120&") || !strings.HasPrefix(res.Header.Get("Digest"), "sha256=") {
		t.Fatalf("redirect: %d %v", res.StatusCode, res.Header)
	}

	out := filepath.Join(dir, "pulled")
	flymodel(t, dir, nil, "pull", "--server", base, "canada/llm.sm", "v-test", out).expectCode(t, 0)
	if got, err := os.ReadFile(filepath.Join(out, "w.bin")); err != nil || !bytes.Equal(got, weights) {
		t.Fatalf("pull: %v", err)
	}
	// The archive of a version.
	res, err = http.Get(base + "/api/v1/namespaces/canada/models/llm.sm/versions/v-test/archive")
	if err != nil {
		t.Fatal(err)
	}
	tarball, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil || res.StatusCode != 200 || fmt.Sprint(len(tarball)) != res.Header.Get("Content-Length") || res.Header.Get("Version-Digest") == "" {
		t.Fatalf("archive: %d %v (%d bytes, %v)", res.StatusCode, res.Header, len(tarball), err)
	}
	s.stop(t, syscall.SIGINT)
}
