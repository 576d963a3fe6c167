package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flymodel/flymodel/internal/blob"
	"github.com/flymodel/flymodel/internal/blob/fsblob"
	"github.com/flymodel/flymodel/internal/db"
	"github.com/flymodel/flymodel/internal/db/dbtest"
	"github.com/flymodel/flymodel/internal/db/sqlite"
	"github.com/flymodel/flymodel/internal/httpapi"
	"github.com/flymodel/flymodel/internal/registry"
)

const fuzzBoundary = "fuzzboundary"

// FuzzMultipartUpload sends arbitrary bytes as a multipart/form-data upload
// to the real handler over SQLite and the filesystem store. Whatever the
// body, the answer is never a 5xx, a refusal is problem+json, and nothing is
// written outside the blob root.
func FuzzMultipartUpload(f *testing.F) {
	for _, body := range []string{
		fuzzPart(`form-data; name="artifact"`, "application/json", `{"name":"weights/model.bin"}`) +
			fuzzPart(`form-data; name="file"; filename="model.bin"`, "application/octet-stream", "weights!") + "--" + fuzzBoundary + "--\r\n",
		fuzzPart(`form-data; name="artifact"`, "application/json", `{"name":"../../escape"}`) +
			fuzzPart(`form-data; name="file"; filename="../x"`, "", "x") + "--" + fuzzBoundary + "--\r\n",
		fuzzPart(`form-data; name="file"; filename="f"`, "", "no metadata") + "--" + fuzzBoundary + "--\r\n",
		fuzzPart(`form-data; name="artifact"`, "application/json", `{"name":"a"}`) +
			fuzzPart(`form-data; name="artifact"`, "application/json", `{"name":"b"}`) + "--" + fuzzBoundary + "--\r\n",
		"--" + fuzzBoundary + "\r\nContent-Disposition: form-data; name=\"artifact\"\r\n\r\n{\"name\":",
		"",
		"not multipart at all",
	} {
		f.Add([]byte(body))
	}

	ctx := context.Background()
	s, err := sqlite.Open(ctx, dbtest.SQLitePath(f))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(ctx, db.MigrateOptions{}); err != nil {
		f.Fatal(err)
	}
	parent := f.TempDir()
	root := filepath.Join(parent, "blobs")
	fsStore, err := fsblob.New(root)
	if err != nil {
		f.Fatal(err)
	}
	if err := fsStore.Ensure(ctx); err != nil {
		f.Fatal(err)
	}
	stores := registry.BlobStores{
		ByName:  map[string]blob.Store{"main": fsStore, "ml-test": fsStore, "ml-qa": fsStore, "ml-stage": fsStore, "ml-prod": fsStore},
		ForRole: map[string]string{"test": "main", "qa": "main", "stage": "main", "prod": "main"},
	}
	const maxUpload = 1 << 20
	reg := registry.New(registry.Options{DB: s, Blobs: stores, MaxUploadBytes: maxUpload})
	stage := filepath.Join(parent, "stage")
	if err := os.Mkdir(stage, 0o700); err != nil {
		f.Fatal(err)
	}
	h := newServer(reg, s, httpapi.Options{Logger: slog.New(slog.DiscardHandler), TempDir: stage})
	for _, c := range []struct{ path, body string }{
		{base + "/namespaces", `{"name":"canada"}`},
		{base + "/namespaces/canada/models", `{"name":"llm.sm"}`},
		{base + "/namespaces/canada/models/llm.sm/versions", `{"version":"v1"}`},
	} {
		req := httptest.NewRequest("POST", c.path, strings.NewReader(c.body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusCreated {
			f.Fatalf("POST %s: %d %s", c.path, rec.Code, rec.Body)
		}
	}

	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest("POST", vbase+"/artifacts", bytes.NewReader(body))
		req.Header.Set("Content-Type", "multipart/form-data; boundary="+fuzzBoundary)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("status %d\n%s", rec.Code, truncate(rec.Body.Bytes()))
		}
		if rec.Code >= 400 {
			checkProblem(t, rec)
		}
		err := filepath.WalkDir(parent, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if p != parent && p != root && p != stage && !strings.HasPrefix(p, root+string(filepath.Separator)) {
				t.Errorf("%s written outside the blob root %s", p, root)
			}
			if d.Type()&fs.ModeSymlink != 0 {
				t.Errorf("symlink %s", p)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if tmp, _ := os.ReadDir(filepath.Join(root, ".tmp")); len(tmp) != 0 {
			t.Fatalf("temporary files left: %v", tmp)
		}
		if staged, _ := os.ReadDir(stage); len(staged) != 0 {
			t.Fatalf("staged uploads left: %v", staged)
		}
	})
}

// fuzzPart is one multipart part with the fuzz boundary.
func fuzzPart(disposition, contentType, content string) string {
	var b strings.Builder
	b.WriteString("--" + fuzzBoundary + "\r\nContent-Disposition: " + disposition + "\r\n")
	if contentType != "" {
		b.WriteString("Content-Type: " + contentType + "\r\n")
	}
	b.WriteString("\r\n" + content + "\r\n")
	return b.String()
}

// checkProblem asserts rec is a well-formed problem+json refusal.
func checkProblem(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("status %d with content type %q\n%s", rec.Code, ct, truncate(rec.Body.Bytes()))
	}
	var p map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatalf("status %d: body is not a JSON object: %v\n%s", rec.Code, err, truncate(rec.Body.Bytes()))
	}
	typ, _ := p["type"].(string)
	title, _ := p["title"].(string)
	if !strings.HasPrefix(typ, "https://flymodel.dev/problems/") || title == "" || p["status"] != float64(rec.Code) {
		t.Fatalf("status %d: malformed problem %v", rec.Code, p)
	}
}
