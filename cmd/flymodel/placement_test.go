package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flymodel/flymodel/client"
	"github.com/flymodel/flymodel/internal/db"
	"github.com/flymodel/flymodel/internal/db/dbtest"
	"github.com/flymodel/flymodel/internal/db/engine"
)

// rawPut uploads body as artifact name of the version at vpath.
func rawPut(t *testing.T, base, vpath, name, body string) httpReply {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, base+vpath+"/artifacts/"+name, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b := new(strings.Builder)
	_, _ = io.Copy(b, resp.Body)
	return httpReply{status: resp.StatusCode, header: resp.Header, body: b.String()}
}

// filesUnder lists the regular files below dir, relative to it, skipping
// temporary folders.
func filesUnder(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		if d.IsDir() && d.Name() == ".tmp" {
			return filepath.SkipDir
		}
		if d.Type().IsRegular() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestFixtureBucketsOnTheLaptop: the original flymodel's test data records
// buckets ml-test, … in namespace canada; with no storage configured each is
// a folder of the data folder, so an upload works on the embedded default.
func TestFixtureBucketsOnTheLaptop(t *testing.T) {
	dir := t.TempDir()
	flymodel(t, dir, nil, "migrate", "up", "--test-data", "basic").expectCode(t, 0)
	s := startServe(t, dir, nil, "-p", "0")
	base := "http://" + s.addr + "/api/v1"
	if r := httpCall(t, base, http.MethodPost, "/namespaces/canada/models", "", `{"name":"llm.sm"}`); r.status != http.StatusCreated {
		t.Fatalf("create model: %d %s", r.status, r.body)
	}
	if r := httpCall(t, base, http.MethodPost, "/namespaces/canada/models/llm.sm/versions", "", `{"version":"v1"}`); r.status != http.StatusCreated {
		t.Fatalf("create version: %d %s", r.status, r.body)
	}
	vpath := "/namespaces/canada/models/llm.sm/versions/v1"
	if r := rawPut(t, base, vpath, "weights.bin", "the weights"); r.status != http.StatusCreated {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	files := filesUnder(t, filepath.Join(dir, "flymodel-data", "blobs", "buckets", "ml-test"))
	if len(files) != 1 || !strings.HasPrefix(files[0], "objects/") {
		t.Fatalf("files in the ml-test folder: %v", files)
	}
	if r := httpCall(t, base, http.MethodGet, vpath+"/artifacts/weights.bin", "", ""); r.status != http.StatusOK || r.body != "the weights" {
		t.Fatalf("download: %d %q", r.status, r.body)
	}
	s.get(t, "/readyz", http.StatusOK)
}

// TestStateChangesSerialize: 2×50 concurrent state changes of one version
// — through two `serve` processes on one PostgreSQL database, and through
// one on SQLite — leave an unbroken history (each entry's from is the
// previous entry's to), the audit log records the same changes in the same
// order, and the version's artifact ends in the store of its last
// lifecycle.
func TestStateChangesSerialize(t *testing.T) {
	t.Run("postgres, two replicas", func(t *testing.T) {
		url := dbtest.PostgresURL(t)
		testStateChangesSerialize(t, url, 2)
	})
	t.Run("sqlite, one process", func(t *testing.T) {
		testStateChangesSerialize(t, "", 1)
	})
}

func testStateChangesSerialize(t *testing.T, dbURL string, replicas int) {
	dir := t.TempDir()
	var env []string
	if dbURL != "" {
		env = append(env, "DB_URL="+dbURL)
	} else {
		dbURL = "sqlite:" + filepath.Join(dir, "flymodel-data", "flymodel.db")
	}
	// The basic fixtures record a bucket per lifecycle: with no storage
	// configured each is a folder, so every change places the artifact.
	flymodel(t, dir, env, "migrate", "up", "--test-data", "basic").expectCode(t, 0)
	var servers []*server
	for range replicas {
		servers = append(servers, startServe(t, dir, env, "-p", "0", "--no-migrate"))
	}
	ctx := context.Background()
	clients := make([]*client.Client, replicas)
	for i, s := range servers {
		c, err := client.New("http://" + s.addr)
		if err != nil {
			t.Fatal(err)
		}
		clients[i] = c
	}
	if _, err := clients[0].CreateModel(ctx, "canada", "llm.sm"); err != nil {
		t.Fatal(err)
	}
	if _, err := clients[0].CreateVersion(ctx, "canada", "llm.sm", client.NewVersion{Version: "v1"}); err != nil {
		t.Fatal(err)
	}
	base := "http://" + servers[0].addr + "/api/v1"
	vpath := "/namespaces/canada/models/llm.sm/versions/v1"
	if r := rawPut(t, base, vpath, "weights.bin", "the weights"); r.status != http.StatusCreated {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	v := client.VersionRef{Namespace: "canada", Model: "llm.sm", Version: "v1"}
	targets := []string{"qa", "stage", "prod", "test"}
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := range 100 {
		wg.Go(func() {
			if _, err := clients[i%replicas].SetVersionState(ctx, v, targets[i%len(targets)]); err != nil {
				errs <- fmt.Errorf("change %d to %s: %w", i, targets[i%len(targets)], err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		t.FailNow()
	}
	hist, err := clients[0].VersionHistory(ctx, v)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) < 2 || hist[0].From != nil || hist[0].To != "test" {
		t.Fatalf("history starts %+v", hist)
	}
	for i := 1; i < len(hist); i++ {
		if hist[i].From == nil || *hist[i].From != hist[i-1].To || *hist[i].From == hist[i].To {
			t.Fatalf("history entry %d: %v -> %s after -> %s: the chain is broken", i, hist[i].From, hist[i].To, hist[i-1].To)
		}
	}
	t.Logf("%d state changes recorded of 100 requests", len(hist)-1)

	database, err := engine.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer database.Close()
	action := "version.state"
	records, err := database.ListAudit(ctx, db.ListAuditParams{Action: &action, Until: time.Now().Add(time.Hour), PageLimit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(records) != len(hist)-1 {
		t.Fatalf("%d version.state audit records, %d history entries after the first", len(records), len(hist)-1)
	}
	for i, rec := range records {
		var detail struct{ State [2]string }
		if err := json.Unmarshal([]byte(*rec.Detail), &detail); err != nil {
			t.Fatalf("audit record %d detail %s: %v", i, *rec.Detail, err)
		}
		if h := hist[i+1]; detail.State != [2]string{*h.From, h.To} {
			t.Fatalf("audit record %d says %v, history entry %d says %s -> %s", i, detail.State, i+1, *h.From, h.To)
		}
	}

	// The artifact is in the folder of the last lifecycle's bucket, whole.
	last := hist[len(hist)-1].To
	arts, err := clients[0].AllArtifacts(ctx, v.Owner())
	if err != nil || len(arts) != 1 {
		t.Fatalf("artifacts: %v %v", arts, err)
	}
	if files := filesUnder(t, filepath.Join(dir, "flymodel-data", "blobs", "buckets", "ml-"+last)); len(files) == 0 {
		t.Fatalf("no object in the folder of ml-%s, the bucket of the version's lifecycle", last)
	}
	if r := httpCall(t, base, http.MethodGet, vpath+"/artifacts/weights.bin", "", ""); r.status != http.StatusOK || r.body != "the weights" {
		t.Fatalf("download after the changes: %d %q", r.status, r.body)
	}
	res := flymodel(t, dir, env, "verify")
	res.expectCode(t, 0)
}

// TestOriginalSampleConfigurations loads the original flymodel's sample
// configurations as they are: its conf/flymodel.toml (a bucket per
// lifecycle, role "staging") and the one-bucket sample of its storage
// documentation, whose other lifecycles stay on the local disk.
func TestOriginalSampleConfigurations(t *testing.T) {
	for _, tt := range []struct {
		file string
		want []string
	}{
		{"flymodel.toml", []string{"FAILED s3:ml-test (test)", "FAILED s3:ml-qa (qa)", "FAILED s3:ml-stage (stage)", "FAILED s3:ml-prod (prod)"}},
		{"storage-sample.toml", []string{"FAILED s3:ml-prod (prod)", "flymodel-data/blobs (test, qa, stage)", "note: no storage entry serves test, qa, stage"}},
	} {
		t.Run(tt.file, func(t *testing.T) {
			dir := t.TempDir()
			sample, err := filepath.Abs(filepath.Join("testdata", "original", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			// --dry checks that each store answers: the samples' endpoints
			// do not exist here, and each fails on its own line.
			res := flymodel(t, dir, nil, "-c", sample, "--dry", "setup-storage")
			res.expectCode(t, 1)
			for _, w := range tt.want {
				if !strings.Contains(res.stdout+res.stderr, w) {
					t.Errorf("no %q in:\n%s", w, res)
				}
			}
		})
	}
}

// TestOneBucketSample runs the original's one-bucket sample (its endpoint
// and bucket pointed at the test S3 server, credentials from the AWS
// environment as the original reads them): a namespace without buckets
// uploads to the local disk and its promotion to prod copies the bytes to
// the bucket; the fixtures' namespace, whose buckets are not configured,
// is told so — by serve, setup-storage, /readyz and a 409 no-store on
// upload — never a 503.
func TestOneBucketSample(t *testing.T) {
	endpoint := os.Getenv("FLYMODEL_TEST_S3_ENDPOINT")
	if endpoint == "" {
		dbtest.SkipOrFail(t, "FLYMODEL_TEST_S3_ENDPOINT not set: skipping S3")
	}
	dir := t.TempDir()
	sample, err := os.ReadFile(filepath.Join("testdata", "original", "storage-sample.toml"))
	if err != nil {
		t.Fatal(err)
	}
	bucket := fmt.Sprintf("sample-prod-%d", time.Now().UnixNano())
	cfg := strings.NewReplacer(`"https://my-minio-endpoint:9000"`, fmt.Sprintf("%q", endpoint), `"ml-prod"`, fmt.Sprintf("%q", bucket), `"ca"`, fmt.Sprintf("%q", s3Region())).Replace(string(sample))
	if err := os.WriteFile(filepath.Join(dir, "flymodel.toml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"AWS_ACCESS_KEY_ID=" + os.Getenv("FLYMODEL_TEST_S3_ACCESS_KEY"), "AWS_SECRET_ACCESS_KEY=" + os.Getenv("FLYMODEL_TEST_S3_SECRET_KEY")}
	flymodel(t, dir, env, "setup-storage").expectCode(t, 0)
	flymodel(t, dir, env, "migrate", "up", "--test-data", "basic").expectCode(t, 0)

	// canada records ml-test … ml-prod, which this server does not have.
	res := flymodel(t, dir, env, "setup-storage")
	res.expectCode(t, 1)
	for _, role := range []string{"test", "qa", "stage", "prod"} {
		want := fmt.Sprintf("NO STORE for lifecycle %s of namespace canada (its bucket ml-%s): add storage.s3 (bucket = \"ml-%s\", role = \"%s\")", role, role, role, role)
		if !strings.Contains(res.stderr, want) {
			t.Errorf("setup-storage does not say %q:\n%s", want, res)
		}
	}
	s := startServe(t, dir, env, "-p", "0")
	base := "http://" + s.addr + "/api/v1"
	ready := s.get(t, "/readyz", http.StatusOK)
	if noStore, _ := ready["no_store"].([]any); len(noStore) != 4 {
		t.Errorf("/readyz no_store = %v, want canada's four lifecycles", ready["no_store"])
	}
	for _, ns := range []string{"canada", "lab"} {
		if ns == "lab" {
			if r := httpCall(t, base, http.MethodPost, "/namespaces", "", `{"name":"lab"}`); r.status != http.StatusCreated {
				t.Fatalf("create namespace: %d %s", r.status, r.body)
			}
		}
		if r := httpCall(t, base, http.MethodPost, "/namespaces/"+ns+"/models", "", `{"name":"llm.sm"}`); r.status != http.StatusCreated {
			t.Fatalf("create model: %d %s", r.status, r.body)
		}
		if r := httpCall(t, base, http.MethodPost, "/namespaces/"+ns+"/models/llm.sm/versions", "", `{"version":"v1"}`); r.status != http.StatusCreated {
			t.Fatalf("create version: %d %s", r.status, r.body)
		}
	}
	r := rawPut(t, base, "/namespaces/canada/models/llm.sm/versions/v1", "weights.bin", "the weights")
	var p struct {
		Type, Lifecycle, Bucket string
		Key                     string `json:"config_key"`
	}
	_ = json.Unmarshal([]byte(r.body), &p)
	if r.status != http.StatusConflict || p.Type != "https://flymodel.dev/problems/no-store" || p.Lifecycle != "test" || p.Bucket != "ml-test" ||
		p.Key != `storage.s3 (bucket = "ml-test", role = "test")` {
		t.Fatalf("upload into a lifecycle without a store: %d %s", r.status, r.body)
	}

	vpath := "/namespaces/lab/models/llm.sm/versions/v1"
	if r := rawPut(t, base, vpath, "weights.bin", "the weights"); r.status != http.StatusCreated {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	if files := filesUnder(t, filepath.Join(dir, "flymodel-data", "blobs", "objects")); len(files) != 1 {
		t.Fatalf("the test upload is not on the local disk: %v", files)
	}
	if r := httpCall(t, base, http.MethodPut, vpath+"/state", "", `{"state":"prod"}`); r.status != http.StatusOK {
		t.Fatalf("promote to prod: %d %s", r.status, r.body)
	}
	r = httpCall(t, base, http.MethodGet, vpath+"/artifacts/weights.bin", "", "")
	if r.status != http.StatusOK || r.body != "the weights" {
		t.Fatalf("download from prod: %d %q", r.status, r.body)
	}
	database, err := engine.Open(context.Background(), "sqlite:"+filepath.Join(dir, "flymodel-data", "flymodel.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer database.Close()
	rows, err := database.ListArtifactBlobs(context.Background(), db.ListArtifactBlobsParams{PageLimit: 10})
	if err != nil || len(rows) != 1 || rows[0].Store != bucket {
		t.Fatalf("the prod artifact's blob: %+v %v, want it in %s", rows, err, bucket)
	}
	logs := s.drainLogs()
	for _, want := range []string{`"lifecycles":"test,qa,stage"`, `"add":"storage.s3 (bucket = \"ml-prod\", role = \"prod\")"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("serve did not log %s:\n%s", want, logs)
		}
	}
}
