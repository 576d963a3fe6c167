package s3blob

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"

	"github.com/minio/minio-go/v7"

	"github.com/flymodel/flymodel/internal/blob"
)

var _ blob.Copier = (*Store)(nil)

// MaxServerCopy is the largest object one CopyObject request copies (S3's
// limit). A larger one is streamed: a multipart copy's checksum is not the
// sha256 of the whole object, so it could not be checked without reading
// it back anyway.
const MaxServerCopy = 5 << 30

// CopyFrom copies from another bucket of the same server (endpoint and
// credentials) with one CopyObject request that asks the server for the
// SHA256 checksum of the bytes it copied (x-amz-checksum-algorithm), then a
// HEAD of the copy for its size: no byte passes through this process. A
// checksum that is not want.SHA256 (a source altered in its bucket) or
// another size removes the copy, with its version id, and is
// blob.ErrMismatch. A server that answers without the checksum makes
// CopyFrom read the copy back to hash it (Copied.Hashed says so). Another server,
// another kind of store, or an object over MaxServerCopy: ok is false.
func (s *Store) CopyFrom(ctx context.Context, key string, src blob.Store, srcKey string, want blob.Info) (blob.Copied, bool, error) {
	from, ok := src.(*Store)
	if !ok || from.server != s.server || want.Size > MaxServerCopy {
		return blob.Copied{}, false, nil
	}
	if err := blob.ValidateKey(key); err != nil {
		return blob.Copied{}, true, fmt.Errorf("copy to %q: %w", key, err)
	}
	if err := blob.ValidateKey(srcKey); err != nil {
		return blob.Copied{}, true, fmt.Errorf("copy from %q: %w", srcKey, err)
	}
	commit, sent := traceSent(ctx)
	up, err := s.client.CopyObject(commit,
		minio.CopyDestOptions{Bucket: s.bucket, Object: key, ChecksumType: minio.ChecksumSHA256},
		minio.CopySrcOptions{Bucket: from.bucket, Object: srcKey})
	if err != nil {
		s.removeIfCommitted(ctx, key, err, sent)
		if resp := minio.ToErrorResponse(err); resp.Code == "NoSuchKey" || resp.Code == "NoSuchVersion" {
			return blob.Copied{}, true, fmt.Errorf("copy %s/%s: %w", from, srcKey, blob.ErrNotFound)
		}
		return blob.Copied{}, true, s.mapErr("copy from "+from.String()+"/"+srcKey+" to", key, err)
	}
	c := blob.Copied{Info: blob.Info{Key: key, Size: want.Size, VersionID: up.VersionID, Modified: up.LastModified}, How: blob.HowServerCopy}
	sum := ""
	if raw, err := base64.StdEncoding.DecodeString(up.ChecksumSHA256); err == nil && len(raw) == 32 {
		sum = hex.EncodeToString(raw)
	} else {
		// No checksum from the server: read the copy back to hash it.
		obj, err := s.Open(ctx, key)
		if err == nil {
			var n int64
			n, err = io.Copy(io.Discard, blob.NewVerifier(obj, want))
			obj.Close()
			c.Hashed = n
			if err == nil {
				sum = want.SHA256
			}
		}
		if err != nil {
			s.purge(ctx, key, up.VersionID)
			return blob.Copied{}, true, fmt.Errorf("copy %s/%s to %s/%s: check the copy: %w", from, srcKey, s, key, err)
		}
	}
	size := want.Size
	if sum == want.SHA256 && c.Hashed == 0 {
		// The checksum vouches for the bytes; a HEAD of the copy for their
		// number (a record whose size and sha256 disagree is refused too).
		st, err := s.client.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{VersionID: up.VersionID})
		if err != nil {
			s.purge(ctx, key, up.VersionID)
			return blob.Copied{}, true, s.mapErr("check the copy", key, err)
		}
		size = st.Size
	}
	if sum != want.SHA256 || size != want.Size {
		s.purge(ctx, key, up.VersionID)
		return blob.Copied{}, true, fmt.Errorf("copy %s/%s to %s/%s: the server copied %d bytes hashing to sha256 %s: %w",
			from, srcKey, s, key, size, sum, &blob.MismatchError{Want: want, Size: size, SHA256: sum})
	}
	c.SHA256 = sum
	return c, true, nil
}

// purge removes key's version for good (a copy nothing will reference),
// even when ctx has ended; what it cannot remove, garbage collection will.
func (s *Store) purge(ctx context.Context, key, versionID string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	_ = s.client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{VersionID: versionID})
}
