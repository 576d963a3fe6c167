package httpapi_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/flymodel/flymodel/internal/blob"
	"github.com/flymodel/flymodel/internal/httpapi"
)

// fileFirst builds a multipart upload in the original flymodel's order:
// the part "file", then the part "artifact", then any extra parts.
func fileFirst(meta, fileName string, content []byte, extra ...string) (string, []byte) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename=%q`, fileName))
	h.Set("Content-Type", "application/octet-stream")
	fw, _ := mw.CreatePart(h)
	fw.Write(content)
	h = textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="artifact"; filename="payload.json"`)
	h.Set("Content-Type", "application/json")
	pw, _ := mw.CreatePart(h)
	pw.Write([]byte(meta))
	for _, name := range extra {
		xw, _ := mw.CreateFormField(name)
		xw.Write([]byte("more"))
	}
	mw.Close()
	return mw.FormDataContentType(), buf.Bytes()
}

// TestMultipartFileFirst: an upload whose file comes before its metadata
// is staged, then stored under the metadata with every rule of an upload;
// whatever the answer, no staged file is left behind.
func TestMultipartFileFirst(t *testing.T) {
	const limit = 256 << 10
	artifactEngines(t, artifactSetup{maxUpload: limit}, func(t *testing.T, a *artifactAPI) {
		a.seed()
		content := []byte(`{"weights": [1, 2, 3]}`)
		send := func(path, meta string, content []byte, want int, extra ...string) response {
			t.Helper()
			ct, body := fileFirst(meta, "local.json", content, extra...)
			res := a.request("POST", path, ct, string(body))
			if res.status != want {
				t.Fatalf("POST %s (file first): status %d, want %d\n%s", path, res.status, want, truncate(res.body))
			}
			a.noStaged()
			return res
		}

		created := send(vbase+"/artifacts", `{"name":"weights/model.json","format":"json"}`, content, 201).json(t)
		if created["sha256"] != sha(content) || created["size"] != float64(len(content)) || created["file_name"] != "local.json" ||
			created["content_type"] != "application/json" {
			t.Fatalf("file-first upload = %v", created)
		}
		dl := a.do("GET", vbase+"/artifacts/weights/model.json", nil, 200)
		if !bytes.Equal(dl.body, content) {
			t.Fatalf("download = %q", dl.body)
		}
		// The same bytes again: 200, the same record; other bytes: 409.
		if again := send(vbase+"/artifacts", `{"name":"weights/model.json","format":"json"}`, content, 200).json(t); again["id"] != created["id"] {
			t.Fatalf("same bytes again = %v", again)
		}
		// Experiments take it too.
		send(vbase+"/experiments/eval/artifacts", `{"name":"log.txt"}`, []byte("log"), 201)

		before := a.snapshot()
		a.problem(send(vbase+"/artifacts", `{"name":"weights/model.json"}`, []byte("other"), 409), 409, "immutable")
		a.problem(send(vbase+"/artifacts", `{"name":"d.bin","sha256":"`+strings.Repeat("0", 64)+`"}`, content, 400), 400, "digest-mismatch")
		a.problem(send(vbase+"/artifacts", `{"name":"big.bin"}`, bytes.Repeat([]byte("b"), limit+1), 413), 413, "too-large")
		a.problem(send(vbase+"/artifacts", `{"name":"empty.bin"}`, nil, 400), 400, "empty-upload")
		a.problem(send(vbase+"/artifacts", `{"name":"x.bin","format":"parket"}`, content, 422), 422, "validation")
		a.problem(send(vbase+"/artifacts", `{"name":"x.bin","bogus":1}`, content, 400), 400, "malformed-request")
		a.problem(send(vbase+"/artifacts", `{"name":"x.bin"}`, content, 400, "file"), 400, "malformed-multipart")
		a.problem(send(vbase+"/artifacts", `{"name":"x.bin"}`, content, 400, "artifact"), 400, "malformed-multipart")
		a.problem(send(base+"/namespaces/canada/models/llm.sm/versions/v9/artifacts", `{"name":"x.bin"}`, content, 404), 404, "not-found")
		// A file part and no metadata, or a second file instead of it.
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		fw, _ := mw.CreateFormFile("file", "a")
		fw.Write([]byte("first"))
		fw, _ = mw.CreateFormFile("file", "b")
		fw.Write([]byte("second"))
		mw.Close()
		a.problem(a.request("POST", vbase+"/artifacts", mw.FormDataContentType(), buf.String()), 400, "malformed-multipart")
		// Metadata over 64 KiB after the file.
		a.problem(send(vbase+"/artifacts", `{"name":"m.bin","file_name":"`+strings.Repeat("m", 70<<10)+`"}`, content, 413), 413, "too-large")
		if after := a.snapshot(); after != before {
			t.Fatalf("refused file-first uploads changed the database:\n%s\nvs\n%s", before, after)
		}
		a.leftovers(2)

		// Sealed: the same bytes still succeed, new ones are refused.
		a.do("PUT", vbase+"/state", map[string]any{"state": "qa"}, 200)
		send(vbase+"/artifacts", `{"name":"weights/model.json"}`, content, 200)
		a.problem(send(vbase+"/artifacts", `{"name":"late.bin"}`, []byte("late"), 409), 409, "sealed")
		a.leftovers(2)
	})
}

// TestMultipartFileFirstStoreDown: the store failing after the staged file
// is complete answers 503 and leaves no staged file, no object, no row.
func TestMultipartFileFirstStoreDown(t *testing.T) {
	artifactEngines(t, artifactSetup{wrapStore: func(s blob.Store) blob.Store { return failingStore{s} }}, func(t *testing.T, a *artifactAPI) {
		a.seed()
		before := a.snapshot()
		ct, body := fileFirst(`{"name":"model.bin"}`, "model.bin", bytes.Repeat([]byte("p"), 64<<10))
		a.problem(a.request("POST", vbase+"/artifacts", ct, string(body)), 503, "storage-unavailable")
		if after := a.snapshot(); after != before {
			t.Fatal("a failed upload changed the database")
		}
		a.leftovers(0)
	})
}

// TestMultipartFileFirstClientGone: a client that disconnects in the
// middle of the file part leaves no staged file and nothing stored.
func TestMultipartFileFirstClientGone(t *testing.T) {
	artifactEngines(t, artifactSetup{}, func(t *testing.T, a *artifactAPI) {
		a.seed()
		before := a.snapshot()
		// The handler's return is awaited through this wrapper: the staged
		// file is removed before it returns.
		done := make(chan struct{}, 1)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() { done <- struct{}{} }()
			a.h.ServeHTTP(w, r)
		}))
		defer srv.Close()

		ct, body := fileFirst(`{"name":"gone.bin"}`, "gone.bin", bytes.Repeat([]byte("g"), 1<<20))
		conn, err := net.Dial("tcp", srv.Listener.Addr().String())
		check(t, err)
		fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: flymodel\r\nAuthorization: Bearer %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n",
			vbase+"/artifacts", a.token, ct, len(body))
		_, err = conn.Write(body[:len(body)/2])
		check(t, err)
		conn.Close()
		<-done
		if after := a.snapshot(); after != before {
			t.Fatal("an interrupted upload changed the database")
		}
		a.leftovers(0)
	})
}

// TestMultipartFileFirstFlatMemory stages a body far larger than any
// buffer of the upload path and checks that the server allocated a small
// fraction of it.
func TestMultipartFileFirstFlatMemory(t *testing.T) {
	const size = 64 << 20
	artifactEngines(t, artifactSetup{}, func(t *testing.T, a *artifactAPI) {
		if a.fsRoot == "" {
			t.Skip("measured on the filesystem store (the S3 store buffers its multipart parts)")
		}
		a.seed()
		pr, pw := io.Pipe()
		mw := multipart.NewWriter(pw)
		h := sha256.New()
		go func() {
			fw, _ := mw.CreateFormFile("file", "big.bin")
			chunk := bytes.Repeat([]byte("0123456789abcdef"), 4096)
			for written := 0; written < size; written += len(chunk) {
				h.Write(chunk)
				if _, err := fw.Write(chunk); err != nil {
					pw.CloseWithError(err)
					return
				}
			}
			mw.WriteField("artifact", `{"name":"big.bin"}`)
			pw.CloseWithError(mw.Close())
		}()
		req := httptest.NewRequest("POST", vbase+"/artifacts", pr)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		a.sign(req)
		rec := httptest.NewRecorder()
		runtime.GC()
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		a.h.ServeHTTP(rec, req)
		runtime.ReadMemStats(&m1)
		if rec.Code != 201 {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		if got := rec.Body.String(); !strings.Contains(got, hex.EncodeToString(h.Sum(nil))) {
			t.Fatalf("upload = %s", got)
		}
		// The test's own writer allocates its chunk once; everything else
		// is the server's.
		alloc := m1.TotalAlloc - m0.TotalAlloc
		t.Logf("a %d MiB file-first upload allocated %.1f MiB", size>>20, float64(alloc)/(1<<20))
		if alloc > size/4 {
			t.Errorf("a %d MiB file-first upload allocated %d MiB", size>>20, alloc>>20)
		}
		a.leftovers(1)
	})
}

// TestRemoveStaleStaged: the start-up sweep removes staged uploads left
// untouched, and nothing else.
func TestRemoveStaleStaged(t *testing.T) {
	dir := t.TempDir()
	old := time.Now().Add(-time.Hour)
	write := func(name string, mtime time.Time) {
		p := filepath.Join(dir, name)
		check(t, os.WriteFile(p, []byte("x"), 0o600))
		check(t, os.Chtimes(p, mtime, mtime))
	}
	write(httpapi.StagePrefix+"stale", old)
	write(httpapi.StagePrefix+"fresh", time.Now())
	write("someone-elses-file", old)
	n, err := httpapi.RemoveStaleStaged(dir, time.Minute)
	check(t, err)
	var left []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		left = append(left, e.Name())
	}
	if n != 1 || strings.Join(left, ",") != httpapi.StagePrefix+"fresh,someone-elses-file" {
		t.Fatalf("removed %d, left %v", n, left)
	}
}
