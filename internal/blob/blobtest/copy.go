package blobtest

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/flymodel/flymodel/internal/blob"
)

// hidden hides a store's type, so that no Copier recognises it as its own
// kind and blob.Copy streams.
type hidden struct{ blob.Store }

// wantNothingLeft checks that a refused copy left nothing: no object at
// key, and no temporary data.
func wantNothingLeft(t *testing.T, s blob.Store, key string) {
	t.Helper()
	WantAbsent(t, s, key)
	if n, err := s.RemoveStale(context.Background(), 0); err != nil || n != 0 {
		t.Fatalf("a refused copy left %d temporary items (err %v)", n, err)
	}
}

// testCopy is the section of the suite on blob.Copy, the placement of a
// blob of one store in another (or the same): by the store's own means
// between two stores of its kind, streamed otherwise; checked against the
// recorded size and sha256 either way.
func testCopy(t *testing.T, newStore func(t *testing.T) blob.Store) {
	ctx := context.Background()
	data := PatternBytes(7, 3<<20+17)
	put := func(t *testing.T, s blob.Store, key string) blob.Info {
		t.Helper()
		return Put(t, s, key, data)
	}
	check := func(t *testing.T, c blob.Copied, err error, dst blob.Store, key string) {
		t.Helper()
		if err != nil {
			t.Fatalf("copy: %v", err)
		}
		if c.Key != key || c.Size != int64(len(data)) || c.SHA256 != SHA256(data) {
			t.Fatalf("copied = %+v, want key %s, %d bytes, sha256 %s", c, key, len(data), SHA256(data))
		}
		if !bytes.Equal(Read(t, dst, key), data) {
			t.Fatal("the copy's bytes differ from the source's")
		}
		wantRecent(t, "copy", c.Modified)
	}

	t.Run("OwnMeans", func(t *testing.T) {
		src, dst := newStore(t), newStore(t)
		want := put(t, src, "source/a")
		c, err := blob.Copy(ctx, dst, "copied/a", src, "source/a", want)
		check(t, c, err, dst, "copied/a")
		if _, ok := blob.Unwrap(dst).(blob.Copier); ok && (c.How == blob.HowStream || c.How == "") {
			t.Errorf("copied by %q between two stores of one kind, want the store's own means", c.How)
		}
		if c.How == blob.HowLink || c.How == blob.HowServerCopy {
			if c.Transferred != 0 {
				t.Errorf("%s transferred %d bytes, want 0", c.How, c.Transferred)
			}
		}
		// The two live apart: deleting one leaves the other whole.
		if err := src.Delete(ctx, "source/a"); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(Read(t, dst, "copied/a"), data) {
			t.Fatal("deleting the source changed the copy")
		}
		want = put(t, src, "source/b")
		if _, err := blob.Copy(ctx, dst, "copied/b", src, "source/b", want); err != nil {
			t.Fatal(err)
		}
		if err := dst.Delete(ctx, "copied/b"); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(Read(t, src, "source/b"), data) {
			t.Fatal("deleting the copy changed the source")
		}
	})
	t.Run("SameStore", func(t *testing.T) {
		s := newStore(t)
		want := put(t, s, "source/a")
		c, err := blob.Copy(ctx, s, "copied/a", s, "source/a", want)
		check(t, c, err, s, "copied/a")
	})
	t.Run("Streamed", func(t *testing.T) {
		src, dst := newStore(t), newStore(t)
		want := put(t, src, "source/a")
		c, err := blob.Copy(ctx, dst, "copied/a", hidden{src}, "source/a", want)
		check(t, c, err, dst, "copied/a")
		if c.How != blob.HowStream || c.Transferred != int64(len(data)) {
			t.Errorf("copied = %+v, want streamed, %d bytes transferred", c, len(data))
		}
	})
	// A source whose bytes are not what was recorded is refused, by every
	// means of copying, and nothing is left at the target.
	for _, tt := range []struct {
		name string
		wrap func(blob.Store) blob.Store
	}{
		{"OwnMeans", func(s blob.Store) blob.Store { return s }},
		{"Streamed", func(s blob.Store) blob.Store { return hidden{s} }},
	} {
		t.Run("Altered"+tt.name, func(t *testing.T) {
			src, dst := newStore(t), newStore(t)
			want := put(t, src, "source/a")
			// Tampered in place: other bytes of the same size at the key.
			altered := bytes.Clone(data)
			altered[len(altered)/2] ^= 1
			Put(t, src, "source/a", altered)
			_, err := blob.Copy(ctx, dst, "copied/a", tt.wrap(src), "source/a", want)
			if !errors.Is(err, blob.ErrMismatch) {
				t.Fatalf("copy of altered bytes: %v, want ErrMismatch", err)
			}
			wantNothingLeft(t, dst, "copied/a")
			// Cut short, or longer than recorded.
			for _, size := range []int64{want.Size - 1, want.Size + 1} {
				w := want
				w.Size = size
				Put(t, src, "source/a", data)
				_, err := blob.Copy(ctx, dst, "copied/a", tt.wrap(src), "source/a", w)
				if !errors.Is(err, blob.ErrMismatch) {
					t.Fatalf("copy with recorded size %d of %d bytes: %v, want ErrMismatch", size, len(data), err)
				}
				wantNothingLeft(t, dst, "copied/a")
			}
		})
		t.Run("Missing"+tt.name, func(t *testing.T) {
			src, dst := newStore(t), newStore(t)
			want := blob.Info{Size: int64(len(data)), SHA256: SHA256(data)}
			_, err := blob.Copy(ctx, dst, "copied/a", tt.wrap(src), "source/a", want)
			if !errors.Is(err, blob.ErrNotFound) {
				t.Fatalf("copy of a missing source: %v, want ErrNotFound", err)
			}
			wantNothingLeft(t, dst, "copied/a")
		})
		t.Run("Cancelled"+tt.name, func(t *testing.T) {
			src, dst := newStore(t), newStore(t)
			want := put(t, src, "source/a")
			cctx, cancel := context.WithCancel(ctx)
			cancel()
			if _, err := blob.Copy(cctx, dst, "copied/a", tt.wrap(src), "source/a", want); !errors.Is(err, context.Canceled) {
				t.Fatalf("copy with a cancelled context: %v, want context.Canceled", err)
			}
			wantNothingLeft(t, dst, "copied/a")
		})
	}
}
