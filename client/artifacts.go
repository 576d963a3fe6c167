package client

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/flymodel/flymodel/api"
)

// ListArtifacts returns one page of an owner's artifacts, by name.
func (c *Client) ListArtifacts(ctx context.Context, o Owner, opts ListOptions) (Page[Artifact], error) {
	var p Page[Artifact]
	err := c.doJSON(ctx, http.MethodGet, o.path()+"/artifacts", opts.values(), nil, &p)
	return p, err
}

// AllArtifacts returns every artifact of an owner, by name.
func (c *Client) AllArtifacts(ctx context.Context, o Owner) ([]Artifact, error) {
	var out []Artifact
	for a, err := range All(ctx, func(ctx context.Context, p ListOptions) (Page[Artifact], error) {
		return c.ListArtifacts(ctx, o, p)
	}) {
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// GetArtifact returns the full record of one artifact (format, encoding,
// extra, …). The API has no route for one record, so this reads the
// owner's list; StatArtifact is one request when the digest and size are
// enough. An artifact that does not exist is ErrNotFound.
func (c *Client) GetArtifact(ctx context.Context, o Owner, name string) (Artifact, error) {
	for a, err := range All(ctx, func(ctx context.Context, p ListOptions) (Page[Artifact], error) {
		return c.ListArtifacts(ctx, o, p)
	}) {
		if err != nil {
			return Artifact{}, err
		}
		if a.Name == name {
			return a, nil
		}
	}
	return Artifact{}, &Error{
		Status: http.StatusNotFound, Type: ProblemTypeBase + api.ProblemNotFound, Title: "Not Found",
		Detail: fmt.Sprintf("artifact %s not found", o.artifactPath(name)), Instance: o.artifactPath(name),
	}
}

// ArtifactInfo describes an artifact as a download (or a HEAD) announces
// it.
type ArtifactInfo struct {
	// Name is the artifact's name.
	Name string
	// FileName is the suggested file name (Content-Disposition).
	FileName string
	// ContentType is the artifact's media type.
	ContentType string
	// Size is the length in bytes.
	Size int64
	// SHA256 is the server's digest of the bytes (hex). After a download it
	// has been verified.
	SHA256 string
	// CreatedAt is when the artifact was stored (to the second).
	CreatedAt time.Time
}

// StatArtifact describes one artifact with a HEAD request: its digest,
// size, content type and file name. An artifact that does not exist is
// ErrNotFound.
func (c *Client) StatArtifact(ctx context.Context, o Owner, name string) (ArtifactInfo, error) {
	res, err := c.do(ctx, &call{method: http.MethodHead, path: o.artifactPath(name), header: downloadHeader(), idempotent: true})
	if err != nil {
		return ArtifactInfo{}, err
	}
	res.Body.Close()
	info := artifactInfo(name, res)
	if info.SHA256, err = responseDigest(res.Header); err != nil {
		return info, &IntegrityError{Artifact: o.artifactPath(name), Size: res.ContentLength, Reason: err.Error()}
	}
	return info, nil
}

// UploadOptions describe an upload.
type UploadOptions struct {
	// SHA256 is the lowercase hex sha256 of the bytes, when known: it is
	// sent ahead (Digest: sha256=…), the server refuses bytes that do not
	// match (ErrDigestMismatch), and when the artifact already holds them
	// the server answers without reading the body.
	SHA256 string
	// Size is the number of bytes, when known: the server then refuses an
	// upload over its limit before it is sent (ErrTooLarge). Zero or
	// negative means unknown; the length of a reader that can seek is
	// found by seeking.
	Size int64
	// ContentType is the artifact's media type; empty lets the server
	// choose one from Format, else from the name's extension
	// (api.TypeByName).
	ContentType string
	// Format is one of the known formats (json, parquet, safetensors, …),
	// or empty: the server takes the one the name's extension names.
	Format string
	// Encoding is the compression or packaging of the bytes (gzip, zstd,
	// tar, …); empty is uncompressed. It is metadata only.
	Encoding string
	// FileName is the name a download suggests; empty is the artifact
	// name's last segment.
	FileName string
	// Extra is a JSON object kept with a version's artifact (not an
	// experiment's).
	Extra json.RawMessage
	// Progress, when set, is called with the number of body bytes handed
	// to the connection so far; it restarts from zero when an attempt is
	// retried. It is never called after the upload returns.
	Progress func(done int64)
}

// UploadArtifact stores the bytes read from r as artifact name of o, with
// a raw PUT. It returns the artifact's record and whether this upload
// created it: the same bytes under the same name are an idempotent success
// (created false), other bytes are ErrImmutable, and a sealed version
// refuses new artifacts (ErrSealed).
//
// r is read from its current position to its end and is not closed. The
// upload is retried (see the package documentation) only when r can be
// replayed: an io.Seeker such as *os.File, *bytes.Reader or
// *strings.Reader is rewound to where it started. When the upload is
// cancelled or fails while the connection is reading r, a reader that
// cannot seek may see one more Read after UploadArtifact has returned.
func (c *Client) UploadArtifact(ctx context.Context, o Owner, name string, r io.Reader, opts UploadOptions) (Artifact, bool, error) {
	q := url.Values{}
	for key, v := range map[string]string{"format": opts.Format, "encoding": opts.Encoding, "file_name": opts.FileName, "extra": string(opts.Extra)} {
		if v != "" {
			q.Set(key, v)
		}
	}
	h := http.Header{}
	h.Set("Content-Type", "application/octet-stream")
	if opts.ContentType != "" {
		h.Set("Content-Type", opts.ContentType)
	}
	if opts.SHA256 != "" {
		digest := strings.ToLower(opts.SHA256)
		if raw, err := hex.DecodeString(digest); err != nil || len(raw) != sha256.Size {
			return Artifact{}, false, fmt.Errorf("flymodel client: upload %s: UploadOptions.SHA256 %q is not 64 hexadecimal digits", name, opts.SHA256)
		}
		h.Set("Digest", "sha256="+digest)
	}
	// The server may refuse (too large, sealed, unknown version) or accept
	// (the same bytes again) before reading the body: let it say so before
	// the body is sent, when the transport waits for "100 Continue".
	if c.waitsForContinue() {
		h.Set("Expect", "100-continue")
	}
	cl := &call{
		method: http.MethodPut, path: o.artifactPath(name), query: q, header: h,
		body: newStreamBody(r, opts.Size, opts.Progress), idempotent: true,
	}
	res, err := c.do(ctx, cl)
	if err != nil {
		return Artifact{}, false, err
	}
	created := res.StatusCode == http.StatusCreated
	var a Artifact
	if err := decodeBody(res, &a); err != nil {
		return Artifact{}, false, err
	}
	return a, created, nil
}

// waitsForContinue reports whether the client's transport holds a body
// back until the server asks for it. A transport that would send it at once
// gets no "Expect: 100-continue": a server that answers without reading
// such a body may close the connection under the answer, whereas without
// the header it lets the client read its answer first.
func (c *Client) waitsForContinue() bool {
	rt := c.http.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	t, ok := rt.(*http.Transport)
	return ok && t.ExpectContinueTimeout > 0
}

// UploadFile uploads the file at path as artifact name of o: it hashes the
// file first (unless opts.SHA256 is set) and uploads it with its digest and
// size, so the server checks every byte, refuses an oversized file before
// it is sent, and answers at once when it already holds the same bytes
// under that name. A file that changes between the hash and the upload is
// refused (ErrDigestMismatch). See UploadArtifact for the results.
func (c *Client) UploadFile(ctx context.Context, o Owner, name, path string, opts UploadOptions) (Artifact, bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return Artifact{}, false, fmt.Errorf("flymodel client: upload %s: %w", name, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return Artifact{}, false, fmt.Errorf("flymodel client: upload %s: %w", name, err)
	}
	if !st.Mode().IsRegular() {
		return Artifact{}, false, fmt.Errorf("flymodel client: upload %s: %s is not a regular file", name, path)
	}
	if opts.SHA256 == "" {
		h := sha256.New()
		if _, err := io.Copy(h, contextReader{ctx: ctx, r: f}); err != nil {
			return Artifact{}, false, fmt.Errorf("flymodel client: upload %s: hash %s: %w", name, path, err)
		}
		opts.SHA256 = hex.EncodeToString(h.Sum(nil))
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return Artifact{}, false, fmt.Errorf("flymodel client: upload %s: %w", name, err)
		}
	}
	opts.Size = st.Size()
	return c.UploadArtifact(ctx, o, name, f, opts)
}

// HashFile returns the lowercase hex sha256 and the size of the file at
// path, as UploadFile computes them.
func HashFile(ctx context.Context, path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, contextReader{ctx: ctx, r: f})
	if err != nil {
		return "", 0, fmt.Errorf("hash %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// contextReader stops reading once ctx ends.
type contextReader struct {
	ctx context.Context
	r   io.Reader
}

func (r contextReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}

// DownloadArtifact streams artifact name of o into w while hashing it, and
// checks at the end that the bytes hash to the server's digest (Digest or
// Repr-Digest header) and that none are missing. A mismatch, a transfer cut
// short or a missing digest is an *IntegrityError (ErrIntegrity). When the
// server redirects to the artifact's store (see WithDirectDownloads), the
// bytes come from there and are held to the digest the redirect carries.
//
// w has received the bytes by the time the check fails: write to a
// temporary file and keep it only on success, as DownloadFile does. The
// client's timeout covers the request until the answer's headers; bound
// the transfer itself with ctx.
func (c *Client) DownloadArtifact(ctx context.Context, o Owner, name string, w io.Writer) (ArtifactInfo, error) {
	apath := o.artifactPath(name)
	res, want, err := c.openDownload(ctx, apath)
	if err != nil {
		return ArtifactInfo{}, err
	}
	defer res.Body.Close()
	info := artifactInfo(name, res)
	fail := func(e *IntegrityError) (ArtifactInfo, error) {
		e.Artifact, e.Expected, e.Size = apath, info.SHA256, res.ContentLength
		return info, e
	}
	info.SHA256 = want

	h := sha256.New()
	src := &readTracker{r: res.Body}
	n, err := io.Copy(io.MultiWriter(w, h), src)
	switch {
	case err != nil && src.err == nil:
		return info, fmt.Errorf("flymodel client: download %s: write: %w", apath, err)
	case err != nil && ctx.Err() != nil:
		return info, fmt.Errorf("flymodel client: download %s: %w", apath, context.Cause(ctx))
	case err != nil:
		var te *timeoutError
		if errors.As(err, &te) {
			return info, fmt.Errorf("flymodel client: download %s: %w", apath, err)
		}
		return fail(&IntegrityError{Received: n, Reason: fmt.Sprintf("the transfer ended after %d bytes", n), Err: err})
	case res.ContentLength >= 0 && n != res.ContentLength:
		return fail(&IntegrityError{Received: n, Reason: fmt.Sprintf("received %d bytes, announced %d", n, res.ContentLength)})
	}
	got := hex.EncodeToString(h.Sum(nil))
	if got != want {
		return fail(&IntegrityError{Received: n, Actual: got, Reason: fmt.Sprintf("the bytes hash to sha256 %s, the server's digest is %s", got, want)})
	}
	info.Size = n
	return info, nil
}

// readTracker remembers the error of its reader, to tell a failed
// download from a failed write.
type readTracker struct {
	r   io.Reader
	err error
}

func (t *readTracker) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil && err != io.EOF {
		t.err = err
	}
	return n, err
}

// DownloadFile downloads artifact name of o to path, atomically: the bytes
// go to a temporary file in path's folder, which is synced and renamed to
// path only once verified, and removed on any error, so path is either the
// verified artifact or untouched. The file gets mode 0644.
func (c *Client) DownloadFile(ctx context.Context, o Owner, name, path string) (info ArtifactInfo, err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.part")
	if err != nil {
		return ArtifactInfo{}, fmt.Errorf("flymodel client: download %s: %w", name, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if info, err = c.DownloadArtifact(ctx, o, name, f); err != nil {
		return info, err
	}
	if err = f.Sync(); err != nil {
		return info, fmt.Errorf("flymodel client: download %s: %w", name, err)
	}
	if err = f.Close(); err != nil {
		return info, fmt.Errorf("flymodel client: download %s: %w", name, err)
	}
	if err = os.Chmod(tmp, 0o644); err != nil {
		return info, fmt.Errorf("flymodel client: download %s: %w", name, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return info, fmt.Errorf("flymodel client: download %s: %w", name, err)
	}
	syncDir(dir)
	return info, nil
}

// syncDir makes a rename in dir durable where the platform allows it.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

// downloadHeader asks for the bytes as stored: no transparent
// decompression, whatever the transport would do.
func downloadHeader() http.Header {
	h := http.Header{}
	h.Set("Accept", "*/*")
	h.Set("Accept-Encoding", "identity")
	return h
}

// artifactInfo reads what a download's headers say about the artifact.
func artifactInfo(name string, res *http.Response) ArtifactInfo {
	info := ArtifactInfo{Name: name, ContentType: res.Header.Get("Content-Type"), Size: res.ContentLength}
	if _, params, err := mime.ParseMediaType(res.Header.Get("Content-Disposition")); err == nil {
		info.FileName = params["filename"]
	}
	if t, err := http.ParseTime(res.Header.Get("Last-Modified")); err == nil {
		info.CreatedAt = t.UTC()
	}
	return info
}

// responseDigest reads the sha256 of an answer (hex) from Digest
// ("sha256=<hex>" or "sha-256=<base64>") and Repr-Digest
// ("sha-256=:<base64>:"); they must agree.
func responseDigest(h http.Header) (string, error) {
	var found []string
	for _, name := range []string{"Repr-Digest", "Digest"} {
		for _, v := range h.Values(name) {
			for _, item := range strings.Split(v, ",") {
				alg, val, ok := strings.Cut(strings.TrimSpace(item), "=")
				if !ok {
					continue
				}
				var raw []byte
				var err error
				switch strings.ToLower(alg) {
				case "sha256":
					raw, err = hex.DecodeString(val)
				case "sha-256":
					raw, err = base64.StdEncoding.DecodeString(strings.Trim(val, ":"))
				default:
					continue
				}
				if err != nil || len(raw) != sha256.Size {
					return "", fmt.Errorf("the server's %s header %q is not a sha256", name, v)
				}
				found = append(found, hex.EncodeToString(raw))
			}
		}
	}
	if len(found) == 0 {
		return "", errors.New("the server sent no sha256 digest to verify the bytes against")
	}
	for _, d := range found[1:] {
		if d != found[0] {
			return "", fmt.Errorf("the server sent two different digests, %s and %s", found[0], d)
		}
	}
	return found[0], nil
}
