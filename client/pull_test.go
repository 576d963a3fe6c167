package client_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flymodel/flymodel/client"
	"github.com/flymodel/flymodel/internal/blob/s3blob"
	"github.com/flymodel/flymodel/internal/db"
	"github.com/flymodel/flymodel/internal/db/dbtest"
)

// pullFixture creates canada/llm.sm with versions v1 and v2, v1 holding
// files, and returns v1.
func pullFixture(t *testing.T, c *client.Client, files map[string][]byte) client.VersionRef {
	t.Helper()
	ctx := context.Background()
	_, err := c.CreateNamespace(ctx, "canada", "")
	check(t, err)
	_, err = c.CreateModel(ctx, "canada", "llm.sm")
	check(t, err)
	v, err := c.CreateVersion(ctx, "canada", "llm.sm", client.NewVersion{Version: "v1"})
	check(t, err)
	for name, content := range files {
		_, _, err := c.UploadArtifact(ctx, v.Ref().Owner(), name, bytes.NewReader(content), client.UploadOptions{})
		check(t, err)
	}
	return v.Ref()
}

// pullFiles are a version's files: nested, empty-free, one large.
func pullFiles() map[string][]byte {
	big := make([]byte, 3<<20)
	_, _ = rand.Read(big)
	return map[string][]byte{
		"weights/model.safetensors": big,
		"config.json":               []byte(`{"layers": 12}`),
		"tokenizer/a/vocab.txt":     []byte("a\nb\n"),
		"README.md":                 []byte("# llm.sm\n"),
	}
}

// checkDir holds dir to exactly files plus extra, with no temporary file.
func checkDir(t *testing.T, dir string, files map[string][]byte, extra ...string) {
	t.Helper()
	found := map[string]bool{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		found[rel] = true
		if want, ok := files[rel]; ok {
			got, err := os.ReadFile(p)
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s: %d bytes differ from the artifact's %d (%v)", rel, len(got), len(want), err)
			}
		} else if !contains(extra, rel) {
			t.Errorf("unexpected file %s", rel)
		}
		return nil
	})
	check(t, err)
	for name := range files {
		if !found[name] {
			t.Errorf("missing file %s", name)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func actions(res client.PullResult) string {
	var parts []string
	for _, f := range res.Files {
		parts = append(parts, f.Name+":"+f.Action)
	}
	return strings.Join(parts, " ")
}

func TestPull(t *testing.T) {
	c, srv := newServer(t, serverConfig{})
	ctx := context.Background()
	files := pullFiles()
	ref := pullFixture(t, c, files)
	dir := filepath.Join(t.TempDir(), "out")

	// A dry run writes nothing, not even the folder.
	res, err := c.Pull(ctx, ref, dir, client.PullOptions{Dry: true})
	check(t, err)
	if res.Downloaded != 4 || !res.Dry {
		t.Fatalf("dry run: %+v", res)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a dry run created %s: %v", dir, err)
	}

	var mu sync.Mutex
	var done, total int64
	res, err = c.Pull(ctx, ref, dir, client.PullOptions{Parallel: 2, Progress: func(d, tt int64) {
		mu.Lock()
		defer mu.Unlock()
		if d < done {
			t.Errorf("progress went back from %d to %d", done, d)
		}
		done, total = d, tt
	}})
	check(t, err)
	var size int64
	for _, b := range files {
		size += int64(len(b))
	}
	if res.Downloaded != 4 || res.Unchanged != 0 || res.Bytes != size || res.Version.Version != "v1" || res.Dir != dir ||
		actions(res) != "README.md:download config.json:download tokenizer/a/vocab.txt:download weights/model.safetensors:download" {
		t.Fatalf("pull: %+v", res)
	}
	if done != size || total != size {
		t.Fatalf("progress ended at %d of %d, want %d", done, total, size)
	}
	checkDir(t, dir, files)

	// Again: everything is there already.
	res, err = c.Pull(ctx, ref, dir, client.PullOptions{})
	check(t, err)
	if res.Downloaded != 0 || res.Unchanged != 4 || res.Bytes != 0 {
		t.Fatalf("second pull: %+v", res)
	}
	// A changed file is replaced; a file of no artifact is left alone.
	check(t, os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"layers": 13}`), 0o644))
	check(t, os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o644))
	res, err = c.Pull(ctx, ref, dir, client.PullOptions{})
	check(t, err)
	if res.Downloaded != 1 || res.Unchanged != 3 || !strings.Contains(actions(res), "config.json:replace") {
		t.Fatalf("pull over a changed file: %+v", res)
	}
	checkDir(t, dir, files, "notes.txt")

	// A file where a folder must go stops the pull before any download.
	blocked := t.TempDir()
	check(t, os.WriteFile(filepath.Join(blocked, "tokenizer"), []byte("x"), 0o644))
	if _, err := c.Pull(ctx, ref, blocked, client.PullOptions{}); err == nil {
		t.Fatal("pull over a file named like a folder succeeded")
	}

	// Bytes altered behind the server: the pull fails with ErrIntegrity
	// and leaves no file for that artifact (nor a temporary one). (The
	// server cuts the transfer before its last bytes: for a file this
	// large, after the headers, which the client sees as ErrIntegrity.)
	altered := bytes.Clone(files["weights/model.safetensors"])
	altered[2] ^= 1
	check(t, srv.alterBlob(files["weights/model.safetensors"], altered))
	fresh := filepath.Join(t.TempDir(), "fresh")
	res, err = c.Pull(ctx, ref, fresh, client.PullOptions{Parallel: 1})
	if !errors.Is(err, client.ErrIntegrity) {
		t.Fatalf("pull of altered bytes: %v", err)
	}
	if res.Failed < 1 || res.Downloaded+res.Failed != 4 || !strings.Contains(actions(res), "weights/model.safetensors:failed") {
		t.Fatalf("failed pull: %+v", res)
	}
	filepath.WalkDir(fresh, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(p, "model.safetensors") || strings.HasSuffix(p, ".part")) {
			t.Errorf("left behind: %s", p)
		}
		return nil
	})
}

func TestResolveVersion(t *testing.T) {
	c, _ := newServer(t, serverConfig{})
	ctx := context.Background()
	v1 := pullFixture(t, c, map[string][]byte{"a.txt": []byte("a")})
	_, err := c.CreateVersion(ctx, "canada", "llm.sm", client.NewVersion{Version: "v2"})
	check(t, err)
	// v2 reaches prod first, then v1: the newest version in prod is still
	// v2, the one created last.
	_, err = c.SetVersionState(ctx, client.VersionRef{Namespace: "canada", Model: "llm.sm", Version: "v2"}, "prod")
	check(t, err)
	_, err = c.SetVersionState(ctx, v1, "prod")
	check(t, err)
	for selector, want := range map[string]string{"@prod": "v2", "v1": "v1", "v2": "v2"} {
		v, err := c.ResolveVersion(ctx, "canada", "llm.sm", selector)
		if err != nil || v.Version != want {
			t.Errorf("%s: %v, %v; want %s", selector, v.Version, err, want)
		}
	}
	if _, err := c.ResolveVersion(ctx, "canada", "llm.sm", "@staging"); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("@staging with no version in stage: %v", err)
	}
	// Any other selector is an alias, resolved by the server.
	if _, err := c.ResolveVersion(ctx, "canada", "llm.sm", "@live"); !errors.Is(err, client.ErrNotFound) || !strings.Contains(err.Error(), "no alias live on canada/llm.sm") {
		t.Errorf("@live: %v", err)
	}
	if _, err := c.ResolveVersion(ctx, "canada", "llm.sm", "v3"); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("v3: %v", err)
	}
}

// s3ServerConfig is a fresh bucket on the test S3 server, or skips (fails
// with FLYMODEL_REQUIRE_SERVICES=1) without one.
func s3ServerConfig(t *testing.T) *s3blob.Config {
	t.Helper()
	endpoint := os.Getenv("FLYMODEL_TEST_S3_ENDPOINT")
	if endpoint == "" {
		dbtest.SkipOrFail(t, "FLYMODEL_TEST_S3_ENDPOINT not set: skipping S3")
	}
	region := os.Getenv("FLYMODEL_TEST_S3_REGION")
	if region == "" {
		region = "us-east-1"
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	return &s3blob.Config{Bucket: "flymodel-client-" + hex.EncodeToString(b[:]), Endpoint: endpoint, Region: region, PathStyle: true,
		AccessKeyID: os.Getenv("FLYMODEL_TEST_S3_ACCESS_KEY"), SecretAccessKey: os.Getenv("FLYMODEL_TEST_S3_SECRET_KEY")}
}

// recorder is a transport that records each request (URL, whether it
// carried a token) and its status, and can refuse requests to the store.
type recorder struct {
	mu        sync.Mutex
	seen      []seenRequest
	downStore bool // fail requests to a presigned URL as if the store were unreachable
}

type seenRequest struct {
	url    string
	token  bool
	status int
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	presigned := req.URL.Query().Get("X-Amz-Signature") != ""
	r.mu.Lock()
	down := r.downStore && presigned
	r.mu.Unlock()
	if down {
		return nil, errors.New("dial tcp: connection refused (test)")
	}
	res, err := http.DefaultTransport.RoundTrip(req)
	status := 0
	if err == nil {
		status = res.StatusCode
	}
	r.mu.Lock()
	r.seen = append(r.seen, seenRequest{url: req.URL.String(), token: req.Header.Get("Authorization") != "", status: status})
	r.mu.Unlock()
	return res, err
}

func (r *recorder) take() []seenRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.seen
	r.seen = nil
	return s
}

// artifactBlob is where the server stored a version artifact.
func (s *testServer) artifactBlob(t *testing.T, ref client.VersionRef, name string) db.GetArtifactWithBlobRow {
	t.Helper()
	ctx := context.Background()
	v, err := s.store.GetVersionByPath(ctx, db.GetVersionByPathParams{Namespace: ref.Namespace, Model: ref.Model, Version: ref.Version})
	check(t, err)
	a, err := s.store.GetArtifactWithBlob(ctx, db.GetArtifactWithBlobParams{VersionID: v.ID, Name: name})
	check(t, err)
	return a
}

func TestPullFromS3(t *testing.T) {
	rec := &recorder{}
	c, srv := newServer(t, serverConfig{s3: s3ServerConfig(t), presignTTL: time.Minute},
		client.WithHTTPClient(&http.Client{Transport: rec}))
	ctx := context.Background()
	files := pullFiles()
	ref := pullFixture(t, c, files)
	rec.take()

	// The bytes come from the bucket, through presigned URLs fetched
	// without the token; the server only answers 307.
	dir := t.TempDir()
	res, err := c.Pull(ctx, ref, dir, client.PullOptions{})
	check(t, err)
	if res.Downloaded != 4 {
		t.Fatalf("pull: %+v", res)
	}
	checkDir(t, dir, files)
	var redirects, direct int
	for _, r := range rec.take() {
		switch {
		case strings.Contains(r.url, "X-Amz-Signature="):
			direct++
			if r.token || r.status != 200 {
				t.Errorf("store request with token %v, status %d", r.token, r.status)
			}
		case strings.Contains(r.url, "/artifacts/"):
			redirects++
			if r.status != http.StatusTemporaryRedirect || !strings.Contains(r.url, "redirect=true") {
				t.Errorf("artifact request %s answered %d, want a 307", r.url, r.status)
			}
		}
	}
	if redirects != 4 || direct != 4 {
		t.Fatalf("%d redirects and %d store requests, want 4 each", redirects, direct)
	}

	// The store unreachable from the client: the server streams instead.
	rec.mu.Lock()
	rec.downStore = true
	rec.mu.Unlock()
	var buf bytes.Buffer
	info, err := c.DownloadArtifact(ctx, ref.Owner(), "config.json", &buf)
	if err != nil || !bytes.Equal(buf.Bytes(), files["config.json"]) || info.Size != int64(len(files["config.json"])) {
		t.Fatalf("fallback download: %v (%q)", err, buf.Bytes())
	}
	rec.mu.Lock()
	rec.downStore = false
	rec.mu.Unlock()

	// Bytes altered in the bucket behind the server (same size): the
	// client catches them, and no file appears. (A bucket's versions never
	// change: an overwrite is a new version, which the server does not
	// serve; the record is pointed at it, as if the version's bytes had
	// changed.)
	blob := srv.artifactBlob(t, ref, "weights/model.safetensors")
	altered := bytes.Clone(files["weights/model.safetensors"])
	altered[1<<20] ^= 1
	put, err := srv.blobs.Put(ctx, blob.Key, bytes.NewReader(altered))
	check(t, err)
	_, err = srv.store.SetBlobStorageVersion(ctx, db.SetBlobStorageVersionParams{ID: blob.BlobID, StorageVersion: put.VersionID})
	check(t, err)
	target := filepath.Join(t.TempDir(), "model.safetensors")
	if _, err := c.DownloadFile(ctx, ref.Owner(), "weights/model.safetensors", target); !errors.Is(err, client.ErrIntegrity) {
		t.Fatalf("download of bytes altered in the bucket: %v", err)
	}
	if entries, _ := os.ReadDir(filepath.Dir(target)); len(entries) != 0 {
		t.Fatalf("DownloadFile left %v", entries)
	}
	fresh := filepath.Join(t.TempDir(), "fresh")
	if _, err := c.Pull(ctx, ref, fresh, client.PullOptions{}); !errors.Is(err, client.ErrIntegrity) {
		t.Fatalf("pull of bytes altered in the bucket: %v", err)
	}
	if _, err := os.Stat(filepath.Join(fresh, "weights", "model.safetensors")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the altered artifact was written: %v", err)
	}
}

func TestPresignedURLExpires(t *testing.T) {
	c, srv := newServer(t, serverConfig{s3: s3ServerConfig(t), presignTTL: time.Second})
	ctx := context.Background()
	ref := pullFixture(t, c, map[string][]byte{"m.bin": []byte("expiring")})
	req, err := http.NewRequest("GET", srv.URL+"/api/v1/namespaces/canada/models/llm.sm/versions/v1/artifacts/m.bin?redirect=true", nil)
	check(t, err)
	req.Header.Set("Authorization", "Bearer "+srv.Token)
	res, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	check(t, err)
	res.Body.Close()
	loc := res.Header.Get("Location")
	if res.StatusCode != http.StatusTemporaryRedirect || !strings.Contains(loc, "X-Amz-Expires=1&") {
		t.Fatalf("redirect: %d %q", res.StatusCode, loc)
	}
	// Refused once the second has passed (the server's clock decides):
	// polled, within a bound.
	deadline := time.Now().Add(15 * time.Second)
	for {
		res, err := http.Get(loc)
		check(t, err)
		res.Body.Close()
		if res.StatusCode == http.StatusForbidden {
			break
		}
		if res.StatusCode != 200 || time.Now().After(deadline) {
			t.Fatalf("presigned URL answered %d", res.StatusCode)
		}
		time.Sleep(100 * time.Millisecond) // polling the store's clock
	}
	// A download asks for a fresh URL each time (and falls back to the
	// server should the store refuse it).
	var buf bytes.Buffer
	if _, err := c.DownloadArtifact(ctx, ref.Owner(), "m.bin", &buf); err != nil || buf.String() != "expiring" {
		t.Fatalf("download after an earlier URL expired: %v %q", err, buf.String())
	}
}
