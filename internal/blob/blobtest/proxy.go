package blobtest

import (
	"bytes"
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"testing"
	"time"
)

// Proxy is an HTTP proxy in front of a real S3 server that injects the
// faults of a network and a server in trouble: an outage (every connection
// closed at once), latency before a request reaches the server, and
// answers that trickle or stall. Point a store's endpoint at URL.
type Proxy struct {
	URL string
	// Down cuts the proxy: from then on every connection is closed at
	// once, as when the network to the server is down.
	Down atomic.Bool
	// Copies counts the server-side copies (CopyObject) that arrived.
	Copies atomic.Int32
	// CutAtCopy, when above 0, cuts the proxy (Down) when the server-side
	// copy of that number (counted from 1) arrives, before it reaches the
	// server.
	CutAtCopy atomic.Int32

	latency atomic.Int64 // time.Duration
	// pace: answer bodies go out paceChunk bytes at a time with pacePause
	// between (0: at once).
	paceChunk atomic.Int64
	pacePause atomic.Int64 // time.Duration
}

// NewProxy starts a proxy to the S3 server at endpoint, stopped when t
// ends.
func NewProxy(t testing.TB, endpoint string) *Proxy {
	t.Helper()
	target, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.FlushInterval = -1                    // paced bodies go out as they are written
	rp.ErrorLog = log.New(io.Discard, "", 0) // a client that gives up is expected here
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Amz-Copy-Source") != "" {
			if n := p.Copies.Add(1); n == p.CutAtCopy.Load() {
				p.Down.Store(true)
			}
		}
		if p.Down.Load() {
			if hj, ok := w.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					conn.Close()
					return
				}
			}
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		// Injected latency: the request waits before it goes on, unless
		// its client gives up first (then it never reaches the server).
		// Its body is read first: only then does the server notice a
		// client that hangs up.
		if d := time.Duration(p.latency.Load()); d > 0 {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			if !sleep(r.Context(), d) {
				return
			}
		}
		if chunk, pause := p.paceChunk.Load(), time.Duration(p.pacePause.Load()); chunk > 0 {
			w = &pacedWriter{ResponseWriter: w, ctx: r.Context(), chunk: int(chunk), pause: pause}
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

// SetLatency delays every request by d before it is forwarded (0: none).
func (p *Proxy) SetLatency(d time.Duration) { p.latency.Store(int64(d)) }

// SetPace makes answer bodies go out chunk bytes at a time with pause
// between chunks: a slow transfer that keeps moving (pause shorter than a
// timeout) or one that stalls (longer). chunk 0 sends them at once.
func (p *Proxy) SetPace(chunk int, pause time.Duration) {
	p.pacePause.Store(int64(pause))
	p.paceChunk.Store(int64(chunk))
}

// sleep waits d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// pacedWriter writes a body chunk bytes at a time, each flushed, with
// pause after each chunk.
type pacedWriter struct {
	http.ResponseWriter
	ctx   context.Context
	chunk int
	pause time.Duration
	sent  int // bytes of the current chunk
}

func (w *pacedWriter) Write(b []byte) (int, error) {
	written := 0
	for len(b) > 0 {
		n := min(len(b), w.chunk-w.sent)
		m, err := w.ResponseWriter.Write(b[:n])
		written += m
		if err != nil {
			return written, err
		}
		b, w.sent = b[n:], w.sent+n
		if w.sent == w.chunk {
			w.Flush()
			w.sent = 0
			if !sleep(w.ctx, w.pause) {
				return written, w.ctx.Err()
			}
		}
	}
	return written, nil
}

func (w *pacedWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
