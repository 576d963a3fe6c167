package registry

import (
	"context"
	"errors"
	"math"
	"time"

	"github.com/flymodel/flymodel/internal/blob"
	"github.com/flymodel/flymodel/internal/db"
)

// This file is how artifacts leave the registry other than by streaming
// one through the server: straight from their store (a public object URL,
// a presigned URL), and a version's artifacts all at once (the archive).

// artifact is row as the API shows it: with its object URL when its store
// is public.
func (r *Registry) artifact(row artifactRow) Artifact {
	a := row.artifact()
	if st, ok := r.blobs.ByName[a.store]; ok {
		if d, ok := blob.DirectOf(st); ok {
			a.URL = d.PublicURL(a.key)
		}
	}
	return a
}

// DirectURL returns a URL that fetches a's bytes straight from its store,
// valid for ttl: presigned, with opts' headers; and the size of the stored
// object, for the caller to hold against a.Size. The URL is "" when the
// store has no such URLs (the filesystem: its bytes go through the
// server). The object is looked up first (one metadata request), so that a
// missing blob is refused here (*MissingBlobError) as a streamed download
// would refuse it. Bytes altered in place are the client's to detect,
// against a.SHA256.
func (r *Registry) DirectURL(ctx context.Context, a Artifact, describe string, ttl time.Duration, opts blob.PresignOptions) (url string, stored int64, err error) {
	st, err := r.blobs.store(a.store)
	if err != nil {
		return "", 0, err
	}
	d, ok := blob.DirectOf(st)
	if !ok {
		return "", 0, nil
	}
	info, err := st.Stat(ctx, a.key, a.version)
	switch {
	case errors.Is(err, blob.ErrNotFound):
		return "", 0, &MissingBlobError{Artifact: describe, Store: a.store}
	case err != nil:
		return "", 0, &StoreError{Store: a.store, Reason: "failed to find " + describe, Err: err}
	}
	opts.Version = a.version
	url, err = d.PresignGet(ctx, a.key, ttl, opts)
	if err != nil {
		return "", 0, &StoreError{Store: a.store, Reason: "failed to presign a download of " + describe, Err: err}
	}
	return url, info.Size, nil
}

// VersionContent is a version and all its own artifacts (not its
// experiments'), read at once.
type VersionContent struct {
	Version Version
	// Artifacts are by name.
	Artifacts []Artifact
	// Digest is the content digest of Artifacts, computed as the version's
	// is: equal to Version.Digest unless an upload landed between the two
	// reads (then it is the digest of what Artifacts hold).
	Digest string
}

// VersionContent returns a live version with every one of its own
// artifacts, in one list (not paged: it is what an archive of the version
// holds).
func (r *Registry) VersionContent(ctx context.Context, ref Ref) (VersionContent, error) {
	res, err := r.version(ctx, r.db, ref)
	if err != nil {
		return VersionContent{}, err
	}
	// One query, so one snapshot: paging could see an upload shift the
	// names between pages.
	rows, err := r.db.ListArtifactsWithBlob(ctx, db.ListArtifactsWithBlobParams{
		VersionID: res.version.ID, ExperimentKey: 0, PageOffset: 0, PageLimit: math.MaxInt32})
	if err != nil {
		return VersionContent{}, err
	}
	version, err := withTags(ctx, r.db, toVersion(ref.Namespace, ref.Model)(res.version), nil)
	if err != nil {
		return VersionContent{}, err
	}
	out := VersionContent{Version: version}
	digests := make([]db.ListVersionArtifactDigestsRow, 0, len(rows))
	for _, row := range rows {
		a := r.artifact(artifactRow(row))
		out.Artifacts = append(out.Artifacts, a)
		digests = append(digests, db.ListVersionArtifactDigestsRow{Name: a.Name, Sha256: a.SHA256})
	}
	out.Digest = contentDigest(digests)
	return out, nil
}
