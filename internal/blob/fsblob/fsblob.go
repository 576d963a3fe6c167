// Package fsblob is the filesystem blob.Store: a blob is a file at its key
// below one root folder (key "ab/cd/ef" is <root>/ab/cd/ef).
//
// Every access below the root goes through an os.Root, so no name can
// resolve outside it: ".." is refused by blob.ValidateKey before any file
// is touched, and a symlink planted inside the root that points outside is
// refused by the kernel-side checks of os.Root. Put streams into a
// temporary file under <root>/.tmp (same filesystem, and ".tmp" is never a
// valid key segment), hashes while it writes, fsyncs, renames into place
// and fsyncs the folder; it never opens an existing key for writing, so a
// planted link at a key is replaced, never written through.
//
// A folder keeps no versions: Put returns the version "", the only one
// Open, Stat and Delete know (any other is not found), and a Put over a
// key replaces its bytes.
package fsblob

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/flymodel/flymodel/internal/blob"
)

const (
	// tmpDir holds uploads in progress; a leading '.' keeps it out of the
	// key space.
	tmpDir = ".tmp"
	// maxSegmentLen is NAME_MAX of the common filesystems: a longer key
	// segment is a valid key elsewhere but cannot be a file name here.
	maxSegmentLen = 255
	// copyBufferSize is large so that a multi-GiB upload costs few
	// syscalls; the buffers are pooled so memory stays flat under load.
	copyBufferSize = 1 << 20
	// publishAttempts bounds the retries when concurrent Deletes keep
	// removing a parent folder between Put creating it and renaming into it.
	publishAttempts = 100
	// writebackChunk is how much Put writes before it asks the kernel to
	// start writing it to disk (see startWriteback).
	writebackChunk = 8 << 20
)

var copyBuffers = sync.Pool{New: func() any {
	b := make([]byte, copyBufferSize)
	return &b
}}

// Store is a blob.Store on a local folder. It is safe for concurrent use:
// it keeps no state but the root's path and opens an os.Root per call.
type Store struct {
	dir string // absolute
}

var _ blob.Store = (*Store)(nil)

// New returns a store rooted at root. Nothing needs to exist yet: Ensure
// creates the folders.
func New(root string) (*Store, error) {
	if root == "" {
		return nil, errors.New("fsblob: empty root folder")
	}
	dir, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("fsblob: root %s: %w", root, err)
	}
	return &Store{dir: dir}, nil
}

// String names the store: "fs:" and the absolute root.
func (s *Store) String() string { return "fs:" + s.dir }

func (s *Store) openRoot() (*os.Root, error) {
	r, err := os.OpenRoot(s.dir)
	if err != nil {
		return nil, fmt.Errorf("open blob root: %w", err)
	}
	return r, nil
}

// checkKey is blob.ValidateKey plus this store's limit on segment length.
func checkKey(key string) error {
	if err := blob.ValidateKey(key); err != nil {
		return err
	}
	for seg := range strings.SplitSeq(key, "/") {
		if len(seg) > maxSegmentLen {
			return fmt.Errorf("%w: segment longer than %d bytes", blob.ErrInvalidKey, maxSegmentLen)
		}
	}
	return nil
}

// notFound reports whether err means nothing is at the name, including a
// path component that is a file (ENOTDIR: key "a/b" when "a" is a blob).
func notFound(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

// Put streams r into a temporary file while hashing it, then publishes it
// at key atomically. See blob.Store.
func (s *Store) Put(ctx context.Context, key string, r io.Reader) (blob.Info, error) {
	if err := checkKey(key); err != nil {
		return blob.Info{}, fmt.Errorf("put blob %q: %w", key, err)
	}
	if err := ctx.Err(); err != nil {
		return blob.Info{}, fmt.Errorf("put blob %s: %w", key, err)
	}
	root, err := s.openRoot()
	if err != nil {
		return blob.Info{}, fmt.Errorf("put blob %s: %w", key, err)
	}
	defer root.Close()
	info, err := put(ctx, root, key, r)
	if err != nil {
		return blob.Info{}, fmt.Errorf("put blob %s: %w", key, err)
	}
	return info, nil
}

func put(ctx context.Context, root *os.Root, key string, r io.Reader) (blob.Info, error) {
	f, tmp, err := createTemp(root)
	if err != nil {
		return blob.Info{}, err
	}
	closed, renamed := false, false
	defer func() {
		if !closed {
			f.Close()
		}
		if !renamed {
			// Best effort: what this leaves (a dying disk) RemoveStale collects.
			_ = root.Remove(tmp)
		}
	}()

	size, sum, err := copyHashed(ctx, f, r)
	if err != nil {
		return blob.Info{}, err
	}
	if size == 0 {
		return blob.Info{}, blob.ErrEmpty
	}
	if err := f.Sync(); err != nil {
		return blob.Info{}, fmt.Errorf("sync temporary file: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		return blob.Info{}, fmt.Errorf("stat temporary file: %w", err)
	}
	closed = true
	if err := f.Close(); err != nil {
		return blob.Info{}, fmt.Errorf("close temporary file: %w", err)
	}
	// The last chance to honour a cancellation: after the rename the blob
	// is stored.
	if err := ctx.Err(); err != nil {
		return blob.Info{}, err
	}
	renamed, err = publish(root, tmp, key)
	if err != nil {
		if renamed {
			// Renamed but not durable: take it back, a failed Put leaves
			// nothing at key.
			_ = root.Remove(filepath.FromSlash(key))
		}
		return blob.Info{}, err
	}
	return blob.Info{Key: key, Size: size, SHA256: sum, Modified: st.ModTime()}, nil
}

// createTemp creates a new file in .tmp, creating .tmp when it is missing
// (Ensure not called yet, or the folder removed by hand).
func createTemp(root *os.Root) (*os.File, string, error) {
	name := path.Join(tmpDir, "put-"+rand.Text())
	f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrNotExist) {
		if err := root.Mkdir(tmpDir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, "", fmt.Errorf("create temporary folder: %w", err)
		}
		f, err = root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	}
	if err != nil {
		return nil, "", fmt.Errorf("create temporary file: %w", err)
	}
	return f, name, nil
}

// copyHashed copies r to f, hashing what it writes, and returns the size
// and the lowercase hex sha256. It checks ctx between chunks, and asks the
// kernel to write back every writebackChunk so that the disk works while
// the rest arrives and the final fsync has little left to do. An error of
// r comes back wrapped, so callers can test it (e.g. *http.MaxBytesError).
func copyHashed(ctx context.Context, f *os.File, r io.Reader) (int64, string, error) {
	bp := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(bp)
	buf := *bp
	h := sha256.New()
	var size, flushed int64
	for {
		if err := ctx.Err(); err != nil {
			return 0, "", err
		}
		n, rerr := r.Read(buf)
		if n > 0 {
			if _, err := f.Write(buf[:n]); err != nil {
				return 0, "", fmt.Errorf("write temporary file: %w", err)
			}
			h.Write(buf[:n])
			size += int64(n)
			if size-flushed >= writebackChunk {
				startWriteback(f, flushed, size-flushed)
				flushed = size
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return 0, "", fmt.Errorf("read upload: %w", rerr)
		}
	}
	return size, hex.EncodeToString(h.Sum(nil)), nil
}

// publish renames tmp to key, creating the key's folders, then fsyncs every
// folder whose entries changed so that the blob survives a crash. renamed
// tells whether tmp is gone (to key) even when err is not nil.
func publish(root *os.Root, tmp, key string) (renamed bool, err error) {
	parent := path.Dir(key)
	var created []string
	for attempt := 1; ; attempt++ {
		c, err := mkdirs(root, parent)
		created = append(created, c...)
		if err == nil {
			err = root.Rename(tmp, filepath.FromSlash(key))
			if err == nil {
				break
			}
			err = fmt.Errorf("rename into place: %w", err)
		} else {
			err = fmt.Errorf("create folder %s: %w", parent, err)
		}
		// A Delete of a folder's last blob removes the folder, maybe one
		// we just found or created: create it again. Only a vanished
		// temporary file (RemoveStale with age 0) makes retrying futile.
		if !errors.Is(err, fs.ErrNotExist) || attempt == publishAttempts {
			return false, err
		}
		if _, serr := root.Lstat(tmp); serr != nil {
			return false, err
		}
	}
	dirs := []string{parent}
	for _, c := range created {
		dirs = append(dirs, path.Dir(c))
	}
	slices.Sort(dirs)
	for _, d := range slices.Compact(dirs) {
		if err := syncDir(root, d); err != nil {
			return true, err
		}
	}
	return true, nil
}

// mkdirs creates dir and its missing parents below the root and returns
// the folders it created.
func mkdirs(root *os.Root, dir string) ([]string, error) {
	if dir == "." {
		return nil, nil
	}
	if fi, err := root.Stat(filepath.FromSlash(dir)); err == nil && fi.IsDir() {
		return nil, nil
	}
	var created []string
	segs := strings.Split(dir, "/")
	for i := range segs {
		p := strings.Join(segs[:i+1], "/")
		err := root.Mkdir(filepath.FromSlash(p), 0o755)
		switch {
		case err == nil:
			created = append(created, p)
		case errors.Is(err, fs.ErrExist):
			// Already there, or a file or link: the rename reports which.
		default:
			return created, err
		}
	}
	return created, nil
}

func syncDir(root *os.Root, dir string) error {
	if runtime.GOOS == "windows" {
		return nil // folders cannot be opened for fsync there; NTFS journals renames
	}
	d, err := root.Open(filepath.FromSlash(dir))
	if err != nil {
		return fmt.Errorf("sync folder %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync folder %s: %w", dir, err)
	}
	return nil
}

// Open returns the blob at key, backed by its open file. The only version
// is "".
func (s *Store) Open(ctx context.Context, key, version string) (blob.Object, error) {
	if err := checkKey(key); err != nil {
		return nil, fmt.Errorf("open blob %q: %w", key, err)
	}
	if version != "" {
		return nil, fmt.Errorf("open blob %s version %q: %w", key, version, blob.ErrNotFound)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("open blob %s: %w", key, err)
	}
	root, err := s.openRoot()
	if err != nil {
		return nil, fmt.Errorf("open blob %s: %w", key, err)
	}
	defer root.Close() // the file stays valid without its root
	f, err := root.Open(filepath.FromSlash(key))
	if notFound(err) {
		return nil, fmt.Errorf("open blob %s: %w", key, blob.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("open blob %s: %w", key, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open blob %s: %w", key, err)
	}
	if !st.Mode().IsRegular() {
		// A folder of other keys ("a" when "a/b" is stored) is not a blob.
		f.Close()
		return nil, fmt.Errorf("open blob %s: %w", key, blob.ErrNotFound)
	}
	return &object{f: f, info: blob.Info{Key: key, Size: st.Size(), Modified: st.ModTime()}}, nil
}

// object is an open blob file. It also offers io.ReaderAt.
type object struct {
	f    *os.File
	info blob.Info
}

func (o *object) Read(p []byte) (int, error)                   { return o.f.Read(p) }
func (o *object) ReadAt(p []byte, off int64) (int, error)      { return o.f.ReadAt(p, off) }
func (o *object) Seek(offset int64, whence int) (int64, error) { return o.f.Seek(offset, whence) }
func (o *object) Close() error                                 { return o.f.Close() }
func (o *object) Info() blob.Info                              { return o.info }

// Stat returns the size and modification time of the blob at key. The
// only version is "".
func (s *Store) Stat(ctx context.Context, key, version string) (blob.Info, error) {
	if err := checkKey(key); err != nil {
		return blob.Info{}, fmt.Errorf("stat blob %q: %w", key, err)
	}
	if version != "" {
		return blob.Info{}, fmt.Errorf("stat blob %s version %q: %w", key, version, blob.ErrNotFound)
	}
	if err := ctx.Err(); err != nil {
		return blob.Info{}, fmt.Errorf("stat blob %s: %w", key, err)
	}
	root, err := s.openRoot()
	if err != nil {
		return blob.Info{}, fmt.Errorf("stat blob %s: %w", key, err)
	}
	defer root.Close()
	st, err := root.Stat(filepath.FromSlash(key))
	if notFound(err) || (err == nil && !st.Mode().IsRegular()) {
		return blob.Info{}, fmt.Errorf("stat blob %s: %w", key, blob.ErrNotFound)
	}
	if err != nil {
		return blob.Info{}, fmt.Errorf("stat blob %s: %w", key, err)
	}
	return blob.Info{Key: key, Size: st.Size(), Modified: st.ModTime()}, nil
}

// Delete removes the blob at key and the folders that it leaves empty. A
// version other than "" is missing: nothing is removed.
func (s *Store) Delete(ctx context.Context, key, version string) error {
	if err := checkKey(key); err != nil {
		return fmt.Errorf("delete blob %q: %w", key, err)
	}
	if version != "" {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("delete blob %s: %w", key, err)
	}
	root, err := s.openRoot()
	if err != nil {
		return fmt.Errorf("delete blob %s: %w", key, err)
	}
	defer root.Close()
	name := filepath.FromSlash(key)
	st, err := root.Lstat(name)
	if notFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("delete blob %s: %w", key, err)
	}
	if st.IsDir() {
		return nil // a folder of other keys: no blob at key
	}
	if err := root.Remove(name); err != nil && !notFound(err) {
		return fmt.Errorf("delete blob %s: %w", key, err)
	}
	removeEmptyFolders(root, path.Dir(key))
	return nil
}

// removeEmptyFolders removes dir and its parents up to the root while they
// are empty. A Put racing to fill one of them recreates it (see publish).
func removeEmptyFolders(root *os.Root, dir string) {
	for dir != "." {
		name := filepath.FromSlash(dir)
		if st, err := root.Lstat(name); err != nil || !st.IsDir() {
			return
		}
		if root.Remove(name) != nil {
			return // not empty (or gone): its parents are not empty either
		}
		dir = path.Dir(dir)
	}
}

// List calls fn for every blob whose key starts with prefix, in byte order
// of the keys. It walks the folders in an order that yields sorted keys, so
// memory stays bounded by the largest folder. Only regular files with valid
// key names are blobs: .tmp, links and stray names are skipped.
func (s *Store) List(ctx context.Context, prefix string, fn func(blob.Info) error) error {
	root, err := s.openRoot()
	if err != nil {
		return fmt.Errorf("list blobs %q: %w", prefix, err)
	}
	defer root.Close()
	return walk(ctx, root, ".", prefix, fn)
}

func walk(ctx context.Context, root *os.Root, dir, prefix string, fn func(blob.Info) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("list blobs %q: %w", prefix, err)
	}
	d, err := root.Open(filepath.FromSlash(dir))
	if err != nil {
		if dir != "." && notFound(err) {
			return nil // emptied and removed while we walked
		}
		return fmt.Errorf("list blobs %q: %w", prefix, err)
	}
	entries, err := d.ReadDir(-1)
	d.Close()
	if err != nil {
		return fmt.Errorf("list blobs %q: read folder %s: %w", prefix, dir, err)
	}

	type item struct {
		key   string
		order string // key, plus "/" for a folder: every key below it starts so
		isDir bool
	}
	var items []item
	for _, e := range entries {
		if blob.ValidateKey(e.Name()) != nil {
			continue
		}
		key := e.Name()
		if dir != "." {
			key = dir + "/" + key
		}
		switch {
		case e.IsDir():
			order := key + "/"
			if strings.HasPrefix(order, prefix) || strings.HasPrefix(prefix, order) {
				items = append(items, item{key: key, order: order, isDir: true})
			}
		case e.Type().IsRegular():
			if strings.HasPrefix(key, prefix) {
				items = append(items, item{key: key, order: key})
			}
		}
	}
	// Sorting folders as "name/" puts "a-b" (0x2d) and "a.b" (0x2e) before
	// the keys "a/…" (0x2f), as byte order of the full keys demands.
	slices.SortFunc(items, func(a, b item) int { return strings.Compare(a.order, b.order) })

	for _, it := range items {
		if it.isDir {
			if err := walk(ctx, root, it.key, prefix, fn); err != nil {
				return err
			}
			continue
		}
		st, err := root.Lstat(filepath.FromSlash(it.key))
		if notFound(err) {
			continue // deleted while we walked
		}
		if err != nil {
			return fmt.Errorf("list blobs %q: %w", prefix, err)
		}
		if err := fn(blob.Info{Key: it.key, Size: st.Size(), Modified: st.ModTime()}); err != nil {
			return err
		}
	}
	return nil
}

// Ensure creates the root and its .tmp folder when missing.
func (s *Store) Ensure(ctx context.Context) error {
	_, err := s.EnsureReport(ctx)
	return err
}

var _ blob.Setup = (*Store)(nil)

// EnsureReport is Ensure, saying whether it created the folder.
func (s *Store) EnsureReport(ctx context.Context) (blob.SetupReport, error) {
	rep, err := s.Inspect(ctx)
	if err != nil {
		return rep, err
	}
	return rep, s.ensure()
}

// Inspect reports whether the folder exists, writing nothing.
func (s *Store) Inspect(ctx context.Context) (blob.SetupReport, error) {
	rep := blob.SetupReport{NoVersions: true}
	switch st, err := os.Stat(s.dir); {
	case errors.Is(err, fs.ErrNotExist):
		rep.Created = true
	case err != nil:
		return rep, fmt.Errorf("inspect %s: %w", s, err)
	case !st.IsDir():
		return rep, fmt.Errorf("inspect %s: not a folder (%s)", s, st.Mode().Type())
	}
	return rep, nil
}

func (s *Store) ensure() error {
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return fmt.Errorf("ensure %s: %w", s, err)
	}
	root, err := s.openRoot()
	if err != nil {
		return fmt.Errorf("ensure %s: %w", s, err)
	}
	defer root.Close()
	if err := root.Mkdir(tmpDir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("ensure %s: %w", s, err)
	}
	st, err := root.Lstat(tmpDir)
	if err != nil {
		return fmt.Errorf("ensure %s: %w", s, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("ensure %s: %s is not a folder (%s)", s, tmpDir, st.Mode().Type())
	}
	return nil
}

// Probe writes, reads back and deletes a blob under "probe/".
func (s *Store) Probe(ctx context.Context) error {
	key := "probe/" + rand.Text()
	payload := []byte("flymodel probe " + key + " " + time.Now().UTC().Format(time.RFC3339Nano))
	if err := probe(ctx, s, key, payload); err != nil {
		return fmt.Errorf("probe %s: %w", s, err)
	}
	return nil
}

func probe(ctx context.Context, s *Store, key string, payload []byte) (err error) {
	info, err := s.Put(ctx, key, bytes.NewReader(payload))
	if err != nil {
		return err
	}
	defer func() {
		if derr := s.Delete(context.WithoutCancel(ctx), key, ""); derr != nil && err == nil {
			err = derr
		}
	}()
	sum := sha256.Sum256(payload)
	if info.Size != int64(len(payload)) || info.SHA256 != hex.EncodeToString(sum[:]) {
		return fmt.Errorf("put %s: stored %d bytes sha256 %s, want %d bytes sha256 %x",
			key, info.Size, info.SHA256, len(payload), sum)
	}
	obj, err := s.Open(ctx, key, "")
	if err != nil {
		return err
	}
	got, err := io.ReadAll(obj)
	obj.Close()
	if err != nil {
		return fmt.Errorf("read %s: %w", key, err)
	}
	if !bytes.Equal(got, payload) {
		return fmt.Errorf("read %s: got %d bytes that differ from the %d written", key, len(got), len(payload))
	}
	return nil
}

// RemoveStale removes files in .tmp last modified more than age ago:
// uploads a crash interrupted. A running upload writes its file at least
// once per chunk it receives, so only uploads stalled for age are removed.
func (s *Store) RemoveStale(ctx context.Context, age time.Duration) (int, error) {
	root, err := s.openRoot()
	if err != nil {
		return 0, fmt.Errorf("remove stale uploads in %s: %w", s, err)
	}
	defer root.Close()
	d, err := root.Open(tmpDir)
	if notFound(err) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("remove stale uploads in %s: %w", s, err)
	}
	entries, err := d.ReadDir(-1)
	d.Close()
	if err != nil {
		return 0, fmt.Errorf("remove stale uploads in %s: %w", s, err)
	}
	cutoff := time.Now().Add(-age)
	removed := 0
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return removed, fmt.Errorf("remove stale uploads in %s: %w", s, err)
		}
		if e.IsDir() {
			continue // never created by Put
		}
		name := path.Join(tmpDir, e.Name())
		st, err := root.Lstat(name)
		if notFound(err) {
			continue // published or removed meanwhile
		}
		if err != nil {
			return removed, fmt.Errorf("remove stale uploads in %s: %w", s, err)
		}
		if st.ModTime().After(cutoff) {
			continue
		}
		if err := root.Remove(name); err != nil {
			if notFound(err) {
				continue
			}
			return removed, fmt.Errorf("remove stale uploads in %s: %w", s, err)
		}
		removed++
	}
	return removed, nil
}
