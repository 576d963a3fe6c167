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
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/flymodel/flymodel/internal/blob"
	"github.com/flymodel/flymodel/internal/blob/blobtest"
	"github.com/flymodel/flymodel/internal/db/dbtest"
)

// The S3 server the tests use; .ci/run starts Versity Gateway and sets them.
const (
	endpointEnv  = "FLYMODEL_TEST_S3_ENDPOINT" // e.g. http://127.0.0.1:7070
	accessKeyEnv = "FLYMODEL_TEST_S3_ACCESS_KEY"
	secretKeyEnv = "FLYMODEL_TEST_S3_SECRET_KEY"
	regionEnv    = "FLYMODEL_TEST_S3_REGION" // default us-east-1
)

// serverConfig is the test server's configuration with a fresh bucket name,
// or skips the test (fails it with FLYMODEL_REQUIRE_SERVICES=1) without one.
func serverConfig(t *testing.T) Config {
	t.Helper()
	endpoint := os.Getenv(endpointEnv)
	if endpoint == "" {
		dbtest.SkipOrFail(t, endpointEnv+" not set: skipping S3")
	}
	region := os.Getenv(regionEnv)
	if region == "" {
		region = "us-east-1"
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	return Config{
		Bucket:          "flymodel-test-" + hex.EncodeToString(rnd[:]),
		Endpoint:        endpoint,
		Region:          region,
		PathStyle:       true,
		AccessKeyID:     os.Getenv(accessKeyEnv),
		SecretAccessKey: os.Getenv(secretKeyEnv),
	}
}

// newTestStore returns a store on a fresh bucket (not yet created: Ensure
// does that), removed with all its versions and uploads when t ends.
func newTestStore(t *testing.T) *Store {
	t.Helper()
	return newFaultyStore(t, nil)
}

// newFaultyStore is newTestStore over transport (nil: the default).
func newFaultyStore(t *testing.T, transport http.RoundTripper) *Store {
	t.Helper()
	cfg := serverConfig(t)
	s, err := newStore(cfg, transport)
	if err != nil {
		t.Fatalf("new store: %v", err)
	}
	clean, err := New(cfg) // cleanup must not go through injected faults
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { removeBucket(t, clean) })
	return s
}

// removeBucket empties the bucket (every version, delete marker and
// unfinished upload) and removes it.
func removeBucket(t *testing.T, s *Store) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if ok, err := s.client.BucketExists(ctx, s.bucket); err != nil || !ok {
		if err != nil {
			t.Errorf("cleanup: %v", err)
		}
		return
	}
	for _, v := range versions(t, s, "") {
		if err := s.client.RemoveObject(ctx, s.bucket, v.Key, minio.RemoveObjectOptions{VersionID: v.VersionID}); err != nil {
			t.Errorf("cleanup: remove %s@%s: %v", v.Key, v.VersionID, err)
		}
	}
	if _, err := s.RemoveStale(ctx, 0); err != nil {
		t.Errorf("cleanup: %v", err)
	}
	if err := s.client.RemoveBucket(ctx, s.bucket); err != nil {
		t.Errorf("cleanup: remove bucket %s: %v", s.bucket, err)
	}
}

// versions lists every object version and delete marker under prefix.
func versions(t *testing.T, s *Store, prefix string) []minio.ObjectInfo {
	t.Helper()
	var all []minio.ObjectInfo
	for obj := range s.client.ListObjectsIter(context.Background(), s.bucket,
		minio.ListObjectsOptions{Prefix: prefix, Recursive: true, WithVersions: true}) {
		if obj.Err != nil {
			t.Fatalf("list versions: %v", obj.Err)
		}
		all = append(all, obj)
	}
	return all
}

// uploads lists the bucket's unfinished multipart uploads.
func uploads(t *testing.T, s *Store) []string {
	t.Helper()
	res, err := s.core.ListMultipartUploads(context.Background(), s.bucket, "", "", "", "", 1000)
	if err != nil {
		t.Fatalf("list multipart uploads: %v", err)
	}
	var ids []string
	for _, u := range res.Uploads {
		ids = append(ids, u.Key+"@"+u.UploadID)
	}
	return ids
}

// wantNothingAt checks that key has no object, no version, no delete
// marker and that the bucket has no unfinished upload.
func wantNothingAt(t *testing.T, s *Store, key string) {
	t.Helper()
	blobtest.WantAbsent(t, s, key)
	if v := versions(t, s, key); len(v) != 0 {
		t.Errorf("%s: %d versions or delete markers left, want none", key, len(v))
	}
	if u := uploads(t, s); len(u) != 0 {
		t.Errorf("unfinished multipart uploads left: %q", u)
	}
}

func ensured(t *testing.T, s *Store) *Store {
	t.Helper()
	if err := s.Ensure(context.Background()); err != nil {
		t.Fatalf("ensure: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	serverConfig(t) // skip once, not per subtest
	blobtest.Run(t, func(t *testing.T) blob.Store { return newTestStore(t) })
}

func TestEnsureTurnsVersioningOn(t *testing.T) {
	ctx := context.Background()
	s := ensured(t, newTestStore(t))
	v, err := s.client.GetBucketVersioning(ctx, s.bucket)
	if err != nil || !v.Enabled() {
		t.Fatalf("bucket versioning after Ensure = %+v, %v; want enabled", v, err)
	}

	first := blobtest.Put(t, s, "v/k", []byte("one"))
	second := blobtest.Put(t, s, "v/k", []byte("two"))
	if first.VersionID == "" || second.VersionID == "" || first.VersionID == second.VersionID {
		t.Fatalf("version ids %q, %q: want two different, non-empty", first.VersionID, second.VersionID)
	}
	if info, err := s.Stat(ctx, "v/k", ""); err != nil || info.VersionID != second.VersionID {
		t.Fatalf("stat = %+v, %v; want version %s", info, err, second.VersionID)
	}
	big, err := s.Put(ctx, "v/big", blobtest.Pattern(1, PartSize+1))
	if err != nil || big.VersionID == "" {
		t.Fatalf("multipart put = %+v, %v; want a version id", big, err)
	}

	// Delete of a version removes that version for good, and only it: no
	// delete marker, no noncurrent version.
	if err := s.Delete(ctx, "v/k", first.VersionID); err != nil {
		t.Fatal(err)
	}
	if v := versions(t, s, "v/k"); len(v) != 1 || v[0].VersionID != second.VersionID || v[0].IsDeleteMarker {
		t.Fatalf("after deleting the first version: %+v, want the second alone", v)
	}
	// Delete without a version removes every version of the key.
	blobtest.Put(t, s, "v/k", []byte("three"))
	if err := s.Delete(ctx, "v/k", ""); err != nil {
		t.Fatal(err)
	}
	blobtest.WantAbsent(t, s, "v/k")
	if v := versions(t, s, "v/k"); len(v) != 0 {
		t.Fatalf("after delete: %d versions or delete markers left, want none", len(v))
	}
	// Deleting a missing key adds no marker.
	if err := s.Delete(ctx, "v/never", ""); err != nil {
		t.Fatal(err)
	}
	if v := versions(t, s, "v/never"); len(v) != 0 {
		t.Fatalf("delete of a missing key left %d versions or markers", len(v))
	}
}

func TestEnsureCreatesBucket(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	if err := s.Probe(ctx); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("probe before ensure = %v, want a missing bucket", err)
	}
	ensured(t, s)
	if ok, err := s.client.BucketExists(ctx, s.bucket); err != nil || !ok {
		t.Fatalf("bucket exists after ensure = %v, %v", ok, err)
	}
	if err := s.Probe(ctx); err != nil {
		t.Fatal(err)
	}
	// The probe removes every version it made, not just the current one.
	if v := versions(t, s, "probe/"); len(v) != 0 {
		t.Fatalf("probe left %d versions or delete markers", len(v))
	}
}

// TestUploadPaths crosses the sizes where Put changes strategy: the small
// buffer, one PUT up to PartSize, multipart beyond.
func TestUploadPaths(t *testing.T) {
	ctx := context.Background()
	s := ensured(t, newTestStore(t))
	for _, tt := range []struct {
		size  int64
		parts int // 0: a single PUT
	}{
		{1, 0},
		{smallSize - 1, 0},
		{smallSize, 0},
		{smallSize + 1, 0},
		{PartSize, 1}, // a full buffer: Put cannot know it is the last
		{PartSize + 1, 2},
		{2*PartSize + 12345, 3},
	} {
		t.Run(fmt.Sprint(tt.size), func(t *testing.T) {
			key := fmt.Sprintf("size/%d", tt.size)
			want := sha256.New()
			_, _ = io.Copy(want, blobtest.Pattern(uint64(tt.size), tt.size))
			info, err := s.Put(ctx, key, blobtest.Pattern(uint64(tt.size), tt.size))
			if err != nil {
				t.Fatal(err)
			}
			if sum := hex.EncodeToString(want.Sum(nil)); info.Size != tt.size || info.SHA256 != sum {
				t.Fatalf("put = %d bytes sha256 %s, want %d bytes sha256 %s", info.Size, info.SHA256, tt.size, sum)
			}
			st, err := s.client.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
			if err != nil {
				t.Fatal(err)
			}
			// A multipart object's ETag ends in "-<parts>".
			if _, parts, _ := strings.Cut(st.ETag, "-"); parts != fmt.Sprint(tt.parts) && (tt.parts != 0 || parts != "") {
				t.Fatalf("etag %s, want %d parts", st.ETag, tt.parts)
			}
			obj, err := s.Open(ctx, key, "")
			if err != nil {
				t.Fatal(err)
			}
			defer obj.Close()
			got := sha256.New()
			if n, err := io.Copy(got, obj); err != nil || n != tt.size || !bytes.Equal(got.Sum(nil), want.Sum(nil)) {
				t.Fatalf("read back %d bytes, %v; want %d bytes, same sha256", n, err, tt.size)
			}
		})
	}
	if u := uploads(t, s); len(u) != 0 {
		t.Fatalf("unfinished uploads after successful puts: %q", u)
	}
}

// TestFailedMultipartLeavesNothing: a stream longer than a part that fails
// (reader error, cancelled context, server refusing a part) leaves no
// object, no version and no unfinished upload.
func TestFailedMultipartLeavesNothing(t *testing.T) {
	boom := errors.New("reader broke")
	refuse := &faultTransport{refusePart: 2}
	s := ensured(t, newFaultyStore(t, refuse))

	t.Run("reader fails after 20 MiB", func(t *testing.T) {
		_, err := s.Put(context.Background(), "fail/reader", blobtest.FailAfter(blobtest.Pattern(1, 64<<20), 20<<20, boom))
		if !errors.Is(err, boom) {
			t.Fatalf("put = %v, want the reader's error", err)
		}
		wantNothingAt(t, s, "fail/reader")
	})
	t.Run("context cancelled after 20 MiB", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		r := &cancelAfter{r: blobtest.Pattern(2, 64<<20), n: 20 << 20, cancel: cancel}
		if _, err := s.Put(ctx, "fail/cancel", r); !errors.Is(err, context.Canceled) {
			t.Fatalf("put = %v, want context.Canceled", err)
		}
		wantNothingAt(t, s, "fail/cancel")
	})
	t.Run("server refuses part 2", func(t *testing.T) {
		refuse.on.Store(true)
		defer refuse.on.Store(false)
		_, err := s.Put(context.Background(), "fail/server", blobtest.Pattern(3, 40<<20))
		if err == nil || !strings.Contains(err.Error(), "InjectedFault") {
			t.Fatalf("put = %v, want the server's refusal", err)
		}
		wantNothingAt(t, s, "fail/server")
	})
}

// TestUnansweredCommit: the request that commits an upload reaches the
// server but its answer is lost (the context ends meanwhile). The object
// may exist; Put must remove it and report the failure.
func TestUnansweredCommit(t *testing.T) {
	for _, tt := range []struct {
		name string
		size int64
	}{
		{"single PUT", 1000},
		{"multipart complete", PartSize + 1000},
	} {
		t.Run(tt.name, func(t *testing.T) {
			lose := &faultTransport{}
			s := ensured(t, newFaultyStore(t, lose))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			lose.loseCommit = cancel
			lose.on.Store(true)
			if _, err := s.Put(ctx, "lost/answer", blobtest.Pattern(4, tt.size)); !errors.Is(err, context.Canceled) {
				t.Fatalf("put = %v, want context.Canceled", err)
			}
			if !lose.committed.Load() {
				t.Fatal("the commit request was never sent")
			}
			wantNothingAt(t, s, "lost/answer")
		})
	}
}

func TestRemoveStale(t *testing.T) {
	ctx := context.Background()
	s := ensured(t, newTestStore(t))
	id, err := s.core.NewMultipartUpload(ctx, s.bucket, "crashed/upload", minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.core.PutObjectPart(ctx, s.bucket, "crashed/upload", id, 1, bytes.NewReader(make([]byte, 1000)), 1000, minio.PutObjectPartOptions{}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.RemoveStale(ctx, time.Hour); err != nil || n != 0 {
		t.Fatalf("remove stale (1h) = %d, %v; want 0 (the upload is recent)", n, err)
	}
	if u := uploads(t, s); len(u) != 1 {
		t.Fatalf("uploads = %q, want the one started", u)
	}
	if n, err := s.RemoveStale(ctx, 0); err != nil || n != 1 {
		t.Fatalf("remove stale (0) = %d, %v; want 1", n, err)
	}
	wantNothingAt(t, s, "crashed/upload")
}

func TestBadCredentials(t *testing.T) {
	cfg := serverConfig(t)
	cfg.SecretAccessKey = "not-" + cfg.SecretAccessKey
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for name, fn := range map[string]func(context.Context) error{"probe": s.Probe, "ensure": s.Ensure} {
		err := fn(ctx)
		t.Logf("%s: %v", name, err)
		if err == nil || !strings.Contains(err.Error(), "check the credentials") || !strings.Contains(err.Error(), "s3:"+cfg.Bucket) {
			t.Errorf("%s with a wrong secret = %v, want an error that names the bucket and the credentials", name, err)
		}
	}
}

// TestUnreachable needs no server: nothing listens on the endpoint, and
// every call returns an error by the context's deadline rather than hang.
func TestUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	s, err := New(Config{Bucket: "unreachable", Endpoint: "http://" + addr, Region: "us-east-1", PathStyle: true, AccessKeyID: "k", SecretAccessKey: "s"})
	if err != nil {
		t.Fatal(err)
	}
	calls := map[string]func(context.Context) error{
		"probe":  s.Probe,
		"ensure": s.Ensure,
		"put": func(ctx context.Context) error {
			_, err := s.Put(ctx, "k", blobtest.Pattern(1, 100))
			return err
		},
		"stat": func(ctx context.Context) error { _, err := s.Stat(ctx, "k", ""); return err },
		"list": func(ctx context.Context) error { return s.List(ctx, "", func(blob.Info) error { return nil }) },
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			start := time.Now()
			err := call(ctx)
			t.Logf("%v after %v", err, time.Since(start).Round(time.Millisecond))
			if err == nil || errors.Is(err, blob.ErrNotFound) {
				t.Fatalf("error %v, want one", err)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("took %v", d)
			}
			if !strings.Contains(err.Error(), "s3:unreachable") {
				t.Errorf("error %q does not name the store", err)
			}
			// What setup-storage and readiness use says why.
			if (name == "probe" || name == "ensure") && !strings.Contains(err.Error(), "connection refused") {
				t.Errorf("error %q does not say why", err)
			}
		})
	}
}

// TestPutMemory: a Put holds about one part in memory, whatever the blob's
// size. Buffering the blob would allocate at least its size.
func TestPutMemory(t *testing.T) {
	const size = 6 * PartSize
	s := ensured(t, newTestStore(t))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	done := make(chan struct{})
	peak := make(chan uint64)
	go func() {
		var m runtime.MemStats
		var peakHeap uint64
		for {
			runtime.ReadMemStats(&m)
			peakHeap = max(peakHeap, m.HeapAlloc)
			select {
			case <-done:
				peak <- peakHeap
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	_, err := s.Put(context.Background(), "mem/big", blobtest.Pattern(2, size))
	close(done)
	maxHeap := <-peak
	if err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("put of %d MiB: allocated %.1f MiB in all, heap peaked %.1f MiB above the start",
		size>>20, float64(alloc)/(1<<20), float64(maxHeap-min(maxHeap, before.HeapAlloc))/(1<<20))
	if alloc > size/2 {
		t.Fatalf("put of %d MiB allocated %d MiB: it buffers more than a part", size>>20, alloc>>20)
	}
}

func TestNewChecksConfig(t *testing.T) {
	for _, tt := range []struct {
		name   string
		cfg    Config
		errHas string
	}{
		{"ok http", Config{Bucket: "ml-prod", Endpoint: "http://127.0.0.1:9000"}, ""},
		{"ok https", Config{Bucket: "ml-prod", Endpoint: "https://s3.example.com/"}, ""},
		{"ok bare host", Config{Bucket: "ml-prod", Endpoint: "minio.local:9000"}, ""},
		{"ok aws", Config{Bucket: "ml-prod", Region: "eu-west-1", AccessKeyID: "a", SecretAccessKey: "b"}, ""},
		{"no bucket", Config{Endpoint: "http://x"}, "invalid name"},
		{"bad bucket", Config{Bucket: "Bad_Bucket", Endpoint: "http://x"}, "invalid name"},
		{"bad scheme", Config{Bucket: "b-1", Endpoint: "ftp://x"}, "scheme must be http or https"},
		{"path", Config{Bucket: "b-1", Endpoint: "http://x/bucket"}, "no path"},
		{"credentials in url", Config{Bucket: "b-1", Endpoint: "http://u:p@x"}, "no path, query or credentials"},
		{"half the keys", Config{Bucket: "b-1", Endpoint: "http://x", AccessKeyID: "a"}, "set both or neither"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(tt.cfg)
			if tt.errHas == "" {
				if err != nil {
					t.Fatalf("New = %v", err)
				}
				if s.String() != "s3:"+tt.cfg.Bucket {
					t.Fatalf("String() = %q", s)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.errHas) {
				t.Fatalf("New = %v, want an error containing %q", err, tt.errHas)
			}
		})
	}
}

// faultTransport injects server faults when on: refusePart answers the
// upload of that part number with an error; loseCommit lets the request
// that commits an object (a PUT without partNumber, or the POST that
// completes a multipart upload) reach the server, then calls it (a context
// cancel) and loses the answer.
type faultTransport struct {
	on         atomic.Bool
	refusePart int
	loseCommit context.CancelFunc
	committed  atomic.Bool
}

func (f *faultTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	q := req.URL.Query()
	if !f.on.Load() {
		return http.DefaultTransport.RoundTrip(req)
	}
	if f.refusePart != 0 && req.Method == http.MethodPut && q.Get("partNumber") == fmt.Sprint(f.refusePart) {
		if req.Body != nil {
			req.Body.Close()
		}
		body := "<Error><Code>InjectedFault</Code><Message>part refused by the test</Message></Error>"
		return &http.Response{
			StatusCode: http.StatusBadRequest, Status: "400 Bad Request", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header:        http.Header{"Content-Type": {"application/xml"}},
			Body:          io.NopCloser(strings.NewReader(body)),
			ContentLength: int64(len(body)), Request: req,
		}, nil
	}
	commit := req.Method == http.MethodPut && !q.Has("partNumber") && !q.Has("versioning") ||
		req.Method == http.MethodPost && q.Has("uploadId")
	if f.loseCommit != nil && commit {
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			return nil, err
		}
		resp.Body.Close()
		f.committed.Store(resp.StatusCode == http.StatusOK)
		f.loseCommit()
		return nil, context.Canceled
	}
	return http.DefaultTransport.RoundTrip(req)
}

// cancelAfter reads r and cancels when n bytes went by.
type cancelAfter struct {
	r      io.Reader
	n      int64
	cancel context.CancelFunc
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if c.n -= int64(n); c.n <= 0 {
		c.cancel()
	}
	return n, err
}
