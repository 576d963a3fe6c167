package registry

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"mime"
	"net"
	"net/url"
	"path"
	"regexp"
	"strings"
	"time"
	"unicode"

	"github.com/flymodel/flymodel/api"
	"github.com/flymodel/flymodel/internal/blob"
	"github.com/flymodel/flymodel/internal/db"
)

// DefaultContentType is the content type of an artifact with neither a
// declared content type, nor a known format, nor a name whose extension
// names one.
const DefaultContentType = "application/octet-stream"

// Artifact is a stored file of a version or an experiment: what the API
// shows of it (encoded as api.Artifact), and where its bytes are.
type Artifact struct {
	api.Artifact

	// store, key and version: where the bytes are (version: the object
	// version the store reported when they were written, "" when it keeps
	// none or it was not recorded).
	store, key, version string
}

// artifactRow is the shape every "artifact with blob" query returns.
type artifactRow db.GetArtifactWithBlobRow

func (r artifactRow) artifact() Artifact {
	// An artifact's id on the API is its number, counted per kind (schema
	// 00004): the original flymodel numbers each kind apart.
	a := Artifact{Artifact: api.Artifact{ID: r.Number, VersionID: r.VersionID, Name: r.Name, FileName: r.FileName,
		ContentType: r.ContentType, Encoding: r.Encoding, SHA256: r.Sha256, Size: r.Size, Blob: r.BlobID,
		CreatedAt: r.CreatedAt.UTC()}, store: r.Store, key: r.Key, version: r.StorageVersion}
	if r.Format != nil {
		a.Format = *r.Format
	}
	if r.Extra != nil {
		a.Extra = json.RawMessage(*r.Extra)
	}
	// The wire names an artifact's owner: its version, or its experiment.
	if r.ExperimentID != nil {
		a.VersionID, a.ExperimentID = 0, *r.ExperimentID
	}
	return a
}

// Owner is what an artifact belongs to: a version, or (Experiment set) an
// experiment of that version.
type Owner struct {
	Ref
	Experiment string
}

// kind is the one place that tells a version's own artifacts from an
// experiment's; everything that differs between them is a method of it.
func (o Owner) kind() ownerKind {
	if o.Experiment != "" {
		return experimentKind{}
	}
	return versionKind{}
}

// ownerKind holds what differs between a version's own artifacts and an
// experiment's: only a version's carry extra, are sealed with it (an
// experiment records its outputs whatever the version's lifecycle) and make
// up its digest; and the original flymodel numbers the two kinds apart.
type ownerKind interface {
	path(o Owner) string
	// extra validates an upload's extra and returns what is stored.
	extra(v *validation, raw json.RawMessage) *string
	resolve(ctx context.Context, r *Registry, q db.Queries, o Owner) (owner, error)
	// sealed refuses a new artifact of a sealed owner before its bytes
	// are stored.
	sealed(o owner) error
	// lock refuses it again in the transaction that adds it, and holds
	// the version's row lock, which keeps a state change from sealing the
	// owner or moving its artifacts meanwhile; it returns the version's
	// state under the lock.
	lock(ctx context.Context, q db.Queries, o owner, now time.Time) (state string, err error)
	// added runs in the transaction that added an artifact to o.
	added(ctx context.Context, r *Registry, q db.Queries, o owner, now time.Time) error
	// byID names the owner with this id (the original flymodel's
	// endpoints address owners by id).
	byID(ctx context.Context, r *Registry, id int64) (Owner, error)
	// ownerID is the id of a's owner when a is of this kind, else 0.
	ownerID(a Artifact) int64
	// dbName is how the database names the kind: artifacts.kind, and the
	// row of artifact_counters that numbers its artifacts.
	dbName() string
	String() string
}

// owner is a resolved Owner.
type owner struct {
	Owner
	res resolved
	// experimentID is the experiment's id, nil for a version's own
	// artifacts; experimentKey is how the artifacts table keys the owner
	// (the experiment's id, or 0).
	experimentID  *int64
	experimentKey int64
}

type versionKind struct{}

func (versionKind) String() string { return "model version" }

func (versionKind) path(o Owner) string { return o.Ref.path() }

func (versionKind) extra(v *validation, raw json.RawMessage) *string {
	return jsonObject(v, "extra", raw)
}

func (versionKind) resolve(ctx context.Context, r *Registry, q db.Queries, o Owner) (owner, error) {
	res, err := r.version(ctx, q, o.Ref)
	return owner{Owner: o, res: res}, err
}

func (versionKind) sealed(o owner) error {
	if o.res.version.SealedAt != nil {
		return &SealedError{Path: o.Ref.path()}
	}
	return nil
}

func (versionKind) lock(ctx context.Context, q db.Queries, o owner, now time.Time) (string, error) {
	v, err := q.LockUnsealedVersion(ctx, db.LockUnsealedVersionParams{ID: o.res.version.ID, Now: now})
	if errors.Is(err, db.ErrNotFound) {
		return "", &SealedError{Path: o.Ref.path()}
	}
	return v.State, err
}

func (versionKind) added(ctx context.Context, r *Registry, q db.Queries, o owner, now time.Time) error {
	return r.updateDigest(ctx, q, o.res.version.ID, now)
}

func (versionKind) byID(ctx context.Context, r *Registry, id int64) (Owner, error) {
	v, err := r.db.GetVersion(ctx, id)
	if err != nil || v.DeletedAt != nil {
		return Owner{}, notFoundOr(err, versionKind{}.String(), idPath(id))
	}
	m, err := r.db.GetModel(ctx, v.ModelID)
	if err != nil {
		return Owner{}, err
	}
	ns, err := r.db.GetNamespace(ctx, m.NamespaceID)
	if err != nil {
		return Owner{}, err
	}
	return Owner{Ref: Ref{Namespace: ns.Name, Model: m.Name, Version: v.Version}}, nil
}

func (versionKind) ownerID(a Artifact) int64 { return a.VersionID }

func (versionKind) dbName() string { return "version" }

type experimentKind struct{}

func (experimentKind) String() string { return "experiment" }

func (experimentKind) path(o Owner) string { return ExperimentPath(o.Ref, o.Experiment) }

func (experimentKind) extra(v *validation, raw json.RawMessage) *string {
	if len(raw) > 0 && string(raw) != "null" {
		v.addf("extra", "only model version artifacts carry extra")
	}
	return nil
}

func (experimentKind) resolve(ctx context.Context, r *Registry, q db.Queries, o Owner) (owner, error) {
	res, e, err := r.experiment(ctx, q, o.Ref, o.Experiment)
	return owner{Owner: o, res: res, experimentID: &e.ID, experimentKey: e.ID}, err
}

func (experimentKind) sealed(owner) error { return nil }

func (experimentKind) lock(ctx context.Context, q db.Queries, o owner, _ time.Time) (string, error) {
	v, err := q.LockVersion(ctx, o.res.version.ID)
	return v.State, notFound(err, "version", o.Ref.path())
}

func (experimentKind) added(context.Context, *Registry, db.Queries, owner, time.Time) error {
	return nil
}

func (experimentKind) byID(ctx context.Context, r *Registry, id int64) (Owner, error) {
	e, err := r.db.GetExperiment(ctx, id)
	if err != nil || e.DeletedAt != nil {
		return Owner{}, notFoundOr(err, experimentKind{}.String(), idPath(id))
	}
	o, err := versionKind{}.byID(ctx, r, e.VersionID)
	if err != nil {
		return Owner{}, err
	}
	o.Experiment = e.Name
	return o, nil
}

func (experimentKind) ownerID(a Artifact) int64 { return a.ExperimentID }

func (experimentKind) dbName() string { return "experiment" }

func (o Owner) path() string { return o.kind().path(o) }

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
	ContentType string // default: from the format, else from the name's extension, else application/octet-stream
	Format      string // one of Formats; default: from the name's extension (api.TypeByName), else none
	Encoding    string // one of Encodings; default uncompressed
	Extra       json.RawMessage
	// SHA256 is the digest the client expects (lowercase hex); a mismatch
	// refuses the upload.
	SHA256 string
	// Digests are the other digests the client declared (sha-512, md5):
	// each is verified in the same pass that hashes the bytes with sha256,
	// and a mismatch refuses the upload.
	Digests []Digest
}

// Digest algorithms, named as RFC 9530 names them (the problem of a
// mismatch names them so). DigestSHA256 is NewArtifact.SHA256.
const (
	DigestSHA256 = "sha-256"
	DigestSHA512 = "sha-512"
	DigestMD5    = "md5"
)

// digestHashes are the algorithms a Digest may name, with their hashes.
var digestHashes = map[string]func() hash.Hash{DigestSHA512: sha512.New, DigestMD5: md5.New}

// Digest is a declared digest of an upload's bytes.
type Digest struct {
	Algorithm string // DigestSHA512 or DigestMD5
	Hex       string // lowercase
}

// digester hashes an upload with the algorithms of the digests declared
// (none: it does nothing), to check them at the end.
type digester struct {
	want   []Digest
	hashes []hash.Hash
}

func newDigester(want []Digest) *digester {
	d := &digester{want: want}
	for _, w := range want {
		d.hashes = append(d.hashes, digestHashes[w.Algorithm]())
	}
	return d
}

func (d *digester) Write(p []byte) (int, error) {
	for _, h := range d.hashes {
		h.Write(p)
	}
	return len(p), nil
}

// check returns a *DigestMismatchError for the first digest the bytes
// written do not have.
func (d *digester) check() error {
	for i, w := range d.want {
		if got := hex.EncodeToString(d.hashes[i].Sum(nil)); got != w.Hex {
			return &DigestMismatchError{Algorithm: w.Algorithm, Expected: w.Hex, Actual: got}
		}
	}
	return nil
}

var sha256Hex = regexp.MustCompile(api.SHA256Pattern)

// Upload errors.
var (
	// ErrEmptyUpload refuses an upload of zero bytes.
	ErrEmptyUpload = api.NewError(api.ErrBadRequest, "empty upload: an artifact must hold at least one byte")
)

// DigestMismatchError is an upload whose bytes do not hash to the digest
// the client declared (HTTP 400); nothing was stored.
type DigestMismatchError struct {
	// Algorithm is DigestSHA256 (also when ""), DigestSHA512 or DigestMD5.
	Algorithm string
	// Expected and Actual are lowercase hex.
	Expected, Actual string
}

// Alg is the algorithm of the digest that did not match.
func (e *DigestMismatchError) Alg() string {
	if e.Algorithm == "" {
		return DigestSHA256
	}
	return e.Algorithm
}

func (e *DigestMismatchError) Error() string {
	return fmt.Sprintf("digest mismatch: expected %s %s, received bytes hash to %s", e.Alg(), e.Expected, e.Actual)
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

// SealedError is an upload to a version that has left test, or another
// change of what a seal fixes (HTTP 409).
type SealedError struct {
	Path string
	// What cannot change; "" means "no new artifacts".
	What string
}

func (e *SealedError) Error() string {
	what := e.What
	if what == "" {
		what = "no new artifacts"
	}
	return fmt.Sprintf("version %s is sealed (it has left test): %s", e.Path, what)
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
	// What the upload leaves out, the name's extension says (the file
	// name's when the name has none): what is declared always wins.
	byName, _ := api.TypeByName(in.Name)
	if byName.ContentType == "" {
		byName, _ = api.TypeByName(in.FileName)
	}
	if in.Format != "" {
		oneOf(v, "format", in.Format, api.Formats)
	} else {
		in.Format = byName.Format
	}
	if in.Encoding == "" {
		in.Encoding = api.Uncompressed
	}
	oneOf(v, "encoding", in.Encoding, api.Encodings)
	if in.ContentType == "" {
		in.ContentType = DefaultContentType
		if t, ok := api.FormatContentType(in.Format); ok {
			in.ContentType = t
		} else if byName.ContentType != "" {
			in.ContentType = byName.ContentType
		}
	} else if _, _, err := mime.ParseMediaType(in.ContentType); err != nil || len(in.ContentType) > api.MaxContentTypeLen {
		v.addf("content_type", "must be a media type such as application/json")
	}
	if in.SHA256 != "" && !sha256Hex.MatchString(in.SHA256) {
		v.addf("sha256", "must be 64 lowercase hexadecimal digits")
	}
	for _, d := range in.Digests {
		h, ok := digestHashes[d.Algorithm]
		if raw, err := hex.DecodeString(d.Hex); !ok || err != nil || len(raw) != h().Size() || strings.ToLower(d.Hex) != d.Hex {
			v.addf("digests", "%s=%s is not a digest this server verifies", d.Algorithm, d.Hex)
		}
	}
	return o.kind().extra(v, in.Extra)
}

// validateFileName checks an artifact's file name (api.FileNamePattern,
// which a test holds it to).
func validateFileName(name string) error {
	switch {
	case name == "" || len(name) > api.MaxFileNameLen:
		return fmt.Errorf("must be 1-%d bytes", api.MaxFileNameLen)
	case strings.ContainsAny(name, `/\"`):
		return fmt.Errorf(`must not contain '/', '\' or '"'`)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return fmt.Errorf("must not contain control characters")
	case strings.IndexFunc(name, isBidiControl) >= 0:
		return fmt.Errorf("must not contain bidirectional overrides or isolates (U+202A-U+202E, U+2066-U+2069)")
	case name == "." || name == "..":
		return fmt.Errorf("must not be %q", name)
	}
	return nil
}

// isBidiControl reports the bidirectional embeddings, overrides and
// isolates, with which a file name shows as another ("evil\u202Etxt.exe"
// reads "evilexe.txt").
func isBidiControl(r rune) bool {
	return (r >= '\u202a' && r <= '\u202e') || (r >= '\u2066' && r <= '\u2069')
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
	own, err := o.kind().resolve(ctx, r, r.db, o)
	if err != nil {
		return Artifact{}, false, err
	}
	// The same bytes again are a success even on a sealed version: a rerun
	// of an upload that already happened changes nothing.
	existing, err := r.artifactRow(ctx, r.db, own, in.Name)
	switch {
	case err == nil:
		return r.compareExisting(existing, apath, in, body)
	case !errors.Is(err, db.ErrNotFound):
		return Artifact{}, false, err
	}
	if err := own.kind().sealed(own); err != nil {
		return Artifact{}, false, err
	}

	storeName, store, err := r.route(ctx, r.db, own.res.ns, own.res.version.State)
	if err != nil {
		return Artifact{}, false, err
	}
	key, err := newBlobKey()
	if err != nil {
		return Artifact{}, false, err
	}
	src := &bodyReader{r: r.limit(body)}
	digests := newDigester(in.Digests)
	var stream io.Reader = src
	if len(in.Digests) > 0 {
		stream = io.TeeReader(src, digests) // the same pass as sha256
	}
	info, err := store.Put(ctx, key, stream)
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
			r.discard(store, key, info.VersionID)
		}
	}()
	if in.SHA256 != "" && in.SHA256 != info.SHA256 {
		return Artifact{}, false, &DigestMismatchError{Expected: in.SHA256, Actual: info.SHA256}
	}
	if err := digests.check(); err != nil {
		return Artifact{}, false, err
	}

	var (
		out     artifactRow
		created bool
		refused error
		// routed is the lifecycle whose store holds the object; moved the
		// version's lifecycle under the lock, when a state change moved it
		// meanwhile.
		routed, moved = own.res.version.State, ""
	)
	for round := 1; ; round++ {
		err = r.write(ctx, func(q db.Queries) error {
			refused, created, moved = nil, false, ""
			now := r.now()
			state, err := own.kind().lock(ctx, q, own, now)
			if err != nil {
				var sealed *SealedError
				if errors.As(err, &sealed) {
					refused = sealed
					return nil
				}
				return err
			}
			if state != routed {
				moved = state
				return nil
			}
			// Another upload of the same name may have committed meanwhile.
			if prior, err := r.artifactRow(ctx, q, own, in.Name); err == nil {
				out = prior
				if prior.Sha256 != info.SHA256 {
					refused = &ImmutableError{Path: apath, Existing: prior.Sha256, Actual: info.SHA256}
				}
				return nil
			} else if !errors.Is(err, db.ErrNotFound) {
				return err
			}
			blobID, reused, err := r.blobRow(ctx, q, own.res.ns.ID, storeName, key, info, now)
			if err != nil {
				return err
			}
			keep = !reused
			// Last before the insert: on PostgreSQL the counter stays locked
			// until the transaction ends.
			number, err := q.NextArtifactNumber(ctx, own.kind().dbName())
			if err != nil {
				return err
			}
			_, err = q.CreateArtifact(ctx, db.CreateArtifactParams{
				VersionID: own.res.version.ID, ExperimentID: own.experimentID, Number: number, Name: in.Name, FileName: in.FileName,
				BlobID: blobID, ContentType: in.ContentType, Format: optional(in.Format), Encoding: in.Encoding,
				Extra: extra, Now: now,
			})
			if err != nil {
				return err
			}
			if err := own.kind().added(ctx, r, q, own, now); err != nil {
				return err
			}
			if out, err = r.artifactRow(ctx, q, own, in.Name); err != nil {
				return err
			}
			created = true
			return r.record(ctx, q, "artifact.create", o.Ref.Namespace, apath, map[string]any{"sha256": info.SHA256, "size": info.Size})
		})
		if err != nil || moved == "" || round == maxPlacementRounds {
			break
		}
		// A state change moved the version (an experiment's artifact has
		// no seal) while the bytes were stored: place them in the store of
		// its lifecycle now, and try again.
		if storeName, store, key, info, err = r.replace(ctx, own, apath, moved, storeName, store, key, info); err != nil {
			return Artifact{}, false, err
		}
		routed = moved
	}
	if err == nil && moved != "" {
		err = fmt.Errorf("artifact %s: the version kept changing lifecycle while it was stored", apath)
	}
	if err != nil {
		keep = false
		if errors.Is(err, db.ErrConflict) {
			// Lost a race on the name to a transaction that committed after
			// our check: answer as if it had come first.
			if prior, perr := r.artifactRow(ctx, r.db, own, in.Name); perr == nil {
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
	return r.artifact(out), created, nil
}

// compareExisting answers an upload under a name that already exists: the
// bytes are hashed (not stored) unless the client declared their sha256
// and no other digest (every digest declared is checked against them).
func (r *Registry) compareExisting(existing artifactRow, apath string, in NewArtifact, body io.Reader) (Artifact, bool, error) {
	actual := in.SHA256
	if actual == "" || len(in.Digests) > 0 {
		h := sha256.New()
		digests := newDigester(in.Digests)
		if _, err := io.Copy(io.MultiWriter(h, digests), r.limit(body)); err != nil {
			var tooLarge *TooLargeError
			if errors.As(err, &tooLarge) {
				return Artifact{}, false, tooLarge
			}
			return Artifact{}, false, &BodyError{Err: err}
		}
		actual = hex.EncodeToString(h.Sum(nil))
		if in.SHA256 != "" && in.SHA256 != actual {
			return Artifact{}, false, &DigestMismatchError{Expected: in.SHA256, Actual: actual}
		}
		if err := digests.check(); err != nil {
			return Artifact{}, false, err
		}
	}
	return r.sameOrImmutable(existing, apath, actual)
}

func (r *Registry) sameOrImmutable(existing artifactRow, apath, actual string) (Artifact, bool, error) {
	if existing.Sha256 != actual {
		return Artifact{}, false, &ImmutableError{Path: apath, Existing: existing.Sha256, Actual: actual}
	}
	return r.artifact(existing), false, nil
}

// blobRow records the stored object, or reuses the blob with the same
// content in the same store that the namespace's artifacts share (reused:
// the new object is then not needed). It is atomic (PutBlob): uploads of
// the same bytes into one namespace that race each other record one blob,
// whichever commits first, and the others reuse it.
func (r *Registry) blobRow(ctx context.Context, q db.Queries, namespaceID int64, store, key string, info blob.Info, now time.Time) (id int64, reused bool, err error) {
	b, err := q.PutBlob(ctx, db.PutBlobParams{Store: store, NamespaceID: &namespaceID, Key: key, StorageVersion: info.VersionID, Size: info.Size, Sha256: info.SHA256, Now: now})
	return b.ID, err == nil && b.Key != key, err
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
	sums := make(map[string]string, len(rows))
	for _, row := range rows {
		sums[row.Name] = row.Sha256
	}
	return api.VersionDigest(sums)
}

// discard removes an object no metadata references: the version written
// (on a versioned S3 bucket, for good: its bytes are freed). It runs after
// the request may have been cancelled, so it gets its own deadline; what it
// cannot remove, garbage collection will.
func (r *Registry) discard(store blob.Store, key, version string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = store.Delete(ctx, key, version)
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

// artifactRow reads one of o's artifacts.
func (r *Registry) artifactRow(ctx context.Context, q db.Queries, o owner, name string) (artifactRow, error) {
	row, err := q.GetArtifactWithBlob(ctx, db.GetArtifactWithBlobParams{VersionID: o.res.version.ID, ExperimentKey: o.experimentKey, Name: name})
	return artifactRow(row), err
}

// ListArtifacts returns one page of o's artifacts, by name.
func (r *Registry) ListArtifacts(ctx context.Context, o Owner, page PageRequest) (Page[Artifact], error) {
	var v validation
	off, lim := page.validate(&v)
	if err := v.err(); err != nil {
		return Page[Artifact]{}, err
	}
	own, err := o.kind().resolve(ctx, r, r.db, o)
	if err != nil {
		return Page[Artifact]{}, err
	}
	rows, err := r.db.ListArtifactsWithBlob(ctx, db.ListArtifactsWithBlobParams{
		VersionID: own.res.version.ID, ExperimentKey: own.experimentKey, PageOffset: off, PageLimit: lim})
	if err != nil {
		return Page[Artifact]{}, err
	}
	var items []Artifact
	for _, row := range rows {
		items = append(items, r.artifact(artifactRow(row)))
	}
	total, err := r.db.CountArtifacts(ctx, db.CountArtifactsParams{VersionID: own.res.version.ID, ExperimentKey: own.experimentKey})
	if err != nil {
		return Page[Artifact]{}, err
	}
	return newPage(items, page, total), nil
}

// GetArtifact returns an artifact's record.
func (r *Registry) GetArtifact(ctx context.Context, o Owner, name string) (Artifact, error) {
	if ValidateArtifactNameRef(name) != nil {
		return Artifact{}, &NotFoundError{Kind: "artifact", Path: ArtifactPath(o, name)}
	}
	own, err := o.kind().resolve(ctx, r, r.db, o)
	if err != nil {
		return Artifact{}, err
	}
	row, err := r.artifactRow(ctx, r.db, own, name)
	if err != nil {
		return Artifact{}, notFound(err, "artifact", ArtifactPath(o, name))
	}
	return r.artifact(row), nil
}

// ArtifactKind is one of the original flymodel's two artifact numberings:
// its endpoints address model version artifacts and experiment artifacts,
// and their owners, by id, each kind numbered apart.
type ArtifactKind struct{ kind ownerKind }

// The original flymodel's artifact kinds.
var (
	VersionArtifact    = ArtifactKind{versionKind{}}
	ExperimentArtifact = ArtifactKind{experimentKind{}}
)

func (k ArtifactKind) String() string { return k.kind.String() + " artifact" }

// OwnerByID names the owner of kind k (a version, or an experiment) with
// this id.
func (r *Registry) OwnerByID(ctx context.Context, k ArtifactKind, id int64) (Owner, error) {
	return k.kind.byID(ctx, r, id)
}

// ArtifactByID returns the artifact of kind k with this id and its owner,
// for the original flymodel's download endpoints.
func (r *Registry) ArtifactByID(ctx context.Context, k ArtifactKind, id int64) (Artifact, Owner, error) {
	row, err := r.db.GetArtifactWithBlobByNumber(ctx, db.GetArtifactWithBlobByNumberParams{Kind: k.kind.dbName(), Number: id})
	if errors.Is(err, db.ErrNotFound) {
		return Artifact{}, Owner{}, ArtifactNotFound(k, id)
	}
	if err != nil {
		return Artifact{}, Owner{}, err
	}
	a := r.artifact(artifactRow(row))
	o, err := k.kind.byID(ctx, r, k.kind.ownerID(a))
	return a, o, err
}

// MissingBlobError is an artifact whose stored bytes are gone (HTTP 5xx).
type MissingBlobError struct {
	Artifact string
	// Store is the store's name (as a blob row records it), never where
	// it is: the error text reaches clients.
	Store string
}

func (e *MissingBlobError) Error() string {
	return fmt.Sprintf("the stored bytes of artifact %s are missing from blob store %s", e.Artifact, e.Store)
}

// Is makes errors.Is(err, api.ErrIntegrity) true.
func (e *MissingBlobError) Is(target error) bool { return target == api.ErrIntegrity }

// OpenArtifact opens the stored bytes of a; the caller verifies them
// against a.SHA256 while it streams them.
func (r *Registry) OpenArtifact(ctx context.Context, a Artifact, describe string) (blob.Object, error) {
	st, err := r.blobs.store(a.store)
	if err != nil {
		return nil, err
	}
	obj, err := st.Open(ctx, a.key, a.version)
	if errors.Is(err, blob.ErrNotFound) {
		return nil, &MissingBlobError{Artifact: describe, Store: a.store}
	}
	if err != nil {
		return nil, &StoreError{Store: a.store, Reason: "failed to open " + describe, Err: err}
	}
	return obj, nil
}

// BlobLocation is where an artifact's bytes are stored (for tests and
// operations tools).
func (a Artifact) BlobLocation() (store, key string) { return a.store, a.key }

// BlobVersion is the object version of the artifact's bytes that the store
// reported when they were written ("" when it keeps none).
func (a Artifact) BlobVersion() string { return a.version }

func notFoundOr(err error, kind, path string) error {
	if err == nil || errors.Is(err, db.ErrNotFound) {
		return &NotFoundError{Kind: kind, Path: path}
	}
	return err
}
