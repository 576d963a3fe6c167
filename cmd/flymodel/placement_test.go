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
