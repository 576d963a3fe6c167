package registry_test

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/flymodel/flymodel/internal/blob/blobtest"
	"github.com/flymodel/flymodel/internal/db"
	"github.com/flymodel/flymodel/internal/registry"
)

// TestGCFreesHiddenVersions: on a versioned bucket, the versions that
// deletes made before flymodel removed versions for good (noncurrent ones
// behind a delete marker, which no listing of current objects shows) are
// orphans: gc removes every one of them and the marker. A blob's recorded
// version is kept, and so are the other versions of its key.
func TestGCFreesHiddenVersions(t *testing.T) {
	placementEngines(t, func(t *testing.T, e *placeEnv) {
		if e.proxy == nil {
			t.Skip("the filesystem store keeps no versions")
		}
		r := e.registry(nil, nil)
		ref, _ := promoted(t, r)
		st := e.stores["st-test"]
		// A delete of the old kind: two versions, then a delete marker, as
		// another S3 client (or flymodel before) made them.
		blobtest.Put(t, st, "objects/00/legacy", []byte("first"))
		blobtest.Put(t, st, "objects/00/legacy", []byte("second"))
		c, err := minio.New(strings.TrimPrefix(e.proxy.URL, "http://"), &minio.Options{
			Creds:        credentials.NewStaticV4(os.Getenv("FLYMODEL_TEST_S3_ACCESS_KEY"), os.Getenv("FLYMODEL_TEST_S3_SECRET_KEY"), ""),
			BucketLookup: minio.BucketLookupPath, Region: "us-east-1",
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.RemoveObject(ctx, strings.TrimPrefix(st.String(), "s3:"), "objects/00/legacy", minio.RemoveObjectOptions{}); err != nil {
			t.Fatal(err)
		}
		if vs := blobtest.VersionsOf(t, st, "objects/00/legacy"); len(vs) != 3 {
			t.Fatalf("legacy key: %d versions and markers, want 3", len(vs))
		}
		// An artifact's key overwritten by someone else: both versions stay.
		a := ok[registry.Artifact](t)(r.GetArtifact(ctx, registry.Owner{Ref: ref}, "config.json"))
		_, key := a.BlobLocation()
		if _, err := st.Put(ctx, key, bytes.NewReader([]byte("intruder"))); err != nil {
			t.Fatal(err)
		}

		e.advance(2 * time.Hour)
		rep, err := r.GC(ctx, registry.GCOptions{Grace: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Orphans) != 1 || rep.Orphans[0] != "st-test:objects/00/legacy" || rep.Bytes != int64(len("first")+len("second")) {
			t.Fatalf("gc = %+v, want the legacy key's %d bytes", rep, len("first")+len("second"))
		}
		if vs := blobtest.VersionsOf(t, st, "objects/00/legacy"); len(vs) != 0 {
			t.Fatalf("after gc the legacy key has %+v", vs)
		}
		if kept := blobtest.VersionsOf(t, st, key); len(kept) != 2 {
			t.Fatalf("the artifact's key has %d versions after gc, want its own and the intruder's", len(kept))
		}
		if got := blobtest.ReadVersion(t, st, key, a.BlobVersion()); string(got) != `{"layers": 2}` {
			t.Fatalf("the artifact's version reads %q", got)
		}

		// A blob recorded before version ids were: verify records the
		// version whose bytes it checked (the current one).
		w := ok[registry.Artifact](t)(r.GetArtifact(ctx, registry.Owner{Ref: ref}, "weights.bin"))
		if _, err := e.db.SetBlobStorageVersion(ctx, db.SetBlobStorageVersionParams{ID: w.Blob, StorageVersion: ""}); err != nil {
			t.Fatal(err)
		}
		// (config.json reads the version recorded, not the intruder's.)
		if rep, err := r.Verify(ctx, "canada", nil); err != nil || rep.Checked != 3 || len(rep.Problems) != 0 {
			t.Fatalf("verify = %+v, %v; want nothing wrong", rep, err)
		}
		if b := ok[db.Blob](t)(e.db.GetBlob(ctx, w.Blob)); b.StorageVersion != w.BlobVersion() {
			t.Fatalf("verify recorded version %q, want %q", b.StorageVersion, w.BlobVersion())
		}
	})
}
