package s3blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/flymodel/flymodel/internal/blob"
)

// This file bounds the time the store waits on its server: a server that
// does not answer, or stops sending or taking bytes, fails the operation
// with blob.ErrTimeout instead of holding it (and the request that made
// it) forever.
//
// Small calls (HEAD, DELETE, a bucket's settings, starting or aborting a
// multipart upload) get Config.Timeout in all, minio's retries included.
// Transfers (a PUT of a part, a GET of an object's bytes, a listing) are
// bounded by lack of progress instead: each of their requests may wait on
// the server for at most Config.Timeout between two chunks of bytes, and
// however long the transfer takes in all, it goes on while bytes move.
// Only time spent waiting on the server counts: a download whose client
// reads slowly never times out for that.

// DefaultTimeout is the timeout of a store whose configuration sets none.
const DefaultTimeout = 30 * time.Second

// serverRate is the slowest rate at which the server is expected to work
// on bytes it already holds: a server-side copy of n bytes, or the
// completion of a multipart upload of n bytes, may take Timeout plus
// n/serverRate seconds before the server answers.
const serverRate = 16 << 20

// allowance is how long the server may work on n bytes before it answers.
func (s *Store) allowance(n int64) time.Duration {
	return s.timeout + time.Duration(n/serverRate)*time.Second
}

// timeoutError is the cause of an operation that waited on the server too
// long. errors.Is(err, blob.ErrTimeout) is true.
type timeoutError struct {
	what  string
	limit time.Duration
}

func (e *timeoutError) Error() string {
	return fmt.Sprintf("%v: the server %s for %s (storage.s3 timeout)", blob.ErrTimeout, e.what, e.limit)
}

func (e *timeoutError) Unwrap() error { return blob.ErrTimeout }

// call returns ctx for a small call: it ends, with a *timeoutError as its
// cause, once the store's timeout has passed.
func (s *Store) call(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeoutCause(ctx, s.timeout,
		&timeoutError{what: "did not answer", limit: s.timeout})
}

// transfer returns ctx for an operation that moves bytes: it ends, with a
// *timeoutError as its cause, when one of its requests waits on the server
// for longer than limit without a byte going either way. cancel must be
// called when the operation is over.
func (s *Store) transfer(ctx context.Context, limit time.Duration) (_ context.Context, cancel context.CancelFunc) {
	ctx, cancelCause := context.WithCancelCause(ctx)
	w := &watchdog{limit: limit}
	w.timer = time.AfterFunc(limit, func() {
		cancelCause(&timeoutError{what: "made no progress", limit: limit})
	})
	w.timer.Stop()
	return context.WithValue(ctx, watchKey{}, w), func() {
		w.timer.Stop()
		cancelCause(context.Canceled)
	}
}

// unwatched returns ctx without the watchdog of the operation it belongs
// to: for the requests that clean up after an operation has ended.
func unwatched(ctx context.Context) context.Context {
	return context.WithValue(ctx, watchKey{}, (*watchdog)(nil))
}

type watchKey struct{}

// watchdog ends an operation once its requests have waited on the server
// for longer than limit without progress. It runs only while a request
// waits on the server (busy): sending a body, awaiting the answer,
// reading the answer's body.
type watchdog struct {
	limit time.Duration
	timer *time.Timer
	mu    sync.Mutex
	busy  int
}

func (w *watchdog) begin() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.busy++; w.busy == 1 {
		w.timer.Reset(w.limit)
	}
}

func (w *watchdog) progress() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.busy > 0 {
		w.timer.Reset(w.limit)
	}
}

func (w *watchdog) end() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.busy--; w.busy == 0 {
		w.timer.Stop()
	}
}

// watchTransport runs the watchdog of the operation a request belongs to
// (from its context) while the request waits on the server.
type watchTransport struct{ base http.RoundTripper }

func (t watchTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	w, _ := req.Context().Value(watchKey{}).(*watchdog)
	if w == nil {
		return t.base.RoundTrip(req)
	}
	w.begin()
	if req.Body != nil && req.Body != http.NoBody {
		req = req.Clone(req.Context())
		req.Body = &watchedBody{ReadCloser: req.Body, w: w}
	}
	resp, err := t.base.RoundTrip(req)
	w.end()
	if err != nil {
		return nil, err
	}
	w.progress()
	resp.Body = &watchedBody{ReadCloser: resp.Body, w: w, waits: true}
	return resp, nil
}

// watchedBody reports the bytes that go through it as progress. The body
// of an answer (waits) also runs the watchdog while a read waits for them;
// a request body is read by the transport as the server takes it, so the
// watchdog already runs.
type watchedBody struct {
	io.ReadCloser
	w     *watchdog
	waits bool
}

func (b *watchedBody) Read(p []byte) (int, error) {
	if b.waits {
		b.w.begin()
		defer b.w.end()
	}
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		b.w.progress()
	}
	return n, err
}

// fail maps the failure of an operation made with ctx: its own timeout
// becomes that *timeoutError, a timeout of the transport (connecting,
// awaiting headers) blob.ErrTimeout, anything else goes to mapErr.
func (s *Store) fail(ctx context.Context, op, key string, err error) error {
	where := s.String()
	if key != "" {
		where += "/" + key
	}
	var te *timeoutError
	if errors.As(context.Cause(ctx), &te) {
		return fmt.Errorf("%s %s: %w", op, where, te)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() && ctx.Err() == nil {
		// Not wrapped: the caller's own deadline is what a net.Error
		// timeout would mean to it.
		return fmt.Errorf("%s %s: %w (%v)", op, where, blob.ErrTimeout, err)
	}
	return s.mapErr(op, key, err)
}
