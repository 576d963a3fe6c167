package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/flymodel/flymodel/internal/auth"
	"github.com/flymodel/flymodel/internal/db"
	"github.com/flymodel/flymodel/internal/registry"
)

// pingStore is a db.DB whose only working methods are Ping and
// ListAllBuckets (none): enough for the health endpoints, which must not
// touch anything else. Any other method panics through the nil embedded
// interface.
type pingStore struct {
	db.DB
	err error
}

func (s pingStore) Ping(ctx context.Context) error { return s.err }

func (s pingStore) ListAllBuckets(context.Context) ([]db.ListAllBucketsRow, error) { return nil, s.err }

// serverOver is the server of a registry over store (nil: none) and no
// blob store, to anonymous requests as on a laptop.
func serverOver(store db.DB, opts Options) http.Handler {
	return NewServer(registry.New(registry.Options{DB: store}), auth.New(auth.Options{DB: store, Loopback: true}), opts)
}

// do sends a request to h and returns the recorded response.
func do(t *testing.T, h http.Handler, method, target string, header http.Header) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// expect checks the status and content type of a response and decodes its
// JSON body, printing the body on a mismatch.
func expect(t *testing.T, rec *httptest.ResponseRecorder, status int, contentType string) map[string]any {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status %d, want %d; body: %s", rec.Code, status, rec.Body)
	}
	if got := rec.Header().Get("Content-Type"); got != contentType {
		t.Fatalf("Content-Type %q, want %q; body: %s", got, contentType, rec.Body)
	}
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("body is not a JSON object: %v; body: %s", err, rec.Body)
	}
	return body
}

// expectProblem checks an RFC 9457 response: its media type, type URI,
// status member, instance and request id.
func expectProblem(t *testing.T, rec *httptest.ResponseRecorder, status int, slug, instance string) map[string]any {
	t.Helper()
	body := expect(t, rec, status, problemContentType)
	if got, want := body["type"], problemTypeBase+slug; got != want {
		t.Errorf("type %v, want %v", got, want)
	}
	if got := body["status"]; got != float64(status) {
		t.Errorf("status member %v, want %d", got, status)
	}
	if title, _ := body["title"].(string); title == "" {
		t.Errorf("title missing: %s", rec.Body)
	}
	if got := body["instance"]; got != instance {
		t.Errorf("instance %v, want %s", got, instance)
	}
	if id := rec.Header().Get(requestIDHeader); id == "" || body["request_id"] != id {
		t.Errorf("request_id %v, header %q: want the same non-empty id", body["request_id"], id)
	}
	return body
}

func TestHealthz(t *testing.T) {
	// A failing database must not make the process look dead.
	h := serverOver(pingStore{err: errors.New("down")}, Options{})
	body := expect(t, do(t, h, http.MethodGet, "/healthz", nil), http.StatusOK, "application/json")
	if body["status"] != "ok" {
		t.Errorf("body %v, want status ok", body)
	}

	rec := do(t, h, http.MethodHead, "/healthz", nil)
	if rec.Code != http.StatusOK {
		t.Errorf("HEAD /healthz: status %d, want 200", rec.Code)
	}
}

func TestReadyz(t *testing.T) {
	t.Run("database answers", func(t *testing.T) {
		h := serverOver(pingStore{}, Options{})
		body := expect(t, do(t, h, http.MethodGet, "/readyz", nil), http.StatusOK, "application/json")
		want := map[string]any{"status": "ready", "checks": map[string]any{"database": "ok"}}
		if got, _ := json.Marshal(body); string(got) != mustJSON(t, want) {
			t.Errorf("body %s, want %s", got, mustJSON(t, want))
		}
	})

	t.Run("database fails", func(t *testing.T) {
		var logs bytes.Buffer
		logger := slog.New(slog.NewTextHandler(&logs, nil))
		h := serverOver(pingStore{err: errors.New("connection refused: secret-host")}, Options{Logger: logger})
		rec := do(t, h, http.MethodGet, "/readyz", nil)
		body := expectProblem(t, rec, http.StatusServiceUnavailable, "not-ready", "/readyz")
		checks, _ := body["checks"].(map[string]any)
		if checks["database"] != "failed" {
			t.Errorf("checks %v, want database failed", body["checks"])
		}
		if strings.Contains(rec.Body.String(), "secret-host") {
			t.Errorf("the driver error leaked into the response: %s", rec.Body)
		}
		if !strings.Contains(logs.String(), "secret-host") {
			t.Errorf("the driver error is not logged: %s", logs.String())
		}
	})

	t.Run("no store", func(t *testing.T) {
		h := serverOver(nil, Options{})
		expectProblem(t, do(t, h, http.MethodGet, "/readyz", nil), http.StatusServiceUnavailable, "not-ready", "/readyz")
	})
}

func TestNotFound(t *testing.T) {
	h := serverOver(pingStore{}, Options{})
	for _, target := range []string{"/", "/nope", "/api/v1/nope?x=1", "/healthz/extra"} {
		t.Run(target, func(t *testing.T) {
			expectProblem(t, do(t, h, http.MethodGet, target, nil), http.StatusNotFound, "not-found", target)
		})
	}
}

func TestMethodNotAllowed(t *testing.T) {
	h := serverOver(pingStore{}, Options{})
	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch} {
		t.Run(method, func(t *testing.T) {
			rec := do(t, h, method, "/healthz", nil)
			expectProblem(t, rec, http.StatusMethodNotAllowed, "method-not-allowed", "/healthz")
			if got := rec.Header().Get("Allow"); got != "GET, HEAD" {
				t.Errorf("Allow %q, want %q", got, "GET, HEAD")
			}
		})
	}
}

func TestRequestID(t *testing.T) {
	h := serverOver(pingStore{}, Options{})

	rec := do(t, h, http.MethodGet, "/healthz", http.Header{requestIDHeader: {"proxy-id-42"}})
	if got := rec.Header().Get(requestIDHeader); got != "proxy-id-42" {
		t.Errorf("incoming id not echoed: %q", got)
	}

	// An id that is unsafe to log or echo is replaced.
	rec = do(t, h, http.MethodGet, "/healthz", http.Header{requestIDHeader: {"bad id\x7f"}})
	if got := rec.Header().Get(requestIDHeader); got == "" || got == "bad id\x7f" {
		t.Errorf("unsafe incoming id kept or no id made: %q", got)
	}

	a := do(t, h, http.MethodGet, "/healthz", nil).Header().Get(requestIDHeader)
	b := do(t, h, http.MethodGet, "/healthz", nil).Header().Get(requestIDHeader)
	if a == "" || a == b {
		t.Errorf("generated ids %q and %q: want distinct and non-empty", a, b)
	}
}

func TestAccessLog(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := serverOver(pingStore{}, Options{Logger: logger})
	do(t, h, http.MethodGet, "/readyz", http.Header{requestIDHeader: {"abc"}})
	do(t, h, http.MethodGet, "/missing", nil)

	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 access-log lines, got %d:\n%s", len(lines), logs.String())
	}
	var first, second map[string]any
	_ = json.Unmarshal([]byte(lines[0]), &first)
	_ = json.Unmarshal([]byte(lines[1]), &second)
	for k, want := range map[string]any{"msg": "request", "method": "GET", "route": "/readyz", "status": float64(200), "request_id": "abc", "level": "DEBUG"} {
		if first[k] != want {
			t.Errorf("readyz log %s = %v, want %v (%s)", k, first[k], want, lines[0])
		}
	}
	// Milliseconds, the unit in the key (issue 14).
	if ms, ok := first["duration_ms"].(float64); !ok || ms < 0 || ms > 60_000 {
		t.Errorf("no duration_ms in milliseconds in %s", lines[0])
	}
	if _, ok := first["duration"]; ok {
		t.Errorf("a duration without its unit in %s", lines[0])
	}
	for k, want := range map[string]any{"route": "", "path": "/missing", "status": float64(404), "level": "INFO"} {
		if second[k] != want {
			t.Errorf("not-found log %s = %v, want %v (%s)", k, second[k], want, lines[1])
		}
	}
}

func TestPanicRecovery(t *testing.T) {
	var logs bytes.Buffer
	s := &server{logger: slog.New(slog.NewTextHandler(&logs, nil))}
	boom := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		panic("secret internals")
	})
	h := withRequestID(s.logRequests(s.recoverPanics(boom)))

	rec := do(t, h, http.MethodGet, "/boom", nil)
	expectProblem(t, rec, http.StatusInternalServerError, "internal", "/boom")
	if strings.Contains(rec.Body.String(), "secret internals") {
		t.Errorf("panic value leaked into the response: %s", rec.Body)
	}
	if !strings.Contains(logs.String(), "secret internals") || !strings.Contains(logs.String(), "status=500") {
		t.Errorf("panic or its 500 not logged: %s", logs.String())
	}
}

func TestPanicAfterHeadersAbortsResponse(t *testing.T) {
	s := &server{logger: slog.New(slog.DiscardHandler)}
	h := withRequestID(s.logRequests(s.recoverPanics(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("partial"))
		panic("late failure")
	}))))
	defer func() {
		if v := recover(); v != http.ErrAbortHandler {
			t.Fatalf("recovered %v, want http.ErrAbortHandler", v)
		}
	}()
	do(t, h, http.MethodGet, "/late", nil)
}

func TestProblemMarshal(t *testing.T) {
	p := newProblem(kindNotFound, "gone").with(map[string]any{"type": "overridden?", "extra": 1})
	got := mustJSON(t, p)
	want := `{"type":"https://flymodel.dev/problems/not-found","title":"Not Found","status":404,"detail":"gone","extra":1}`
	if got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
