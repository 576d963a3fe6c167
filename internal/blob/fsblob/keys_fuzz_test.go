package fsblob_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flymodel/flymodel/internal/blob"
	"github.com/flymodel/flymodel/internal/blob/fsblob"
)

// FuzzKeys drives Put, Stat, Open and Delete with arbitrary keys: each either
// refuses the key with blob.ErrInvalidKey or works strictly inside the root.
func FuzzKeys(f *testing.F) {
	for _, k := range []string{
		"ab/cd/ef", "blobs/0123abcd", "a", "../escape", "a/../../escape", "/abs", "a//b", ".tmp/x",
		`a\..\b`, "a\x00b", "%2e%2e/x", "a/", strings.Repeat("x", 256), "ünïcode",
	} {
		f.Add(k)
	}
	parent := f.TempDir()
	root := filepath.Join(parent, "root")
	s, err := fsblob.New(root)
	if err != nil {
		f.Fatal(err)
	}
	ctx := context.Background()
	if err := s.Ensure(ctx); err != nil {
		f.Fatal(err)
	}
	payload := []byte("fuzz payload")

	f.Fuzz(func(t *testing.T, key string) {
		valid := blob.ValidateKey(key) == nil && !hasLongSegment(key)
		refused := func(op string, err error) bool {
			t.Helper()
			if !valid {
				if !errors.Is(err, blob.ErrInvalidKey) {
					t.Fatalf("%s(%q) = %v, want blob.ErrInvalidKey", op, key, err)
				}
				return true
			}
			if errors.Is(err, blob.ErrInvalidKey) {
				t.Fatalf("%s(%q) refused a valid key: %v", op, key, err)
			}
			return false
		}
		defer assertInside(t, parent, root, key)

		info, err := s.Put(ctx, key, bytes.NewReader(payload))
		if refused("Put", err) {
			_, err = s.Stat(ctx, key, "")
			refused("Stat", err)
			_, err = s.Open(ctx, key, "")
			refused("Open", err)
			refused("Delete", s.Delete(ctx, key, ""))
			return
		}
		if err != nil {
			t.Fatalf("Put(%q): %v", key, err)
		}
		if info.Key != key || info.Size != int64(len(payload)) {
			t.Fatalf("Put(%q) = %+v", key, info)
		}
		// The blob is the file at root/key, nowhere else.
		if got, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(key))); err != nil || !bytes.Equal(got, payload) {
			t.Fatalf("file for key %q: %q, %v", key, got, err)
		}
		if st, err := s.Stat(ctx, key, ""); err != nil || st.Size != int64(len(payload)) {
			t.Fatalf("Stat(%q) = %+v, %v", key, st, err)
		}
		obj, err := s.Open(ctx, key, "")
		if err != nil {
			t.Fatalf("Open(%q): %v", key, err)
		}
		got, err := io.ReadAll(obj)
		obj.Close()
		if err != nil || !bytes.Equal(got, payload) {
			t.Fatalf("Open(%q) read %q, %v", key, got, err)
		}
		if err := s.Delete(ctx, key, ""); err != nil {
			t.Fatalf("Delete(%q): %v", key, err)
		}
		if _, err := s.Stat(ctx, key, ""); !errors.Is(err, blob.ErrNotFound) {
			t.Fatalf("Stat(%q) after Delete = %v, want ErrNotFound", key, err)
		}
	})
}

func hasLongSegment(key string) bool {
	for seg := range strings.SplitSeq(key, "/") {
		if len(seg) > 255 {
			return true
		}
	}
	return false
}

// assertInside walks parent and fails on anything but root and what is
// below it; below root, only .tmp may remain, and it must be empty (each
// input deletes what it stored).
func assertInside(t *testing.T, parent, root, key string) {
	t.Helper()
	err := filepath.WalkDir(parent, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == parent || p == root || strings.HasPrefix(p, root+string(filepath.Separator)) {
			if d.Type()&fs.ModeSymlink != 0 {
				t.Errorf("key %q: symlink %s", key, p)
			}
			return nil
		}
		t.Errorf("key %q: %s exists outside the root %s", key, p, root)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != ".tmp" {
			t.Errorf("key %q: %s left in the root", key, e.Name())
		}
	}
	if tmp, _ := os.ReadDir(filepath.Join(root, ".tmp")); len(tmp) != 0 {
		t.Errorf("key %q: temporary files left: %v", key, tmp)
	}
	if t.Failed() {
		t.FailNow()
	}
}
