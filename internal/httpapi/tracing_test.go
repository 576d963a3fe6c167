package httpapi_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"

	"github.com/flymodel/flymodel/internal/blob"
	"github.com/flymodel/flymodel/internal/blob/fsblob"
	"github.com/flymodel/flymodel/internal/config"
	"github.com/flymodel/flymodel/internal/db"
	"github.com/flymodel/flymodel/internal/db/dbtest"
	"github.com/flymodel/flymodel/internal/db/sqlite"
	"github.com/flymodel/flymodel/internal/httpapi"
	"github.com/flymodel/flymodel/internal/registry"
	"github.com/flymodel/flymodel/internal/tracing"
)

// collector is an in-process OTLP/gRPC trace collector keeping every span
// it receives, with its resource's service.name.
type collector struct {
	collectortrace.UnimplementedTraceServiceServer
	mu      sync.Mutex
	spans   []*tracepb.Span
	service []string // service.name of each resource received
}

func (c *collector) Export(_ context.Context, req *collectortrace.ExportTraceServiceRequest) (*collectortrace.ExportTraceServiceResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, rs := range req.ResourceSpans {
		for _, kv := range rs.GetResource().GetAttributes() {
			if kv.Key == "service.name" {
				c.service = append(c.service, kv.GetValue().GetStringValue())
			}
		}
		for _, ss := range rs.ScopeSpans {
			c.spans = append(c.spans, ss.Spans...)
		}
	}
	return &collectortrace.ExportTraceServiceResponse{}, nil
}

func startCollector(t *testing.T) (*collector, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &collector{}
	srv := grpc.NewServer()
	collectortrace.RegisterTraceServiceServer(srv, c)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	return c, ln.Addr().String()
}

// TestTracingUpload sends one artifact upload carrying a W3C traceparent to
// a server traced to an in-process collector, and finds the request span,
// database spans and the blob.Put span in the incoming trace, all under the
// request span.
func TestTracingUpload(t *testing.T) {
	prevTP, prevProp := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	t.Cleanup(func() {
		otel.SetTracerProvider(prevTP)
		otel.SetTextMapPropagator(prevProp)
	})

	col, addr := startCollector(t)
	ctx := context.Background()
	shutdown, err := tracing.Setup(ctx, config.Tracing{OTLP: config.OTLP{Target: addr}})
	if err != nil {
		t.Fatal(err)
	}
	flushed := false
	t.Cleanup(func() {
		if !flushed {
			_ = shutdown(ctx)
		}
	})

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
	traced := tracing.Blob("main", fs)
	stores := registry.BlobStores{
		ByName:  map[string]blob.Store{"main": traced, "ml-test": traced, "ml-qa": traced, "ml-stage": traced, "ml-prod": traced},
		ForRole: map[string]string{"test": "main", "qa": "main", "stage": "main", "prod": "main"},
	}
	reg := registry.New(registry.Options{DB: s, Blobs: stores})
	h := newServer(reg, s, httpapi.Options{Logger: testLogger(t)})
	(&api{t: t, h: h, store: s}).seed()

	srv := httptest.NewServer(h)
	defer srv.Close()
	const traceID, parentID = "4bf92f3577b34da6a336b2e3c0ffee01", "00f067aa0ba902b7"
	ct, body := multipartBody(t, map[string]any{"name": "weights.bin"}, "weights.bin", bytes.Repeat([]byte("w"), 4096))
	req, err := http.NewRequest("POST", srv.URL+vbase+"/artifacts", body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ct)
	req.Header.Set("traceparent", "00-"+traceID+"-"+parentID+"-01")
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 201 {
		t.Fatalf("upload: status %d", res.StatusCode)
	}

	flushed = true
	if err := shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}

	col.mu.Lock()
	defer col.mu.Unlock()
	for _, name := range col.service {
		if name != "flymodel" {
			t.Errorf("service.name = %q, want flymodel", name)
		}
	}
	byID := map[string]*tracepb.Span{}
	var names []string
	for _, sp := range col.spans {
		if hex.EncodeToString(sp.TraceId) != traceID {
			continue
		}
		byID[hex.EncodeToString(sp.SpanId)] = sp
		names = append(names, sp.Name)
	}
	t.Logf("spans in trace %s: %v", traceID, names)
	const route = "/api/v1/namespaces/{namespace}/models/{model}/versions/{version}/artifacts"
	var server *tracepb.Span
	for _, sp := range byID {
		if sp.Name == route && sp.Kind == tracepb.Span_SPAN_KIND_SERVER {
			server = sp
		}
	}
	if server == nil {
		t.Fatalf("no server span %q in trace %s; spans in it: %v (of %d received)", route, traceID, names, len(col.spans))
	}
	if got := hex.EncodeToString(server.ParentSpanId); got != parentID {
		t.Errorf("server span's parent = %s, want the incoming %s", got, parentID)
	}
	attrs := map[string]any{}
	for _, kv := range server.Attributes {
		attrs[kv.Key] = kv.Value.GetValue()
	}
	if m, ok := attrs["http.request.method"].(*commonpb.AnyValue_StringValue); !ok || m.StringValue != "POST" {
		t.Errorf("server span attributes = %v", attrs)
	}
	if st, ok := attrs["http.response.status_code"].(*commonpb.AnyValue_IntValue); !ok || st.IntValue != 201 {
		t.Errorf("server span attributes = %v", attrs)
	}
	// under reports whether sp descends from the server span.
	under := func(sp *tracepb.Span) bool {
		for i := 0; i < 100 && sp != nil; i++ {
			parent := hex.EncodeToString(sp.ParentSpanId)
			if parent == hex.EncodeToString(server.SpanId) {
				return true
			}
			sp = byID[parent]
		}
		return false
	}
	var dbSpans, blobPut int
	for _, sp := range byID {
		switch {
		case strings.HasPrefix(sp.Name, "db.") && under(sp):
			dbSpans++
		case sp.Name == "blob.Put" && under(sp):
			blobPut++
		}
	}
	if dbSpans == 0 || blobPut != 1 {
		t.Fatalf("under the request span: %d db.* spans and %d blob.Put spans, want >0 and 1; spans in the trace: %v", dbSpans, blobPut, names)
	}
}
