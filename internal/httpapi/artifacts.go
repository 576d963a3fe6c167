package httpapi

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/flymodel/flymodel/api"
	"github.com/flymodel/flymodel/internal/auth"
	"github.com/flymodel/flymodel/internal/blob"
	"github.com/flymodel/flymodel/internal/registry"
)

// maxMetadataPart bounds the JSON part of a multipart upload.
const maxMetadataPart = 64 << 10

// artifactOwner reads the version (and experiment, when the route has one).
func artifactOwner(r *http.Request) (registry.Owner, error) {
	ref, err := versionRef(r)
	if err != nil {
		return registry.Owner{}, err
	}
	o := registry.Owner{Ref: ref}
	if _, ok := mux.Vars(r)["experiment"]; ok {
		if o.Experiment, err = pathName(r, "experiment"); err != nil {
			return registry.Owner{}, err
		}
	}
	return o, nil
}

// artifactName reads {name}: the rest of the path, segments unescaped. It
// refers to an artifact, which may have been stored before the naming
// rules of new names (registry.ValidateArtifactNameRef).
func artifactName(r *http.Request) (string, error) {
	raw := mux.Vars(r)["name"]
	segs := strings.Split(raw, "/")
	for i, s := range segs {
		u, err := url.PathUnescape(s)
		if err != nil || strings.Contains(u, "/") {
			return "", newProblem(kindInvalidName, fmt.Sprintf("artifact name %q is not a valid path", raw)).with(api.BadRequestProblem{Field: "name"})
		}
		segs[i] = u
	}
	name := strings.Join(segs, "/")
	if err := registry.ValidateArtifactNameRef(name); err != nil {
		return "", newProblem(kindInvalidName, "artifact name "+err.Error()).with(api.BadRequestProblem{Field: "name"})
	}
	return name, nil
}

// declaredDigests are the digests a client declared of an upload's bytes:
// sha256 (lowercase hex, "" for none), which the registry compares with
// what it stores, and the others it verifies as they stream.
type declaredDigests struct {
	sha256 string
	others []registry.Digest
}

// digestSizes are the algorithms the server verifies, with their digests'
// sizes in bytes.
var digestSizes = map[string]int{registry.DigestSHA256: sha256.Size, registry.DigestSHA512: sha512.Size, registry.DigestMD5: md5.Size}

// expectedDigests reads the digests the client declared of the upload's
// bytes: Repr-Digest and Content-Digest (RFC 9530, "sha-256=:base64:"),
// Digest (RFC 3230, "SHA-256=base64"), the original flymodel's
// "sha256=hex" in any of them, and Content-MD5 (RFC 1864, base64). The algorithms are
// sha-256, sha-512 and md5, in any letter case; any other, a value that is
// not a digest of its algorithm, or two values for one algorithm are
// refused (400), so that no digest a client declared goes unchecked.
// Content-Digest covers a multipart body as a whole, which is not what is
// stored: it is refused there.
func expectedDigests(r *http.Request, multipart bool) (declaredDigests, error) {
	found := map[string]string{}
	add := func(h, alg, val string, hexValue bool) error {
		size, ok := digestSizes[alg]
		if !ok {
			return newProblem(kindMalformed, fmt.Sprintf("%s: digest algorithm %q is not one this server verifies; declare sha-256, sha-512 or md5", h, alg)).
				with(api.BadRequestProblem{Field: h})
		}
		var raw []byte
		var err error
		if hexValue {
			raw, err = hex.DecodeString(val)
		} else {
			raw, err = base64.StdEncoding.DecodeString(strings.TrimSuffix(strings.TrimPrefix(val, ":"), ":"))
		}
		if err != nil || len(raw) != size {
			form := "the base64 of"
			if hexValue {
				form = "the hexadecimal digits of"
			}
			return newProblem(kindMalformed, fmt.Sprintf("%s: %s must be %s %d bytes", h, alg, form, size)).with(api.BadRequestProblem{Field: h})
		}
		sum := hex.EncodeToString(raw)
		if prior, ok := found[alg]; ok && prior != sum {
			return newProblem(kindMalformed, "the request declares two different "+alg+" digests")
		}
		found[alg] = sum
		return nil
	}
	headers := []string{"Repr-Digest", "Content-Digest", "Digest"}
	for _, h := range headers {
		values := r.Header.Values(h)
		if len(values) > 0 && multipart && h == "Content-Digest" {
			return declaredDigests{}, newProblem(kindMalformed, "Content-Digest: the digest of a multipart body is not verified; declare the file's digest in Repr-Digest or in the artifact part's sha256").
				with(api.BadRequestProblem{Field: h})
		}
		for _, v := range values {
			for item := range strings.SplitSeq(v, ",") {
				item, _, _ = strings.Cut(strings.TrimSpace(item), ";") // parameters
				if item == "" {
					continue
				}
				alg, val, ok := strings.Cut(item, "=")
				if !ok {
					return declaredDigests{}, newProblem(kindMalformed, fmt.Sprintf("%s: %q is not algorithm=digest", h, item)).with(api.BadRequestProblem{Field: h})
				}
				alg = strings.ToLower(strings.TrimSpace(alg))
				hexValue := alg == "sha256" // the original flymodel's form
				if hexValue {
					alg = registry.DigestSHA256
				}
				if err := add(h, alg, strings.TrimSpace(val), hexValue); err != nil {
					return declaredDigests{}, err
				}
			}
		}
	}
	for _, v := range r.Header.Values("Content-MD5") {
		if err := add("Content-MD5", registry.DigestMD5, strings.TrimSpace(v), false); err != nil {
			return declaredDigests{}, err
		}
	}
	d := declaredDigests{sha256: found[registry.DigestSHA256]}
	for _, alg := range []string{registry.DigestSHA512, registry.DigestMD5} {
		if sum, ok := found[alg]; ok {
			d.others = append(d.others, registry.Digest{Algorithm: alg, Hex: sum})
		}
	}
	return d, nil
}

// maxBoundary is the longest multipart boundary RFC 2046 (section 5.1.1)
// allows.
const maxBoundary = 70

// multipartOverhead allows for a multipart body's metadata part, part
// headers and boundaries beyond the file itself.
const multipartOverhead = maxMetadataPart + 64<<10

// checkLength refuses a declared body larger than the limit before reading
// it; the file itself is measured exactly while it streams.
func (s *server) checkLength(r *http.Request, overhead int64) error {
	if r.ContentLength > s.maxUpload+overhead {
		return newProblem(kindTooLarge, fmt.Sprintf("upload larger than the limit of %d bytes", s.maxUpload)).with(api.TooLargeProblem{Limit: s.maxUpload})
	}
	return nil
}

// writeArtifact answers an upload: 201 for a new artifact, 200 when the
// same bytes were already stored under that name.
func writeArtifact(w http.ResponseWriter, o registry.Owner, a registry.Artifact, created bool) error {
	w.Header().Set("Location", apiBase+registry.ArtifactPath(o, a.Name))
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return writeJSON(w, status, a)
}

// handlePutArtifact stores the raw request body: PUT …/artifacts/{name}
// with the content type in Content-Type and the rest in the query
// (format, encoding, file_name, extra as JSON).
func (s *server) handlePutArtifact(w http.ResponseWriter, r *http.Request) error {
	o, err := artifactOwner(r)
	if err != nil {
		return err
	}
	name, err := artifactName(r)
	if err != nil {
		return err
	}
	// An upload names a new artifact (or repeats one): the rules of new
	// names apply.
	if err := registry.ValidateArtifactName(name); err != nil {
		return newProblem(kindInvalidName, "artifact name "+err.Error()).with(api.BadRequestProblem{Field: "name"})
	}
	if err := s.checkLength(r, 0); err != nil {
		return err
	}
	digests, err := expectedDigests(r, false)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	in := registry.NewArtifact{
		Name: name, FileName: q.Get("file_name"), Format: q.Get("format"), Encoding: q.Get("encoding"),
		ContentType: r.Header.Get("Content-Type"), SHA256: digests.sha256, Digests: digests.others,
	}
	if !declaredContentType(in.ContentType) {
		in.ContentType = "" // let the format or the name's extension decide
	}
	if e := q.Get("extra"); e != "" {
		in.Extra = json.RawMessage(e)
	}
	a, created, err := s.registry.PutArtifact(r.Context(), o, in, r.Body)
	if err != nil {
		return err
	}
	return writeArtifact(w, o, a, created)
}

// handleUploadArtifact stores a multipart upload: POST …/artifacts with a
// part "artifact" (JSON metadata) and a part "file" (the bytes), in either
// order.
func (s *server) handleUploadArtifact(w http.ResponseWriter, r *http.Request) error {
	o, err := artifactOwner(r)
	if err != nil {
		return err
	}
	o, a, created, err := s.multipartUpload(r, func(meta []byte) (registry.Owner, registry.NewArtifact, error) {
		var m api.ArtifactUploadMetadata
		if err := decodePart(meta, &m); err != nil {
			return o, registry.NewArtifact{}, err
		}
		return o, registry.NewArtifact{Name: m.Name, FileName: m.FileName, ContentType: m.ContentType,
			Format: m.Format, Encoding: m.Encoding, Extra: m.Extra, SHA256: m.SHA256}, nil
	})
	if err != nil {
		return err
	}
	return writeArtifact(w, o, a, created)
}

// describeFunc reads the metadata part of an upload: where the bytes go
// and what they are.
type describeFunc func(meta []byte) (registry.Owner, registry.NewArtifact, error)

// multipartUpload stores a multipart body of exactly two parts, "artifact"
// (the JSON metadata) and "file", in either order. Metadata first, the
// file streams straight to its blob store; file first (the original
// flymodel's clients send that order), the file is staged in the server's
// temporary folder while it is hashed, and stored once the metadata has
// been read and checked. Either way memory stays flat, and a staged file
// is removed whatever the outcome.
func (s *server) multipartUpload(r *http.Request, describe describeFunc) (registry.Owner, registry.Artifact, bool, error) {
	fail := func(err error) (registry.Owner, registry.Artifact, bool, error) {
		return registry.Owner{}, registry.Artifact{}, false, err
	}
	if err := s.checkLength(r, multipartOverhead); err != nil {
		return fail(err)
	}
	digests, err := expectedDigests(r, true)
	if err != nil {
		return fail(err)
	}
	mediaType, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != "multipart/form-data" || params["boundary"] == "" {
		return fail(newProblem(kindMediaType, "the request body must be multipart/form-data with parts artifact and file"))
	}
	if n := len(params["boundary"]); n > maxBoundary {
		return fail(newProblem(kindMultipart, fmt.Sprintf("the multipart boundary is %d characters long: RFC 2046 allows at most %d", n, maxBoundary)))
	}
	// Go's multipart reader takes up to 10 MiB of part headers; the bytes
	// read around the file part are counted to hold them to what the
	// metadata needs.
	head := &countingReader{r: r.Body}
	mr := multipart.NewReader(head, params["boundary"])
	part, err := mr.NextPart()
	if err != nil {
		return fail(newProblem(kindMultipart, "missing parts \"artifact\" (JSON metadata) and \"file\""))
	}
	if head.n > maxMultipartHead {
		return fail(newProblem(kindTooLarge, fmt.Sprintf("the part headers hold more than %d bytes", maxMultipartHead)))
	}
	switch part.FormName() {
	case api.UploadMetadataPart:
	case api.UploadFilePart:
		return s.stagedUpload(r, mr, head, part, digests, describe)
	default:
		return fail(newProblem(kindMultipart, fmt.Sprintf("the first part must be \"artifact\" (JSON metadata) or \"file\", not %q", part.FormName())))
	}
	meta, err := readMetadata(part)
	if err != nil {
		return fail(err)
	}
	o, in, err := describe(meta)
	if err != nil {
		return fail(err)
	}
	if in.SHA256, err = oneDigest(in.SHA256, digests.sha256); err != nil {
		return fail(err)
	}
	in.Digests = digests.others
	file, err := mr.NextPart()
	if err != nil {
		return fail(newProblem(kindMultipart, "missing part \"file\" after \"artifact\""))
	}
	if file.FormName() != api.UploadFilePart {
		return fail(newProblem(kindMultipart, fmt.Sprintf("the second part must be \"file\", not %q", file.FormName())))
	}
	if head.n > maxMultipartHead {
		return fail(newProblem(kindTooLarge, fmt.Sprintf("the parts before the file hold more than %d bytes", maxMultipartHead)))
	}
	describeFile(&in, file)
	a, created, err := s.registry.PutArtifact(r.Context(), o, in, &lastPart{part: file, mr: mr})
	return o, a, created, err
}

// StagePrefix begins the name of every file staged in the temporary
// folder, so that the start-up sweep (RemoveStaleStaged) removes only
// those.
const StagePrefix = "flymodel-upload-"

// stagedUpload finishes a multipart upload whose file comes first: the
// file is written to a temporary file while it is hashed, then the
// metadata is read and the staged bytes stored under it. The temporary
// file is removed on every path out.
func (s *server) stagedUpload(r *http.Request, mr *multipart.Reader, head *countingReader, file *multipart.Part,
	digests declaredDigests, describe describeFunc) (_ registry.Owner, _ registry.Artifact, _ bool, err error) {
	staged, err := os.CreateTemp(s.tempDir, StagePrefix+"*")
	if err != nil {
		return registry.Owner{}, registry.Artifact{}, false, fmt.Errorf("stage upload in %s: %w", s.tempDir, err)
	}
	defer func() {
		staged.Close()
		if rerr := os.Remove(staged.Name()); rerr != nil && err == nil {
			s.logger.WarnContext(r.Context(), "removing a staged upload failed", "file", staged.Name(), "err", rerr)
		}
	}()
	fail := func(err error) (registry.Owner, registry.Artifact, bool, error) {
		return registry.Owner{}, registry.Artifact{}, false, err
	}
	h := sha256.New()
	src := &bodyErrors{r: io.LimitReader(file, s.maxUpload+1)}
	n, err := io.Copy(io.MultiWriter(staged, h), src)
	switch {
	case src.err != nil:
		return fail(&registry.BodyError{Err: src.err})
	case err != nil:
		return fail(fmt.Errorf("stage upload in %s: %w", s.tempDir, err))
	case n > s.maxUpload:
		return fail(&registry.TooLargeError{Limit: s.maxUpload})
	}
	sum := hex.EncodeToString(h.Sum(nil))

	afterFile := head.n
	part, err := mr.NextPart()
	switch {
	case errors.Is(err, io.EOF):
		return fail(newProblem(kindMultipart, "missing part \"artifact\" (JSON metadata) after \"file\""))
	case err != nil:
		return fail(newProblem(kindMultipart, "the multipart body does not go on properly after part \"file\""))
	case part.FormName() != api.UploadMetadataPart:
		return fail(newProblem(kindMultipart, fmt.Sprintf("the second part must be \"artifact\" (JSON metadata), not %q", part.FormName())))
	}
	meta, err := readMetadata(part)
	if err != nil {
		return fail(err)
	}
	if head.n-afterFile > maxMultipartHead {
		return fail(newProblem(kindTooLarge, fmt.Sprintf("the parts after the file hold more than %d bytes", maxMultipartHead)))
	}
	switch next, err := mr.NextPart(); {
	case err == nil:
		return fail(newProblem(kindMultipart, fmt.Sprintf("part %q after \"artifact\": an upload holds exactly two parts, artifact and file", next.FormName())))
	case !errors.Is(err, io.EOF):
		return fail(newProblem(kindMultipart, "the multipart body does not end properly after part \"artifact\""))
	}
	o, in, err := describe(meta)
	if err != nil {
		return fail(err)
	}
	if in.SHA256, err = oneDigest(in.SHA256, digests.sha256); err != nil {
		return fail(err)
	}
	// The other digests are verified as the staged bytes are stored (or,
	// when the artifact exists, re-read).
	in.Digests = digests.others
	if in.SHA256 != "" && in.SHA256 != sum {
		return fail(&registry.DigestMismatchError{Expected: in.SHA256, Actual: sum})
	}
	// Known now: an artifact already holding these bytes is answered
	// without storing them again.
	in.SHA256 = sum
	describeFile(&in, file)
	if _, err := staged.Seek(0, io.SeekStart); err != nil {
		return fail(fmt.Errorf("stage upload in %s: %w", s.tempDir, err))
	}
	a, created, err := s.registry.PutArtifact(r.Context(), o, in, staged)
	return o, a, created, err
}

// bodyErrors keeps the error of reading a request body, to tell the
// client's failures from the server's.
type bodyErrors struct {
	r   io.Reader
	err error
}

func (b *bodyErrors) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		b.err = err
	}
	return n, err
}

// readMetadata reads the part "artifact", up to maxMetadataPart bytes.
func readMetadata(part *multipart.Part) ([]byte, error) {
	meta, err := io.ReadAll(io.LimitReader(part, maxMetadataPart+1))
	if err != nil {
		return nil, newProblem(kindMultipart, "unreadable part \"artifact\"")
	}
	if len(meta) > maxMetadataPart {
		return nil, newProblem(kindTooLarge, fmt.Sprintf("part \"artifact\" is larger than %d bytes", maxMetadataPart))
	}
	return meta, nil
}

// oneDigest merges the digest of the metadata with that of the headers:
// either, or both when they agree.
func oneDigest(meta, header string) (string, error) {
	if header == "" {
		return meta, nil
	}
	if meta != "" && meta != header {
		return "", newProblem(kindMalformed, "the request declares two different digests")
	}
	return header, nil
}

// describeFile takes the file name and content type of the part "file"
// where the metadata gives none.
func describeFile(in *registry.NewArtifact, file *multipart.Part) {
	if in.FileName == "" {
		in.FileName = file.FileName()
	}
	if in.ContentType == "" {
		if ct := file.Header.Get("Content-Type"); declaredContentType(ct) {
			in.ContentType = ct
		}
	}
}

// declaredContentType reports whether a request's (or a file part's)
// Content-Type says what the bytes are. The generic application/octet-stream
// and the form types a client sends by default (curl --data-binary sends
// application/x-www-form-urlencoded; a form without parts is
// multipart/form-data) say nothing: the artifact's format or name decides.
func declaredContentType(ct string) bool {
	mediaType, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return ct != "" // malformed: kept, for the registry to refuse
	}
	switch mediaType {
	case "application/octet-stream", "application/x-www-form-urlencoded", "multipart/form-data":
		return false
	}
	return true
}

// maxMultipartHead bounds what an upload may send before its file part:
// the metadata part, its headers, and the reader's look-ahead.
const maxMultipartHead = 2*maxMetadataPart + 64<<10

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// lastPart reads the file part and, at its end, makes sure the body ends
// there too: a second file, or any part after it, fails the upload before
// anything is stored, instead of being silently dropped.
type lastPart struct {
	part *multipart.Part
	mr   *multipart.Reader
	// ended: the body ended properly. A reader may read on after an EOF
	// that came with the last bytes (io.ReadFull does), and the multipart
	// reader has nothing more to look at.
	ended bool
}

func (l *lastPart) Read(p []byte) (int, error) {
	if l.ended {
		return 0, io.EOF
	}
	n, err := l.part.Read(p)
	if err != io.EOF {
		return n, err
	}
	switch next, nerr := l.mr.NextPart(); {
	case nerr == io.EOF:
		l.ended = true
		return n, io.EOF
	case nerr == nil:
		return n, newProblem(kindMultipart, fmt.Sprintf("part %q after \"file\": an upload holds exactly two parts, artifact then file", next.FormName()))
	default:
		return n, newProblem(kindMultipart, "the multipart body does not end properly after part \"file\"")
	}
}

// decodePart decodes a JSON metadata part strictly.
func decodePart(meta []byte, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(meta))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		p := decodeProblem(err)
		if pr, ok := p.(*Problem); ok {
			pr.Detail = "part \"artifact\": " + pr.Detail
		}
		return p
	}
	if dec.More() {
		return newProblem(kindMalformed, "part \"artifact\" must hold one JSON object")
	}
	if p := strictJSON(meta); p != nil {
		p.Detail = "part \"artifact\": " + p.Detail
		return p
	}
	return nil
}

func (s *server) handleListArtifacts(w http.ResponseWriter, r *http.Request) error {
	o, err := artifactOwner(r)
	if err != nil {
		return err
	}
	page, err := pageRequest(r)
	if err != nil {
		return err
	}
	list, err := s.registry.ListArtifacts(r.Context(), o, page)
	if err != nil {
		return err
	}
	return writeList(w, list)
}

// handleGetArtifact downloads an artifact (GET and HEAD, with Range).
func (s *server) handleGetArtifact(w http.ResponseWriter, r *http.Request) error {
	o, err := artifactOwner(r)
	if err != nil {
		return err
	}
	name, err := artifactName(r)
	if err != nil {
		return err
	}
	a, err := s.registry.GetArtifact(r.Context(), o, name)
	if err != nil {
		return err
	}
	return s.serveArtifact(w, r, a, registry.ArtifactPath(o, name))
}

// serveArtifact streams an artifact's bytes, verifying them against the
// recorded sha256 as they go: on a mismatch the response is aborted before
// its last bytes, so a client never sees a complete transfer of wrong bytes.
func (s *server) serveArtifact(w http.ResponseWriter, r *http.Request, a registry.Artifact, describe string) error {
	if done, err := s.redirectArtifact(w, r, a, describe); done || err != nil {
		return err
	}
	obj, err := s.registry.OpenArtifact(r.Context(), a, describe)
	if err != nil {
		return err
	}
	defer obj.Close()
	if size := obj.Info().Size; size != a.Size {
		return s.resizedBlob(r, describe, size, a.Size)
	}
	h := w.Header()
	h.Set("Content-Type", a.ContentType)
	h.Set("Content-Disposition", attachment(a.FileName))
	setDigestHeaders(h, a)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "private, max-age=0, must-revalidate")
	v := verifying(obj, a)
	http.ServeContent(&rangeProblems{ResponseWriter: w, r: r, size: a.Size}, r, "", a.CreatedAt, v)
	if v.failed {
		s.integrityFailure(r, describe, "stored bytes do not hash to the recorded sha256")
		// Abort the connection: the response must not end cleanly.
		panic(http.ErrAbortHandler)
	}
	return nil
}

func (s *server) integrityFailure(r *http.Request, artifact, why string) {
	s.metrics.integrityFailure()
	s.logger.ErrorContext(r.Context(), "integrity error", "artifact", artifact, "reason", why,
		"request_id", requestIDFrom(r.Context()))
}

// resizedBlob counts and answers an artifact whose stored object is not
// of the recorded size, on a download and on a redirect to one.
func (s *server) resizedBlob(r *http.Request, describe string, stored, recorded int64) error {
	s.integrityFailure(r, describe, fmt.Sprintf("stored size %d, recorded %d", stored, recorded))
	return newProblem(kindBlobMissing, fmt.Sprintf("the stored bytes of artifact %s do not match its record", describe))
}

// errIntegrity withholds the last bytes of a response whose content does
// not hash to the recorded digest.
var errIntegrity = errors.New("artifact integrity check failed")

// verifyingReader hashes what is read sequentially from offset 0 and, at
// the end of the blob, fails the read that would deliver the last bytes
// when the digest differs. Reads of a range (after a seek elsewhere) cannot
// be verified and are passed through.
type verifyingReader struct {
	obj    blob.Object
	size   int64
	want   string
	h      hash.Hash
	hashed int64 // bytes hashed contiguously from 0
	pos    int64
	failed bool
}

// verifying reads obj verified against a's recorded size and sha256.
func verifying(obj blob.Object, a registry.Artifact) *verifyingReader {
	return &verifyingReader{obj: obj, size: a.Size, want: a.SHA256, h: sha256.New()}
}

func (v *verifyingReader) Seek(offset int64, whence int) (int64, error) {
	p, err := v.obj.Seek(offset, whence)
	v.pos = p
	return p, err
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	n, err := v.obj.Read(p)
	if v.pos == v.hashed && !v.failed {
		v.h.Write(p[:n])
		v.hashed += int64(n)
		end := v.hashed == v.size
		if errors.Is(err, io.EOF) && v.hashed < v.size {
			end = true // truncated
		}
		if end && hex.EncodeToString(v.h.Sum(nil)) != v.want {
			v.failed = true
			v.pos += int64(n)
			return 0, errIntegrity
		}
	}
	v.pos += int64(n)
	return n, err
}

// compatEndpoint is one of the original flymodel's pairs of artifact
// endpoints, which address an owner and its artifacts by id.
type compatEndpoint struct {
	kind  registry.ArtifactKind
	field string // the upload's JSON field naming the owner's id
}

var (
	compatVersion    = compatEndpoint{registry.VersionArtifact, "model_version"}
	compatExperiment = compatEndpoint{registry.ExperimentArtifact, "experiment"}
)

// compatMetadata reads the part "artifact" of either original upload
// (api.CompatVersionUploadMetadata, api.CompatExperimentUploadMetadata):
// the owner's id, which each endpoint takes under its own name and
// refuses under the other's, and what both take.
type compatMetadata struct {
	ModelVersion *int64 `json:"model_version"`
	Experiment   *int64 `json:"experiment"`
	api.CompatUploadMetadata
}

// handleCompatUpload is the original flymodel's upload: POST
// /upload/model-version-artifact or /upload/experiment-artifact, parts
// "artifact" ({"model_version": id, "artifact_name", "format", "encode",
// "extra"} or {"experiment": id, …}) and "file", in either order (its
// clients send the file first).
//
// As the original, it answers 200 with the artifact whether it was
// created or already held those bytes, and names the download after the
// artifact (the file part's name is the client's local file). Formats and
// encodings are also taken as the original's clients spell them, the
// names of its GraphQL enums (JSON, MP_4, LZ_4, TZG, …).
func (s *server) handleCompatUpload(c compatEndpoint) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		o, a, _, err := s.multipartUpload(r, func(meta []byte) (registry.Owner, registry.NewArtifact, error) {
			var m compatMetadata
			if err := decodePart(meta, &m); err != nil {
				return registry.Owner{}, registry.NewArtifact{}, err
			}
			in := registry.NewArtifact{Name: m.ArtifactName, Format: compatFormat(m.Format), Encoding: compatEncoding(m.Encode),
				Extra: m.Extra, SHA256: m.SHA256}
			if m.ArtifactName != "" {
				in.FileName = path.Base(m.ArtifactName)
			}
			id := map[string]*int64{"model_version": m.ModelVersion, "experiment": m.Experiment}[c.field]
			if id == nil || (m.ModelVersion != nil && m.Experiment != nil) {
				return registry.Owner{}, in, newProblem(kindMalformed, fmt.Sprintf(`part "artifact" must name %q (an id)`, c.field))
			}
			o, err := s.registry.OwnerByID(r.Context(), c.kind, *id)
			if err == nil {
				err = s.authorizeByID(w, r, o.Ref.Namespace, auth.Write, registry.OwnerNotFound(c.kind, *id))
			}
			return o, in, err
		})
		if err != nil {
			return err
		}
		w.Header().Set("Location", apiBase+registry.ArtifactPath(o, a.Name))
		return writeJSON(w, http.StatusOK, a)
	}
}

// compatFormat reads a format as the original flymodel's clients send it:
// the name of its GraphQL enum value (JSON, MP_4), or as flymodel spells
// it. Anything else is left for the registry to refuse.
func compatFormat(f string) string {
	if v := compatSpelling(f); slices.Contains(api.Formats, v) {
		return v
	}
	return f
}

// compatEncoding is compatFormat for encodings; the original's enum
// spells tgz TZG.
func compatEncoding(e string) string {
	v := compatSpelling(e)
	if v == "tzg" {
		v = "tgz"
	}
	if slices.Contains(api.Encodings, v) {
		return v
	}
	return e
}

// compatSpelling undoes the original's enum spelling: upper case, and an
// underscore before a digit (MP_4, LZ_4).
func compatSpelling(s string) string {
	return strings.ReplaceAll(strings.ToLower(s), "_", "")
}

// handleCompatDownload is the original flymodel's download: GET
// /download/model-version-artifact?artifact_id=N (or experiment-artifact).
func (s *server) handleCompatDownload(c compatEndpoint) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := strconv.ParseInt(r.URL.Query().Get("artifact_id"), 10, 64)
		if err != nil || id < 1 {
			return newProblem(kindMalformed, "query parameter artifact_id must be a positive integer").with(api.BadRequestProblem{Field: "artifact_id"})
		}
		a, o, err := s.registry.ArtifactByID(r.Context(), c.kind, id)
		if err != nil {
			return err
		}
		if err := s.authorizeByID(w, r, o.Ref.Namespace, auth.Read, registry.ArtifactNotFound(c.kind, id)); err != nil {
			return err
		}
		return s.serveArtifact(w, r, a, fmt.Sprintf("%s?artifact_id=%d", r.URL.Path, id))
	}
}

// authorizeByID is authorize for the original's routes, which name a
// resource by id: a caller that may not even read the resource's namespace
// is answered notFound, as for an id that does not exist (a refused change
// is still audited as denied), so that an id tells it nothing of another
// namespace — not that it exists, nor its namespace's name.
func (s *server) authorizeByID(w http.ResponseWriter, r *http.Request, ns string, need auth.Role, notFound error) error {
	p := principalFrom(r.Context())
	if p.Allows(ns, auth.Read) {
		return s.authorize(w, r, ns, need)
	}
	if !p.Anonymous {
		_ = s.refuse(w, r, p, ns, need) // for its audit record
	}
	return notFound
}

// isTimeout reports a request body that stalled past the read deadline.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() && !errors.Is(err, context.DeadlineExceeded)
}

// RemoveStaleStaged removes the staged uploads (StagePrefix…) in dir that
// have not been written for olderThan: left by a server that stopped
// mid-upload. An upload in progress writes its file continuously, so a
// second server sharing dir loses nothing. It returns how many it removed.
func RemoveStaleStaged(dir string, olderThan time.Duration) (int, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("sweep %s: %w", dir, err)
	}
	removed := 0
	cutoff := time.Now().Add(-olderThan)
	for _, e := range entries {
		if !e.Type().IsRegular() || !strings.HasPrefix(e.Name(), StagePrefix) {
			continue
		}
		info, err := e.Info()
		if err != nil || info.ModTime().After(cutoff) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
			return removed, fmt.Errorf("sweep %s: %w", dir, err)
		}
		removed++
	}
	return removed, nil
}

// rangeProblems answers the 416 of http.ServeContent, which writes a
// text/plain body, as a problem like every other error: the Range of
// the request lies outside the artifact's bytes (Content-Range: bytes
// */size, set by ServeContent, says how many there are).
type rangeProblems struct {
	http.ResponseWriter
	r    *http.Request
	size int64
	// answered: the problem is written; ServeContent's text is dropped.
	answered bool
}

func (w *rangeProblems) WriteHeader(code int) {
	if code != http.StatusRequestedRangeNotSatisfiable || w.answered {
		w.ResponseWriter.WriteHeader(code)
		return
	}
	w.answered = true
	h := w.Header()
	for _, k := range []string{"Content-Disposition", "Digest", "Repr-Digest", "ETag"} {
		h.Del(k) // of the artifact, not of this answer
	}
	writeProblem(w.ResponseWriter, w.r, newProblem(kindRange,
		fmt.Sprintf("the range %q lies outside the artifact's %d bytes", clip(w.r.Header.Get("Range")), w.size)))
}

func (w *rangeProblems) Write(p []byte) (int, error) {
	if w.answered {
		return len(p), nil
	}
	return w.ResponseWriter.Write(p)
}

// ReadFrom keeps the writer's own ReadFrom on the way of the bytes.
func (w *rangeProblems) ReadFrom(src io.Reader) (int64, error) {
	if w.answered {
		return io.Copy(io.Discard, src)
	}
	return io.Copy(w.ResponseWriter, src)
}

// Unwrap gives http.ResponseController access to the underlying writer.
func (w *rangeProblems) Unwrap() http.ResponseWriter { return w.ResponseWriter }

var kindRange = kind(api.ProblemRangeNotSatisfiable)
