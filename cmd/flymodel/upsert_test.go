package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flymodel/flymodel/client"
	"github.com/flymodel/flymodel/internal/audit"
	"github.com/flymodel/flymodel/internal/auth"
	"github.com/flymodel/flymodel/internal/blob"
	"github.com/flymodel/flymodel/internal/blob/fsblob"
	"github.com/flymodel/flymodel/internal/blob/s3blob"
	"github.com/flymodel/flymodel/internal/db"
	"github.com/flymodel/flymodel/internal/db/dbtest"
	"github.com/flymodel/flymodel/internal/db/postgres"
	"github.com/flymodel/flymodel/internal/db/sqlite"
	"github.com/flymodel/flymodel/internal/httpapi"
	"github.com/flymodel/flymodel/internal/registry"
)

// testServer is a real flymodel API in this process that counts the
// requests that could change something.
type testServer struct {
	*httptest.Server
	writes atomic.Int64
	blobs  blob.Store
	fsRoot string
	store  db.DB

	mu       sync.Mutex
	throttle bool // slow down upload bodies (to kill an upload midway)
	received chan struct{}

	// redirects counts 307 answers (downloads sent to the store).
	redirects atomic.Int64
	// inFlight counts the requests being handled.
	inFlight atomic.Int64
}

func (s *testServer) ServeHTTP(w http.ResponseWriter, r *http.Request, next http.Handler) {
	s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		s.writes.Add(1)
	}
	s.mu.Lock()
	slow := s.throttle && r.Method == http.MethodPut
	s.mu.Unlock()
	if slow {
		r.Body = &slowBody{r: r.Body, received: s.received}
	}
	next.ServeHTTP(redirectCounter{ResponseWriter: w, n: &s.redirects}, r)
}

// redirectCounter counts the 307 answers written through it.
type redirectCounter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (c redirectCounter) WriteHeader(status int) {
	if status == http.StatusTemporaryRedirect {
		c.n.Add(1)
	}
	c.ResponseWriter.WriteHeader(status)
}

func (c redirectCounter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// slowBody trickles an upload in and says when the first bytes arrived.
type slowBody struct {
	r        io.ReadCloser
	received chan struct{}
	once     sync.Once
}

func (b *slowBody) Read(p []byte) (int, error) {
	time.Sleep(20 * time.Millisecond)
	n, err := b.r.Read(p[:min(len(p), 4096)])
	if n > 0 {
		b.once.Do(func() { close(b.received) })
	}
	return n, err
}

func (b *slowBody) Close() error { return b.r.Close() }

// upsertServers runs fn against SQLite + filesystem and, when the services
// are configured, PostgreSQL + S3.
func upsertServers(t *testing.T, fn func(t *testing.T, s *testServer)) {
	start := func(t *testing.T, store db.DB, blobs blob.Store, fsRoot string) {
		t.Cleanup(func() { store.Close() })
		ctx := context.Background()
		if _, err := store.Migrate(ctx, db.MigrateOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := blobs.Ensure(ctx); err != nil {
			t.Fatal(err)
		}
		stores := registry.BlobStores{ByName: map[string]blob.Store{"main": blobs},
			ForRole: map[string]string{"test": "main", "qa": "main", "stage": "main", "prod": "main"}}
		reg := registry.New(registry.Options{DB: store, Blobs: stores})
		h := httpapi.NewServer(reg, auth.New(auth.Options{DB: store, Loopback: true}), httpapi.Options{PresignTTL: time.Minute})
		s := &testServer{blobs: blobs, fsRoot: fsRoot, store: store, received: make(chan struct{})}
		s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.ServeHTTP(w, r, h) }))
		t.Cleanup(s.Close)
		fn(t, s)
	}
	t.Run("sqlite+fs", func(t *testing.T) {
		store, err := sqlite.Open(context.Background(), dbtest.SQLitePath(t))
		if err != nil {
			t.Fatal(err)
		}
		root := filepath.Join(t.TempDir(), "blobs")
		fs, err := fsblob.New(root)
		if err != nil {
			t.Fatal(err)
		}
		start(t, store, fs, root)
	})
	t.Run("postgres+s3", func(t *testing.T) {
		endpoint := os.Getenv("FLYMODEL_TEST_S3_ENDPOINT")
		if endpoint == "" {
			dbtest.SkipOrFail(t, "FLYMODEL_TEST_S3_ENDPOINT not set: skipping PostgreSQL+S3")
		}
		store, err := postgres.Open(context.Background(), dbtest.PostgresURL(t))
		if err != nil {
			t.Fatal(err)
		}
		var b [4]byte
		_, _ = rand.Read(b[:])
		region := os.Getenv("FLYMODEL_TEST_S3_REGION")
		if region == "" {
			region = "us-east-1"
		}
		st, err := s3blob.New(s3blob.Config{Bucket: "upsert-" + hex.EncodeToString(b[:]), Endpoint: endpoint, Region: region, PathStyle: true,
			AccessKeyID: os.Getenv("FLYMODEL_TEST_S3_ACCESS_KEY"), SecretAccessKey: os.Getenv("FLYMODEL_TEST_S3_SECRET_KEY")})
		if err != nil {
			t.Fatal(err)
		}
		start(t, store, st, "")
	})
}

// writeTree makes a folder of nested files and returns their contents by
// relative path.
func writeTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{
		"model.safetensors":      bytes.Repeat([]byte("weights"), 10000),
		"tokenizer/vocab.json":   []byte(`{"a": 1}`),
		"tokenizer/merges.txt":   []byte("a b\nc d\n"),
		"deep/er/still/file.bin": {0, 1, 2, 3, 255},
	}
	for rel, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return files
}

type upsertOutput struct {
	Items []struct {
		Kind, Name, Action string
	}
	Changed, Conflicts int
	Error              string
}

func runUpsert(t *testing.T, dir string, code int, args ...string) upsertOutput {
	t.Helper()
	res := flymodel(t, dir, nil, append([]string{"upsert", "--output", "json"}, args...)...)
	res.expectCode(t, code)
	var out upsertOutput
	if err := json.Unmarshal([]byte(res.stdout), &out); err != nil {
		t.Fatalf("upsert output is not JSON: %v\n%s", err, res)
	}
	return out
}

// okRecords is the audit log's records of changes, oldest first.
func (s *testServer) okRecords(t *testing.T) []audit.Item {
	t.Helper()
	items, next, err := audit.List(context.Background(), s.store, audit.Filter{Outcome: audit.OK, Limit: audit.MaxLimit})
	if err != nil || next != 0 {
		t.Fatalf("read the audit log: %v (next %d)", err, next)
	}
	return items
}

// auditAction is the audit action of a change an upsert reports.
func auditAction(kind, action string) string {
	switch {
	case action == "upload":
		return "artifact.create"
	case action == "create":
		return kind + ".create"
	case action == "move" && kind == "experiment-state":
		return "experiment.state"
	case action == "move" && kind == "state":
		return "version.state"
	}
	return kind + "." + action + "?"
}

// checkAudited checks that records (the audit log's new ok records) are
// one per change out reports, by actor.
func checkAudited(t *testing.T, out upsertOutput, actor string, records []audit.Item) {
	t.Helper()
	var want, got []string
	for _, it := range out.Items {
		if it.Action != "unchanged" {
			want = append(want, auditAction(it.Kind, it.Action))
		}
	}
	for _, r := range records {
		got = append(got, r.Action)
		if r.Actor != actor || r.Outcome != audit.OK || r.RequestID == "" && actor != "" && !strings.HasPrefix(actor, "local:") {
			t.Errorf("record %+v: want actor %s, outcome ok and a request id", r, actor)
		}
	}
	slices.Sort(want)
	slices.Sort(got)
	if len(want) != out.Changed || !slices.Equal(got, want) {
		t.Errorf("audit records of the run: %v\nwant one per change (%d): %v", got, out.Changed, want)
	}
}

func actions(out upsertOutput) map[string]int {
	m := map[string]int{}
	for _, it := range out.Items {
		m[it.Action]++
	}
	return m
}

func TestUpsertAgainstServer(t *testing.T) {
	upsertServers(t, func(t *testing.T, s *testServer) {
		dir := t.TempDir()
		files := writeTree(t, filepath.Join(dir, "out"))
		args := []string{"--server", s.URL, "--namespace", "canada", "--model", "llm.sm", "--version", "v0.1.0",
			"--artifact", "model=out", "--experiment", "eval", "--experiment-state", "passed", "--metrics", `{"acc": 0.9}`}

		// --dry writes nothing.
		dry := flymodel(t, dir, nil, append([]string{"--dry", "upsert"}, args...)...)
		dry.expectCode(t, 0)
		if !strings.Contains(dry.stdout, "dry run") || s.writes.Load() != 0 {
			t.Fatalf("dry run: %d writes\n%s", s.writes.Load(), dry)
		}

		first := runUpsert(t, dir, 0, args...)
		if a := actions(first); a["create"] != 4 || a["upload"] != 4 || a["move"] != 2 || first.Changed != 10 {
			t.Fatalf("first run: %v %+v", a, first)
		}
		writes := s.writes.Load()
		// One record per change, by the anonymous caller of a laptop server.
		records := s.okRecords(t)
		checkAudited(t, first, "anonymous", records)

		second := runUpsert(t, dir, 0, args...)
		if a := actions(second); a["unchanged"] != len(second.Items) || second.Changed != 0 {
			t.Fatalf("second run changed something: %+v", second)
		}
		if s.writes.Load() != writes {
			t.Fatalf("the rerun sent %d write requests", s.writes.Load()-writes)
		}
		if again := s.okRecords(t); len(again) != len(records) {
			t.Fatalf("the rerun added %d audit records: %+v", len(again)-len(records), again[len(records):])
		}

		// The folder round-trips byte for byte, nested names with "/".
		c, err := client.New(s.URL)
		if err != nil {
			t.Fatal(err)
		}
		owner := client.Owner{Namespace: "canada", Model: "llm.sm", Version: "v0.1.0"}
		for rel, content := range files {
			var buf bytes.Buffer
			if _, err := c.DownloadArtifact(context.Background(), owner, "model/"+rel, &buf); err != nil {
				t.Fatalf("download model/%s: %v", rel, err)
			}
			if !bytes.Equal(buf.Bytes(), content) {
				t.Fatalf("model/%s differs after the round trip", rel)
			}
		}

		// A changed file is refused before anything is written, exit 3.
		if err := os.WriteFile(filepath.Join(dir, "out", "tokenizer", "vocab.json"), []byte(`{"a": 2}`), 0o644); err != nil {
			t.Fatal(err)
		}
		writes = s.writes.Load()
		conflict := runUpsert(t, dir, 3, append(args, "--state", "qa")...)
		if conflict.Conflicts != 1 || !strings.Contains(conflict.Error, "nothing was written") {
			t.Fatalf("conflict run: %+v", conflict)
		}
		text := flymodel(t, dir, nil, append([]string{"upsert"}, args...)...)
		text.expectCode(t, 3)
		if !strings.Contains(text.stdout, "conflict  artifact") || !strings.Contains(text.stdout, "create a new version") ||
			!strings.Contains(text.stdout, "model/tokenizer/vocab.json") {
			t.Fatalf("text conflict output: %s", text)
		}
		if s.writes.Load() != writes {
			t.Fatal("a refused upsert sent write requests")
		}
		if again := s.okRecords(t); len(again) != len(records) {
			t.Fatalf("a refused upsert added %d audit records", len(again)-len(records))
		}
		v, err := c.GetVersion(context.Background(), client.VersionRef{Namespace: "canada", Model: "llm.sm", Version: "v0.1.0"})
		if err != nil || v.State != "test" {
			t.Fatalf("version after the refused run: %+v %v", v, err)
		}
	})
}

// TestUpsertKilledUploadRerun: an upsert killed in the middle of an upload
// leaves nothing half-stored; the rerun completes it.
func TestUpsertKilledUploadRerun(t *testing.T) {
	upsertServers(t, func(t *testing.T, s *testServer) {
		dir := t.TempDir()
		big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
		if err := os.WriteFile(filepath.Join(dir, "big.bin"), big, 0o644); err != nil {
			t.Fatal(err)
		}
		args := []string{"upsert", "--server", s.URL, "--namespace", "ns", "--model", "m", "--version", "v1", "--artifact", "big.bin=big.bin"}
		s.mu.Lock()
		s.throttle = true
		s.mu.Unlock()

		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, binary, args...)
		cmd.Dir, cmd.Env = dir, cleanEnv()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		select {
		case <-s.received:
		case <-ctx.Done():
			t.Fatal("the upload never started")
		}
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		s.mu.Lock()
		s.throttle = false
		s.mu.Unlock()

		c, _ := client.New(s.URL)
		owner := client.Owner{Namespace: "ns", Model: "m", Version: "v1"}
		// The server notices the dropped connection; nothing is stored —
		// unless the whole body was already on its way when the client died
		// (1 MiB fits the socket buffers): a body that arrived whole is a
		// complete upload (issue 13), stored verified, never a part of one.
		deadline := time.Now().Add(30 * time.Second)
		wantUploads := 1
		for {
			if s.inFlight.Load() != 0 {
				if time.Now().After(deadline) {
					t.Fatalf("the killed upload is still being handled")
				}
				time.Sleep(50 * time.Millisecond)
				continue // the killed upload (or the last poll) is still being handled
			}
			arts, err := c.AllArtifacts(ctx, owner)
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(big)
			if len(arts) > 1 || (len(arts) == 1 && (arts[0].Size != int64(len(big)) || arts[0].SHA256 != hex.EncodeToString(sum[:]))) {
				t.Fatalf("a killed upload left a partial artifact: %+v", arts)
			}
			if len(arts) == 1 && countObjects(t, s.blobs) == 1 && tmpEmpty(s.fsRoot) {
				wantUploads = 0
				break
			}
			if n := countObjects(t, s.blobs); len(arts) == 0 && n == 0 && tmpEmpty(s.fsRoot) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the killed upload's data was not cleaned up")
			}
			time.Sleep(50 * time.Millisecond)
		}

		out := runUpsert(t, dir, 0, args[1:]...)
		if a := actions(out); a["upload"] != wantUploads {
			t.Fatalf("rerun: %+v (want %d uploads)", out, wantUploads)
		}
		var buf bytes.Buffer
		if _, err := c.DownloadArtifact(ctx, owner, "big.bin", &buf); err != nil || !bytes.Equal(buf.Bytes(), big) {
			t.Fatalf("after the rerun: %v, %d bytes", err, buf.Len())
		}
	})
}

func countObjects(t *testing.T, st blob.Store) int {
	n := 0
	if err := st.List(context.Background(), "objects/", func(blob.Info) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

func tmpEmpty(root string) bool {
	if root == "" {
		return true
	}
	entries, _ := os.ReadDir(filepath.Join(root, ".tmp"))
	return len(entries) == 0
}

// TestUpsertLocal is the laptop case: no server, the data folder.
func TestUpsertLocal(t *testing.T) {
	dir := t.TempDir()
	files := writeTree(t, filepath.Join(dir, "out"))
	args := []string{"--namespace", "canada", "--model", "llm.sm", "--version", "v1", "--artifact", "out", "--state", "qa"}

	dry := flymodel(t, dir, nil, append([]string{"--dry", "upsert"}, args...)...)
	dry.expectCode(t, 0)
	if _, err := os.Stat(filepath.Join(dir, "flymodel-data")); !os.IsNotExist(err) {
		t.Fatalf("--dry created the data folder: %v\n%s", err, dry)
	}
	first := runUpsert(t, dir, 0, args...)
	if a := actions(first); a["upload"] != len(files) || a["move"] != 1 {
		t.Fatalf("first local run: %+v", first)
	}
	// The local runs are the local user's in the audit log; the rerun adds nothing.
	dbURL := "sqlite:" + filepath.Join(dir, "flymodel-data", "flymodel.db")
	local := readAudit(t, dir, dbURL)
	var records []audit.Item
	for _, r := range local {
		records = append(records, audit.Item{Actor: r.actor, Action: r.action, Outcome: r.outcome})
	}
	checkAudited(t, first, localUser(t), records)
	second := runUpsert(t, dir, 0, args...)
	if second.Changed != 0 {
		t.Fatalf("second local run: %+v", second)
	}
	if again := readAudit(t, dir, dbURL); len(again) != len(local) {
		t.Fatalf("the second local run added %d audit records", len(again)-len(local))
	}
	// What the local run registered is what serve then serves.
	srv := startServe(t, dir, nil, "-p", "0")
	defer srv.stop(t, os.Interrupt)
	c, _ := client.New("http://" + srv.addr)
	owner := client.Owner{Namespace: "canada", Model: "llm.sm", Version: "v1"}
	for rel, content := range files {
		var buf bytes.Buffer
		if _, err := c.DownloadArtifact(context.Background(), owner, rel, &buf); err != nil || !bytes.Equal(buf.Bytes(), content) {
			t.Fatalf("%s: %v", rel, err)
		}
	}
	v, err := c.GetVersion(context.Background(), owner.Ref())
	if err != nil || v.State != "qa" || v.Digest == "" {
		t.Fatalf("version = %+v, %v", v, err)
	}
}

func TestUpsertUsage(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"upsert", "--model", "m", "--version", "v"},
		{"upsert", "--namespace", "n", "--model", "m", "--version", "v", "--state", "gold"},
		{"upsert", "--namespace", "n", "--model", "m", "--version", "v", "--extra", "[1]", "--artifact", "x=y"},
		{"upsert", "--namespace", "n", "--model", "m", "--version", "v", "--experiment-state", "passed"},
		{"upsert", "--namespace", "n", "--model", "m", "--version", "v", "--output", "xml"},
	} {
		res := flymodel(t, dir, nil, args...)
		if res.code != 2 {
			t.Errorf("%v: %s", args, res)
		}
	}
	res := flymodel(t, dir, nil, "upsert", "--namespace", "n", "--model", "m", "--version", "v", "--artifact", "x=missing")
	if res.code != 1 || !strings.Contains(res.stderr, "missing") {
		t.Errorf("missing file: %s", res)
	}
	_ = fmt.Sprint()
}

// TestUpsertAuth: against a server that has tokens, upsert needs one, from
// --token, FLYMODEL_TOKEN or client.token (the flag first); a refused run
// writes nothing and says why.
func TestUpsertAuth(t *testing.T) {
	dir := t.TempDir()
	dbURL := "sqlite:" + filepath.Join(dir, "flymodel.db")
	admin := createToken(t, dir, dbURL, "admin", "admin")
	reader := createToken(t, dir, dbURL, "reader", "read")
	srv := startServe(t, dir, nil, "-p", "0", "-d", dbURL)
	base := "http://" + srv.addr
	// A write token creates no namespace: the admin makes it (before the
	// token limited to it).
	if r := httpCall(t, base, "POST", "/api/v1/namespaces", admin, `{"name": "canada"}`); r.status != http.StatusCreated {
		t.Fatalf("create the namespace: %d %s", r.status, r.body)
	}
	writer := createToken(t, dir, dbURL, "ci", "write", "--namespace", "canada")
	writeTree(t, filepath.Join(dir, "out"))
	config := filepath.Join(dir, "client.toml")
	if err := os.WriteFile(config, []byte("[client]\ntoken = \""+writer+"\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		env     []string
		args    []string
		version string
		code    int
		err     []string // in the error line, for a refused run
	}{
		{name: "no token", version: "v1", code: 1, err: []string{"401", "bearer token"}},
		{name: "unknown token", args: []string{"--token", auth.NewSecret()}, version: "v1", code: 1, err: []string{"401", "invalid, expired or revoked"}},
		{name: "unknown FLYMODEL_TOKEN", env: []string{"FLYMODEL_TOKEN=fm_nope"}, version: "v1", code: 1, err: []string{"401"}},
		{name: "read token", args: []string{"--token", reader}, version: "v1", code: 1, err: []string{"403", "write role"}},
		{name: "FLYMODEL_TOKEN", env: []string{"FLYMODEL_TOKEN=" + writer}, version: "v1"},
		{name: "--token", args: []string{"--token", writer}, version: "v2"},
		{name: "--token over FLYMODEL_TOKEN", env: []string{"FLYMODEL_TOKEN=fm_nope"}, args: []string{"--token", writer}, version: "v3"},
		{name: "client.token", args: []string{"-c", config}, version: "v4"},
		{name: "FLYMODEL_TOKEN over client.token", env: []string{"FLYMODEL_TOKEN=fm_nope"}, args: []string{"-c", config}, version: "v5", code: 1, err: []string{"401"}},
	}
	before := len(readAudit(t, dir, dbURL, "--outcome", "ok"))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"upsert", "--output", "json", "--server", base, "--namespace", "canada", "--model", "llm.sm",
				"--version", tt.version, "--artifact", "model=out", "--state", "qa"}, tt.args...)
			res := flymodel(t, dir, tt.env, args...)
			res.expectCode(t, tt.code)
			var out upsertOutput
			if err := json.Unmarshal([]byte(res.stdout), &out); err != nil {
				t.Fatalf("upsert output is not JSON: %v\n%s", err, res)
			}
			after := readAudit(t, dir, dbURL, "--outcome", "ok")
			if tt.code != 0 {
				line := strings.SplitN(res.stderr, "\n", 2)[0]
				for _, want := range tt.err {
					if !strings.Contains(line, want) || !strings.Contains(out.Error, want) {
						t.Errorf("want %q in the error\n%s", want, res)
					}
				}
				if out.Changed != 0 || len(after) != before {
					t.Errorf("a refused upsert changed something: %d changed, %d audit records\n%s", out.Changed, len(after)-before, res)
				}
				return
			}
			creates := 1 // the version; the first also creates the model
			if tt.version == "v1" {
				creates = 2
			}
			if a := actions(out); a["create"] != creates || a["upload"] != 4 || a["move"] != 1 || out.Error != "" {
				t.Fatalf("upsert: %+v\n%s", out, res)
			}
			var records []audit.Item
			for _, r := range after[before:] {
				records = append(records, audit.Item{Actor: r.actor, Action: r.action, Outcome: r.outcome, RequestID: r.request})
			}
			checkAudited(t, out, "ci", records)
			before = len(after)
		})
	}
	srv.stop(t, os.Interrupt)
}
