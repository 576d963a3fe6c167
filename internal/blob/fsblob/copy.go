package fsblob

import (
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
	"time"

	"github.com/flymodel/flymodel/internal/blob"
)

var _ blob.Copier = (*Store)(nil)

// CopyFrom copies from another filesystem store. The source file is opened
// through its root and hashed first, so that bytes that do not match want
// are refused before anything is written; then it is hard-linked into this
// store when both roots are on one file system (no byte copied: the two
// names share the file), else copied, hashed again as it goes, and
// fsynced with its folder. See blob.Copier.
func (s *Store) CopyFrom(ctx context.Context, key string, src blob.Store, srcKey string, want blob.Info) (blob.Copied, bool, error) {
	from, ok := src.(*Store)
	if !ok {
		return blob.Copied{}, false, nil
	}
	c, err := s.copyFrom(ctx, key, from, srcKey, want)
	if err != nil {
		return blob.Copied{}, true, fmt.Errorf("copy %s %s to %s %s: %w", from, srcKey, s, key, err)
	}
	return c, true, nil
}

func (s *Store) copyFrom(ctx context.Context, key string, from *Store, srcKey string, want blob.Info) (blob.Copied, error) {
	if err := checkKey(key); err != nil {
		return blob.Copied{}, err
	}
	if err := checkKey(srcKey); err != nil {
		return blob.Copied{}, err
	}
	srcRoot, err := from.openRoot()
	if err != nil {
		return blob.Copied{}, err
	}
	defer srcRoot.Close()
	f, err := srcRoot.Open(filepath.FromSlash(srcKey))
	if notFound(err) {
		return blob.Copied{}, blob.ErrNotFound
	}
	if err != nil {
		return blob.Copied{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return blob.Copied{}, err
	}
	if !st.Mode().IsRegular() {
		return blob.Copied{}, blob.ErrNotFound
	}
	dstRoot, err := s.openRoot()
	if err != nil {
		return blob.Copied{}, err
	}
	defer dstRoot.Close()

	// The source's bytes are checked before anything is made of them.
	hashed, err := hashFile(ctx, f, want)
	if err != nil {
		return blob.Copied{}, err
	}
	if c, ok, err := s.link(dstRoot, key, from, srcKey, st); ok || err != nil {
		c.Hashed, c.SHA256 = hashed, want.SHA256
		return c, err
	}
	// Another file system: copy, hashing again what is written.
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return blob.Copied{}, err
	}
	info, err := put(ctx, dstRoot, key, blob.NewVerifier(f, want))
	if err != nil {
		return blob.Copied{}, err
	}
	return blob.Copied{Info: info, How: blob.HowCopy, Transferred: info.Size, Hashed: hashed}, nil
}

// hashFile reads f to its end and checks it against want.
func hashFile(ctx context.Context, f *os.File, want blob.Info) (int64, error) {
	bp := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(bp)
	h := sha256.New()
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		m, err := f.Read(*bp)
		h.Write((*bp)[:m])
		n += int64(m)
		if n > want.Size {
			break
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return n, fmt.Errorf("read source: %w", err)
		}
	}
	if sum := hex.EncodeToString(h.Sum(nil)); n != want.Size || sum != want.SHA256 {
		return n, &blob.MismatchError{Want: want, Size: n, SHA256: sum}
	}
	return n, nil
}

// link hard-links the source file (whose stat is st) into .tmp and
// publishes it at key. ok is false when the file systems differ (or do not
// link), with nothing left behind.
func (s *Store) link(dstRoot *os.Root, key string, from *Store, srcKey string, st fs.FileInfo) (blob.Copied, bool, error) {
	if err := dstRoot.Mkdir(tmpDir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return blob.Copied{}, false, fmt.Errorf("create temporary folder: %w", err)
	}
	tmp := path.Join(tmpDir, "link-"+rand.Text())
	// os.Root cannot link across roots: link by path, then make sure the
	// new name is the very file that was opened and hashed through the
	// source root (a path swapped meanwhile, or a planted link, is not).
	err := os.Link(filepath.Join(from.dir, filepath.FromSlash(srcKey)), filepath.Join(s.dir, filepath.FromSlash(tmp)))
	if err != nil {
		return blob.Copied{}, false, nil // EXDEV, EPERM, …: copy instead
	}
	linked, err := dstRoot.Lstat(tmp)
	if err != nil || !os.SameFile(linked, st) {
		_ = dstRoot.Remove(tmp)
		return blob.Copied{}, false, nil
	}
	// The link shares the source's modification time, which may be old:
	// garbage collection spares only recent objects, so make it recent
	// (for both names; an older source only gets a later collection).
	now := time.Now()
	if err := dstRoot.Chtimes(tmp, now, now); err != nil {
		_ = dstRoot.Remove(tmp)
		return blob.Copied{}, true, fmt.Errorf("touch link: %w", err)
	}
	renamed, err := publish(dstRoot, tmp, key)
	if err != nil {
		if renamed {
			_ = dstRoot.Remove(filepath.FromSlash(key))
		} else {
			_ = dstRoot.Remove(tmp)
		}
		return blob.Copied{}, true, err
	}
	return blob.Copied{Info: blob.Info{Key: key, Size: st.Size(), Modified: now}, How: blob.HowLink}, true, nil
}
