package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/flymodel/flymodel/client"
	"github.com/flymodel/flymodel/internal/blob"
	"github.com/flymodel/flymodel/internal/blob/s3blob"
	"github.com/flymodel/flymodel/internal/db"
	"github.com/flymodel/flymodel/internal/db/dbtest"
	"github.com/flymodel/flymodel/internal/db/engine"
)

// TestTwoReplicas runs two `serve` processes on one PostgreSQL database and
// one S3 server: concurrent upserts of one version, split across both,
// leave exactly one record per artifact and no orphaned blob, and both
// replicas' sweepers run (under the advisory lock) without failing.
func TestTwoReplicas(t *testing.T) {
	dir := t.TempDir()
	suffix := s3Config(t, dir)
	url := dbtest.PostgresURL(t)
	cfgPath := filepath.Join(dir, "flymodel.toml")
	cfg, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg = append(cfg, fmt.Sprintf("[server]\nsweep_interval = \"100ms\"\n\n[database]\nurl = %q\n", url)...)
	if err := os.WriteFile(cfgPath, cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	flymodel(t, dir, nil, "setup-storage").expectCode(t, 0)
	flymodel(t, dir, nil, "migrate", "up", "-d", url).expectCode(t, 0)

	replicas := []*server{
		startServe(t, dir, nil, "-p", "0", "--no-migrate"),
		startServe(t, dir, nil, "-p", "0", "--no-migrate"),
	}

	files := writeTree(t, filepath.Join(dir, "out"))

	// 8 concurrent upserts of the same version, alternating replicas.
	const runs = 8
	results := make([]result, runs)
	var wg sync.WaitGroup
	for i := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = runProcess(dir, "upsert", "--server", "http://"+replicas[i%2].addr,
				"--namespace", "ns", "--model", "m", "--version", "v1", "--artifact", "model=out", "--output", "json")
		}()
	}
	wg.Wait()
	// Every run succeeds: one that loses a create race to another run (on
	// either replica) finds the namespace, model or version made and goes on.
	uploads := 0
	for i, res := range results {
		if res.code != 0 {
			t.Errorf("upsert %d (replica %d): %s", i, i%2, res)
			continue
		}
		var out upsertOutput
		if err := json.Unmarshal([]byte(res.stdout), &out); err != nil {
			t.Errorf("upsert %d: output is not JSON: %v\n%s", i, err, res)
			continue
		}
		if out.Conflicts != 0 || out.Error != "" {
			t.Errorf("upsert %d: %+v", i, out)
		}
		uploads += actions(out)["upload"]
	}
	if t.Failed() {
		t.Fatalf("replica logs:\n%s\n---\n%s", replicas[0].drainLogs(), replicas[1].drainLogs())
	}
	t.Logf("%d upload actions over %d runs", uploads, runs)

	// Exactly one record per file, with the right digest and size, the same
	// through either replica.
	ctx := context.Background()
	owner := client.Owner{Namespace: "ns", Model: "m", Version: "v1"}
	blobIDs := map[int64]bool{}
	for r, s := range replicas {
		c, err := client.New("http://" + s.addr)
		if err != nil {
			t.Fatal(err)
		}
		arts, err := c.AllArtifacts(ctx, owner)
		if err != nil {
			t.Fatalf("replica %d: list artifacts: %v", r, err)
		}
		byName := map[string]int{}
		for _, a := range arts {
			byName[a.Name]++
			blobIDs[a.Blob] = true
			content, ok := files[strings.TrimPrefix(a.Name, "model/")]
			if !ok {
				t.Errorf("replica %d: unexpected artifact %q", r, a.Name)
				continue
			}
			sum := sha256.Sum256(content)
			if a.SHA256 != hex.EncodeToString(sum[:]) || a.Size != int64(len(content)) {
				t.Errorf("replica %d: %s has sha256 %s size %d, want %x size %d", r, a.Name, a.SHA256, a.Size, sum, len(content))
			}
		}
		if len(arts) != len(files) {
			t.Errorf("replica %d: %d artifacts, want %d: %v", r, len(arts), len(files), byName)
		}
		for rel := range files {
			if n := byName["model/"+rel]; n != 1 {
				t.Errorf("replica %d: %d records for model/%s, want 1", r, n, rel)
			}
		}
	}

	// No orphaned blob: no unreferenced blob row, and the objects in the
	// buckets are exactly the referenced blobs' keys.
	store, err := engine.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	unref, err := store.ListUnreferencedBlobs(ctx, db.ListUnreferencedBlobsParams{CreatedBefore: time.Now().Add(time.Hour), PageLimit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(unref) != 0 {
		t.Errorf("%d blob rows no artifact references: %+v", len(unref), unref)
	}
	want := map[string]bool{}
	for id := range blobIDs {
		b, err := store.GetBlob(ctx, id)
		if err != nil {
			t.Fatalf("blob %d: %v", id, err)
		}
		want[b.Store+"/"+b.Key] = true
	}
	if len(want) != len(files) { // the files' contents are all different
		t.Errorf("%d distinct blobs referenced, want %d", len(want), len(files))
	}
	got := map[string]bool{}
	for _, role := range []string{"test", "qa", "stage", "prod"} {
		bucket := "cli-" + role + "-" + suffix
		st, err := s3blob.New(s3blob.Config{Bucket: bucket, Endpoint: os.Getenv("FLYMODEL_TEST_S3_ENDPOINT"), Region: s3Region(), PathStyle: true,
			AccessKeyID: os.Getenv("FLYMODEL_TEST_S3_ACCESS_KEY"), SecretAccessKey: os.Getenv("FLYMODEL_TEST_S3_SECRET_KEY")})
		if err != nil {
			t.Fatal(err)
		}
		if err := st.List(ctx, "objects/", func(i blob.Info) error { got[bucket+"/"+i.Key] = true; return nil }); err != nil {
			t.Fatalf("list %s: %v", bucket, err)
		}
	}
	if !equalSets(got, want) {
		t.Errorf("objects in the buckets:\n%v\nreferenced blobs:\n%v", sortedKeys(got), sortedKeys(want))
	}

	// The sweepers: wait until both replicas have swept (or been skipped
	// because the other held the lock) a few times, none failing.
	var total [2]map[string]float64
	deadline := time.Now().Add(30 * time.Second)
	for {
		for r, s := range replicas {
			total[r] = sweeps(t, s)
		}
		done := total[0]["done"] + total[1]["done"]
		if total[0]["done"]+total[0]["skipped"] >= 5 && total[1]["done"]+total[1]["skipped"] >= 5 && done >= 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the sweepers did not run: %v %v", total[0], total[1])
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("sweeps: replica 0 %v, replica 1 %v", total[0], total[1])
	for r := range replicas {
		if total[r]["failed"] != 0 {
			t.Errorf("replica %d: %v failed sweeps", r, total[r]["failed"])
		}
	}

	for r, s := range replicas {
		s.stop(t, syscall.SIGINT)
		if logs := s.drainLogs(); strings.Contains(logs, "sweep failed") {
			t.Errorf("replica %d logged a failed sweep:\n%s", r, logs)
		}
	}
}

// runProcess runs the binary in dir, for use outside the test goroutine.
func runProcess(dir string, args ...string) result {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Dir = dir
	cmd.Env = cleanEnv()
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := result{stdout: stdout.String(), stderr: stderr.String()}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		res.code = exitErr.ExitCode()
	default:
		res.code = -1
		res.stderr += "\n" + err.Error()
	}
	return res
}

func s3Region() string {
	if r := os.Getenv("FLYMODEL_TEST_S3_REGION"); r != "" {
		return r
	}
	return "us-east-1"
}

var sweepsLine = regexp.MustCompile(`(?m)^flymodel_sweeps_total\{outcome="(\w+)"\} (\S+)$`)

// sweeps scrapes the replica's /metrics for flymodel_sweeps_total by outcome.
func sweeps(t *testing.T, s *server) map[string]float64 {
	t.Helper()
	res, err := http.Get("http://" + s.addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d %v", res.StatusCode, err)
	}
	m := map[string]float64{}
	for _, sm := range sweepsLine.FindAllStringSubmatch(string(body), -1) {
		v, err := strconv.ParseFloat(sm[2], 64)
		if err != nil {
			t.Fatalf("/metrics: %q", sm[0])
		}
		m[sm[1]] = v
	}
	return m
}

func equalSets(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
