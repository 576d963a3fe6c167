// Package blob stores bytes and knows nothing of models: the Store
// interface that the filesystem and S3 stores implement, and its errors.
//
// Writes are atomic (a temporary file renamed into place on disk, one
// completed PUT or multipart upload on S3) and hashed while they stream, so
// a Put returns the size and sha256 of exactly what was stored.
package blob

import (
	"context"
	"errors"
	"io"
	"time"
)

// Errors every store maps its failures to. Test with errors.Is.
var (
	ErrNotFound   = errors.New("blob not found")
	ErrInvalidKey = errors.New("invalid blob key")
)

// Info describes a stored blob.
type Info struct {
	Key       string
	Size      int64
	SHA256    string // lowercase hex
	VersionID string // the storage's object version, "" when unversioned
	Modified  time.Time
}

// Store is a flat namespace of keys ("sha256/ab/abcd…") holding bytes.
type Store interface {
	// Put streams r (of unknown length) to key and returns what was stored.
	// Nothing is visible at key until the whole stream was written.
	Put(ctx context.Context, key string, r io.Reader) (Info, error)
	// Open returns a reader of the blob that can seek (for Range requests).
	Open(ctx context.Context, key string) (io.ReadSeekCloser, Info, error)
	// Stat returns the blob's Info without its content.
	Stat(ctx context.Context, key string) (Info, error)
	// Delete removes key; deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// List calls fn for every key under prefix, for garbage collection.
	List(ctx context.Context, prefix string, fn func(Info) error) error
}
