// Package blobtest is the conformance suite every blob.Store runs: the
// filesystem store always, the S3 store against a real server. It uses
// only the blob.Store interface, so it assumes nothing of the storage.
package blobtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/flymodel/flymodel/internal/blob"
)

// NewStore returns a fresh, empty store. Run calls Ensure on it before each
// subtest; cleanup (t.Cleanup) is newStore's business.
type NewStore func(t *testing.T) blob.Store

// Run is the conformance suite: each subtest gets a fresh store.
func Run(t *testing.T, newStore NewStore) {
	ensured := func(t *testing.T) blob.Store {
		t.Helper()
		s := newStore(t)
		if err := s.Ensure(context.Background()); err != nil {
			t.Fatalf("ensure %s: %v", s, err)
		}
		return s
	}
	tests := []struct {
		name string
		fn   func(t *testing.T, s blob.Store)
	}{
		{"RoundTrip", testRoundTrip},
		{"LongestKey", testLongestKey},
		{"StreamOfUnknownLength", testStreamOfUnknownLength},
		{"Empty", testEmpty},
		{"SeekAndRanges", testSeekAndRanges},
		{"Stat", testStat},
		{"Delete", testDelete},
		{"Missing", testMissing},
		{"Overwrite", testOverwrite},
		{"OverwriteAtomic", testOverwriteAtomic},
		{"FailingReader", testFailingReader},
		{"CancelledContext", testCancelledContext},
		{"List", testList},
		{"InvalidKeys", testInvalidKeys},
		{"Concurrent", testConcurrent},
		{"Probe", testProbe},
		{"Ensure", testEnsure},
		{"RemoveStaleKeepsBlobs", testRemoveStaleKeepsBlobs},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, ensured(t)) })
	}
	t.Run("Copy", func(t *testing.T) { testCopy(t, ensured) })
}

// Pattern returns n deterministic pseudo-random bytes as an io.Reader that
// is not a *bytes.Reader (so a store cannot learn the length up front).
// The same seed gives the same bytes.
func Pattern(seed uint64, n int64) io.Reader {
	return io.LimitReader(&patternReader{state: seed*0x9e3779b97f4a7c15 + 1}, n)
}

// PatternBytes is Pattern read into memory.
func PatternBytes(seed uint64, n int64) []byte {
	b, _ := io.ReadAll(Pattern(seed, n))
	return b
}

type patternReader struct {
	state uint64
	buf   [8]byte
	off   int // bytes of buf already returned; 8 = refill
}

func (p *patternReader) Read(b []byte) (int, error) {
	for i := range b {
		if p.off == 0 || p.off == 8 {
			// splitmix64: fast and good enough to defeat compression.
			p.state += 0x9e3779b97f4a7c15
			z := p.state
			z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
			z = (z ^ (z >> 27)) * 0x94d049bb133111eb
			z ^= z >> 31
			for j := range p.buf {
				p.buf[j] = byte(z >> (8 * j))
			}
			p.off = 0
		}
		b[i] = p.buf[p.off]
		p.off++
	}
	return len(b), nil
}

// FailAfter returns a reader that yields n bytes of r and then fails with
// err.
func FailAfter(r io.Reader, n int64, err error) io.Reader {
	return io.MultiReader(io.LimitReader(r, n), iotest.ErrReader(err))
}

// SHA256 is the lowercase hex sha256 of b.
func SHA256(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Put stores data at key and checks the returned Info.
func Put(t testing.TB, s blob.Store, key string, data []byte) blob.Info {
	t.Helper()
	info, err := s.Put(context.Background(), key, bytes.NewReader(data))
	if err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
	if info.Key != key || info.Size != int64(len(data)) || info.SHA256 != SHA256(data) {
		t.Fatalf("put %s: info = %+v, want key %s, %d bytes, sha256 %s", key, info, key, len(data), SHA256(data))
	}
	return info
}

// Read returns the whole blob at key and checks Object.Info.
func Read(t testing.TB, s blob.Store, key string) []byte {
	t.Helper()
	obj, err := s.Open(context.Background(), key)
	if err != nil {
		t.Fatalf("open %s: %v", key, err)
	}
	defer obj.Close()
	b, err := io.ReadAll(obj)
	if err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	if info := obj.Info(); info.Key != key || info.Size != int64(len(b)) {
		t.Fatalf("open %s: info = %+v, want key %s and size %d", key, info, key, len(b))
	}
	return b
}

// WantAbsent checks that Stat and Open of key say ErrNotFound.
func WantAbsent(t testing.TB, s blob.Store, key string) {
	t.Helper()
	ctx := context.Background()
	if info, err := s.Stat(ctx, key); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("stat %s = %+v, %v; want ErrNotFound", key, info, err)
	}
	obj, err := s.Open(ctx, key)
	if err == nil {
		obj.Close()
	}
	if !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("open %s: %v; want ErrNotFound", key, err)
	}
}

// Keys lists the keys under prefix.
func Keys(t testing.TB, s blob.Store, prefix string) []string {
	t.Helper()
	var keys []string
	err := s.List(context.Background(), prefix, func(info blob.Info) error {
		keys = append(keys, info.Key)
		return nil
	})
	if err != nil {
		t.Fatalf("list %q: %v", prefix, err)
	}
	return keys
}

// wantRecent checks a modification time a store reported; the window is
// wide because an S3 server's clock is not ours.
func wantRecent(t *testing.T, what string, m time.Time) {
	t.Helper()
	if d := time.Since(m); m.IsZero() || d > time.Hour || d < -time.Hour {
		t.Errorf("%s: modified %v, want about now", what, m)
	}
}

func testRoundTrip(t *testing.T, s blob.Store) {
	data := []byte("hello, flymodel\n")
	info := Put(t, s, "round/trip.txt", data)
	// A known digest (sha256sum of the same bytes), not one computed here.
	if want := "07e4967dfeab4bed60e4c95aa71a79e50716e517021a43c52d73b26001bfb19e"; info.SHA256 != want {
		t.Fatalf("sha256 %s, want %s", info.SHA256, want)
	}
	if got := Read(t, s, "round/trip.txt"); !bytes.Equal(got, data) {
		t.Fatalf("read back %q, want %q", got, data)
	}
	obj, err := s.Open(context.Background(), "round/trip.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	wantRecent(t, "open", obj.Info().Modified)
	if s.String() == "" {
		t.Error("String() is empty")
	}
}

func testLongestKey(t *testing.T, s blob.Store) {
	// 1024 bytes in segments a filesystem accepts (at most 255 bytes each).
	seg := strings.Repeat("k", 200)
	key := strings.Join([]string{seg, seg, seg, seg, seg}, "/") // 1004 bytes
	key += "/" + strings.Repeat("z", blob.MaxKeyLen-len(key)-1)
	if len(key) != blob.MaxKeyLen {
		t.Fatalf("test key is %d bytes", len(key))
	}
	data := []byte("longest key")
	Put(t, s, key, data)
	if got := Read(t, s, key); !bytes.Equal(got, data) {
		t.Fatalf("read back %q", got)
	}
	if keys := Keys(t, s, ""); !slices.Equal(keys, []string{key}) {
		t.Fatalf("list = %q", keys)
	}
}

func testStreamOfUnknownLength(t *testing.T, s blob.Store) {
	const size = 8<<20 + 12345 // not a multiple of any buffer size
	want := PatternBytes(1, size)
	// HalfReader: short reads of varying size, as from a network body.
	info, err := s.Put(context.Background(), "big/stream", iotest.HalfReader(Pattern(1, size)))
	if err != nil {
		t.Fatalf("put: %v", err)
	}
	if info.Size != size || info.SHA256 != SHA256(want) {
		t.Fatalf("put: %d bytes sha256 %s, want %d bytes sha256 %s", info.Size, info.SHA256, size, SHA256(want))
	}
	obj, err := s.Open(context.Background(), "big/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	h := sha256.New()
	n, err := io.Copy(h, obj)
	if err != nil {
		t.Fatalf("read back: %v", err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); n != size || got != info.SHA256 {
		t.Fatalf("read back %d bytes sha256 %s, want %d bytes sha256 %s", n, got, size, info.SHA256)
	}
	if obj.Info().Size != size {
		t.Fatalf("open: size %d, want %d", obj.Info().Size, size)
	}
}

func testEmpty(t *testing.T, s blob.Store) {
	ctx := context.Background()
	for _, r := range []io.Reader{bytes.NewReader(nil), strings.NewReader(""), iotest.HalfReader(Pattern(2, 0))} {
		if _, err := s.Put(ctx, "empty", r); !errors.Is(err, blob.ErrEmpty) {
			t.Fatalf("put of an empty stream: %v, want ErrEmpty", err)
		}
		WantAbsent(t, s, "empty")
	}
	// An empty Put over an existing blob stores nothing: the blob stays.
	data := []byte("kept")
	Put(t, s, "kept", data)
	if _, err := s.Put(ctx, "kept", bytes.NewReader(nil)); !errors.Is(err, blob.ErrEmpty) {
		t.Fatalf("put of an empty stream: %v, want ErrEmpty", err)
	}
	if got := Read(t, s, "kept"); !bytes.Equal(got, data) {
		t.Fatalf("after an empty put: %q, want %q", got, data)
	}
	if keys := Keys(t, s, ""); !slices.Equal(keys, []string{"kept"}) {
		t.Fatalf("list = %q", keys)
	}
}

func testSeekAndRanges(t *testing.T, s blob.Store) {
	const size = 3<<20 + 7
	data := PatternBytes(3, size)
	Put(t, s, "seek/me", data)
	obj, err := s.Open(context.Background(), "seek/me")
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()

	ranges := []struct {
		name           string
		offset         int64
		whence         int
		wantPos, count int64
	}{
		{"start", 0, io.SeekStart, 0, 100},
		{"middle", size / 2, io.SeekStart, size / 2, 70000},
		{"end", -10, io.SeekEnd, size - 10, 10},
		{"back to start", 0, io.SeekStart, 0, 1},
		{"forward from current", 1 << 20, io.SeekCurrent, 1<<20 + 1, 4096},
		{"last byte", size - 1, io.SeekStart, size - 1, 1},
	}
	for _, r := range ranges {
		pos, err := obj.Seek(r.offset, r.whence)
		if err != nil || pos != r.wantPos {
			t.Fatalf("%s: seek(%d, %d) = %d, %v; want %d", r.name, r.offset, r.whence, pos, err, r.wantPos)
		}
		got := make([]byte, r.count)
		if _, err := io.ReadFull(obj, got); err != nil {
			t.Fatalf("%s: read %d bytes at %d: %v", r.name, r.count, pos, err)
		}
		if want := data[pos : pos+r.count]; !bytes.Equal(got, want) {
			t.Fatalf("%s: bytes at %d differ", r.name, pos)
		}
	}
	// At the end, reads say EOF.
	if n, err := obj.Read(make([]byte, 10)); n != 0 || err != io.EOF {
		t.Fatalf("read at the end = %d, %v; want 0, EOF", n, err)
	}
	// A range to the end (what an HTTP "bytes=N-" asks for).
	if _, err := obj.Seek(size-5000, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(obj)
	if err != nil || !bytes.Equal(rest, data[size-5000:]) {
		t.Fatalf("read to the end: %d bytes, %v", len(rest), err)
	}
	// Seek(0, SeekEnd) tells the size, as http.ServeContent uses it.
	if end, err := obj.Seek(0, io.SeekEnd); err != nil || end != size {
		t.Fatalf("seek to end = %d, %v; want %d", end, err, size)
	}
}

func testStat(t *testing.T, s blob.Store) {
	data := PatternBytes(4, 4321)
	Put(t, s, "stat/x", data)
	info, err := s.Stat(context.Background(), "stat/x")
	if err != nil {
		t.Fatal(err)
	}
	if info.Key != "stat/x" || info.Size != int64(len(data)) {
		t.Fatalf("stat = %+v, want key stat/x and size %d", info, len(data))
	}
	wantRecent(t, "stat", info.Modified)
}

func testDelete(t *testing.T, s blob.Store) {
	ctx := context.Background()
	Put(t, s, "del/a", []byte("a"))
	Put(t, s, "del/b", []byte("b"))
	if err := s.Delete(ctx, "del/a"); err != nil {
		t.Fatalf("delete: %v", err)
	}
	WantAbsent(t, s, "del/a")
	if got := Read(t, s, "del/b"); string(got) != "b" {
		t.Fatalf("sibling after delete: %q", got)
	}
	if err := s.Delete(ctx, "del/a"); err != nil {
		t.Fatalf("delete again: %v", err)
	}
	if err := s.Delete(ctx, "never/stored"); err != nil {
		t.Fatalf("delete of a missing key: %v", err)
	}
	if keys := Keys(t, s, ""); !slices.Equal(keys, []string{"del/b"}) {
		t.Fatalf("list = %q", keys)
	}
	// The key can be stored again.
	Put(t, s, "del/a", []byte("again"))
	if got := Read(t, s, "del/a"); string(got) != "again" {
		t.Fatalf("after re-put: %q", got)
	}
}

func testMissing(t *testing.T, s blob.Store) {
	WantAbsent(t, s, "missing")
	Put(t, s, "dir/blob", []byte("x"))
	// Neither a prefix of a key nor a path below a key is a blob.
	for _, key := range []string{"dir", "dir/blo", "dir/blob/below", "missing/x"} {
		WantAbsent(t, s, key)
	}
}

func testOverwrite(t *testing.T, s blob.Store) {
	ctx := context.Background()
	v1, v2 := PatternBytes(5, 1<<20), []byte("second version, shorter")
	Put(t, s, "over/k", v1)
	Put(t, s, "over/k", v2)
	if got := Read(t, s, "over/k"); !bytes.Equal(got, v2) {
		t.Fatalf("after overwrite: %d bytes, want the %d of the second put", len(got), len(v2))
	}
	if info, err := s.Stat(ctx, "over/k"); err != nil || info.Size != int64(len(v2)) {
		t.Fatalf("stat after overwrite = %+v, %v", info, err)
	}
	// A failed overwrite leaves the stored blob as it was.
	boom := errors.New("boom")
	if _, err := s.Put(ctx, "over/k", FailAfter(Pattern(6, 1<<20), 1<<19, boom)); err == nil {
		t.Fatal("put from a failing reader succeeded")
	}
	if got := Read(t, s, "over/k"); !bytes.Equal(got, v2) {
		t.Fatalf("after a failed overwrite: %d bytes, want the %d stored", len(got), len(v2))
	}
	if keys := Keys(t, s, ""); !slices.Equal(keys, []string{"over/k"}) {
		t.Fatalf("list = %q", keys)
	}
}

// testOverwriteAtomic: readers racing an overwrite see one whole version,
// never a mix or a truncated one; an open blob keeps its version or fails.
func testOverwriteAtomic(t *testing.T, s blob.Store) {
	ctx := context.Background()
	versions := [][]byte{PatternBytes(7, 256<<10), PatternBytes(8, 300<<10)}
	sums := map[string]bool{SHA256(versions[0]): true, SHA256(versions[1]): true}
	Put(t, s, "atomic/k", versions[0])

	held, err := s.Open(ctx, "atomic/k")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()

	const writes, readers = 10, 4
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range readers {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				obj, err := s.Open(ctx, "atomic/k")
				if err != nil {
					t.Errorf("open during overwrites: %v", err)
					return
				}
				b, err := io.ReadAll(obj)
				obj.Close()
				// A store may fail a read whose version was replaced
				// (S3 with If-Match); it must never return other bytes.
				if err == nil && !sums[SHA256(b)] {
					t.Errorf("read during overwrites: %d bytes that are neither version", len(b))
					return
				}
			}
		})
	}
	for i := range writes {
		if _, err := s.Put(ctx, "atomic/k", bytes.NewReader(versions[(i+1)%2])); err != nil {
			t.Errorf("overwrite %d: %v", i, err)
		}
	}
	close(done)
	wg.Wait()

	if b, err := io.ReadAll(held); err == nil && !bytes.Equal(b, versions[0]) {
		t.Fatalf("blob opened before the overwrites read %d bytes that are not its version", len(b))
	}
}

func testFailingReader(t *testing.T, s blob.Store) {
	boom := errors.New("reader broke")
	for _, n := range []int64{0, 1000, 3 << 20} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			key := fmt.Sprintf("fail/after-%d", n)
			_, err := s.Put(context.Background(), key, FailAfter(Pattern(9, 8<<20), n, boom))
			// The reader's own error comes back: an upload handler needs
			// it (e.g. *http.MaxBytesError → 413).
			if !errors.Is(err, boom) {
				t.Fatalf("put = %v, want the reader's error", err)
			}
			WantAbsent(t, s, key)
			if keys := Keys(t, s, ""); len(keys) != 0 {
				t.Fatalf("list after a failed put = %q", keys)
			}
		})
	}
}

// cancelAfter reads an endless r and cancels once n bytes went by, then
// goes on giving bytes, as a body does whose request was abandoned. It
// fails after limit more bytes: a store must notice the cancellation
// between chunks, not read to the end of the stream.
type cancelAfter struct {
	r         io.Reader
	n, limit  int64
	cancel    context.CancelFunc
	cancelled bool
}

var errReadPastCancel = errors.New("store went on reading long after its context was cancelled")

func (c *cancelAfter) Read(p []byte) (int, error) {
	if c.cancelled && c.limit <= 0 {
		return 0, errReadPastCancel
	}
	n, err := c.r.Read(p)
	if c.cancelled {
		c.limit -= int64(n)
	} else if c.n -= int64(n); c.n <= 0 {
		c.cancelled = true
		c.cancel()
	}
	return n, err
}

func testCancelledContext(t *testing.T, s blob.Store) {
	t.Run("mid-stream", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		endless := &patternReader{state: 10}
		r := &cancelAfter{r: iotest.HalfReader(endless), n: 1 << 20, limit: 64 << 20, cancel: cancel}
		if _, err := s.Put(ctx, "cancel/mid", r); !errors.Is(err, context.Canceled) {
			t.Fatalf("put = %v, want context.Canceled", err)
		}
		WantAbsent(t, s, "cancel/mid")
	})
	t.Run("before", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := s.Put(ctx, "cancel/before", bytes.NewReader([]byte("x"))); !errors.Is(err, context.Canceled) {
			t.Fatalf("put = %v, want context.Canceled", err)
		}
		WantAbsent(t, s, "cancel/before")
	})
	if keys := Keys(t, s, ""); len(keys) != 0 {
		t.Fatalf("list after cancelled puts = %q", keys)
	}
}

func testList(t *testing.T, s blob.Store) {
	ctx := context.Background()
	if keys := Keys(t, s, ""); len(keys) != 0 {
		t.Fatalf("a fresh store lists %q", keys)
	}
	// Byte order: '-' (0x2d) < '.' (0x2e) < '/' (0x2f) < '0' < 'A' < 'a'.
	all := []string{
		"l/a", "l/b-c", "l/b.d", "l/b/c", "l/b/d/e", "l/ba", "l0", "m/x", "m/x-y/z",
		"A/upper", "9/nine", "Z", "z",
	}
	sizes := map[string]int64{}
	for i, key := range all {
		data := PatternBytes(uint64(100+i), int64(1+i*10))
		Put(t, s, key, data)
		sizes[key] = int64(len(data))
	}
	sorted := slices.Clone(all)
	slices.Sort(sorted)

	cases := []struct {
		prefix string
		want   []string
	}{
		{"", sorted},
		{"l/", []string{"l/a", "l/b-c", "l/b.d", "l/b/c", "l/b/d/e", "l/ba"}},
		{"l/b", []string{"l/b-c", "l/b.d", "l/b/c", "l/b/d/e", "l/ba"}},
		{"l/b/", []string{"l/b/c", "l/b/d/e"}},
		{"l", []string{"l/a", "l/b-c", "l/b.d", "l/b/c", "l/b/d/e", "l/ba", "l0"}},
		{"m/x", []string{"m/x", "m/x-y/z"}},
		{"l/b/d/e", []string{"l/b/d/e"}},
		{"nope", nil},
		{"l/b/c/", nil},
	}
	for _, c := range cases {
		var got []string
		err := s.List(ctx, c.prefix, func(info blob.Info) error {
			got = append(got, info.Key)
			if info.Size != sizes[info.Key] {
				t.Errorf("list %q: %s has size %d, want %d", c.prefix, info.Key, info.Size, sizes[info.Key])
			}
			wantRecent(t, "list "+info.Key, info.Modified)
			return nil
		})
		if err != nil {
			t.Fatalf("list %q: %v", c.prefix, err)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("list %q = %q, want %q", c.prefix, got, c.want)
		}
	}

	// An error from fn stops the listing and comes back.
	stop := errors.New("stop")
	calls := 0
	err := s.List(ctx, "", func(blob.Info) error {
		calls++
		if calls == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || calls != 3 {
		t.Fatalf("list stopped by fn = %v after %d calls, want stop after 3", err, calls)
	}
}

// InvalidKeys are keys every store refuses with ErrInvalidKey.
var InvalidKeys = []string{
	"",
	".",
	"..",
	"../x",
	"a/../../x",
	"a/..",
	"/abs",
	"/etc/passwd",
	"a//b",
	"a/",
	"a/./b",
	"./a",
	".hidden",
	"a/.tmp/x",
	".tmp/x",
	"-dash",
	"a\\b",
	"..\\x",
	"C:\\x",
	"a\x00b",
	"a\nb",
	"a b",
	"a:b",
	"a?b",
	"a*b",
	"modèle",
	"模型/x",
	"a/\u202eb",
	"~user",
	strings.Repeat("a", blob.MaxKeyLen+1),
	strings.Repeat("ab/", 341) + "ab", // 1025 bytes in short segments
}

func testInvalidKeys(t *testing.T, s blob.Store) {
	ctx := context.Background()
	for _, key := range InvalidKeys {
		name := fmt.Sprintf("%.40q", key)
		if _, err := s.Put(ctx, key, bytes.NewReader([]byte("x"))); !errors.Is(err, blob.ErrInvalidKey) {
			t.Errorf("put %s = %v, want ErrInvalidKey", name, err)
		}
		obj, err := s.Open(ctx, key)
		if err == nil {
			obj.Close()
		}
		if !errors.Is(err, blob.ErrInvalidKey) {
			t.Errorf("open %s = %v, want ErrInvalidKey", name, err)
		}
		if _, err := s.Stat(ctx, key); !errors.Is(err, blob.ErrInvalidKey) {
			t.Errorf("stat %s = %v, want ErrInvalidKey", name, err)
		}
		if err := s.Delete(ctx, key); !errors.Is(err, blob.ErrInvalidKey) {
			t.Errorf("delete %s = %v, want ErrInvalidKey", name, err)
		}
	}
	if keys := Keys(t, s, ""); len(keys) != 0 {
		t.Fatalf("invalid keys stored %q", keys)
	}
}

func testConcurrent(t *testing.T, s blob.Store) {
	ctx := context.Background()
	const workers = 16
	const size = 256<<10 + 3
	shared := PatternBytes(999, size)
	Put(t, s, "conc/shared", shared)

	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() {
			key := fmt.Sprintf("conc/w%02d/blob", i)
			want := PatternBytes(uint64(i), size)
			info, err := s.Put(ctx, key, Pattern(uint64(i), size))
			if err != nil {
				t.Errorf("put %s: %v", key, err)
				return
			}
			if info.SHA256 != SHA256(want) {
				t.Errorf("put %s: sha256 %s, want %s", key, info.SHA256, SHA256(want))
			}
			for _, k := range []string{key, "conc/shared"} {
				obj, err := s.Open(ctx, k)
				if err != nil {
					t.Errorf("open %s: %v", k, err)
					return
				}
				got, err := io.ReadAll(obj)
				obj.Close()
				if err != nil {
					t.Errorf("read %s: %v", k, err)
					return
				}
				if k == key && !bytes.Equal(got, want) || k != key && !bytes.Equal(got, shared) {
					t.Errorf("read %s: %d bytes that differ from what was put", k, len(got))
				}
			}
		})
	}
	wg.Wait()
	if keys := Keys(t, s, "conc/"); len(keys) != workers+1 {
		t.Fatalf("list after concurrent puts: %d keys, want %d", len(keys), workers+1)
	}
}

func testProbe(t *testing.T, s blob.Store) {
	for range 2 {
		if err := s.Probe(context.Background()); err != nil {
			t.Fatalf("probe: %v", err)
		}
	}
	if keys := Keys(t, s, ""); len(keys) != 0 {
		t.Fatalf("probe left %q", keys)
	}
}

func testEnsure(t *testing.T, s blob.Store) {
	ctx := context.Background()
	data := []byte("survives ensure")
	Put(t, s, "ensure/x", data)
	for range 2 {
		if err := s.Ensure(ctx); err != nil {
			t.Fatalf("ensure again: %v", err)
		}
	}
	if got := Read(t, s, "ensure/x"); !bytes.Equal(got, data) {
		t.Fatalf("after ensure: %q", got)
	}
	Put(t, s, "ensure/y", []byte("y"))
}

func testRemoveStaleKeepsBlobs(t *testing.T, s blob.Store) {
	ctx := context.Background()
	Put(t, s, "stale/kept", []byte("a stored blob is never stale"))
	if _, err := s.RemoveStale(ctx, 0); err != nil {
		t.Fatalf("remove stale: %v", err)
	}
	if got := Read(t, s, "stale/kept"); string(got) != "a stored blob is never stale" {
		t.Fatalf("after remove stale: %q", got)
	}
}
