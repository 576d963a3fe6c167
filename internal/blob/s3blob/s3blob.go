// Package s3blob is the blob.Store on an S3-compatible bucket (AWS S3, MinIO,
// Ceph, Versity Gateway, …), over minio-go. No minio type leaves the
// package: failures become blob errors or plain errors that say what to fix.
//
// Uploads stream with bounded memory: Put reads into a pooled 1 MiB buffer,
// moving to a PartSize (16 MiB) one when the blob is larger. A blob of at
// most PartSize bytes is one PUT; a larger one is a multipart upload whose
// parts go out one by one from that buffer, completed only after the whole
// stream was read and aborted on any failure. Either way the object appears
// at its key all at once or not at all, and an upload holds at most one
// part in memory, whatever the blob's size.
//
// The bucket is versioned (Ensure turns versioning on), as protection
// against anyone else overwriting an object: Put returns the object's
// version id, Open and Stat read the version they are given, whatever was
// written at the key since, and Delete removes the version it is given for
// good (no delete marker, no noncurrent version: the bytes are freed).
//
// No request waits on the server for ever: see timeout.go.
package s3blob

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/s3utils"

	"github.com/flymodel/flymodel/internal/blob"
)

// PartSize is the size of one multipart upload part, and so the memory one
// upload holds. With S3's limit of 10,000 parts it caps a blob at 160 GiB.
const PartSize = 16 << 20

// maxParts is S3's limit on the parts of one multipart upload.
const maxParts = 10000

// Config is one bucket and how to reach it: the fields of a storage.s3[]
// entry of the configuration.
type Config struct {
	Bucket string
	// Endpoint is the server's URL: "http://host:port" or "https://host";
	// a bare "host:port" means https. "" is AWS S3.
	Endpoint string
	// Region signs requests and places a created bucket; "" lets the
	// client ask the server (AWS) or use us-east-1.
	Region string
	// PathStyle addresses the bucket as endpoint/bucket (MinIO, Ceph,
	// Versity) rather than bucket.endpoint.
	PathStyle bool
	// AccessKeyID and SecretAccessKey, both or neither. Neither means the
	// standard environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
	// AWS_SESSION_TOKEN, else MINIO_ACCESS_KEY and MINIO_SECRET_KEY, read
	// when a request is signed.
	AccessKeyID     string
	SecretAccessKey string
	// Public: objects get a permanent anonymous URL (PublicURL), and
	// EnsurePublic grants anonymous reads of them (presign.go).
	Public bool
	// Timeout bounds each wait on the server (timeout.go); 0 is
	// DefaultTimeout.
	Timeout time.Duration
}

// Store is a blob.Store on one S3 bucket. It is safe for concurrent use.
type Store struct {
	client *minio.Client
	core   minio.Core
	bucket string
	region string
	// server identifies the endpoint and credentials: stores with the
	// same server can copy objects between their buckets server-side.
	server string
	// direct is what presign.go needs beyond the client.
	direct directConfig
	// timeout bounds each wait on the server (timeout.go).
	timeout time.Duration
}

var _ blob.Store = (*Store)(nil)

// New returns the store of cfg. It checks the configuration only; Ensure
// and Probe talk to the server.
func New(cfg Config) (*Store, error) {
	return newStore(cfg, nil)
}

// newStore is New with the HTTP transport replaced (nil: minio's default),
// so that tests can inject faults.
func newStore(cfg Config, transport http.RoundTripper) (*Store, error) {
	if err := s3utils.CheckValidBucketNameStrict(cfg.Bucket); err != nil {
		return nil, fmt.Errorf("s3 bucket %q: invalid name: %v", cfg.Bucket, err)
	}
	host, secure, err := parseEndpoint(cfg.Endpoint)
	if err != nil {
		return nil, fmt.Errorf("s3 bucket %s: %w", cfg.Bucket, err)
	}
	var creds *credentials.Credentials
	switch {
	case cfg.AccessKeyID != "" && cfg.SecretAccessKey != "":
		creds = credentials.NewStaticV4(cfg.AccessKeyID, cfg.SecretAccessKey, "")
	case cfg.AccessKeyID != "" || cfg.SecretAccessKey != "":
		return nil, fmt.Errorf("s3 bucket %s: access_key_id and secret_access_key go together: set both or neither", cfg.Bucket)
	default:
		creds = credentials.NewChainCredentials([]credentials.Provider{
			&credentials.EnvAWS{},
			&credentials.EnvMinio{},
		})
	}
	lookup := minio.BucketLookupDNS
	if cfg.PathStyle {
		lookup = minio.BucketLookupPath
	}
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	if timeout < 0 {
		return nil, fmt.Errorf("s3 bucket %s: timeout %s is negative", cfg.Bucket, timeout)
	}
	if transport == nil {
		if transport, err = minio.DefaultTransport(secure); err != nil {
			return nil, fmt.Errorf("s3 bucket %s: %v", cfg.Bucket, err)
		}
	}
	client, err := minio.New(host, &minio.Options{
		Creds:        creds,
		Secure:       secure,
		Region:       cfg.Region,
		BucketLookup: lookup,
		Transport:    watchTransport{base: transport},
	})
	if err != nil {
		return nil, fmt.Errorf("s3 bucket %s: %v", cfg.Bucket, err)
	}
	server := fmt.Sprintf("%t %s %s %s", secure, host, cfg.AccessKeyID, cfg.SecretAccessKey)
	return &Store{client: client, core: minio.Core{Client: client}, bucket: cfg.Bucket, region: cfg.Region, server: server,
		direct: directConfig{public: cfg.Public, pathStyle: cfg.PathStyle, host: host, secure: secure}, timeout: timeout}, nil
}

// parseEndpoint splits an endpoint into minio's host and TLS flag.
func parseEndpoint(endpoint string) (host string, secure bool, err error) {
	if endpoint == "" {
		return "s3.amazonaws.com", true, nil
	}
	if !strings.Contains(endpoint, "://") {
		endpoint = "https://" + endpoint
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return "", false, fmt.Errorf("endpoint %q: %v", endpoint, err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", false, fmt.Errorf("endpoint %q: scheme must be http or https", endpoint)
	case u.Host == "":
		return "", false, fmt.Errorf("endpoint %q: no host", endpoint)
	case u.User != nil || u.RawQuery != "" || u.Fragment != "" || (u.Path != "" && u.Path != "/"):
		return "", false, fmt.Errorf("endpoint %q: only scheme://host[:port] is allowed (no path, query or credentials)", endpoint)
	}
	return u.Host, u.Scheme == "https", nil
}

// String names the store: "s3:" and the bucket.
func (s *Store) String() string { return "s3:" + s.bucket }

// smallSize is the buffer a Put starts with: most artifacts (metrics,
// configs, reports) fit, and need no PartSize buffer.
const smallSize = 1 << 20

// Buffers are pooled so that uploads reuse rather than allocate them.
var (
	smallBuffers = sync.Pool{New: func() any { b := make([]byte, smallSize); return &b }}
	partBuffers  = sync.Pool{New: func() any { b := make([]byte, PartSize); return &b }}
)

// Put streams r to key. A stream of at most PartSize bytes is one PUT, a
// longer one a multipart upload, aborted when r, ctx or the server fails.
// It holds a 1 MiB buffer, and a PartSize one for a blob beyond that. Only
// the time spent waiting on the server counts towards the timeout, not the
// time spent reading r.
func (s *Store) Put(ctx context.Context, key string, r io.Reader) (blob.Info, error) {
	if err := blob.ValidateKey(key); err != nil {
		return blob.Info{}, fmt.Errorf("put %q: %w", key, err)
	}
	ctx, cancel := s.transfer(ctx, s.timeout)
	defer cancel()
	digest := sha256.New()
	smallp := smallBuffers.Get().(*[]byte)
	buf := *smallp
	n, last, err := readPart(ctx, r, buf)
	if err != nil || n == 0 {
		smallBuffers.Put(smallp)
		if err == nil {
			err = blob.ErrEmpty
		}
		return blob.Info{}, fmt.Errorf("put %s/%s: %w", s, key, err)
	}
	digest.Write(buf[:n])
	if last {
		defer smallBuffers.Put(smallp)
	} else {
		partp := partBuffers.Get().(*[]byte)
		defer partBuffers.Put(partp)
		copy(*partp, buf[:n])
		smallBuffers.Put(smallp)
		buf = *partp
		m, end, err := readPart(ctx, r, buf[n:])
		if err != nil {
			return blob.Info{}, fmt.Errorf("put %s/%s: %w", s, key, err)
		}
		digest.Write(buf[n : n+m])
		n, last = n+m, end
	}

	var up minio.UploadInfo
	size := int64(n)
	if last {
		// size <= PartSize: minio sends one PUT straight from buf.
		commit, sent := traceSent(ctx)
		up, err = s.client.PutObject(commit, s.bucket, key, bytes.NewReader(buf[:n]), size,
			minio.PutObjectOptions{ContentType: "application/octet-stream", PartSize: PartSize})
		if err != nil {
			s.removeIfCommitted(ctx, key, err, sent)
			return blob.Info{}, s.fail(ctx, "put", key, err)
		}
	} else {
		up, size, err = s.putMultipart(ctx, key, r, buf, n, digest)
		if err != nil {
			return blob.Info{}, err
		}
	}
	return blob.Info{
		Key:       key,
		Size:      size,
		SHA256:    hex.EncodeToString(digest.Sum(nil)),
		VersionID: up.VersionID,
		Modified:  time.Now().UTC(),
	}, nil
}

// putMultipart uploads buf[:n], already read and hashed, as the first part,
// then the rest of r, one part at a time through buf.
func (s *Store) putMultipart(ctx context.Context, key string, r io.Reader, buf []byte, n int, digest io.Writer) (up minio.UploadInfo, size int64, err error) {
	start, cancel := s.call(ctx)
	uploadID, err := s.core.NewMultipartUpload(start, s.bucket, key,
		minio.PutObjectOptions{ContentType: "application/octet-stream"})
	cancel()
	if err != nil {
		return up, 0, s.fail(start, "put", key, err)
	}
	defer func() {
		if err != nil {
			err = s.abort(ctx, key, uploadID, err)
		}
	}()

	var parts []minio.CompletePart
	for last := false; ; {
		if len(parts) == maxParts {
			return up, 0, fmt.Errorf("put %s/%s: larger than %d parts of %d bytes", s, key, maxParts, PartSize)
		}
		part, err := s.core.PutObjectPart(ctx, s.bucket, key, uploadID, len(parts)+1,
			bytes.NewReader(buf[:n]), int64(n), minio.PutObjectPartOptions{})
		if err != nil {
			return up, 0, s.fail(ctx, "put", key, err)
		}
		parts = append(parts, completePart(part))
		size += int64(n)
		if last {
			break
		}
		if n, last, err = readPart(ctx, r, buf); err != nil {
			return up, 0, fmt.Errorf("put %s/%s: %w", s, key, err)
		}
		if n == 0 {
			break
		}
		digest.Write(buf[:n])
	}
	// The server assembles the parts before it answers.
	complete, cancel := s.transfer(ctx, s.allowance(size))
	defer cancel()
	commit, sent := traceSent(complete)
	up, err = s.core.CompleteMultipartUpload(commit, s.bucket, key, uploadID, parts,
		minio.PutObjectOptions{ContentType: "application/octet-stream"})
	if err != nil {
		s.removeIfCommitted(ctx, key, err, sent)
		return up, 0, s.fail(complete, "put", key, err)
	}
	return up, size, nil
}

// readPart fills buf from r. last reports that r ended (n may be less than
// len(buf), or 0); err is r's failure or the end of ctx.
func readPart(ctx context.Context, r io.Reader, buf []byte) (n int, last bool, err error) {
	n, err = io.ReadFull(r, buf)
	switch {
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		last, err = true, nil
	case err != nil:
		return 0, false, fmt.Errorf("read: %w", err)
	}
	if cerr := ctx.Err(); cerr != nil {
		return 0, false, cerr
	}
	return n, last, nil
}

func completePart(p minio.ObjectPart) minio.CompletePart {
	return minio.CompletePart{
		PartNumber:        p.PartNumber,
		ETag:              p.ETag,
		ChecksumCRC32:     p.ChecksumCRC32,
		ChecksumCRC32C:    p.ChecksumCRC32C,
		ChecksumSHA1:      p.ChecksumSHA1,
		ChecksumSHA256:    p.ChecksumSHA256,
		ChecksumCRC64NVME: p.ChecksumCRC64NVME,
	}
}

// abort cancels a failed multipart upload so that its parts do not stay
// behind, even when ctx has ended. What it cannot abort, RemoveStale will.
func (s *Store) abort(ctx context.Context, key, uploadID string, cause error) error {
	ctx, cancel := s.cleanup(ctx)
	defer cancel()
	err := s.core.AbortMultipartUpload(ctx, s.bucket, key, uploadID)
	if err != nil && minio.ToErrorResponse(err).Code != "NoSuchUpload" {
		return fmt.Errorf("%w (and aborting upload %s failed, RemoveStale will retry: %v)", cause, uploadID, s.mapErr("abort", key, err))
	}
	return cause
}

// cleanup returns a context for the requests that undo a failed operation:
// they run even when the operation's ctx has ended, for at most the
// store's timeout in all (what they cannot undo, garbage collection
// will).
func (s *Store) cleanup(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeoutCause(unwatched(context.WithoutCancel(ctx)), s.timeout,
		&timeoutError{what: "did not answer", limit: s.timeout})
}

// traceSent returns ctx that records in sent whether a request made with it
// was written to the server in full.
func traceSent(ctx context.Context) (_ context.Context, sent *atomic.Bool) {
	sent = new(atomic.Bool)
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(info httptrace.WroteRequestInfo) {
			if info.Err == nil {
				sent.Store(true)
			}
		},
	}), sent
}

// removeIfCommitted undoes an upload whose last request (the PUT, or the
// completion of a multipart upload) was sent but got no answer (connection
// lost, ctx ended): the server may have stored the object. Keys are never
// reused, so an object at key is this upload's, and it is removed with its
// version id, for good.
func (s *Store) removeIfCommitted(ctx context.Context, key string, err error, sent *atomic.Bool) {
	var resp minio.ErrorResponse
	if !sent.Load() || errors.As(err, &resp) && resp.StatusCode != 0 {
		return // never sent, or the server answered: nothing was stored
	}
	ctx, cancel := s.cleanup(ctx)
	defer cancel()
	st, serr := s.client.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
	if serr != nil {
		return
	}
	_ = s.client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{VersionID: st.VersionID})
}

// Open returns version of the blob at key ("" is the current one). Reads
// and seeks go to the server as ranged GETs of that version (with "", of
// the version that was current at Open). Each of them may wait on the
// server for the store's timeout without a byte coming; the time between
// reads is the caller's.
func (s *Store) Open(ctx context.Context, key, version string) (_ blob.Object, err error) {
	if err := blob.ValidateKey(key); err != nil {
		return nil, fmt.Errorf("open %q: %w", key, err)
	}
	ctx, cancel := s.transfer(ctx, s.timeout)
	defer func() {
		if err != nil {
			cancel()
		}
	}()
	obj, err := s.client.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{VersionID: version})
	if err != nil {
		return nil, s.fail(ctx, "open", key, err)
	}
	// GetObject is lazy: a missing key shows on the first request.
	st, err := obj.Stat()
	if err != nil {
		_ = obj.Close()
		return nil, s.fail(ctx, "open", key, err)
	}
	return &object{store: s, ctx: ctx, cancel: cancel, obj: obj, info: infoOf(st)}, nil
}

// object is an open blob: a minio.Object whose errors are mapped.
type object struct {
	store  *Store
	ctx    context.Context
	cancel context.CancelFunc
	obj    *minio.Object
	info   blob.Info
}

func (o *object) Info() blob.Info { return o.info }

func (o *object) Read(p []byte) (int, error) {
	n, err := o.obj.Read(p)
	if err != nil && err != io.EOF {
		err = o.store.fail(o.ctx, "read", o.info.Key, err)
	}
	return n, err
}

func (o *object) Seek(offset int64, whence int) (int64, error) {
	pos, err := o.obj.Seek(offset, whence)
	if err != nil {
		err = o.store.fail(o.ctx, "seek", o.info.Key, err)
	}
	return pos, err
}

func (o *object) Close() error {
	err := o.obj.Close()
	o.cancel()
	return err
}

// Stat returns the Info (without SHA256) of version of the blob at key ("",
// the current one), or blob.ErrNotFound.
func (s *Store) Stat(ctx context.Context, key, version string) (blob.Info, error) {
	if err := blob.ValidateKey(key); err != nil {
		return blob.Info{}, fmt.Errorf("stat %q: %w", key, err)
	}
	ctx, cancel := s.call(ctx)
	defer cancel()
	st, err := s.client.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{VersionID: version})
	if err != nil {
		return blob.Info{}, s.fail(ctx, "stat", key, err)
	}
	return infoOf(st), nil
}

func infoOf(st minio.ObjectInfo) blob.Info {
	return blob.Info{Key: st.Key, Size: st.Size, VersionID: st.VersionID, Modified: st.LastModified}
}

// Delete removes version of key for good: a DELETE with the version id,
// which frees the version's bytes and leaves no delete marker. Version ""
// removes every version of the key (and its delete markers): keys are
// random and never reused, so all of them were written at this key for
// one blob — by flymodel, or by someone overwriting it behind its back.
// A missing key or version is left alone.
func (s *Store) Delete(ctx context.Context, key, version string) error {
	if err := blob.ValidateKey(key); err != nil {
		return fmt.Errorf("delete %q: %w", key, err)
	}
	if version != "" {
		return s.deleteVersion(ctx, key, version)
	}
	var versions []string
	err := s.ListVersions(ctx, key, func(v blob.Version) error {
		if v.Key == key {
			versions = append(versions, v.VersionID)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete %s/%s: %w", s, key, err)
	}
	for _, v := range versions {
		if err := s.deleteVersion(ctx, key, v); err != nil {
			return err
		}
	}
	return nil
}

// deleteVersion removes one version of key for good ("null" is the version
// of an object written while the bucket was not versioned).
func (s *Store) deleteVersion(ctx context.Context, key, version string) error {
	ctx, cancel := s.call(ctx)
	defer cancel()
	err := s.client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{VersionID: version})
	if err != nil && !invalidVersion(err) {
		if err := s.fail(ctx, "delete", key, err); !errors.Is(err, blob.ErrNotFound) {
			return err
		}
	}
	return nil
}

// invalidVersion tells a version id the server does not know (Versity
// Gateway answers so for a version deleted already).
func invalidVersion(err error) bool {
	var resp minio.ErrorResponse
	return errors.As(err, &resp) && resp.Code == "InvalidArgument" && strings.Contains(strings.ToLower(resp.Message), "version")
}

// List calls fn for every blob whose key starts with prefix, in key order,
// with the Info of its current version. Objects whose names are not valid
// blob keys (written by something else) are skipped. Each page of the
// listing may wait on the server for the store's timeout.
func (s *Store) List(ctx context.Context, prefix string, fn func(blob.Info) error) error {
	ctx, cancel := s.transfer(ctx, s.timeout)
	defer cancel()
	for obj := range s.client.ListObjectsIter(ctx, s.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if obj.Err != nil {
			return s.fail(ctx, "list", prefix, obj.Err)
		}
		if blob.ValidateKey(obj.Key) != nil {
			continue
		}
		if err := fn(infoOf(obj)); err != nil {
			return err
		}
	}
	return nil
}

var _ blob.Versions = (*Store)(nil)

// ListVersions calls fn for every version and delete marker of every key
// that starts with prefix, in key order (a key's newest version first).
// Objects whose names are not valid blob keys are skipped.
func (s *Store) ListVersions(ctx context.Context, prefix string, fn func(blob.Version) error) error {
	ctx, cancel := s.transfer(ctx, s.timeout)
	defer cancel()
	opts := minio.ListObjectsOptions{Prefix: prefix, Recursive: true, WithVersions: true}
	for obj := range s.client.ListObjectsIter(ctx, s.bucket, opts) {
		if obj.Err != nil {
			return s.fail(ctx, "list versions", prefix, obj.Err)
		}
		if blob.ValidateKey(obj.Key) != nil {
			continue
		}
		if err := fn(blob.Version{Info: infoOf(obj), DeleteMarker: obj.IsDeleteMarker}); err != nil {
			return err
		}
	}
	return nil
}

// Ensure creates the bucket when missing and turns its versioning on.
func (s *Store) Ensure(ctx context.Context) error {
	ctx, explain := traceConnect(ctx)
	ctx, cancel := s.call(ctx)
	defer cancel()
	_, err := s.ensure(ctx, true)
	return explain(err)
}

var _ blob.Setup = (*Store)(nil)

// EnsureReport is Ensure, saying whether it created the bucket and what
// the server reports of its versioning afterwards.
func (s *Store) EnsureReport(ctx context.Context) (blob.SetupReport, error) {
	ctx, explain := traceConnect(ctx)
	ctx, cancel := s.call(ctx)
	defer cancel()
	rep, err := s.ensure(ctx, true)
	return rep, explain(err)
}

// Inspect checks the credentials and that the bucket answers, writing
// nothing: whether the bucket exists, and its versioning.
func (s *Store) Inspect(ctx context.Context) (blob.SetupReport, error) {
	ctx, explain := traceConnect(ctx)
	ctx, cancel := s.call(ctx)
	defer cancel()
	rep, err := s.ensure(ctx, false)
	return rep, explain(err)
}

// ensure creates the bucket and turns versioning on when write is set, and
// only looks otherwise.
func (s *Store) ensure(ctx context.Context, write bool) (blob.SetupReport, error) {
	var rep blob.SetupReport
	exists, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return rep, s.fail(ctx, "check bucket", "", s.withMessage(ctx, err))
	}
	if !exists {
		// A HEAD answers 404 to unknown credentials too (Versity Gateway
		// does): a GET tells a missing bucket from a refusal.
		exists, err = s.confirmMissing(ctx)
		if err != nil {
			return rep, s.fail(ctx, "check bucket", "", err)
		}
	}
	if !exists {
		rep.Created = true
		if !write {
			return rep, nil
		}
		err := s.client.MakeBucket(ctx, s.bucket, minio.MakeBucketOptions{Region: s.region})
		if err != nil && minio.ToErrorResponse(err).Code != "BucketAlreadyOwnedByYou" {
			return rep, s.fail(ctx, "create bucket", "", s.withMessage(ctx, err))
		}
	}
	v, err := s.client.GetBucketVersioning(ctx, s.bucket)
	if err != nil {
		return rep, s.fail(ctx, "get bucket versioning", "", err)
	}
	rep.Versioning = v.Status
	if v.Enabled() || !write {
		return rep, nil
	}
	if err := s.client.EnableVersioning(ctx, s.bucket); err != nil {
		return rep, s.fail(ctx, "enable bucket versioning", "", err)
	}
	rep.VersioningTurnedOn = true
	// Asked again: a server may accept the request and keep versioning off.
	if v, err = s.client.GetBucketVersioning(ctx, s.bucket); err != nil {
		return rep, s.fail(ctx, "get bucket versioning", "", err)
	}
	rep.Versioning = v.Status
	return rep, nil
}

// confirmMissing asks again, with a GET whose answer has a body, whether
// the bucket that a HEAD did not find exists.
func (s *Store) confirmMissing(ctx context.Context) (exists bool, err error) {
	for obj := range s.client.ListObjectsIter(ctx, s.bucket, minio.ListObjectsOptions{MaxKeys: 1}) {
		if obj.Err != nil {
			if minio.ToErrorResponse(obj.Err).Code == "NoSuchBucket" {
				return false, nil
			}
			return false, obj.Err
		}
		break
	}
	return true, nil
}

// withMessage replaces the error of a HEAD request, whose answer has no
// body and so no message (minio-go makes "400 Bad Request" of it), by the
// error of a GET of the same bucket, whose body says what is wrong (a wrong
// region: `region "ca" is wrong; expecting "us-east-1"`).
func (s *Store) withMessage(ctx context.Context, err error) error {
	var resp minio.ErrorResponse
	if !errors.As(err, &resp) || resp.StatusCode == 0 || (resp.Message != "" && resp.Message != http.StatusText(resp.StatusCode) && resp.Message != fmt.Sprintf("%d %s", resp.StatusCode, http.StatusText(resp.StatusCode))) {
		return err
	}
	for obj := range s.client.ListObjectsIter(ctx, s.bucket, minio.ListObjectsOptions{MaxKeys: 1}) {
		var got minio.ErrorResponse
		if errors.As(obj.Err, &got) && got.Message != "" {
			return obj.Err
		}
		break
	}
	return err
}

// Probe writes, reads back and removes (every version of) probe/<random>.
func (s *Store) Probe(ctx context.Context) error {
	ctx, explain := traceConnect(ctx)
	return explain(s.probe(ctx))
}

func (s *Store) probe(ctx context.Context) (err error) {
	var rnd [16]byte
	_, _ = rand.Read(rnd[:])
	key := "probe/" + hex.EncodeToString(rnd[:])
	want := []byte("flymodel probe " + key + "\n")

	info, err := s.Put(ctx, key, bytes.NewReader(want))
	if err != nil {
		return fmt.Errorf("probe %s: %w", s, err)
	}
	defer func() {
		// With the version id the object is removed for good, not hidden
		// behind a delete marker.
		rerr := s.Delete(context.WithoutCancel(ctx), key, info.VersionID)
		if rerr != nil && err == nil {
			err = fmt.Errorf("probe %s: %w", s, rerr)
		}
	}()
	obj, err := s.Open(ctx, key, info.VersionID)
	if err != nil {
		return fmt.Errorf("probe %s: %w", s, err)
	}
	defer obj.Close()
	got, err := io.ReadAll(io.LimitReader(obj, int64(len(want))+1))
	if err != nil {
		return fmt.Errorf("probe %s: %w", s, err)
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("probe %s: read back %d bytes that differ from the %d written", s, len(got), len(want))
	}
	return nil
}

// RemoveStale aborts the bucket's multipart uploads started more than age
// ago: uploads interrupted by a crash, whose parts the server keeps (and
// bills) until they are aborted.
func (s *Store) RemoveStale(ctx context.Context, age time.Duration) (removed int, err error) {
	ctx, cancel := s.transfer(ctx, s.timeout)
	defer cancel()
	cutoff := time.Now().Add(-age)
	var keyMarker, uploadIDMarker string
	for {
		res, err := s.core.ListMultipartUploads(ctx, s.bucket, "", keyMarker, uploadIDMarker, "", 1000)
		if err != nil {
			return removed, s.fail(ctx, "list multipart uploads", "", err)
		}
		for _, u := range res.Uploads {
			if u.Initiated.After(cutoff) {
				continue
			}
			err := s.core.AbortMultipartUpload(ctx, s.bucket, u.Key, u.UploadID)
			if err != nil && minio.ToErrorResponse(err).Code != "NoSuchUpload" {
				return removed, s.fail(ctx, "abort multipart upload "+u.UploadID, u.Key, err)
			}
			if err == nil {
				removed++
			}
		}
		if !res.IsTruncated || (res.NextKeyMarker == keyMarker && res.NextUploadIDMarker == uploadIDMarker) {
			return removed, nil
		}
		keyMarker, uploadIDMarker = res.NextKeyMarker, res.NextUploadIDMarker
	}
}

// traceConnect returns ctx that remembers the last failed DNS lookup or
// connection of its requests, and a function that adds it to an error:
// minio retries those until ctx ends, and then only says that it ended.
func traceConnect(ctx context.Context) (context.Context, func(error) error) {
	var mu sync.Mutex
	var last error
	remember := func(err error) {
		if err != nil {
			mu.Lock()
			last = err
			mu.Unlock()
		}
	}
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		DNSDone:     func(info httptrace.DNSDoneInfo) { remember(info.Err) },
		ConnectDone: func(_, _ string, err error) { remember(err) },
	})
	return ctx, func(err error) error {
		mu.Lock()
		defer mu.Unlock()
		if err == nil || last == nil {
			return err
		}
		return fmt.Errorf("%w (last connection attempt: %v)", err, last)
	}
}

// mapErr turns a minio error into a blob error or a plain error that names
// the operation, the bucket and the key and says what to fix. Transport and
// context errors are wrapped as they are (they are not minio types).
func (s *Store) mapErr(op, key string, err error) error {
	where := s.String()
	if key != "" {
		where += "/" + key
	}
	var resp minio.ErrorResponse
	if !errors.As(err, &resp) {
		return fmt.Errorf("%s %s: %w", op, where, err)
	}
	switch resp.Code {
	case "NoSuchKey", "NoSuchVersion", "NotFound":
		return fmt.Errorf("%s %s: %w", op, where, blob.ErrNotFound)
	case "NoSuchBucket":
		return fmt.Errorf("%s %s: bucket %q does not exist (flymodel setup-storage creates it)", op, where, s.bucket)
	case "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken", "AuthorizationHeaderMalformed", "MissingSecurityHeader":
		return fmt.Errorf("%s %s: access denied, check the credentials and the bucket's permissions: %s (%s)", op, where, resp.Message, resp.Code)
	case "InvalidBucketName":
		return fmt.Errorf("%s %s: invalid bucket name %q: %s", op, where, s.bucket, resp.Message)
	case "BucketAlreadyExists":
		return fmt.Errorf("%s %s: bucket name %q is taken by another account", op, where, s.bucket)
	case "NotImplemented":
		return fmt.Errorf("%s %s: the server does not support this: %s (%s)", op, where, resp.Message, resp.Code)
	}
	msg := resp.Message
	if msg == "" {
		msg = http.StatusText(resp.StatusCode)
	}
	return fmt.Errorf("%s %s: %s (%s, HTTP %d)", op, where, msg, resp.Code, resp.StatusCode)
}
