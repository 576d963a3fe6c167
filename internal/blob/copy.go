package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
)

// ErrMismatch is a source blob whose bytes are not the size or do not hash
// to the sha256 they were recorded with (altered, or cut short): Copy
// refuses to copy them.
var ErrMismatch = errors.New("blob does not match its recorded size and sha256")

// How a copy was made (Copied.How).
const (
	// HowLink: a hard link on the same file system; no byte was copied,
	// the source's bytes were read once to hash them.
	HowLink = "link"
	// HowServerCopy: the storage server copied the object itself and
	// computed the sha256 of the copied bytes; no byte passed through
	// this process.
	HowServerCopy = "server-copy"
	// HowCopy: this process copied a file to another file system of the
	// same machine, hashing it as it went.
	HowCopy = "copy"
	// HowStream: this process read the source from one store and wrote it
	// to the other (different kinds of store, or different servers),
	// hashing it as it went.
	HowStream = "stream"
)

// Copied is what a copy stored and how.
type Copied struct {
	Info
	// How is one of the How* constants.
	How string
	// Transferred counts the bytes this process read from the source and
	// wrote to the target; Hashed the bytes it read only to hash them.
	Transferred, Hashed int64
}

// Copier is a Store that can place a copy of another store's blob by its
// own means — a hard link, a server-side copy — when the two stores allow
// it.
type Copier interface {
	// CopyFrom places at key a copy of the blob at srcKey of src, which
	// must be want.Size bytes hashing to want.SHA256. It checks the bytes
	// it copies: a source that does not match is ErrMismatch, a missing
	// one ErrNotFound, and either way nothing is at key afterwards. ok is
	// false, with nothing done, when it cannot copy from src itself
	// (another kind of store, another server or file system, too large
	// for one server-side copy): Copy then streams.
	CopyFrom(ctx context.Context, key string, src Store, srcKey string, want Info) (c Copied, ok bool, err error)
}

// Copy places at key of dst a checked copy of the blob at srcKey of src,
// which must be want.Size bytes hashing to want.SHA256: by dst's own means
// when it is a Copier that can copy from src, else streamed through this
// process and hashed as it goes. A source that does not match is
// ErrMismatch and a missing one ErrNotFound, and then nothing is at key.
// Like Put, Copy writes key only; callers give it a fresh one.
func Copy(ctx context.Context, dst Store, key string, src Store, srcKey string, want Info) (Copied, error) {
	d, s := Unwrap(dst), Unwrap(src)
	if c, ok := d.(Copier); ok {
		copied, ok, err := c.CopyFrom(ctx, key, s, srcKey, want)
		if ok || err != nil {
			return copied, err
		}
	}
	return stream(ctx, dst, key, src, srcKey, want)
}

// Unwrap returns the store a wrapper (such as the tracing one) wraps, all
// the way down; a store that wraps nothing is returned as it is.
func Unwrap(s Store) Store {
	for {
		w, ok := s.(interface{ Unwrap() Store })
		if !ok {
			return s
		}
		s = w.Unwrap()
	}
}

func stream(ctx context.Context, dst Store, key string, src Store, srcKey string, want Info) (Copied, error) {
	obj, err := src.Open(ctx, srcKey)
	if err != nil {
		return Copied{}, fmt.Errorf("copy %s %s: %w", src, srcKey, err)
	}
	defer obj.Close()
	v := NewVerifier(obj, want)
	info, err := dst.Put(ctx, key, v)
	if err != nil {
		return Copied{}, fmt.Errorf("copy %s %s to %s %s: %w", src, srcKey, dst, key, err)
	}
	return Copied{Info: info, How: HowStream, Transferred: info.Size}, nil
}

// Verifier reads a blob's bytes and fails at their end, with ErrMismatch,
// when they are not want.Size bytes hashing to want.SHA256 (or as soon as
// they exceed want.Size): a Put fed by it stores nothing that does not
// match.
type Verifier struct {
	r    io.Reader
	want Info
	h    hash.Hash
	n    int64
}

// NewVerifier returns a Verifier over r.
func NewVerifier(r io.Reader, want Info) *Verifier {
	return &Verifier{r: r, want: want, h: sha256.New()}
}

func (v *Verifier) Read(p []byte) (int, error) {
	n, err := v.r.Read(p)
	v.h.Write(p[:n])
	v.n += int64(n)
	if v.n > v.want.Size {
		return 0, v.mismatch()
	}
	if err == io.EOF {
		if v.n != v.want.Size || hex.EncodeToString(v.h.Sum(nil)) != v.want.SHA256 {
			return n, v.mismatch()
		}
	}
	return n, err
}

func (v *Verifier) mismatch() error {
	return &MismatchError{Want: v.want, Size: v.n, SHA256: hex.EncodeToString(v.h.Sum(nil))}
}

// MismatchError is ErrMismatch with what was expected and found.
type MismatchError struct {
	Want Info
	// Size and SHA256 are what was found (SHA256 over the bytes read,
	// which stop early when there are more than Want.Size).
	Size   int64
	SHA256 string
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("%v: want %d bytes sha256 %s, found %d bytes sha256 %s", ErrMismatch, e.Want.Size, e.Want.SHA256, e.Size, e.SHA256)
}

// Is makes errors.Is(err, ErrMismatch) true.
func (e *MismatchError) Is(target error) bool { return target == ErrMismatch }
