package httpapi

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gorilla/mux"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/flymodel/flymodel/internal/tracing/spans"
)

// requestIDHeader carries the request id in both directions: an incoming
// value is kept (so a proxy's id follows the request), else one is made.
const requestIDHeader = "X-Request-Id"

// requestInfo is what the middlewares learn about a request and share
// through its context: its id, and the route template the router matched.
type requestInfo struct {
	id    string
	route string
}

type requestInfoKey struct{}

func infoFrom(ctx context.Context) *requestInfo {
	info, _ := ctx.Value(requestInfoKey{}).(*requestInfo)
	return info
}

// requestIDFrom returns the id of the request that ctx belongs to, or "".
func requestIDFrom(ctx context.Context) string {
	if info := infoFrom(ctx); info != nil {
		return info.id
	}
	return ""
}

// withRequestID gives every request an id, echoed in the response header.
func withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(requestIDHeader)
		if !validRequestID(id) {
			id = rand.Text()
		}
		h := w.Header()
		h.Set(requestIDHeader, id)
		// An API that serves no pages: nothing it answers may be sniffed,
		// framed, or run as a document.
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		h.Set("Referrer-Policy", "no-referrer")
		ctx := context.WithValue(r.Context(), requestInfoKey{}, &requestInfo{id: id})
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// validRequestID accepts ids that are safe to echo and to log verbatim.
func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, c := range []byte(id) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-', c == '_', c == '.', c == ':':
		default:
			return false
		}
	}
	return true
}

// recordRoute runs inside the router, where the matched route is known, and
// records its template for the access log, and names the request's span
// after it.
func recordRoute(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if info := infoFrom(r.Context()); info != nil {
			if route := mux.CurrentRoute(r); route != nil {
				tmpl, _ := route.GetPathTemplate()
				info.route = RouteLabel(tmpl)
				if span := trace.SpanFromContext(r.Context()); info.route != "" && span.IsRecording() {
					span.SetName(info.route)
					span.SetAttributes(attribute.String("http.route", info.route))
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// RouteLabel is a route template as logs, metrics and spans name it: a
// variable's pattern left out ({name:.+} is {name}), as in the OpenAPI
// document.
func RouteLabel(template string) string {
	if !strings.Contains(template, ":") {
		return template // no pattern: the common case costs nothing
	}
	var b strings.Builder
	for {
		open := strings.IndexByte(template, '{')
		if open < 0 {
			break
		}
		end := strings.IndexByte(template[open:], '}')
		if end < 0 {
			break
		}
		v := template[open+1 : open+end]
		if name, _, ok := strings.Cut(v, ":"); ok {
			v = name
		}
		b.WriteString(template[:open])
		b.WriteString("{" + v + "}")
		template = template[open+end+1:]
	}
	b.WriteString(template)
	return b.String()
}

const tracerName = "github.com/flymodel/flymodel/internal/httpapi"

// startSpan starts the server span of a request, a child of the trace
// context the request carries (W3C traceparent, with the propagator that
// tracing.Setup installs). It is named after the method until recordRoute
// renames it after the route template. Callers check spans.Enabled
// first: without tracing a request costs nothing here.
func startSpan(r *http.Request) (context.Context, trace.Span) {
	ctx := otel.GetTextMapPropagator().Extract(r.Context(), propagation.HeaderCarrier(r.Header))
	return otel.Tracer(tracerName).Start(ctx, r.Method,
		trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(
			attribute.String("http.request.method", r.Method),
			attribute.String("url.path", r.URL.Path),
		))
}

// endSpan records the response status on a request's span and ends it;
// 5xx marks the span as failed.
func endSpan(span trace.Span, status int) {
	span.SetAttributes(attribute.Int("http.response.status_code", status))
	if status >= 500 {
		span.SetStatus(codes.Error, http.StatusText(status))
	}
	span.End()
}

// probeRoutes are logged at debug level: load balancers call them (and
// Prometheus scrapes /metrics) every few seconds, and they would drown the
// access log.
var probeRoutes = map[string]bool{"/healthz": true, "/readyz": true, "/metrics": true}

// logRequests writes one access-log line per request and records it in the
// request metrics, also when a handler panics.
func (s *server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		body := &countingBody{ReadCloser: r.Body, rc: http.NewResponseController(w), stall: s.stall}
		inner := r
		var span trace.Span
		if spans.Enabled() {
			var ctx context.Context
			ctx, span = startSpan(r)
			inner = r.WithContext(ctx)
		}
		if r.Body != nil && r.Body != http.NoBody {
			// net/http cancels a request's context when the client closes
			// its side of the connection, but watches for that only once
			// the body has been read to its end: a client that half-closes
			// after sending its whole body (as some do) would cancel a
			// complete request half-way through storing it. A request with
			// a body is not cancelled by the connection: one whose body
			// breaks off fails on the read error instead.
			inner = inner.WithContext(context.WithoutCancel(inner.Context()))
			inner.Body = body
		}
		defer func() {
			info := infoFrom(r.Context())
			route, id := "", ""
			if info != nil {
				route, id = info.route, info.id
			}
			status := rec.status
			if status == 0 {
				// Nothing written: net/http answers 200 with an empty body,
				// unless a panic is unwinding, which aborts the connection.
				status = http.StatusOK
			}
			elapsed := time.Since(start)
			if span != nil {
				endSpan(span, status)
			}
			s.metrics.observeRequest(r.Method, route, status, body.n.Load(), rec.bytes, elapsed)
			level := slog.LevelInfo
			switch {
			case status >= 500:
				level = slog.LevelError
			case probeRoutes[route]:
				level = slog.LevelDebug
			}
			s.logger.LogAttrs(r.Context(), level, "request",
				slog.String("method", r.Method),
				slog.String("route", route),
				slog.String("path", r.URL.Path),
				slog.Int("status", status),
				slog.Int64("bytes", rec.bytes),
				slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
				slog.String("request_id", id),
			)
		}()
		next.ServeHTTP(rec, inner)
	})
}

// countingBody counts the bytes read from a request body. Handlers may
// read it from another goroutine (a blob store's uploader), hence the
// atomic.
type countingBody struct {
	io.ReadCloser
	n     atomic.Int64
	rc    *http.ResponseController
	stall time.Duration
}

// DefaultStallTimeout cuts off a request body that sends nothing for this
// long: uploads have no overall deadline, but a client that stops sending
// (or a slow-loris) does not hold a connection forever.
const DefaultStallTimeout = time.Minute

func (b *countingBody) Read(p []byte) (int, error) {
	// Each read gets a fresh deadline; a server without connection
	// deadlines (httptest's recorder) just does not support it.
	_ = b.rc.SetReadDeadline(time.Now().Add(b.stall))
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

// recoverPanics turns a panicking handler into a 500 problem carrying the
// request id; the panic value and stack go to the log, never to the client.
// When the response has already begun, the connection is aborted instead,
// so the client sees a failed transfer rather than a truncated success.
func (s *server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.logger.ErrorContext(r.Context(), "handler panicked",
				"method", r.Method, "path", r.URL.Path,
				"request_id", requestIDFrom(r.Context()),
				"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if rec, ok := w.(*statusRecorder); ok && rec.status != 0 {
				panic(http.ErrAbortHandler)
			}
			writeProblem(w, r, newProblem(kindInternal, "the server failed to handle the request; quote the request id when reporting it"))
		}()
		next.ServeHTTP(w, r)
	})
}

// statusRecorder remembers the status and counts the body bytes of a
// response for the access log.
type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (rec *statusRecorder) WriteHeader(code int) {
	if rec.status == 0 && code >= 200 {
		rec.status = code
	}
	rec.ResponseWriter.WriteHeader(code)
}

func (rec *statusRecorder) Write(p []byte) (int, error) {
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	n, err := rec.ResponseWriter.Write(p)
	rec.bytes += int64(n)
	return n, err
}

// ReadFrom keeps io.Copy into the response on the underlying writer's fast
// path (sendfile for files) while still counting the bytes.
func (rec *statusRecorder) ReadFrom(src io.Reader) (int64, error) {
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	var n int64
	var err error
	if rf, ok := rec.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(src)
	} else {
		n, err = io.Copy(rec.ResponseWriter, src)
	}
	rec.bytes += n
	return n, err
}

// Flush lets streaming handlers flush through the recorder.
func (rec *statusRecorder) Flush() {
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	_ = http.NewResponseController(rec.ResponseWriter).Flush()
}

// Unwrap gives http.ResponseController access to the underlying writer.
func (rec *statusRecorder) Unwrap() http.ResponseWriter { return rec.ResponseWriter }
