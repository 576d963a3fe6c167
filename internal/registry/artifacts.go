package registry

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/flymodel/flymodel/api"
	"github.com/flymodel/flymodel/internal/blob"
	"github.com/flymodel/flymodel/internal/db"
)

// Formats are the known artifact formats (DESIGN.md).
var Formats = []string{"json", "jsonl", "arrow", "parquet", "msgpack", "xml", "csv", "xls", "jpeg",
	"png", "wav", "mov", "mp4", "pdf", "html", "txt", "md"}

// Encodings are the known artifact encodings; the encoding is metadata
// only: flymodel stores and serves the bytes as they were uploaded.
var Encodings = []string{"uncompressed", "zip", "gzip", "tar", "tgz", "snappy", "lz4", "zstd"}

// formatTypes is the content type of each format, used when an upload does
// not name one.
var formatTypes = map[string]string{
	"json": "application/json", "jsonl": "application/jsonl", "arrow": "application/vnd.apache.arrow.file",
	"parquet": "application/vnd.apache.parquet", "msgpack": "application/msgpack", "xml": "application/xml",
	"csv": "text/csv", "xls": "application/vnd.ms-excel", "jpeg": "image/jpeg", "png": "image/png",
	"wav": "audio/wav", "mov": "video/quicktime", "mp4": "video/mp4", "pdf": "application/pdf",
	"html": "text/html", "txt": "text/plain", "md": "text/markdown",
}

// DefaultContentType is the content type of an artifact with neither a
// declared content type nor a known format.
const DefaultContentType = "application/octet-stream"

// Artifact is a stored file of a version or an experiment.
type Artifact struct {
	ID           int64           `json:"id"`
	VersionID    int64           `json:"version_id,omitempty"`
	ExperimentID int64           `json:"experiment_id,omitempty"`
	Name         string          `json:"name"`
	FileName     string          `json:"file_name"`
	ContentType  string          `json:"content_type"`
	Format       *string         `json:"format"`
	Encoding     string          `json:"encoding"`
	Extra        json.RawMessage `json:"extra,omitempty"`
	SHA256       string          `json:"sha256"`
	Size         int64           `json:"size"`
	Blob         int64           `json:"blob"`
	CreatedAt    time.Time       `json:"created_at"`

	bucket, key string
}

// artifactRow is the shape every "artifact with blob" query returns.
type artifactRow struct {
	ID, OwnerID, BlobID, Size     int64
	Name, FileName, ContentType   string
	Format, Extra                 *string
	Encoding, Bucket, Key, Sha256 string
	CreatedAt                     time.Time
	versionArtifact               bool
}

func versionRow(r db.GetVersionArtifactWithBlobRow) artifactRow {
	return artifactRow{ID: r.ID, OwnerID: r.VersionID, BlobID: r.BlobID, Size: r.Size, Name: r.Name, FileName: r.FileName,
		ContentType: r.ContentType, Format: r.Format, Extra: r.Extra, Encoding: r.Encoding, Bucket: r.Bucket,
		Key: r.Key, Sha256: r.Sha256, CreatedAt: r.CreatedAt, versionArtifact: true}
}

func experimentRow(r db.GetExperimentArtifactWithBlobRow) artifactRow {
	return artifactRow{ID: r.ID, OwnerID: r.ExperimentID, BlobID: r.BlobID, Size: r.Size, Name: r.Name, FileName: r.FileName,
		ContentType: r.ContentType, Format: r.Format, Encoding: r.Encoding, Bucket: r.Bucket,
		Key: r.Key, Sha256: r.Sha256, CreatedAt: r.CreatedAt}
}

func (r artifactRow) artifact() Artifact {
	a := Artifact{ID: r.ID, Name: r.Name, FileName: r.FileName, ContentType: r.ContentType, Format: r.Format,
		Encoding: r.Encoding, SHA256: r.Sha256, Size: r.Size, Blob: r.BlobID, CreatedAt: r.CreatedAt.UTC(),
		bucket: r.Bucket, key: r.Key}
	if r.versionArtifact {
		a.VersionID = r.OwnerID
		if r.Extra != nil {
			a.Extra = json.RawMessage(*r.Extra)
		}
	} else {
		a.ExperimentID = r.OwnerID
	}
	return a
}

// Owner is what an artifact belongs to: a version, or (Experiment set) an
// experiment of that version.
type Owner struct {
	Ref
	Experiment string
}

func (o Owner) path() string {
	if o.Experiment != "" {
		return ExperimentPath(o.Ref, o.Experiment)
	}
	return o.Ref.path()
}

// ArtifactPath is the API path of an artifact.
func ArtifactPath(o Owner, name string) string {
	segs := strings.Split(name, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return o.path() + "/artifacts/" + strings.Join(segs, "/")
}

// NewArtifact describes an upload.
type NewArtifact struct {
	Name        string
	FileName    string // default: the name's last segment
	ContentType string // default: from the format, else application/octet-stream
	Format      string // one of Formats, or ""
	Encoding    string // one of Encodings; default uncompressed
	Extra       json.RawMessage
	// SHA256 is the digest the client expects (lowercase hex); a mismatch
	// refuses the upload.
	SHA256 string
}

var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

// Upload errors.
var (
	// ErrEmptyUpload refuses an upload of zero bytes.
	ErrEmptyUpload = api.NewError(api.ErrBadRequest, "empty upload: an artifact must hold at least one byte")
)

// DigestMismatchError is an upload whose bytes do not hash to the digest
// the client declared (HTTP 400); nothing was stored.
type DigestMismatchError struct {
	Expected, Actual string
}

func (e *DigestMismatchError) Error() string {
	return fmt.Sprintf("digest mismatch: expected sha256 %s, received bytes hash to %s", e.Expected, e.Actual)
}

// Is makes errors.Is(err, api.ErrBadRequest) true.
func (e *DigestMismatchError) Is(target error) bool { return target == api.ErrBadRequest }

// TooLargeError is an upload over the size limit (HTTP 413).
type TooLargeError struct{ Limit int64 }

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("upload larger than the limit of %d bytes", e.Limit)
}

// Is makes errors.Is(err, api.ErrTooLarge) true.
func (e *TooLargeError) Is(target error) bool { return target == api.ErrTooLarge }

// ImmutableError is an upload of other bytes under an existing artifact
// name (HTTP 409): artifacts are never overwritten.
type ImmutableError struct {
	Path             string
	Existing, Actual string
}

func (e *ImmutableError) Error() string {
	return fmt.Sprintf("artifact %s exists with sha256 %s; the upload hashes to %s: artifacts are immutable, create a new version", e.Path, e.Existing, e.Actual)
}

// Is makes errors.Is(err, api.ErrConflict) true.
func (e *ImmutableError) Is(target error) bool { return target == api.ErrConflict }

// SealedError is an upload to a version that has left test (HTTP 409).
type SealedError struct{ Path string }

func (e *SealedError) Error() string {
	return fmt.Sprintf("version %s is sealed (it has left test): no new artifacts", e.Path)
}

// Is makes errors.Is(err, api.ErrConflict) true.
func (e *SealedError) Is(target error) bool { return target == api.ErrConflict }

func (r *Registry) validateUpload(v *validation, o Owner, in *NewArtifact) *string {
	v.add("name", ValidateArtifactName(in.Name))
	if in.FileName == "" {
		in.FileName = path.Base(in.Name)
	}
	if err := validateFileName(in.FileName); err != nil {
		v.add("file_name", err)
	}
	if in.Format != "" {
		oneOf(v, "format", in.Format, Formats)
	}
	if in.Encoding == "" {
		in.Encoding = "uncompressed"
	}
	oneOf(v, "encoding", in.Encoding, Encodings)
	if in.ContentType == "" {
		in.ContentType = DefaultContentType
		if t, ok := formatTypes[in.Format]; ok {
			in.ContentType = t
		}
	} else if _, _, err := mime.ParseMediaType(in.ContentType); err != nil || len(in.ContentType) > 255 {
		v.addf("content_type", "must be a media type such as application/json")
	}
	if in.SHA256 != "" && !sha256Hex.MatchString(in.SHA256) {
		v.addf("sha256", "must be 64 lowercase hexadecimal digits")
	}
	if o.Experiment != "" {
		if len(in.Extra) > 0 && string(in.Extra) != "null" {
			v.addf("extra", "only model version artifacts carry extra")
		}
		return nil
	}
	return jsonObject(v, "extra", in.Extra)
}

func validateFileName(name string) error {
	switch {
	case name == "" || len(name) > 255:
		return fmt.Errorf("must be 1-255 bytes")
	case strings.ContainsAny(name, `/\"`):
		return fmt.Errorf(`must not contain '/', '\' or '"'`)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return fmt.Errorf("must not contain control characters")
	case name == "." || name == "..":
		return fmt.Errorf("must not be %q", name)
	}
	return nil
}

// PutArtifact stores body as artifact in.Name of o. The bytes stream to
// the blob store of the version's lifecycle while sha256 and size are
// computed; the metadata is written after, in one transaction. It returns
// the artifact and whether it was created: uploading the same bytes under
// an existing name is an idempotent success, other bytes are an
// *ImmutableError. Whatever fails, no metadata and no blob are left behind.
func (r *Registry) PutArtifact(ctx context.Context, o Owner, in NewArtifact, body io.Reader) (Artifact, bool, error) {
	var v validation
	extra := r.validateUpload(&v, o, &in)
	if err := v.err(); err != nil {
		return Artifact{}, false, err
	}
	apath := ArtifactPath(o, in.Name)
	res, expID, err := r.owner(ctx, r.store, o)
	if err != nil {
		return Artifact{}, false, err
	}
	// The same bytes again are a success even on a sealed version: a rerun
	// of an upload that already happened changes nothing.
	existing, err := r.artifactRow(ctx, r.store, res.version.ID, expID, in.Name)
	switch {
	case err == nil:
		return r.compareExisting(existing, apath, in.SHA256, body)
	case !errors.Is(err, db.ErrNotFound):
		return Artifact{}, false, err
	}
	if o.Experiment == "" && res.version.SealedAt != nil {
		return Artifact{}, false, &SealedError{Path: o.Ref.path()}
	}

	storeName, store, err := r.route(ctx, res)
	if err != nil {
		return Artifact{}, false, err
	}
	key, err := newBlobKey()
	if err != nil {
		return Artifact{}, false, err
	}
	src := &bodyReader{r: r.limit(body)}
	info, err := store.Put(ctx, key, src)
	if err != nil {
		var tooLarge *TooLargeError
		switch {
		case errors.As(err, &tooLarge):
			return Artifact{}, false, tooLarge
		case errors.Is(err, blob.ErrEmpty):
			return Artifact{}, false, ErrEmptyUpload
		case src.err != nil:
			// The client's body failed (cut short, stalled, malformed), not
			// the store.
			return Artifact{}, false, &BodyError{Err: src.err}
		case ctx.Err() != nil:
			return Artifact{}, false, fmt.Errorf("upload interrupted: %w", errors.Join(ctx.Err(), err))
		}
		return Artifact{}, false, &StoreError{Store: storeName, Reason: "failed to store the upload", Err: err}
	}
	// From here on the new object is ours alone: remove it unless the
	// metadata that references it commits.
	keep := false
	defer func() {
		if !keep {
			r.discard(store, key)
		}
	}()
	if in.SHA256 != "" && in.SHA256 != info.SHA256 {
		return Artifact{}, false, &DigestMismatchError{Expected: in.SHA256, Actual: info.SHA256}
	}

	var (
		out     artifactRow
		created bool
		refused error
	)
	err = r.write(ctx, func(q db.Queries) error {
		refused, created = nil, false
		now := r.now()
		if o.Experiment == "" {
			if _, err := q.LockUnsealedVersion(ctx, db.LockUnsealedVersionParams{ID: res.version.ID, Now: now}); err != nil {
				if errors.Is(err, db.ErrNotFound) {
					refused = &SealedError{Path: o.Ref.path()}
					return nil
				}
				return err
			}
		}
		// Another upload of the same name may have committed meanwhile.
		if prior, err := r.artifactRow(ctx, q, res.version.ID, expID, in.Name); err == nil {
			out = prior
			if prior.Sha256 != info.SHA256 {
				refused = &ImmutableError{Path: apath, Existing: prior.Sha256, Actual: info.SHA256}
			}
			return nil
		} else if !errors.Is(err, db.ErrNotFound) {
			return err
		}
		blobID, reused, err := r.blobRow(ctx, q, storeName, key, info, now)
		if err != nil {
			return err
		}
		keep = !reused
		format := optional(in.Format)
		if o.Experiment == "" {
			a, err := q.CreateVersionArtifact(ctx, db.CreateVersionArtifactParams{
				VersionID: res.version.ID, Name: in.Name, FileName: in.FileName, BlobID: blobID,
				ContentType: in.ContentType, Format: format, Encoding: in.Encoding, Extra: extra, Now: now,
			})
			if err != nil {
				return err
			}
			if err := r.updateDigest(ctx, q, res.version.ID, now); err != nil {
				return err
			}
			if out, err = r.artifactRow(ctx, q, a.VersionID, 0, a.Name); err != nil {
				return err
			}
			created = true
			return r.record(ctx, q, "artifact.create", o.Ref.Namespace, apath, map[string]any{"sha256": info.SHA256, "size": info.Size})
		}
		a, err := q.CreateExperimentArtifact(ctx, db.CreateExperimentArtifactParams{
			ExperimentID: expID, Name: in.Name, FileName: in.FileName, BlobID: blobID,
			ContentType: in.ContentType, Format: format, Encoding: in.Encoding, Now: now,
		})
		if err != nil {
			return err
		}
		if out, err = r.artifactRow(ctx, q, 0, a.ExperimentID, a.Name); err != nil {
			return err
		}
		created = true
		return r.record(ctx, q, "artifact.create", o.Ref.Namespace, apath, map[string]any{"sha256": info.SHA256, "size": info.Size})
	})
	if err != nil {
		keep = false
		if errors.Is(err, db.ErrConflict) {
			// Lost a race on the name to a transaction that committed after
			// our check: answer as if it had come first.
			if prior, perr := r.artifactRow(ctx, r.store, res.version.ID, expID, in.Name); perr == nil {
				return r.sameOrImmutable(prior, apath, info.SHA256)
			}
		}
		return Artifact{}, false, err
	}
	if refused != nil {
		keep = false
		return Artifact{}, false, refused
	}
	if !created {
		keep = false
	}
	return out.artifact(), created, nil
}

// compareExisting answers an upload under a name that already exists: the
// bytes are hashed (not stored) unless the client declared their digest.
func (r *Registry) compareExisting(existing artifactRow, apath, expected string, body io.Reader) (Artifact, bool, error) {
	actual := expected
	if actual == "" {
		h := sha256.New()
		if _, err := io.Copy(h, r.limit(body)); err != nil {
			var tooLarge *TooLargeError
			if errors.As(err, &tooLarge) {
				return Artifact{}, false, tooLarge
			}
			return Artifact{}, false, &BodyError{Err: err}
		}
		actual = hex.EncodeToString(h.Sum(nil))
	}
	return r.sameOrImmutable(existing, apath, actual)
}

func (r *Registry) sameOrImmutable(existing artifactRow, apath, actual string) (Artifact, bool, error) {
	if existing.Sha256 != actual {
		return Artifact{}, false, &ImmutableError{Path: apath, Existing: existing.Sha256, Actual: actual}
	}
	return existing.artifact(), false, nil
}

// blobRow records the stored object, or reuses a blob with the same
// content in the same store (reused: the new object is then not needed).
func (r *Registry) blobRow(ctx context.Context, q db.Queries, store, key string, info blob.Info, now time.Time) (id int64, reused bool, err error) {
	if b, err := q.GetBlobBySha(ctx, db.GetBlobByShaParams{Bucket: store, Sha256: info.SHA256}); err == nil && b.Size == info.Size {
		return b.ID, true, nil
	} else if err != nil && !errors.Is(err, db.ErrNotFound) {
		return 0, false, err
	}
	b, err := q.CreateBlob(ctx, db.CreateBlobParams{Bucket: store, Key: key, StorageVersion: info.VersionID, Size: info.Size, Sha256: info.SHA256, Now: now})
	return b.ID, false, err
}

// updateDigest recomputes a version's content digest: sha256 over the lines
// "<sha256>  <name>\n" of its artifacts sorted by name (the output of
// `sha256sum` over the files, sorted), as "sha256:<hex>".
func (r *Registry) updateDigest(ctx context.Context, q db.Queries, versionID int64, now time.Time) error {
	rows, err := q.ListVersionArtifactDigests(ctx, versionID)
	if err != nil {
		return err
	}
	_, err = q.SetVersionDigest(ctx, db.SetVersionDigestParams{ID: versionID, Digest: contentDigest(rows), Now: now})
	return err
}

func contentDigest(rows []db.ListVersionArtifactDigestsRow) string {
	if len(rows) == 0 {
		return ""
	}
	slices.SortFunc(rows, func(a, b db.ListVersionArtifactDigestsRow) int { return strings.Compare(a.Name, b.Name) })
	h := sha256.New()
	for _, row := range rows {
		fmt.Fprintf(h, "%s  %s\n", row.Sha256, row.Name)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// discard removes an object no metadata references. It runs after the
// request may have been cancelled, so it gets its own deadline; what it
// cannot remove, garbage collection will.
func (r *Registry) discard(store blob.Store, key string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = store.Delete(ctx, key)
}

// route picks the store for a version's artifacts: its namespace's bucket
// for the version's lifecycle, else the configured default for it.
func (r *Registry) route(ctx context.Context, res resolved) (string, blob.Store, error) {
	role := res.version.State
	name := r.stores.ForRole[role]
	b, err := r.store.GetBucketForRole(ctx, db.GetBucketForRoleParams{NamespaceID: res.ns.ID, Role: role})
	switch {
	case err == nil:
		name = b.Name
	case !errors.Is(err, db.ErrNotFound):
		return "", nil, err
	}
	if name == "" {
		return "", nil, &StoreError{Store: "for " + role, Reason: "is not configured: no namespace bucket and no default store serves this lifecycle"}
	}
	st, err := r.stores.store(name)
	return name, st, err
}

func newBlobKey() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return "objects/" + hex.EncodeToString(b[:1]) + "/" + hex.EncodeToString(b[:]), nil
}

// BodyError is an upload whose request body could not be read to its end
// (HTTP 400, or 408 when it stalled); nothing was stored.
type BodyError struct{ Err error }

func (e *BodyError) Error() string { return "the upload body could not be read: " + e.Err.Error() }
func (e *BodyError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, api.ErrRequestTimeout) true for a body that
// stalled past the read deadline (not a cancelled or expired context),
// errors.Is(err, api.ErrBadRequest) for any other.
func (e *BodyError) Is(target error) bool {
	var ne net.Error
	if errors.As(e.Err, &ne) && ne.Timeout() && !errors.Is(e.Err, context.DeadlineExceeded) {
		return target == api.ErrRequestTimeout
	}
	return target == api.ErrBadRequest
}

// bodyReader remembers the error its reader returned, so that a failed
// Put can tell a broken body from a broken store.
type bodyReader struct {
	r   io.Reader
	err error
}

func (b *bodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	var tooLarge *TooLargeError
	if err != nil && err != io.EOF && !errors.As(err, &tooLarge) {
		b.err = err
	}
	return n, err
}

// limit caps an upload stream at the configured maximum.
func (r *Registry) limit(body io.Reader) io.Reader {
	return &limitedReader{r: body, left: r.maxUpload, limit: r.maxUpload}
}

type limitedReader struct {
	r           io.Reader
	left, limit int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.left < 0 {
		return 0, &TooLargeError{Limit: l.limit}
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return 0, &TooLargeError{Limit: l.limit}
	}
	return n, err
}

// owner resolves a version, and the experiment's id when o names one.
func (r *Registry) owner(ctx context.Context, q db.Queries, o Owner) (resolved, int64, error) {
	if o.Experiment == "" {
		res, err := r.version(ctx, q, o.Ref)
		return res, 0, err
	}
	res, e, err := r.experiment(ctx, q, o.Ref, o.Experiment)
	return res, e.ID, err
}

// artifactRow reads a version's (expID 0) or an experiment's artifact.
func (r *Registry) artifactRow(ctx context.Context, q db.Queries, versionID, expID int64, name string) (artifactRow, error) {
	if expID == 0 {
		row, err := q.GetVersionArtifactWithBlob(ctx, db.GetVersionArtifactWithBlobParams{VersionID: versionID, Name: name})
		return versionRow(row), err
	}
	row, err := q.GetExperimentArtifactWithBlob(ctx, db.GetExperimentArtifactWithBlobParams{ExperimentID: expID, Name: name})
	return experimentRow(row), err
}

// ListArtifacts returns one page of o's artifacts, by name.
func (r *Registry) ListArtifacts(ctx context.Context, o Owner, page PageRequest) (Page[Artifact], error) {
	var v validation
	off, lim := page.validate(&v)
	if err := v.err(); err != nil {
		return Page[Artifact]{}, err
	}
	res, expID, err := r.owner(ctx, r.store, o)
	if err != nil {
		return Page[Artifact]{}, err
	}
	var (
		items []Artifact
		total int64
	)
	if expID == 0 {
		rows, err := r.store.ListVersionArtifactsWithBlob(ctx, db.ListVersionArtifactsWithBlobParams{VersionID: res.version.ID, PageOffset: off, PageLimit: lim})
		if err != nil {
			return Page[Artifact]{}, err
		}
		for _, row := range rows {
			items = append(items, versionRow(db.GetVersionArtifactWithBlobRow(row)).artifact())
		}
		total, err = r.store.CountVersionArtifacts(ctx, res.version.ID)
		if err != nil {
			return Page[Artifact]{}, err
		}
	} else {
		rows, err := r.store.ListExperimentArtifactsWithBlob(ctx, db.ListExperimentArtifactsWithBlobParams{ExperimentID: expID, PageOffset: off, PageLimit: lim})
		if err != nil {
			return Page[Artifact]{}, err
		}
		for _, row := range rows {
			items = append(items, experimentRow(db.GetExperimentArtifactWithBlobRow(row)).artifact())
		}
		total, err = r.store.CountExperimentArtifacts(ctx, expID)
		if err != nil {
			return Page[Artifact]{}, err
		}
	}
	return newPage(items, page, total), nil
}

// GetArtifact returns an artifact's record.
func (r *Registry) GetArtifact(ctx context.Context, o Owner, name string) (Artifact, error) {
	if ValidateArtifactName(name) != nil {
		return Artifact{}, &NotFoundError{Kind: "artifact", Path: ArtifactPath(o, name)}
	}
	res, expID, err := r.owner(ctx, r.store, o)
	if err != nil {
		return Artifact{}, err
	}
	row, err := r.artifactRow(ctx, r.store, res.version.ID, expID, name)
	if err != nil {
		return Artifact{}, notFound(err, "artifact", ArtifactPath(o, name))
	}
	return row.artifact(), nil
}

// ArtifactByID returns a version's (experiment false) or an experiment's
// artifact by id, for the original flymodel's download endpoints.
func (r *Registry) ArtifactByID(ctx context.Context, experiment bool, id int64) (Artifact, error) {
	kind := "model version artifact"
	var (
		row artifactRow
		err error
	)
	if experiment {
		kind = "experiment artifact"
		var e db.GetExperimentArtifactWithBlobByIDRow
		e, err = r.store.GetExperimentArtifactWithBlobByID(ctx, id)
		row = experimentRow(db.GetExperimentArtifactWithBlobRow(e))
	} else {
		var v db.GetVersionArtifactWithBlobByIDRow
		v, err = r.store.GetVersionArtifactWithBlobByID(ctx, id)
		row = versionRow(db.GetVersionArtifactWithBlobRow(v))
	}
	if err != nil {
		return Artifact{}, notFound(err, kind, fmt.Sprintf("with id %d", id))
	}
	return row.artifact(), nil
}

// MissingBlobError is an artifact whose stored bytes are gone (HTTP 5xx).
type MissingBlobError struct {
	Artifact string
	Store    string
}

func (e *MissingBlobError) Error() string {
	return fmt.Sprintf("the stored bytes of artifact %s are missing from blob store %s", e.Artifact, e.Store)
}

// Is makes errors.Is(err, api.ErrIntegrity) true.
func (e *MissingBlobError) Is(target error) bool { return target == api.ErrIntegrity }

// OpenArtifact opens the stored bytes of a; the caller verifies them
// against a.SHA256 while it streams them.
func (r *Registry) OpenArtifact(ctx context.Context, a Artifact, describe string) (blob.Object, error) {
	st, err := r.stores.store(a.bucket)
	if err != nil {
		return nil, err
	}
	obj, err := st.Open(ctx, a.key)
	if errors.Is(err, blob.ErrNotFound) {
		return nil, &MissingBlobError{Artifact: describe, Store: st.String()}
	}
	if err != nil {
		return nil, &StoreError{Store: a.bucket, Reason: "failed to open " + describe, Err: err}
	}
	return obj, nil
}

// BlobLocation is where an artifact's bytes are stored (for tests and
// operations tools).
func (a Artifact) BlobLocation() (store, key string) { return a.bucket, a.key }

// OwnerOfVersion names the version with this id (for the original
// flymodel's endpoints, which address versions by id).
func (r *Registry) OwnerOfVersion(ctx context.Context, id int64) (Owner, error) {
	v, err := r.store.GetVersion(ctx, id)
	if err != nil || v.DeletedAt != nil {
		return Owner{}, notFoundOr(err, "model version", fmt.Sprintf("with id %d", id))
	}
	m, err := r.store.GetModel(ctx, v.ModelID)
	if err != nil {
		return Owner{}, err
	}
	ns, err := r.store.GetNamespace(ctx, m.NamespaceID)
	if err != nil {
		return Owner{}, err
	}
	return Owner{Ref: Ref{Namespace: ns.Name, Model: m.Name, Version: v.Version}}, nil
}

// OwnerOfExperiment names the experiment with this id.
func (r *Registry) OwnerOfExperiment(ctx context.Context, id int64) (Owner, error) {
	e, err := r.store.GetExperiment(ctx, id)
	if err != nil || e.DeletedAt != nil {
		return Owner{}, notFoundOr(err, "experiment", fmt.Sprintf("with id %d", id))
	}
	o, err := r.OwnerOfVersion(ctx, e.VersionID)
	if err != nil {
		return Owner{}, err
	}
	o.Experiment = e.Name
	return o, nil
}

func notFoundOr(err error, kind, path string) error {
	if err == nil || errors.Is(err, db.ErrNotFound) {
		return &NotFoundError{Kind: kind, Path: path}
	}
	return err
}
