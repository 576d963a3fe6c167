package client

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"syscall"
	"time"
)

// Bounds of the waits between attempts.
const (
	maxBackoff    = 10 * time.Second
	maxRetryAfter = 30 * time.Second
)

// retryableError reports whether an attempt that failed without an answer
// may be tried again: when no connection could be made (nothing reached
// the server, whatever the method), or when the request is idempotent and
// the failure is one of transport (reset, cut, timed out). Either way the
// body must be able to go again.
func (c *Client) retryableError(cl *call, err error) bool {
	if cl.body != nil && !cl.body.canResend() {
		return false
	}
	if dialError(err) {
		return true
	}
	if !cl.idempotent {
		return false
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // *url.Error is a net.Error whatever it wraps
	}
	var (
		te *timeoutError
		ne net.Error
	)
	switch {
	case errors.As(err, &te), errors.As(err, &ne):
		return true
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return true
	}
	// TLS verification failures, malformed answers, redirect loops: trying
	// again would fail again.
	return false
}

// dialError reports a failure to connect: the request never left.
func dialError(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && (op.Op == "dial" || op.Op == "proxyconnect") {
		return true
	}
	return errors.Is(err, syscall.ECONNREFUSED)
}

// retryableStatus reports whether an answer says the same request may
// succeed later: a gateway or unavailable server, for an idempotent request
// whose body can go again.
func (c *Client) retryableStatus(cl *call, status int) bool {
	switch status {
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
	default:
		return false
	}
	return cl.idempotent && (cl.body == nil || cl.body.canResend())
}

// backoff is the wait after the given attempt (from 1): the base delay
// doubled for each earlier retry, at most maxBackoff, with "equal jitter"
// (between half and all of it) so that clients that failed together do not
// retry together.
func (c *Client) backoff(attempt int) time.Duration {
	d := c.baseDelay
	for i := 1; i < attempt && d < maxBackoff; i++ {
		d *= 2
	}
	d = min(d, maxBackoff)
	if d <= 1 {
		return d
	}
	half := d / 2
	return half + rand.N(d-half+1)
}

// retryAfter reads a Retry-After header (seconds or an HTTP date), at most
// maxRetryAfter; 0 when there is none.
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		d = time.Duration(min(secs, int64(maxRetryAfter/time.Second))) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return max(0, min(d, maxRetryAfter))
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
