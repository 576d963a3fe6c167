package fsblob_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flymodel/flymodel/internal/blob"
	"github.com/flymodel/flymodel/internal/blob/blobtest"
	"github.com/flymodel/flymodel/internal/blob/fsblob"
)

func TestConformance(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blob.Store {
		// A root that does not exist yet: New needs nothing, Ensure creates it.
		s, err := fsblob.New(filepath.Join(t.TempDir(), "data", "blobs"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// newStore returns an ensured store and its root folder.
func newStore(t *testing.T) (*fsblob.Store, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "blobs")
	s, err := fsblob.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Ensure(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s, dir
}

// snapshot describes every entry below dir: path, type, size, content hash.
func snapshot(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		line := rel + " " + d.Type().String()
		if d.Type().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			line += " " + blobtest.SHA256(b)
		}
		out = append(out, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func tmpEntries(t *testing.T, root string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(root, ".tmp"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestNew(t *testing.T) {
	if _, err := fsblob.New(""); err == nil {
		t.Fatal("New(\"\") succeeded")
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	s, err := fsblob.New("rel/blobs")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.String(), "fs:"+filepath.Join(wd, "rel", "blobs"); got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
}

func TestBeforeEnsure(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "later")
	s, err := fsblob.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, "a", strings.NewReader("x")); err == nil {
		t.Fatal("put into a missing root succeeded")
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a failed put created the root: %v", err)
	}
	if n, err := s.RemoveStale(ctx, 0); err == nil || n != 0 {
		t.Fatalf("remove stale in a missing root = %d, %v", n, err)
	}
	if err := s.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	blobtest.Put(t, s, "a", []byte("x"))

	// A .tmp removed by hand is recreated by Put.
	if err := os.Remove(filepath.Join(dir, ".tmp")); err != nil {
		t.Fatal(err)
	}
	blobtest.Put(t, s, "b", []byte("y"))
}

// TestLayout: a blob is a file at its key; folders left empty by Delete go.
func TestLayout(t *testing.T) {
	ctx := context.Background()
	s, root := newStore(t)
	blobtest.Put(t, s, "ab/cd/blob", []byte("content"))
	blobtest.Put(t, s, "ab/other", []byte("other"))
	if b, err := os.ReadFile(filepath.Join(root, "ab", "cd", "blob")); err != nil || string(b) != "content" {
		t.Fatalf("file at the key: %q, %v", b, err)
	}
	if err := s.Delete(ctx, "ab/cd/blob", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "ab", "cd")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("empty folder left after delete: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "ab", "other")); err != nil {
		t.Fatalf("sibling removed: %v", err)
	}
	if err := s.Delete(ctx, "ab/other", ""); err != nil {
		t.Fatal(err)
	}
	if got := snapshot(t, root); !slices.Equal(got, []string{". d---------", ".tmp d---------"}) {
		t.Fatalf("root after deleting everything: %q", got)
	}
}

// TestFolderKeys: a key that is a folder of other keys is no blob, and
// cannot become one while it holds them.
func TestFolderKeys(t *testing.T) {
	ctx := context.Background()
	s, root := newStore(t)
	blobtest.Put(t, s, "d/x", []byte("x"))
	if err := s.Delete(ctx, "d", ""); err != nil {
		t.Fatalf("delete of a folder key: %v", err)
	}
	if got := blobtest.Read(t, s, "d/x"); string(got) != "x" {
		t.Fatalf("delete of the folder key touched d/x: %q", got)
	}
	if _, err := s.Put(ctx, "d", strings.NewReader("y")); err == nil || errors.Is(err, blob.ErrInvalidKey) {
		t.Fatalf("put over a folder = %v, want a storage error", err)
	}
	if _, err := s.Put(ctx, "d/x/y", strings.NewReader("y")); err == nil || errors.Is(err, blob.ErrInvalidKey) {
		t.Fatalf("put below a blob = %v, want a storage error", err)
	}
	if tmp := tmpEntries(t, root); len(tmp) != 0 {
		t.Fatalf("failed puts left %q", tmp)
	}
}

func TestSegmentTooLong(t *testing.T) {
	s, _ := newStore(t)
	key := "a/" + strings.Repeat("x", 256) // a valid key, but no file name
	if _, err := s.Put(context.Background(), key, strings.NewReader("x")); !errors.Is(err, blob.ErrInvalidKey) {
		t.Fatalf("put = %v, want ErrInvalidKey", err)
	}
	if _, err := s.Stat(context.Background(), key, ""); !errors.Is(err, blob.ErrInvalidKey) {
		t.Fatalf("stat = %v, want ErrInvalidKey", err)
	}
	blobtest.Put(t, s, "a/"+strings.Repeat("x", 255), []byte("fits"))
}

// TestSymlinkEscape plants links inside the root that lead outside it:
// every operation through them is refused or stays inside the root, and
// nothing outside changes.
func TestSymlinkEscape(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symlinks need privileges on Windows")
	}
	ctx := context.Background()
	s, root := newStore(t)
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret")
	if err := os.WriteFile(secret, []byte("outside the root"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(outside, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, outside)

	relOutside, err := filepath.Rel(root, outside)
	if err != nil {
		t.Fatal(err)
	}
	blobtest.Put(t, s, "a/real", []byte("inside"))
	links := map[string]string{
		"evil":      outside,                               // absolute, to a folder
		"a/link":    outside,                               // a key component below a real folder
		"rel":       relOutside,                            // relative, climbing out with ..
		"a/relup":   filepath.Join("..", "..", relOutside), // relative from a subfolder
		"filelink":  secret,                                // to a file
		"a/chained": "../evil",                             // inside the root, to a link that leads out
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(root, filepath.FromSlash(name))); err != nil {
			t.Fatal(err)
		}
	}

	through := []string{
		"evil/secret", "evil/sub/x", "evil/new",
		"a/link/secret", "a/link/new",
		"rel/secret", "rel/new",
		"a/relup/secret", "a/chained/secret", "a/chained/new",
	}
	for _, key := range through {
		if _, err := s.Put(ctx, key, strings.NewReader("attack")); err == nil {
			t.Errorf("put %s through a link out of the root succeeded", key)
		}
		if info, err := s.Stat(ctx, key, ""); err == nil {
			t.Errorf("stat %s through a link out of the root = %+v", key, info)
		}
		if obj, err := s.Open(ctx, key, ""); err == nil {
			b, _ := io.ReadAll(obj)
			obj.Close()
			t.Errorf("open %s through a link out of the root read %q", key, b)
		}
		// Delete may refuse or find nothing; it must not remove anything outside.
		_ = s.Delete(ctx, key, "")
	}
	// A link at the key itself: reading refuses to follow it out.
	if obj, err := s.Open(ctx, "filelink", ""); err == nil {
		b, _ := io.ReadAll(obj)
		obj.Close()
		t.Errorf("open of a link to an outside file read %q", b)
	}
	if _, err := s.Stat(ctx, "filelink", ""); err == nil {
		t.Error("stat of a link to an outside file succeeded")
	}
	// List neither follows links nor reports them.
	if keys := blobtest.Keys(t, s, ""); !slices.Equal(keys, []string{"a/real"}) {
		t.Errorf("list = %q, want only a/real", keys)
	}
	// Writing at the key that is a link replaces the link, not its target.
	if _, err := s.Put(ctx, "filelink", strings.NewReader("replaced")); err == nil {
		st, err := os.Lstat(filepath.Join(root, "filelink"))
		if err != nil || !st.Mode().IsRegular() {
			t.Errorf("put at a link: %v, mode %v; want a regular file in the root", err, st.Mode())
		}
	}
	// Deleting a key that is a link removes the link, inside the root.
	if err := s.Delete(ctx, "evil", ""); err != nil {
		t.Errorf("delete of the link itself: %v", err)
	}

	if after := snapshot(t, outside); !slices.Equal(before, after) {
		t.Fatalf("outside the root changed:\nbefore %q\nafter  %q", before, after)
	}
	if tmp := tmpEntries(t, root); len(tmp) != 0 {
		t.Fatalf("refused puts left temporary files %q", tmp)
	}
}

// TestTmpSymlinkEscape: a .tmp that is a link out of the root makes Put
// and Ensure fail rather than write outside.
func TestTmpSymlinkEscape(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symlinks need privileges on Windows")
	}
	ctx := context.Background()
	s, root := newStore(t)
	outside := t.TempDir()
	before := snapshot(t, outside)
	if err := os.Remove(filepath.Join(root, ".tmp")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, ".tmp")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, "k", strings.NewReader("attack")); err == nil {
		t.Error("put with .tmp linked out of the root succeeded")
	}
	if err := s.Ensure(ctx); err == nil {
		t.Error("ensure accepted a .tmp linked out of the root")
	}
	if n, err := s.RemoveStale(ctx, 0); err == nil && n != 0 {
		t.Errorf("remove stale through the link removed %d", n)
	}
	if after := snapshot(t, outside); !slices.Equal(before, after) {
		t.Fatalf("outside the root changed:\nbefore %q\nafter  %q", before, after)
	}
}

// TestFailedPutsLeaveNoTemporaryFiles covers every way Put fails after it
// created its temporary file.
func TestFailedPutsLeaveNoTemporaryFiles(t *testing.T) {
	s, root := newStore(t)
	ctx := context.Background()
	boom := errors.New("boom")
	if _, err := s.Put(ctx, "f/a", blobtest.FailAfter(blobtest.Pattern(1, 4<<20), 3<<20, boom)); !errors.Is(err, boom) {
		t.Fatalf("failing reader: %v", err)
	}
	if _, err := s.Put(ctx, "f/b", bytes.NewReader(nil)); !errors.Is(err, blob.ErrEmpty) {
		t.Fatalf("empty: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	pr, pw := io.Pipe()
	go func() {
		pw.Write(make([]byte, 1<<20))
		cancel()
		pw.Write(make([]byte, 1<<20))
		pw.Close()
	}()
	if _, err := s.Put(cctx, "f/c", pr); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	pr.Close()
	if tmp := tmpEntries(t, root); len(tmp) != 0 {
		t.Fatalf("temporary files left: %q", tmp)
	}
	if got := snapshot(t, root); !slices.Equal(got, []string{". d---------", ".tmp d---------"}) {
		t.Fatalf("failed puts left %q", got)
	}
}

// TestNothingVisibleMidStream: while an upload streams, the key does not
// exist; only the temporary file does.
func TestNothingVisibleMidStream(t *testing.T) {
	s, root := newStore(t)
	ctx := context.Background()
	pr, pw := io.Pipe()
	type result struct {
		info blob.Info
		err  error
	}
	done := make(chan result, 1)
	go func() {
		info, err := s.Put(ctx, "slow/upload", pr)
		done <- result{info, err}
	}()
	chunk := blobtest.PatternBytes(42, 1<<20)
	h := sha256.New()
	for range 3 {
		// A pipe write returns once Put has read it all.
		if _, err := pw.Write(chunk); err != nil {
			t.Fatal(err)
		}
		h.Write(chunk)
		blobtest.WantAbsent(t, s, "slow/upload")
		if keys := blobtest.Keys(t, s, ""); len(keys) != 0 {
			t.Fatalf("list mid-stream = %q", keys)
		}
		if tmp := tmpEntries(t, root); len(tmp) != 1 {
			t.Fatalf("temporary files mid-stream: %q, want one", tmp)
		}
	}
	pw.Close()
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.info.Size != 3<<20 || r.info.SHA256 != blobtest.SHA256(bytes.Repeat(chunk, 3)) {
		t.Fatalf("put = %+v", r.info)
	}
	if info, err := s.Stat(ctx, "slow/upload", ""); err != nil || info.Size != 3<<20 {
		t.Fatalf("stat after the stream ended = %+v, %v", info, err)
	}
	if tmp := tmpEntries(t, root); len(tmp) != 0 {
		t.Fatalf("temporary files after the put: %q", tmp)
	}
}

func TestRemoveStale(t *testing.T) {
	s, root := newStore(t)
	ctx := context.Background()
	blobtest.Put(t, s, "kept/blob", []byte("stored"))
	tmp := filepath.Join(root, ".tmp")
	old := time.Now().Add(-2 * time.Hour)
	for _, name := range []string{"put-old1", "put-old2", "put-new"} {
		if err := os.WriteFile(filepath.Join(tmp, name), []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(name, "old") {
			if err := os.Chtimes(filepath.Join(tmp, name), old, old); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := os.Mkdir(filepath.Join(tmp, "olddir"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(filepath.Join(tmp, "olddir"), old, old); err != nil {
		t.Fatal(err)
	}
	n, err := s.RemoveStale(ctx, time.Hour)
	if err != nil || n != 2 {
		t.Fatalf("remove stale = %d, %v; want 2", n, err)
	}
	if got := tmpEntries(t, root); !slices.Equal(got, []string{"olddir", "put-new"}) {
		t.Fatalf(".tmp after remove stale: %q", got)
	}
	if got := blobtest.Read(t, s, "kept/blob"); string(got) != "stored" {
		t.Fatalf("blob after remove stale: %q", got)
	}
	if n, err := s.RemoveStale(ctx, time.Hour); err != nil || n != 0 {
		t.Fatalf("second remove stale = %d, %v; want 0", n, err)
	}
}

func TestPermissions(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permissions")
	}
	s, root := newStore(t)
	blobtest.Put(t, s, "p/q/r", []byte("x"))
	// At most 0o644 and 0o755 (a stricter umask narrows them), at least
	// owner read-write (and search for folders).
	check := func(rel string, max, min fs.FileMode) {
		st, err := os.Stat(filepath.Join(root, rel))
		if err != nil {
			t.Fatal(err)
		}
		if p := st.Mode().Perm(); p&^max != 0 || p&min != min {
			t.Errorf("%s: mode %v, want within %v and at least %v", rel, p, max, min)
		}
	}
	check("p/q/r", 0o644, 0o600)
	check("p/q", 0o755, 0o700)
	check("p", 0o755, 0o700)
	check(".tmp", 0o755, 0o700)
	check(".", 0o755, 0o700)
}

// TestListSkipsStrayFiles: only regular files named like keys are blobs.
func TestListSkipsStrayFiles(t *testing.T) {
	s, root := newStore(t)
	blobtest.Put(t, s, "k/blob", []byte("x"))
	for _, name := range []string{".DS_Store", "k/.hidden", "k/with space"} {
		if err := os.WriteFile(filepath.Join(root, filepath.FromSlash(name)), []byte("stray"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if keys := blobtest.Keys(t, s, ""); !slices.Equal(keys, []string{"k/blob"}) {
		t.Fatalf("list = %q", keys)
	}
}

const benchSize = 64 << 20

func BenchmarkPut(b *testing.B) {
	s, _ := newBenchStore(b)
	data := blobtest.PatternBytes(1, benchSize)
	ctx := context.Background()
	b.SetBytes(benchSize)
	b.ReportAllocs() // memory stays flat: a pooled buffer, no copy of the stream
	for b.Loop() {
		// A reader without WriteTo or Len: the store cannot cheat.
		if _, err := s.Put(ctx, "bench/put", io.LimitReader(bytes.NewReader(data), benchSize)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpenRead(b *testing.B) {
	s, _ := newBenchStore(b)
	ctx := context.Background()
	blobtest.Put(b, s, "bench/read", blobtest.PatternBytes(2, benchSize))
	buf := make([]byte, 1<<20)
	for _, verify := range []bool{false, true} {
		name := "raw"
		if verify {
			name = "sha256"
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(benchSize)
			for b.Loop() {
				obj, err := s.Open(ctx, "bench/read", "")
				if err != nil {
					b.Fatal(err)
				}
				var w io.Writer = io.Discard
				if verify {
					w = sha256.New()
				}
				n, err := io.CopyBuffer(w, struct{ io.Reader }{obj}, buf)
				obj.Close()
				if err != nil || n != benchSize {
					b.Fatalf("read %d bytes, %v", n, err)
				}
			}
		})
	}
}

func newBenchStore(b *testing.B) (*fsblob.Store, string) {
	b.Helper()
	dir := filepath.Join(b.TempDir(), "blobs")
	s, err := fsblob.New(dir)
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Ensure(context.Background()); err != nil {
		b.Fatal(err)
	}
	return s, dir
}

// TestPutDeleteRace: Delete removes folders it empties while Puts create
// and fill them; every Put must still land.
func TestPutDeleteRace(t *testing.T) {
	s, root := newStore(t)
	ctx := context.Background()
	const workers, rounds = 8, 100
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range rounds {
				key := fmt.Sprintf("race/x/y/w%d-%d", w, i)
				if _, err := s.Put(ctx, key, strings.NewReader(key)); err != nil {
					t.Errorf("put: %v", err)
					return
				}
				if got := blobtest.Read(t, s, key); string(got) != key {
					t.Errorf("read %s: %q", key, got)
					return
				}
				if err := s.Delete(ctx, key, ""); err != nil {
					t.Errorf("delete: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	if got := snapshot(t, root); !slices.Equal(got, []string{". d---------", ".tmp d---------"}) {
		t.Fatalf("left behind: %q", got)
	}
}
