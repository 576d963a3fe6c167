package s3blob

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/flymodel/flymodel/internal/blob"
	"github.com/flymodel/flymodel/internal/blob/blobtest"
)

// proxiedStore is a store on a fresh bucket of the test server reached
// through a fault-injecting proxy, with timeout; the bucket is created
// (around the proxy) and removed when t ends.
func proxiedStore(t *testing.T, timeout time.Duration) (*Store, *blobtest.Proxy) {
	t.Helper()
	cfg := serverConfig(t)
	direct, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ensured(t, direct)
	t.Cleanup(func() { removeBucket(t, direct) })
	p := blobtest.NewProxy(t, cfg.Endpoint)
	cfg.Endpoint, cfg.Timeout = p.URL, timeout
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s, p
}

// wantTimeout checks that err is a timeout of the store, not another
// failure, within the bound a hung operation would break.
func wantTimeout(t *testing.T, op string, err error, took time.Duration) {
	t.Helper()
	if !errors.Is(err, blob.ErrTimeout) {
		t.Errorf("%s with the server not answering: %v, want blob.ErrTimeout", op, err)
	}
	// The injected latency is a minute: an operation that waited for the
	// server to answer took that long.
	if took >= 50*time.Second {
		t.Errorf("%s took %s: it waited for the server", op, took)
	}
}

// TestTimeouts: with a minute of latency in front of the server, every
// operation fails with blob.ErrTimeout after about the store's timeout
// instead of waiting, and stores nothing; once the latency is gone, the
// store works again.
func TestTimeouts(t *testing.T) {
	ctx := context.Background()
	s, p := proxiedStore(t, time.Second)
	kept := blobtest.Put(t, s, "kept/blob", blobtest.PatternBytes(1, 3000))
	src, err := New(Config{Bucket: s.bucket, Endpoint: p.URL, Region: s.region, PathStyle: true,
		AccessKeyID: serverConfig(t).AccessKeyID, SecretAccessKey: serverConfig(t).SecretAccessKey, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}

	p.SetLatency(time.Minute)
	ops := []struct {
		name string
		fn   func(ctx context.Context) error
	}{
		{"put", func(ctx context.Context) error {
			_, err := s.Put(ctx, "new/blob", bytes.NewReader([]byte("never stored")))
			return err
		}},
		{"put multipart", func(ctx context.Context) error {
			_, err := s.Put(ctx, "new/big", blobtest.Pattern(2, PartSize+1))
			return err
		}},
		{"open", func(ctx context.Context) error {
			_, err := s.Open(ctx, "kept/blob", kept.VersionID)
			return err
		}},
		{"stat", func(ctx context.Context) error { _, err := s.Stat(ctx, "kept/blob", ""); return err }},
		{"delete", func(ctx context.Context) error { return s.Delete(ctx, "kept/blob", kept.VersionID) }},
		{"delete every version", func(ctx context.Context) error { return s.Delete(ctx, "kept/blob", "") }},
		{"list", func(ctx context.Context) error {
			return s.List(ctx, "", func(blob.Info) error { return nil })
		}},
		{"list versions", func(ctx context.Context) error {
			return s.ListVersions(ctx, "", func(blob.Version) error { return nil })
		}},
		{"ensure", s.Ensure},
		{"probe", s.Probe},
		{"remove stale", func(ctx context.Context) error { _, err := s.RemoveStale(ctx, time.Hour); return err }},
		{"server-side copy", func(ctx context.Context) error {
			_, err := blob.Copy(ctx, s, "copied/blob", src, "kept/blob", kept)
			return err
		}},
	}
	for _, op := range ops {
		start := time.Now()
		err := op.fn(ctx)
		wantTimeout(t, op.name, err, time.Since(start))
	}

	p.SetLatency(0)
	if got := blobtest.ReadVersion(t, s, "kept/blob", kept.VersionID); !bytes.Equal(got, blobtest.PatternBytes(1, 3000)) {
		t.Fatal("the blob changed")
	}
	for _, key := range []string{"new/blob", "new/big", "copied/blob"} {
		wantNothingAt(t, s, key)
	}
}

// TestStalledTransfers: a transfer is bounded by lack of progress, not by
// its total time: one that keeps moving goes on past the timeout, one whose
// bytes stop fails after the timeout; and a reader that is slow to read
// (a slow client) is not the server's stall.
func TestStalledTransfers(t *testing.T) {
	ctx := context.Background()
	const timeout = time.Second
	s, p := proxiedStore(t, timeout)
	data := blobtest.PatternBytes(3, 1<<20)
	info := blobtest.Put(t, s, "slow/blob", data)

	// 8 chunks, a quarter of the timeout apart: twice the timeout in all.
	p.SetPace(128<<10, timeout/4)
	start := time.Now()
	if got := blobtest.ReadVersion(t, s, "slow/blob", info.VersionID); !bytes.Equal(got, data) {
		t.Fatal("a slow download read other bytes")
	}
	if took := time.Since(start); took < timeout {
		t.Logf("the paced download took %s, less than the timeout: it proves less than it should", took)
	}

	// The answer stops after its first chunk.
	p.SetPace(128<<10, time.Minute)
	obj, err := s.Open(ctx, "slow/blob", info.VersionID)
	if err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	n, err := io.Copy(io.Discard, obj)
	obj.Close()
	wantTimeout(t, "a stalled download", err, time.Since(start))
	if n >= int64(len(data)) {
		t.Fatalf("a stalled download read all %d bytes", n)
	}

	// A reader that pauses longer than the timeout between reads.
	p.SetPace(0, 0)
	obj, err = s.Open(ctx, "slow/blob", info.VersionID)
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	head := make([]byte, 1000)
	if _, err := io.ReadFull(obj, head); err != nil {
		t.Fatal(err)
	}
	time.Sleep(timeout + timeout/2) // the client's own slowness, not something to await
	rest, err := io.ReadAll(obj)
	if err != nil || !bytes.Equal(append(head, rest...), data) {
		t.Fatalf("a slow reader: %d bytes, %v", len(rest), err)
	}
}

// TestUnversionedBucket: in a bucket whose versioning was never turned on,
// a delete of the version Put returned, or of every version, removes the
// object.
func TestUnversionedBucket(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	if err := s.client.MakeBucket(ctx, s.bucket, minio.MakeBucketOptions{Region: s.region}); err != nil {
		t.Fatal(err)
	}
	for _, every := range []bool{false, true} {
		info := blobtest.Put(t, s, "plain/k", []byte("no versions here"))
		if got := blobtest.ReadVersion(t, s, "plain/k", info.VersionID); string(got) != "no versions here" {
			t.Fatalf("read by the version put returned (%q): %q", info.VersionID, got)
		}
		version := info.VersionID
		if every {
			version = ""
		}
		if err := s.Delete(ctx, "plain/k", version); err != nil {
			t.Fatal(err)
		}
		wantNothingAt(t, s, "plain/k")
	}
}
