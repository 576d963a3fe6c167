package httpapi

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/flymodel/flymodel/api"
	"github.com/flymodel/flymodel/internal/blob"
	"github.com/flymodel/flymodel/internal/registry"
)

// VersionDigestHeader carries the content digest of the version an archive
// holds ("sha256:<hex>", as the version's digest): the digest of what is
// in the tar, whatever was uploaded meanwhile.
const VersionDigestHeader = "Version-Digest"

// handleVersionArchive streams a version's own artifacts as one tar: GET
// …/versions/{version}/archive. The archive is POSIX (PAX) with one regular
// file per artifact, named by the artifact's name (a name with "/" is a
// path; the folders have no entries of their own), by name, mode 0644,
// modified when the artifact was stored (to the second). Its length is
// known ahead (Content-Length). (No vendor PAX record carries the sha256:
// GNU tar warns about every one it does not know.)
//
// Each artifact is verified as it streams: when the bytes of one do not
// hash to its record (or its blob is gone or shorter), the transfer is
// aborted there, so the client sees a cut connection and a truncated
// tar, never a complete-looking archive. Only an artifact found broken
// before the first byte is sent (the first one, opened ahead) gets a
// problem answer.
func (s *server) handleVersionArchive(w http.ResponseWriter, r *http.Request) error {
	ref, err := versionRef(r)
	if err != nil {
		return err
	}
	content, err := s.registry.VersionContent(r.Context(), ref)
	if err != nil {
		return err
	}
	headers := make([]*tar.Header, len(content.Artifacts))
	length := int64(2 * tarBlock) // the end-of-archive marker
	for i, a := range content.Artifacts {
		headers[i] = tarHeader(a)
		n, err := tarHeaderLen(headers[i])
		if err != nil {
			return fmt.Errorf("archive of %s: artifact %s: %w", registry.VersionPath(ref.Namespace, ref.Model, ref.Version), a.Name, err)
		}
		length += n + (a.Size+tarBlock-1)/tarBlock*tarBlock
	}
	describe := func(a registry.Artifact) string { return registry.ArtifactPath(registry.Owner{Ref: ref}, a.Name) }
	// The first artifact is opened before the answer is committed: a store
	// that is down is a clean 503 rather than a cut transfer.
	var first blob.Object
	if len(content.Artifacts) > 0 {
		a := content.Artifacts[0]
		obj, err := s.registry.OpenArtifact(r.Context(), a, describe(a))
		if err != nil {
			return err
		}
		defer obj.Close()
		first = obj
	}

	h := w.Header()
	h.Set("Content-Type", "application/x-tar")
	h.Set("Content-Disposition", attachment(ref.Model+"-"+ref.Version+".tar"))
	h.Set("Content-Length", strconv.FormatInt(length, 10))
	if content.Digest != "" {
		h.Set(VersionDigestHeader, content.Digest)
	}
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "private, max-age=0, must-revalidate")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return nil
	}

	tw := tar.NewWriter(w)
	for i, a := range content.Artifacts {
		src := first
		if i > 0 {
			obj, err := s.registry.OpenArtifact(r.Context(), a, describe(a))
			if err != nil {
				s.abortArchive(r, describe(a), err)
			}
			src = obj
		}
		err := archiveEntry(tw, headers[i], src, a)
		src.Close()
		if err != nil {
			s.abortArchive(r, describe(a), err)
		}
	}
	if err := tw.Close(); err != nil {
		s.abortArchive(r, registry.VersionPath(ref.Namespace, ref.Model, ref.Version), err)
	}
	return nil
}

// tarBlock is the tar format's block size: headers take whole blocks, and
// file data is padded to one.
const tarBlock = 512

// tarHeader is the entry of artifact a.
func tarHeader(a registry.Artifact) *tar.Header {
	return &tar.Header{
		Typeflag: tar.TypeReg,
		Name:     a.Name,
		Size:     a.Size,
		Mode:     0o644,
		ModTime:  a.CreatedAt.Truncate(time.Second),
		Format:   tar.FormatPAX,
	}
}

// tarHeaderLen is how many bytes the tar writer writes for h, PAX
// extended header included.
func tarHeaderLen(h *tar.Header) (int64, error) {
	var c byteCounter
	if err := tar.NewWriter(&c).WriteHeader(h); err != nil {
		return 0, err
	}
	return c.n, nil
}

type byteCounter struct{ n int64 }

func (c *byteCounter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

// archiveEntry writes one artifact's entry, its bytes verified: the
// verifying reader fails the read that would deliver the last bytes of a
// blob that does not hash to a.SHA256 (or is shorter), so they never reach
// the tar.
func archiveEntry(tw *tar.Writer, h *tar.Header, obj blob.Object, a registry.Artifact) error {
	if size := obj.Info().Size; size != a.Size {
		return fmt.Errorf("%w: stored size %d, recorded %d", errIntegrity, size, a.Size)
	}
	if err := tw.WriteHeader(h); err != nil {
		return err
	}
	v := verifying(obj, a)
	n, err := io.Copy(tw, v)
	switch {
	case v.failed:
		return errIntegrity
	case err != nil:
		return err
	case n != a.Size:
		return fmt.Errorf("%w: %d bytes read, recorded %d", errIntegrity, n, a.Size)
	}
	return nil
}

// abortArchive cuts an archive transfer that failed after its answer was
// committed: the connection is closed without the end of the tar. Bytes
// that fail their record count as an integrity failure; anything else
// (a store gone, the client gone) is logged.
func (s *server) abortArchive(r *http.Request, artifact string, err error) {
	if errors.Is(err, errIntegrity) || errors.Is(err, api.ErrIntegrity) {
		s.integrityFailure(r, artifact, "archive aborted: "+err.Error())
	} else if r.Context().Err() == nil {
		s.logger.ErrorContext(r.Context(), "archive aborted", "artifact", artifact, "err", err,
			"request_id", requestIDFrom(r.Context()))
	}
	panic(http.ErrAbortHandler)
}
