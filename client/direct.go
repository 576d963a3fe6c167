package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
)

// WithDirectDownloads says whether downloads ask the server for a redirect
// to the artifact's store (GET …?redirect=true), so that the bytes of an
// artifact stored in S3 come from the bucket, through a presigned URL,
// rather than through the server. It is on by default. The bytes are
// verified either way, against the digest the server sends (with the
// redirect); when the store cannot be reached before the first byte
// arrives (an expired URL, a bucket the client's network does not reach)
// the download falls back to the server. Artifacts in a filesystem store
// always come through the server.
func WithDirectDownloads(on bool) Option {
	return func(c *Client) { c.direct = on }
}

// noFollow is hc answering redirects to the caller rather than following
// them: the client fetches a redirect's target itself, without its token.
func noFollow(hc *http.Client) *http.Client {
	nf := *hc
	nf.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &nf
}

// openDownload starts the download of the artifact at apath: through the
// server, or, when the server redirects, from the store. The answer is a
// 2xx whose body the caller reads; want is the sha256 (hex) the bytes must
// hash to, from the server's headers.
func (c *Client) openDownload(ctx context.Context, apath string) (res *http.Response, want string, err error) {
	cl := &call{method: http.MethodGet, path: apath, header: downloadHeader(), idempotent: true, stream: true}
	if c.direct {
		cl.query, cl.redirect = url.Values{"redirect": {"true"}}, true
	}
	res, err = c.do(ctx, cl)
	if err != nil {
		return nil, "", err
	}
	if res.StatusCode == http.StatusTemporaryRedirect {
		res.Body.Close()
		if direct, want, err := c.openRedirect(ctx, apath, res); err == nil {
			return direct, want, nil
		} else if errors.Is(err, ErrIntegrity) || ctx.Err() != nil {
			return nil, "", err
		}
		// The store did not answer: the server streams the bytes instead.
		res, err = c.do(ctx, &call{method: http.MethodGet, path: apath, header: downloadHeader(), idempotent: true, stream: true})
		if err != nil {
			return nil, "", err
		}
	}
	want, err = responseDigest(res.Header)
	if err != nil {
		res.Body.Close()
		return nil, "", &IntegrityError{Artifact: apath, Size: res.ContentLength, Reason: err.Error()}
	}
	return res, want, nil
}

// openRedirect fetches the target of a redirect to the store, without the
// client's token. The redirect must carry the artifact's digest.
func (c *Client) openRedirect(ctx context.Context, apath string, redirect *http.Response) (*http.Response, string, error) {
	want, err := responseDigest(redirect.Header)
	if err != nil {
		return nil, "", &IntegrityError{Artifact: apath, Size: -1, Reason: "redirect: " + err.Error()}
	}
	loc, err := redirect.Location()
	if err != nil {
		return nil, "", fmt.Errorf("flymodel client: download %s: redirect without a usable Location: %w", apath, err)
	}
	res, err := c.do(ctx, &call{method: http.MethodGet, external: loc.String(), header: downloadHeader(), idempotent: true, stream: true})
	if err != nil {
		return nil, "", fmt.Errorf("flymodel client: download %s from its store: %s", apath, redactedError(err))
	}
	return res, want, nil
}

// redactedError describes err without a URL's query (a presigned URL's
// signature): the store's error answers name the request.
func redactedError(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return fmt.Sprintf("HTTP %d %s", e.Status, e.Title)
	}
	return err.Error()
}
