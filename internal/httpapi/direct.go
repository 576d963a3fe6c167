package httpapi

import (
	"encoding/base64"
	"encoding/hex"
	"mime"
	"net/http"

	"github.com/flymodel/flymodel/internal/blob"
	"github.com/flymodel/flymodel/internal/registry"
)

// attachment is the Content-Disposition of a download saved as fileName.
func attachment(fileName string) string {
	return mime.FormatMediaType("attachment", map[string]string{"filename": fileName})
}

// setDigestHeaders announces a's sha256 (Digest, Repr-Digest) and its
// ETag: on a download, and on a redirect to one, so that the client can
// verify bytes it fetches elsewhere.
func setDigestHeaders(h http.Header, a registry.Artifact) {
	raw, _ := hex.DecodeString(a.SHA256)
	h.Set("Digest", "sha256="+a.SHA256)
	h.Set("Repr-Digest", "sha-256=:"+base64.StdEncoding.EncodeToString(raw)+":")
	h.Set("ETag", `"`+a.SHA256+`"`)
}

// redirectArtifact answers a GET with ?redirect=true by 307 Temporary
// Redirect to a presigned URL of a's object, valid for the configured
// presign TTL, carrying a's digests and ETag for the client to verify the
// bytes it fetches there. It reports done false, for the caller to stream
// the bytes as without the flag, when the request is not such a GET, when
// redirects are off, or when a's store has no presigned URLs (the
// filesystem). A missing or resized object is refused as a streamed
// download would refuse it.
func (s *server) redirectArtifact(w http.ResponseWriter, r *http.Request, a registry.Artifact, describe string) (done bool, err error) {
	want, err := boolQuery(r, "redirect")
	if err != nil || !want || r.Method != http.MethodGet || s.presignTTL <= 0 {
		return err != nil, err
	}
	u, stored, err := s.registry.DirectURL(r.Context(), a, describe, s.presignTTL,
		blob.PresignOptions{ContentType: a.ContentType, ContentDisposition: attachment(a.FileName)})
	switch {
	case err != nil:
		return true, err
	case u == "":
		return false, nil
	case stored != a.Size:
		return true, s.resizedBlob(r, describe, stored, a.Size)
	}
	h := w.Header()
	setDigestHeaders(h, a)
	h.Set("Location", u)
	// The URL expires: neither it nor this answer may be reused later.
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusTemporaryRedirect)
	return true, nil
}
