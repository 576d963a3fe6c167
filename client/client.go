package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/flymodel/flymodel/internal/redact"
)

// Defaults of a new Client.
const (
	// DefaultTimeout bounds each attempt of a request (see WithTimeout).
	DefaultTimeout = 60 * time.Second
	// DefaultAttempts is how many times a request is tried when retrying
	// is safe (see WithRetry).
	DefaultAttempts = 3
	// DefaultBaseDelay is the wait before the first retry; it doubles for
	// each further retry.
	DefaultBaseDelay = 100 * time.Millisecond
	// DefaultUserAgent identifies the client to the server.
	DefaultUserAgent = "flymodel-go-client"
)

// apiPrefix is where the registry's routes live on the server.
const apiPrefix = "/api/v1"

// maxJSONResponse bounds a JSON answer held in memory (a page of 1000
// artifacts is well under a megabyte).
const maxJSONResponse = 32 << 20

// Client talks to one flymodel server. It is safe for concurrent use.
type Client struct {
	root      string // scheme://host[/prefix], escaped, without a trailing "/"
	http      *http.Client
	token     string
	userAgent string
	timeout   time.Duration
	attempts  int
	baseDelay time.Duration
	// direct: downloads ask for a redirect to the store (direct.go).
	direct bool
}

// An Option configures a Client.
type Option func(*Client)

// WithHTTPClient sends the requests through hc (its transport, TLS
// settings, proxy, cookie jar). Leave hc.Timeout at zero: it would also cut
// off long uploads and downloads, which WithTimeout deliberately does not.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) { c.http = hc }
}

// WithToken sends token as "Authorization: Bearer <token>" with every
// request.
func WithToken(token string) Option {
	return func(c *Client) { c.token = token }
}

// WithTimeout bounds each attempt of a request by d, up to the start of its
// streams: a JSON request as a whole; an upload until the server starts
// reading its body, then again from the body's end to the answer; a
// download until the answer's headers. A transfer in progress is bounded
// only by its context. Zero means no timeout; the default is
// DefaultTimeout.
func WithTimeout(d time.Duration) Option {
	return func(c *Client) { c.timeout = d }
}

// WithRetry tries a request at most maxAttempts times in all (1: never
// retry) when retrying is safe, waiting baseDelay before the first retry
// and doubling the wait for each further one (with jitter, up to 10
// seconds). The default is DefaultAttempts and DefaultBaseDelay.
func WithRetry(maxAttempts int, baseDelay time.Duration) Option {
	return func(c *Client) { c.attempts, c.baseDelay = maxAttempts, baseDelay }
}

// WithUserAgent sets the User-Agent header of every request.
func WithUserAgent(ua string) Option {
	return func(c *Client) { c.userAgent = ua }
}

// New returns a Client of the server at baseURL, e.g.
// "http://localhost:9009" or "https://flymodel.example.com/prefix". A
// trailing "/api/v1" is accepted and ignored.
func New(baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		// url.Parse's error holds the URL, and so its password.
		return nil, fmt.Errorf("flymodel client: base URL: %w", redact.Error(err))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("flymodel client: base URL %q: scheme must be http or https", redact.URL(baseURL))
	}
	if u.Host == "" {
		return nil, fmt.Errorf("flymodel client: base URL %q has no host", redact.URL(baseURL))
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("flymodel client: base URL %q must not carry user information, a query or a fragment", redact.URL(baseURL))
	}
	prefix := strings.TrimRight(u.EscapedPath(), "/")
	prefix = strings.TrimSuffix(prefix, apiPrefix)
	c := &Client{
		root:      u.Scheme + "://" + u.Host + prefix,
		http:      &http.Client{Transport: http.DefaultTransport},
		userAgent: DefaultUserAgent,
		timeout:   DefaultTimeout,
		attempts:  DefaultAttempts,
		baseDelay: DefaultBaseDelay,
		direct:    true,
	}
	for _, opt := range opts {
		opt(c)
	}
	switch {
	case c.http == nil:
		return nil, errors.New("flymodel client: WithHTTPClient(nil)")
	case c.timeout < 0:
		return nil, fmt.Errorf("flymodel client: negative timeout %s", c.timeout)
	case c.attempts < 1:
		return nil, fmt.Errorf("flymodel client: WithRetry: at least 1 attempt, not %d", c.attempts)
	case c.baseDelay < 0:
		return nil, fmt.Errorf("flymodel client: WithRetry: negative delay %s", c.baseDelay)
	}
	return c, nil
}

// Ready checks that the server is up and that its database and storage
// answer (GET /readyz); a server that is not ready is ErrUnavailable.
func (c *Client) Ready(ctx context.Context) error {
	return c.doJSON(ctx, http.MethodGet, "/readyz", nil, nil, nil)
}

// BaseURL returns the server address the client sends its requests to.
func (c *Client) BaseURL() string { return c.root }

// call is one API request, tried once or more by do.
type call struct {
	method string
	path   string // escaped, from the server root, e.g. /api/v1/namespaces
	query  url.Values
	header http.Header
	// json is a JSON request body (replayable); body a streamed one.
	json []byte
	body *streamBody
	// idempotent requests may be retried after they reached the server.
	idempotent bool
	// stream: the caller reads the response body as a stream, which the
	// timeout does not cover.
	stream bool
	// redirect: a 307 is answered to the caller rather than followed
	// (direct.go).
	redirect bool
	// external is an absolute URL to fetch instead of path and query,
	// without the client's token: a presigned URL (direct.go).
	external string
}

// doJSON sends in (when not nil) as JSON and decodes a 2xx answer into out
// (when not nil).
func (c *Client) doJSON(ctx context.Context, method, path string, query url.Values, in, out any) error {
	return c.sendJSON(ctx, &call{method: method, path: path, query: query, idempotent: idempotent(method)}, in, out)
}

// sendJSON is doJSON for a call whose retry policy is not its method's.
func (c *Client) sendJSON(ctx context.Context, cl *call, in, out any) error {
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("flymodel client: encode %s %s: %w", cl.method, cl.path, err)
		}
		cl.json = data
	}
	res, err := c.do(ctx, cl)
	if err != nil {
		return err
	}
	return decodeBody(res, out)
}

// decodeBody decodes a 2xx answer into out (or drains it) and closes it.
func decodeBody(res *http.Response, out any) error {
	defer res.Body.Close()
	if out == nil {
		_, err := io.Copy(io.Discard, io.LimitReader(res.Body, maxJSONResponse))
		return err
	}
	data, err := io.ReadAll(io.LimitReader(res.Body, maxJSONResponse+1))
	if err != nil {
		return fmt.Errorf("flymodel client: read answer of %s %s: %w", res.Request.Method, res.Request.URL.Path, err)
	}
	if len(data) > maxJSONResponse {
		return fmt.Errorf("flymodel client: answer of %s %s is larger than %d bytes", res.Request.Method, res.Request.URL.Path, maxJSONResponse)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("flymodel client: decode answer of %s %s (status %d): %w", res.Request.Method, res.Request.URL.Path, res.StatusCode, err)
	}
	return nil
}

// idempotent reports whether HTTP defines method as idempotent.
func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodOptions:
		return true
	}
	return false
}

// do sends cl, retrying when that is safe (retry.go), and returns a 2xx
// answer; any other answer becomes an *Error. The caller closes the body.
func (c *Client) do(ctx context.Context, cl *call) (*http.Response, error) {
	var last error
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return nil, ctxError(ctx, last)
		}
		if attempt > 1 && cl.body != nil {
			if err := cl.body.rewind(); err != nil {
				return nil, last
			}
		}
		res, err := c.attempt(ctx, cl)
		var wait time.Duration
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return nil, ctxError(ctx, err)
			}
			if attempt >= c.attempts || !c.retryableError(cl, err) {
				return nil, err
			}
			last = err
		case res.StatusCode >= 200 && res.StatusCode < 300,
			cl.redirect && res.StatusCode == http.StatusTemporaryRedirect:
			return res, nil
		default:
			apiErr := readError(res)
			if attempt >= c.attempts || !c.retryableStatus(cl, res.StatusCode) {
				return nil, apiErr
			}
			last = apiErr
			wait = retryAfter(res.Header, time.Now())
		}
		if wait == 0 {
			wait = c.backoff(attempt)
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
			return nil, last // the deadline would pass before the next attempt
		}
		if err := sleep(ctx, wait); err != nil {
			return nil, ctxError(ctx, last)
		}
	}
}

// ctxError is the error of a request whose context ended, with the last
// attempt's error for the record.
func ctxError(ctx context.Context, last error) error {
	cause := context.Cause(ctx)
	if last == nil || errors.Is(last, cause) {
		if last != nil {
			return last
		}
		return cause
	}
	return fmt.Errorf("%w (last attempt: %w)", cause, last)
}

// attempt sends cl once. The answer's body, when there is one, is wrapped
// so that closing it releases the attempt's timer and context.
func (c *Client) attempt(ctx context.Context, cl *call) (*http.Response, error) {
	actx, cancel := context.WithCancelCause(ctx)
	timer := newAttemptTimer(c.timeout, cancel)
	target := c.root + cl.path
	if len(cl.query) > 0 {
		target += "?" + cl.query.Encode()
	}
	if cl.external != "" {
		target = cl.external
	}
	var body io.Reader
	switch {
	case cl.json != nil:
		body = bytes.NewReader(cl.json)
	case cl.body != nil:
		body = cl.body.start(timer, actx.Done())
	}
	req, err := http.NewRequestWithContext(actx, cl.method, target, body)
	if err != nil {
		timer.stop()
		cancel(nil)
		return nil, fmt.Errorf("flymodel client: %w", err)
	}
	if cl.body != nil {
		req.ContentLength = cl.body.length()
		if req.ContentLength == 0 {
			req.ContentLength = -1 // unknown: sent chunked
		}
	}
	for k, vs := range cl.header {
		req.Header[k] = vs
	}
	if cl.json != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "application/json, application/problem+json")
	}
	req.Header.Set("User-Agent", c.userAgent)
	if c.token != "" && cl.external == "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	hc := c.http
	if cl.redirect {
		hc = noFollow(hc)
	}
	res, err := hc.Do(req)
	if err != nil {
		if cl.body != nil {
			// The transport may still be reading the body: from here on it
			// must not touch the caller's reader.
			cl.body.detach()
		}
		timer.stop()
		cause := context.Cause(actx)
		cancel(nil)
		var te *timeoutError
		if ctx.Err() == nil && errors.As(cause, &te) {
			return nil, fmt.Errorf("%s %s: %w", cl.method, redactTarget(target), te)
		}
		var ue *url.Error
		if cl.external != "" && errors.As(err, &ue) {
			ue.URL = redactTarget(ue.URL) // a presigned URL's query is a credential
		}
		return nil, err
	}
	if cl.stream && (res.StatusCode >= 200 && res.StatusCode < 300 || cl.redirect && res.StatusCode == http.StatusTemporaryRedirect) {
		timer.stop() // the stream is the caller's to bound (an error answer is not)
	}
	// When the server answers before it has read the whole body (an
	// artifact it already holds, a refusal), the transport may still be
	// sending it: the body stays readable until the answer has been read,
	// because a failing body write would close the connection under it.
	var release func()
	if cl.body != nil {
		release = cl.body.detach
	}
	res.Body = &attemptBody{ReadCloser: res.Body, actx: actx, parent: ctx, timer: timer, cancel: cancel, release: release}
	return res, nil
}

// redactTarget drops the query from a URL for error messages (a presigned
// URL's query is a credential), and masks what else could be one.
func redactTarget(target string) string {
	s, _, _ := strings.Cut(target, "?")
	return redact.URL(s)
}

// attemptBody is an answer's body: closing it ends the attempt, and a read
// cut off by the attempt's timer reports the timeout.
type attemptBody struct {
	io.ReadCloser
	actx, parent context.Context
	timer        *attemptTimer
	cancel       context.CancelCauseFunc
	release      func() // ends the request body's use, if any
	once         sync.Once
}

func (b *attemptBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF && b.parent.Err() == nil {
		var te *timeoutError
		if errors.As(context.Cause(b.actx), &te) {
			return n, te
		}
	}
	return n, err
}

func (b *attemptBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(func() {
		if b.release != nil {
			b.release()
		}
		b.timer.stop()
		b.cancel(nil)
	})
	return err
}

// timeoutError is an attempt that took longer than the client's timeout.
type timeoutError struct{ d time.Duration }

func (e *timeoutError) Error() string {
	return fmt.Sprintf("flymodel client: no answer within the timeout of %s", e.d)
}

// Timeout reports true, as net.Error timeouts do.
func (e *timeoutError) Timeout() bool { return true }

// Is makes a timeout match context.DeadlineExceeded.
func (e *timeoutError) Is(target error) bool { return target == context.DeadlineExceeded }

// attemptTimer cancels an attempt after the timeout; it is paused while a
// request body streams. A nil *attemptTimer is no timeout.
type attemptTimer struct {
	d    time.Duration
	mu   sync.Mutex
	t    *time.Timer
	done bool
}

func newAttemptTimer(d time.Duration, cancel context.CancelCauseFunc) *attemptTimer {
	if d <= 0 {
		return nil
	}
	return &attemptTimer{d: d, t: time.AfterFunc(d, func() { cancel(&timeoutError{d: d}) })}
}

// pause stops the clock (the body started streaming).
func (t *attemptTimer) pause() {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.t.Stop()
}

// resume restarts the clock for a full period (the body has been sent).
func (t *attemptTimer) resume() {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.done {
		t.t.Reset(t.d)
	}
}

// stop ends the timer for good.
func (t *attemptTimer) stop() {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.done = true
	t.t.Stop()
}
