package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/flymodel/flymodel/client"
)

// The tests in this file check the client's own policies (retries,
// timeouts, cancellation) against small fake servers that misbehave on
// purpose; the real server's behaviour is tested in client_test.go.

// fakeServer serves h and returns a client of it that retries quickly.
func fakeServer(t *testing.T, h http.HandlerFunc, opts ...client.Option) *client.Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := client.New(srv.URL, append([]client.Option{client.WithRetry(3, time.Millisecond)}, opts...)...)
	check(t, err)
	return c
}

func problem(w http.ResponseWriter, status int, slug string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"type":%q,"title":%q,"status":%d,"detail":"fake","request_id":"req-1"}`,
		client.ProblemTypeBase+slug, http.StatusText(status), status)
}

func writeNamespace(w http.ResponseWriter, status int) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, `{"id":1,"name":"canada","description":"","created_at":"2025-01-02T03:04:05Z","updated_at":"2025-01-02T03:04:05Z"}`)
}

func TestRetryGatewayAnswers(t *testing.T) {
	for _, status := range []int{http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			var calls atomic.Int32
			c := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
				if calls.Add(1) <= 2 {
					problem(w, status, "storage-unavailable")
					return
				}
				writeNamespace(w, http.StatusOK)
			})
			ns, err := c.GetNamespace(ctx, "canada")
			check(t, err)
			if ns.Name != "canada" || calls.Load() != 3 {
				t.Fatalf("got %+v after %d calls", ns, calls.Load())
			}
		})
	}
}

func TestRetryLimits(t *testing.T) {
	var calls atomic.Int32
	c := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		io.Copy(io.Discard, r.Body)
		problem(w, http.StatusServiceUnavailable, "storage-unavailable")
	})
	v := client.VersionRef{Namespace: "n", Model: "m", Version: "v"}
	cases := []struct {
		name  string
		call  func() error
		calls int32
	}{
		{"GET until the attempts run out", func() error { _, err := c.GetNamespace(ctx, "canada"); return err }, 3},
		{"DELETE", func() error { return c.DeleteVersion(ctx, v, false) }, 3},
		{"PUT of a version state", func() error { _, err := c.SetVersionState(ctx, v, "qa"); return err }, 3},
		{"POST never", func() error { _, err := c.CreateNamespace(ctx, "canada", ""); return err }, 1},
		{"PATCH never", func() error { _, err := c.RenameModel(ctx, "n", "m", "m2"); return err }, 1},
		{"PUT of an experiment state never", func() error { _, err := c.StartExperiment(ctx, v, "eval"); return err }, 1},
		{"PUT of a replayable upload", func() error {
			_, _, err := c.UploadArtifact(ctx, v.Owner(), "a", strings.NewReader("bytes"), client.UploadOptions{})
			return err
		}, 3},
		{"PUT of an upload that cannot be replayed never", func() error {
			_, _, err := c.UploadArtifact(ctx, v.Owner(), "a", nonSeeking{strings.NewReader("bytes")}, client.UploadOptions{})
			return err
		}, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			calls.Store(0)
			err := tc.call()
			var apiErr *client.Error
			if !errors.Is(err, client.ErrUnavailable) || !errors.As(err, &apiErr) || apiErr.RequestID != "req-1" {
				t.Fatalf("got %v, want the 503", err)
			}
			if calls.Load() != tc.calls {
				t.Fatalf("%d calls, want %d", calls.Load(), tc.calls)
			}
		})
	}
	t.Run("500 never", func(t *testing.T) {
		calls.Store(0)
		c := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			http.Error(w, "boom", http.StatusInternalServerError)
		})
		_, err := c.GetNamespace(ctx, "canada")
		var apiErr *client.Error
		if !errors.As(err, &apiErr) || apiErr.Status != 500 || apiErr.Detail != "boom" || apiErr.Type != "" || calls.Load() != 1 {
			t.Fatalf("got %#v after %d calls", err, calls.Load())
		}
	})
}

// TestRetryReplaysUploads checks that a retried upload sends the same
// bytes again, from where the reader started.
func TestRetryReplaysUploads(t *testing.T) {
	var (
		calls    atomic.Int32
		lastBody atomic.Value
	)
	c := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		lastBody.Store(string(body))
		if calls.Add(1) == 1 {
			problem(w, http.StatusServiceUnavailable, "storage-unavailable")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]any{"name": "a", "sha256": sha(body), "size": len(body)})
	})
	path := filepath.Join(t.TempDir(), "f")
	check(t, os.WriteFile(path, []byte("header|the artifact"), 0o644))
	f, err := os.Open(path)
	check(t, err)
	defer f.Close()
	_, err = f.Seek(int64(len("header|")), io.SeekStart)
	check(t, err)
	a, created, err := c.UploadArtifact(ctx, client.Owner{Namespace: "n", Model: "m", Version: "v"}, "a", f, client.UploadOptions{})
	check(t, err)
	if !created || calls.Load() != 2 || lastBody.Load() != "the artifact" || a.Size != int64(len("the artifact")) {
		t.Fatalf("created %v after %d calls, body %q", created, calls.Load(), lastBody.Load())
	}
}

// countingTransport counts the requests handed to the transport.
type countingTransport struct {
	n atomic.Int32
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

func TestRetryConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	check(t, err)
	addr := l.Addr().String()
	l.Close()
	ct := &countingTransport{}
	c, err := client.New("http://"+addr, client.WithHTTPClient(&http.Client{Transport: ct}), client.WithRetry(3, time.Millisecond))
	check(t, err)
	// Nothing reached a server: even a POST is tried again.
	_, err = c.CreateNamespace(ctx, "canada", "")
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("got %v, want connection refused", err)
	}
	if ct.n.Load() != 3 {
		t.Fatalf("%d attempts, want 3", ct.n.Load())
	}
}

// notifyingTransport reports each answer once the client has it.
type notifyingTransport struct{ answered chan struct{} }

func (n notifyingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := http.DefaultTransport.RoundTrip(r)
	n.answered <- struct{}{}
	return res, err
}

func TestRetryCancelledDuringBackoff(t *testing.T) {
	answered := make(chan struct{}, 10)
	c := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		problem(w, http.StatusServiceUnavailable, "storage-unavailable")
	}, client.WithRetry(5, time.Hour), client.WithHTTPClient(&http.Client{Transport: notifyingTransport{answered}}))
	cctx, cancel := context.WithCancel(ctx)
	go func() {
		<-answered
		cancel()
	}()
	start := time.Now()
	_, err := c.GetNamespace(cctx, "canada")
	if !errors.Is(err, context.Canceled) || !errors.Is(err, client.ErrUnavailable) {
		t.Fatalf("got %v, want the cancellation and the last answer", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("returned after %s", d)
	}
	if len(answered) != 0 {
		t.Fatal("retried after the cancellation")
	}
}

func TestRetryAfter(t *testing.T) {
	var calls atomic.Int32
	c := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "1")
			problem(w, http.StatusServiceUnavailable, "storage-unavailable")
			return
		}
		writeNamespace(w, http.StatusOK)
	})
	start := time.Now()
	_, err := c.GetNamespace(ctx, "canada")
	check(t, err)
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Fatalf("retried after %s despite Retry-After: 1", d)
	}

	// A wait past the context's deadline is not worth starting.
	calls.Store(0)
	c = fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Retry-After", "20")
		problem(w, http.StatusServiceUnavailable, "storage-unavailable")
	})
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	start = time.Now()
	_, err = c.GetNamespace(dctx, "canada")
	if !errors.Is(err, client.ErrUnavailable) || calls.Load() != 1 || time.Since(start) > 4*time.Second {
		t.Fatalf("got %v after %d calls and %s", err, calls.Load(), time.Since(start))
	}
}

// hang reads the request's body, then waits for the client to go away or
// the test to end: a server that never answers.
func hang(t *testing.T) func(w http.ResponseWriter, r *http.Request) {
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	return func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-done:
		}
	}
}

// slowReader yields its chunks one by one, pausing before each.
type slowReader struct {
	chunks []string
	pause  time.Duration
}

func (s *slowReader) Read(p []byte) (int, error) {
	if len(s.chunks) == 0 {
		return 0, io.EOF
	}
	time.Sleep(s.pause)
	n := copy(p, s.chunks[0])
	s.chunks[0] = s.chunks[0][n:]
	if s.chunks[0] == "" {
		s.chunks = s.chunks[1:]
	}
	return n, nil
}

func TestTimeouts(t *testing.T) {
	const timeout = 100 * time.Millisecond
	owner := client.Owner{Namespace: "n", Model: "m", Version: "v"}

	t.Run("no answer", func(t *testing.T) {
		var calls atomic.Int32
		hung := hang(t)
		c := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			hung(w, r)
		}, client.WithTimeout(timeout), client.WithRetry(2, time.Millisecond))
		start := time.Now()
		_, err := c.GetNamespace(ctx, "canada")
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("got %v, want a timeout", err)
		}
		var te interface{ Timeout() bool }
		if !errors.As(err, &te) || !te.Timeout() {
			t.Fatalf("%v is not a net timeout", err)
		}
		if calls.Load() != 2 || time.Since(start) > 5*time.Second {
			t.Fatalf("%d calls in %s", calls.Load(), time.Since(start))
		}
		// A POST that timed out may have been done: it is not sent again.
		calls.Store(0)
		if _, err := c.CreateNamespace(ctx, "canada", ""); !errors.Is(err, context.DeadlineExceeded) || calls.Load() != 1 {
			t.Fatalf("POST: %v after %d calls", err, calls.Load())
		}
	})
	t.Run("slow download", func(t *testing.T) {
		content := strings.Repeat("x", 5)
		c := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Digest", "sha256="+sha([]byte(content)))
			w.Header().Set("Content-Length", "5")
			w.WriteHeader(http.StatusOK)
			w.(http.Flusher).Flush() // the headers: the timeout ends here
			for i := range 5 {
				time.Sleep(timeout / 2)
				w.Write([]byte(content[i : i+1]))
				w.(http.Flusher).Flush()
			}
		}, client.WithTimeout(timeout))
		var buf strings.Builder
		_, err := c.DownloadArtifact(ctx, owner, "a", &buf)
		check(t, err)
		if buf.String() != content {
			t.Fatalf("got %q", buf.String())
		}
	})
	uploaded := func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]any{"name": "a", "sha256": sha(body), "size": len(body)})
	}
	t.Run("slow upload", func(t *testing.T) {
		c := fakeServer(t, uploaded, client.WithTimeout(timeout))
		body := &slowReader{chunks: []string{"a", "b", "c", "d", "e"}, pause: timeout / 2}
		a, _, err := c.UploadArtifact(ctx, owner, "a", body, client.UploadOptions{})
		check(t, err)
		if a.Size != 5 {
			t.Fatalf("uploaded %+v", a)
		}
	})
	t.Run("no answer after the upload", func(t *testing.T) {
		c := fakeServer(t, hang(t), client.WithTimeout(timeout), client.WithRetry(1, 0))
		_, _, err := c.UploadArtifact(ctx, owner, "a", strings.NewReader("bytes"), client.UploadOptions{})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("got %v, want a timeout", err)
		}
	})
	t.Run("context deadline cuts a download", func(t *testing.T) {
		c := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Digest", "sha256="+sha([]byte("ab")))
			w.Header().Set("Content-Length", "2")
			w.Write([]byte("a"))
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		}, client.WithTimeout(0))
		dctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		_, err := c.DownloadArtifact(dctx, owner, "a", io.Discard)
		if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, client.ErrIntegrity) {
			t.Fatalf("got %v, want the context's deadline", err)
		}
	})
}

// cancelOnWrite cancels a context at the first bytes it receives.
type cancelOnWrite struct{ cancel context.CancelFunc }

func (c cancelOnWrite) Write(p []byte) (int, error) {
	c.cancel()
	return len(p), nil
}

func TestCancellation(t *testing.T) {
	owner := client.Owner{Namespace: "n", Model: "m", Version: "v"}
	c := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Digest", "sha256="+sha([]byte("ab")))
		w.Header().Set("Content-Length", "2")
		w.Write([]byte("a"))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	cctx, cancel := context.WithCancel(ctx)
	_, err := c.DownloadArtifact(cctx, owner, "a", cancelOnWrite{cancel})
	if !errors.Is(err, context.Canceled) || errors.Is(err, client.ErrIntegrity) {
		t.Fatalf("download: got %v, want the cancellation", err)
	}

	// An upload whose reader stalls returns when its context ends.
	pr, pw := io.Pipe()
	defer pw.Close()
	cctx, cancel = context.WithCancel(ctx)
	c = fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body)
	})
	go func() {
		pw.Write([]byte("first bytes, then nothing"))
		cancel()
	}()
	_, _, err = c.UploadArtifact(cctx, owner, "a", pr, client.UploadOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("upload: got %v, want the cancellation", err)
	}

	// A context that has already ended sends nothing.
	_, err = c.GetNamespace(cctx, "canada")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
}

func TestRequestHeaders(t *testing.T) {
	var got http.Header
	c := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		writeNamespace(w, http.StatusOK)
	}, client.WithToken("s3cret"), client.WithUserAgent("notebook/1.0"))
	_, err := c.GetNamespace(ctx, "canada")
	check(t, err)
	if got.Get("Authorization") != "Bearer s3cret" || got.Get("User-Agent") != "notebook/1.0" {
		t.Fatalf("headers %v", got)
	}
}
