package main

import (
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
