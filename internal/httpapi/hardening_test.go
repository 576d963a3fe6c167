package httpapi_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flymodel/flymodel/internal/blob"
	"github.com/flymodel/flymodel/internal/blob/fsblob"
	"github.com/flymodel/flymodel/internal/db"
	"github.com/flymodel/flymodel/internal/db/dbtest"
	"github.com/flymodel/flymodel/internal/db/sqlite"
	"github.com/flymodel/flymodel/internal/httpapi"
	"github.com/flymodel/flymodel/internal/registry"
)

func TestSecurityHeaders(t *testing.T) {
	h := newServer(registry.New(registry.Options{}), nil, httpapi.Options{})
	for _, path := range []string{"/healthz", "/nowhere", "/api/v1/openapi.json"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		for k, v := range map[string]string{
			"X-Content-Type-Options":  "nosniff",
			"X-Frame-Options":         "DENY",
			"Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
			"Referrer-Policy":         "no-referrer",
		} {
			if got := rec.Header().Get(k); got != v {
				t.Errorf("%s: %s = %q, want %q", path, k, got, v)
			}
		}
	}
}

// fsServer is the API over SQLite and a filesystem store, with opts'
// other settings, anonymous (a laptop server without tokens).
func fsServer(t *testing.T, opts httpapi.Options) (*api, blob.Store) {
	t.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, dbtest.SQLitePath(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(ctx, db.MigrateOptions{}); err != nil {
		t.Fatal(err)
	}
	fs, err := fsblob.New(filepath.Join(t.TempDir(), "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	if err := fs.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	stores := registry.BlobStores{ByName: map[string]blob.Store{"main": fs}, ForRole: map[string]string{"test": "main"}}
	reg := registry.New(registry.Options{DB: s, Blobs: stores})
	return &api{t: t, h: newServer(reg, s, opts), store: s}, fs
}

// TestStalledUploadIsCutOff: a body that stops arriving (slow-loris) is cut
// off after the stall timeout with 408, and nothing is stored.
func TestStalledUploadIsCutOff(t *testing.T) {
	ctx := context.Background()
	a, fs := fsServer(t, httpapi.Options{StallTimeout: 200 * time.Millisecond})
	a.seed()
	srv := httptest.NewServer(a.h)
	defer srv.Close()

	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "PUT %s/artifacts/slow.bin HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n0123456789", vbase)
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a stalled upload: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusRequestTimeout {
		t.Fatalf("stalled upload: status %d, want 408", res.StatusCode)
	}
	n := 0
	fs.List(ctx, "", func(blob.Info) error { n++; return nil })
	if n != 0 {
		t.Fatalf("a stalled upload left %d objects", n)
	}
	list := a.do("GET", vbase+"/artifacts", nil, 200).json(t)
	if list["total_items"] != 0.0 {
		t.Fatalf("a stalled upload left a record: %v", list)
	}
}

// TestUploadSlots: with every upload slot taken, the next upload is
// answered 429 with Retry-After at once, before its body is read, and
// stores nothing; once the slot is free, uploads go through again.
func TestUploadSlots(t *testing.T) {
	a, _ := fsServer(t, httpapi.Options{MaxConcurrentUploads: 1})
	a.seed()
	srv := httptest.NewServer(a.h)
	defer srv.Close()

	// The one slot: an upload whose body is still arriving.
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "PUT %s/artifacts/slow.bin HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n01234", vbase)

	// Wait until the server holds it: the request may still be on its way.
	inFlight := func() float64 { m, _ := scrapeMetrics(t, a.h); return m["flymodel_uploads_in_flight"] }
	for deadline := time.Now().Add(10 * time.Second); inFlight() != 1; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			fmt.Fprint(conn, "56789")
			conn.SetReadDeadline(time.Now().Add(time.Second))
			b := make([]byte, 4096)
			n, err := conn.Read(b)
			t.Fatalf("the first upload never started: %q %v", b[:n], err)
		}
	}
	res := a.request("PUT", vbase+"/artifacts/probe.bin", "application/octet-stream", "")
	a.problem(res, http.StatusTooManyRequests, "too-many-uploads")
	res = a.request("PUT", vbase+"/artifacts/other.bin", "application/octet-stream", "other bytes")
	a.problem(res, http.StatusTooManyRequests, "too-many-uploads")
	if res.header.Get("Retry-After") != "1" {
		t.Fatalf("Retry-After = %q", res.header.Get("Retry-After"))
	}
	// Reads are not uploads: they go through.
	a.do("GET", vbase+"/artifacts", nil, 200)

	// Finish the first upload: the slot frees, and the second goes through.
	fmt.Fprint(conn, "56789")
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	first, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	first.Body.Close()
	if first.StatusCode != http.StatusCreated {
		t.Fatalf("first upload: %d", first.StatusCode)
	}
	a.skipAudit() // the first upload's record, sent around a.request
	a.do("PUT", vbase+"/artifacts/other.bin", "other bytes", 201)
	list := a.do("GET", vbase+"/artifacts", nil, 200).json(t)
	if list["total_items"] != 2.0 {
		t.Fatalf("artifacts = %v", list)
	}
	if m, _ := scrapeMetrics(t, a.h); m[`flymodel_uploads_refused_total{reason="busy"}`] != 2 || m["flymodel_uploads_in_flight"] != 0 {
		t.Fatal("the refusals are not counted as busy, or the slot not given back")
	}
}
