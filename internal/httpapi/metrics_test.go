package httpapi_test

import (
	"bufio"
	"bytes"
	"database/sql"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/flymodel/flymodel/internal/blob"
	"github.com/flymodel/flymodel/internal/db"
	"github.com/flymodel/flymodel/internal/httpapi"
	"github.com/flymodel/flymodel/internal/registry"
)

// scrape is one read of GET /metrics: every sample, keyed by its name and
// labels as exposed ("name{a=\"x\",b=\"y\"}").
type scrape map[string]float64

// scrapeMetrics reads GET /metrics from h and parses the text format.
func scrapeMetrics(t *testing.T, h http.Handler) (scrape, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("GET /metrics: status %d\n%s", rec.Code, truncate(rec.Body.Bytes()))
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("GET /metrics: content type %q, want text/plain", ct)
	}
	s := scrape{}
	sc := bufio.NewScanner(bytes.NewReader(rec.Body.Bytes()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			t.Fatalf("unparsable sample %q", line)
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("unparsable value in %q: %v", line, err)
		}
		s[line[:i]] = v
	}
	return s, rec.Body.String()
}

// sum adds the samples whose key starts with prefix.
func (s scrape) sum(prefix string) float64 {
	var n float64
	for k, v := range s {
		if strings.HasPrefix(k, prefix) {
			n += v
		}
	}
	return n
}

func (s scrape) has(key string) bool {
	_, ok := s[key]
	return ok
}

func requests(method, route string, status int) string {
	return `flymodel_http_requests_total{method="` + method + `",route="` + route + `",status="` + strconv.Itoa(status) + `"}`
}

func refused(reason string) string {
	return `flymodel_uploads_refused_total{reason="` + reason + `"}`
}

const (
	versionRoute  = "/api/v1/namespaces/{namespace}/models/{model}/versions/{version}"
	uploadRoute   = versionRoute + "/artifacts"
	artifactRoute = versionRoute + "/artifacts/{name}" // the label leaves the pattern {name:.+} out
)

// TestMetricsAfterTraffic scrapes /metrics before and after traffic of every
// kind (probes, a 404, uploads accepted and refused, a download, an altered
// blob, a missing blob) and checks that each counter moved by what the
// traffic did.
func TestMetricsAfterTraffic(t *testing.T) {
	artifactEngines(t, artifactSetup{maxUpload: 1 << 20}, func(t *testing.T, a *artifactAPI) {
		before, _ := scrapeMetrics(t, a.h)
		for _, reason := range []string{"digest_mismatch", "too_large", "empty", "immutable", "sealed", "not_found", "invalid", "storage"} {
			if v, ok := before[refused(reason)]; !ok || v != 0 {
				t.Errorf("%s = %v (present %v) before any upload, want 0", refused(reason), v, ok)
			}
		}
		if !before.has("flymodel_integrity_failures_total") {
			t.Error("flymodel_integrity_failures_total missing")
		}

		a.seed()
		for range 3 {
			a.do("GET", "/healthz", nil, 200)
		}
		a.problem(a.request("GET", "/no/such/path", "", ""), 404, "not-found")
		a.problem(a.request("GET", base+"/namespaces/nowhere", "", ""), 404, "not-found")

		// An accepted upload, then a download of it.
		content := bytes.Repeat([]byte("0123456789"), 50000)
		ct, body := multipartBody(t, map[string]any{"name": "model.bin"}, "model.bin", content)
		uploadSize := body.Len()
		if res := a.request("POST", vbase+"/artifacts", ct, body.String()); res.status != 201 {
			t.Fatalf("upload: %d %s", res.status, truncate(res.body))
		}
		a.do("GET", vbase+"/artifacts/model.bin", nil, 200)
		a.upload(vbase+"/artifacts", map[string]any{"name": "gone.bin"}, "gone.bin", []byte("soon gone"), 201)

		// Refused uploads, one per reason the client can cause.
		a.problem(a.put(vbase+"/artifacts/new.bin", []byte("new bytes"), map[string]string{"Digest": "sha256=" + strings.Repeat("0", 64)}, 400), 400, "digest-mismatch")
		a.problem(a.request("PUT", vbase+"/artifacts/big.bin", "application/octet-stream", strings.Repeat("x", 1<<20+1)), 413, "too-large")
		a.problem(a.request("PUT", vbase+"/artifacts/empty.bin", "application/octet-stream", ""), 400, "empty-upload")
		a.problem(a.request("PUT", vbase+"/artifacts/model.bin", "application/octet-stream", "other bytes"), 409, "immutable")
		a.upload(vbase+"/artifacts", map[string]any{"name": "../escape"}, "x", []byte("abc"), 422)
		a.problem(a.request("PUT", base+"/namespaces/canada/models/llm.sm/versions/v9/artifacts/x.bin", "application/octet-stream", "abc"), 404, "not-found")

		// An altered blob: the download is aborted and counted.
		key, _ := a.storeArtifact("model.bin")
		altered := bytes.Clone(content)
		altered[len(altered)-1] ^= 1
		a.overwrite(key, altered)
		srv := httptest.NewServer(a.h)
		defer srv.Close()
		res, err := a.send("GET", srv.URL+vbase+"/artifacts/model.bin", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadAll(res.Body); err == nil {
			t.Fatal("download of altered bytes ended cleanly")
		}
		res.Body.Close()

		// A missing blob: a blob store error.
		gone, _ := a.storeArtifact("gone.bin")
		if err := a.blobs.Delete(t.Context(), gone, ""); err != nil {
			t.Fatal(err)
		}
		a.problem(a.request("GET", vbase+"/artifacts/gone.bin", "", ""), 500, "blob-missing")

		// Sealed: the version has left test.
		a.do("PUT", vbase+"/state", map[string]any{"state": "qa"}, 200)
		a.problem(a.request("PUT", vbase+"/artifacts/late.bin", "application/octet-stream", "late"), 409, "sealed")

		after, text := scrapeMetrics(t, a.h)
		moved := func(key string, want float64) {
			t.Helper()
			if !after.has(key) {
				t.Errorf("%s missing from the scrape", key)
				return
			}
			if d := after[key] - before[key]; d != want {
				t.Errorf("%s moved by %v, want %v", key, d, want)
			}
		}
		moved(requests("GET", "/healthz", 200), 3)
		moved(requests("GET", "unmatched", 404), 1)
		moved(requests("GET", "/api/v1/namespaces/{namespace}", 404), 1)
		moved(requests("GET", "/metrics", 200), 1) // the first scrape
		moved(requests("POST", uploadRoute, 201), 2)
		moved(requests("POST", uploadRoute, 422), 1)
		moved(requests("PUT", artifactRoute, 400), 2)
		moved(requests("PUT", artifactRoute, 404), 1)
		moved(requests("PUT", artifactRoute, 409), 2)
		moved(requests("PUT", artifactRoute, 413), 1)
		moved(requests("GET", artifactRoute, 500), 1)
		// The aborted download had begun as a 200.
		moved(requests("GET", artifactRoute, 200), 2)
		moved(`flymodel_http_request_duration_seconds_count{method="GET",route="/healthz"}`, 3)
		moved(`flymodel_http_request_duration_seconds_bucket{method="GET",route="/healthz",le="+Inf"}`, 3)
		moved(`flymodel_http_request_duration_seconds_bucket{method="PUT",route="`+artifactRoute+`",le="1800"}`, 6)
		for _, reason := range []string{"digest_mismatch", "too_large", "empty", "immutable", "sealed", "not_found", "invalid"} {
			moved(refused(reason), 1)
		}
		moved(refused("storage"), 0)
		moved("flymodel_integrity_failures_total", 1)
		if n := a.metrics.IntegrityFailures(); n != 1 {
			t.Errorf("IntegrityFailures() = %d, want 1", n)
		}
		// The basic stores all name one store; the first name is "main".
		moved(`flymodel_blob_store_errors_total{store="main"}`, 1)
		if d := after.sum("flymodel_blob_store_errors_total{") - before.sum("flymodel_blob_store_errors_total{"); d != 1 {
			t.Errorf("blob store errors moved by %v, want 1", d)
		}

		// Bytes: the upload body came in whole; the download went out whole
		// (the clean one and most of the aborted one).
		in := after[`flymodel_http_request_bytes_total{route="`+uploadRoute+`"}`] - before[`flymodel_http_request_bytes_total{route="`+uploadRoute+`"}`]
		if in < float64(uploadSize) {
			t.Errorf("request bytes of the upload route = %v, want at least %d", in, uploadSize)
		}
		out := after[`flymodel_http_response_bytes_total{route="`+artifactRoute+`"}`] - before[`flymodel_http_response_bytes_total{route="`+artifactRoute+`"}`]
		if out < float64(len(content)) {
			t.Errorf("response bytes of the artifact route = %v, want at least %d", out, len(content))
		}
		if v := after[`flymodel_http_request_bytes_total{route="/healthz"}`]; v != 0 {
			t.Errorf("request bytes of /healthz = %v, want 0", v)
		}

		// Bounded labels: routes are templates, never the requested paths.
		for _, raw := range []string{"/namespaces/canada", "/no/such/path", "nowhere", "model.bin"} {
			if strings.Contains(text, raw) {
				t.Errorf("the scrape holds the raw path %q", raw)
			}
		}
		// The Go runtime and process collectors.
		for _, name := range []string{"go_goroutines", "go_memstats_alloc_bytes", "process_cpu_seconds_total", "process_resident_memory_bytes"} {
			if !after.has(name) {
				t.Errorf("%s missing from the scrape", name)
			}
		}

		// And once more: the counters keep moving.
		a.do("GET", "/healthz", nil, 200)
		again, _ := scrapeMetrics(t, a.h)
		if d := again[requests("GET", "/healthz", 200)] - after[requests("GET", "/healthz", 200)]; d != 1 {
			t.Errorf("healthz requests moved by %v between the last scrapes, want 1", d)
		}
		if d := again[requests("GET", "/metrics", 200)] - after[requests("GET", "/metrics", 200)]; d != 1 {
			t.Errorf("/metrics requests moved by %v between the last scrapes, want 1", d)
		}
	})
}

// TestMetricsStoreFailure: an upload the blob store fails is refused for
// "storage" and counted as a blob store error of that store.
func TestMetricsStoreFailure(t *testing.T) {
	artifactEngines(t, artifactSetup{wrapStore: func(s blob.Store) blob.Store { return failingStore{s} }}, func(t *testing.T, a *artifactAPI) {
		a.seed()
		before, _ := scrapeMetrics(t, a.h)
		a.problem(a.request("PUT", vbase+"/artifacts/model.bin", "application/octet-stream", strings.Repeat("p", 64<<10)), 503, "storage-unavailable")
		after, _ := scrapeMetrics(t, a.h)
		if d := after[refused("storage")] - before[refused("storage")]; d != 1 {
			t.Errorf("storage refusals moved by %v, want 1", d)
		}
		if d := after[`flymodel_blob_store_errors_total{store="main"}`] - before[`flymodel_blob_store_errors_total{store="main"}`]; d != 1 {
			t.Errorf("blob store errors of main moved by %v, want 1", d)
		}
	})
}

// statsStore is a database that reports a connection pool.
type statsStore struct {
	db.DB
	stats sql.DBStats
}

func (s statsStore) Stats() sql.DBStats { return s.stats }

// TestMetricsDatabasePool: a database with Stats has its pool published; the
// registry is shared with other packages through Registerer.
func TestMetricsDatabasePool(t *testing.T) {
	m := httpapi.NewMetrics()
	store := statsStore{stats: sql.DBStats{MaxOpenConnections: 10, OpenConnections: 3, InUse: 2, Idle: 1, WaitCount: 7, WaitDuration: 1500 * time.Millisecond}}
	h := newServer(registry.New(registry.Options{DB: store}), store, httpapi.Options{Metrics: m})
	s, _ := scrapeMetrics(t, h)
	for key, want := range map[string]float64{
		"flymodel_db_pool_max_open_connections":        10,
		"flymodel_db_pool_open_connections":            3,
		"flymodel_db_pool_in_use_connections":          2,
		"flymodel_db_pool_idle_connections":            1,
		"flymodel_db_pool_wait_count_total":            7,
		"flymodel_db_pool_wait_duration_seconds_total": 1.5,
	} {
		if v, ok := s[key]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", key, v, ok, want)
		}
	}

	// A second server on the same metrics adds to the same counters.
	h2 := newServer(registry.New(registry.Options{DB: store}), store, httpapi.Options{Metrics: m})
	h2.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/healthz", nil))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/healthz", nil))
	// Other packages publish on the same registry.
	removed := prometheus.NewCounter(prometheus.CounterOpts{Name: "flymodel_test_removed_total", Help: "A counter of another package."})
	m.Registerer().MustRegister(removed)
	removed.Add(2)
	s, _ = scrapeMetrics(t, h2)
	if v := s[requests("GET", "/healthz", 200)]; v != 2 {
		t.Errorf("healthz requests = %v, want 2", v)
	}
	if v := s["flymodel_test_removed_total"]; v != 2 {
		t.Errorf("a counter registered through Registerer = %v, want 2", v)
	}

	// Without metrics, NewServer makes its own; a zero Metrics works too.
	for _, opts := range []httpapi.Options{{}, {Metrics: &httpapi.Metrics{}}} {
		s, _ := scrapeMetrics(t, newServer(registry.New(registry.Options{}), nil, opts))
		if !s.has("flymodel_integrity_failures_total") || s.has("flymodel_db_pool_open_connections") {
			t.Errorf("metrics of a server without a pool: %v", s)
		}
	}
}

func TestRouteLabel(t *testing.T) {
	for in, want := range map[string]string{
		"":                                    "",
		"/readyz":                             "/readyz",
		"/a/{ns}/b":                           "/a/{ns}/b",
		versionRoute + "/artifacts/{name:.+}": versionRoute + "/artifacts/{name}",
		"/{a:[0-9]+}/x/{b:.+}":                "/{a}/x/{b}",
	} {
		if got := httpapi.RouteLabel(in); got != want {
			t.Errorf("RouteLabel(%q) = %q, want %q", in, got, want)
		}
	}
}
