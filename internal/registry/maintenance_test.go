package registry_test

import (
	"bytes"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/flymodel/flymodel/internal/blob"
	"github.com/flymodel/flymodel/internal/blob/fsblob"
	"github.com/flymodel/flymodel/internal/db"
	"github.com/flymodel/flymodel/internal/registry"
)

// withStore builds a registry with one filesystem store and a settable clock.
func withStore(t *testing.T, s db.DB, clock *time.Time) (*registry.Registry, blob.Store) {
	t.Helper()
	fs, err := fsblob.New(filepath.Join(t.TempDir(), "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	if err := fs.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	now := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		if clock == nil {
			return time.Now()
		}
		return *clock
	}
	return registry.New(registry.Options{DB: s, Now: now, Blobs: registry.BlobStores{
		ByName:  map[string]blob.Store{"local": fs},
		ForRole: map[string]string{"test": "local", "qa": "local", "stage": "local", "prod": "local"},
	}}), fs
}

func objects(t *testing.T, st blob.Store) int {
	t.Helper()
	n := 0
	if err := st.List(ctx, "", func(blob.Info) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

func put(t *testing.T, r *registry.Registry, ref registry.Ref, name string, content []byte) registry.Artifact {
	t.Helper()
	a, _, err := r.PutArtifact(ctx, registry.Owner{Ref: ref}, registry.NewArtifact{Name: name}, bytes.NewReader(content))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestGarbageCollection(t *testing.T) {
	engines(t, func(t *testing.T, s db.DB) {
		clock := time.Now().UTC()
		r, st := withStore(t, s, &clock)
		ref := setup(t, r)
		put(t, r, ref, "a.bin", []byte("aaa"))
		put(t, r, ref, "b.bin", []byte("bbb"))
		other := registry.Ref{Namespace: "canada", Model: "llm.sm", Version: "v2"}
		ok[registry.Version](t)(r.CreateVersion(ctx, "canada", "llm.sm", registry.NewVersion{Version: "v2"}))
		keep := put(t, r, other, "keep.bin", []byte("keep"))
		// An object no row records (a crash between blob write and metadata).
		if _, err := st.Put(ctx, "objects/00/orphan", bytes.NewReader([]byte("orphan"))); err != nil {
			t.Fatal(err)
		}
		if err := r.DeleteVersion(ctx, ref, true); err != nil {
			t.Fatal(err)
		}
		if n := objects(t, st); n != 4 {
			t.Fatalf("objects before gc = %d", n)
		}

		// Within the grace period nothing goes.
		rep, err := r.GC(ctx, registry.GCOptions{Grace: time.Hour})
		if err != nil || len(rep.Blobs) != 0 || len(rep.Orphans) != 0 || objects(t, st) != 4 {
			t.Fatalf("gc inside the grace period: %+v %v", rep, err)
		}
		// … and says what it spared.
		if rep.SparedBlobs != 2 || rep.SparedObjects != 1 {
			t.Fatalf("gc inside the grace period spared %d blobs, %d objects; want 2 and 1", rep.SparedBlobs, rep.SparedObjects)
		}
		clock = clock.Add(2 * time.Hour)
		dry, err := r.GC(ctx, registry.GCOptions{Grace: time.Hour, Dry: true})
		if err != nil || len(dry.Blobs) != 2 || len(dry.Orphans) != 1 || objects(t, st) != 4 || dry.SparedBlobs+dry.SparedObjects != 0 {
			t.Fatalf("dry gc: %+v %v (objects %d)", dry, err, objects(t, st))
		}
		rep, err = r.GC(ctx, registry.GCOptions{Grace: time.Hour})
		if err != nil || len(rep.Blobs) != 2 || len(rep.Orphans) != 1 || rep.Bytes != 12 {
			t.Fatalf("gc: %+v %v", rep, err)
		}
		if n := objects(t, st); n != 1 {
			t.Fatalf("objects after gc = %d, want the referenced one", n)
		}
		if got, err := r.GetArtifact(ctx, registry.Owner{Ref: other}, "keep.bin"); err != nil || got.SHA256 != keep.SHA256 {
			t.Fatalf("referenced artifact: %+v %v", got, err)
		}
		vr, err := r.Verify(ctx, "", nil)
		if err != nil || vr.Checked != 1 || len(vr.Problems) != 0 {
			t.Fatalf("verify after gc: %+v %v", vr, err)
		}
	})
}

// TestGCRacingUploads: collection running while uploads stream never
// removes an upload's blob.
func TestGCRacingUploads(t *testing.T) {
	engines(t, func(t *testing.T, s db.DB) {
		r, _ := withStore(t, s, nil)
		ref := setup(t, r)
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := r.GC(ctx, registry.GCOptions{Grace: time.Minute}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
		for i := range 40 {
			put(t, r, ref, fmt.Sprintf("f%02d.bin", i), bytes.Repeat([]byte{byte(i)}, 32<<10))
		}
		close(stop)
		wg.Wait()
		rep, err := r.Verify(ctx, "", nil)
		if err != nil || rep.Checked != 40 || len(rep.Problems) != 0 {
			t.Fatalf("verify after racing gc: %+v %v", rep, err)
		}
	})
}

func TestVerify(t *testing.T) {
	engines(t, func(t *testing.T, s db.DB) {
		r, st := withStore(t, s, nil)
		ref := setup(t, r)
		put(t, r, ref, "good.bin", []byte("good"))
		altered := put(t, r, ref, "altered.bin", []byte("original"))
		missing := put(t, r, ref, "missing.bin", []byte("soon gone"))
		e := registry.Owner{Ref: ref, Experiment: "eval"}
		ok[registry.Experiment](t)(r.CreateExperiment(ctx, ref, registry.NewExperiment{Name: "eval"}))
		if _, _, err := r.PutArtifact(ctx, e, registry.NewArtifact{Name: "report.txt"}, bytes.NewReader([]byte("report"))); err != nil {
			t.Fatal(err)
		}
		_, key := altered.BlobLocation()
		if _, err := st.Put(ctx, key, bytes.NewReader([]byte("tampered"))); err != nil {
			t.Fatal(err)
		}
		_, key = missing.BlobLocation()
		if err := st.Delete(ctx, key, ""); err != nil {
			t.Fatal(err)
		}
		var seen int64
		rep, err := r.Verify(ctx, "canada", func(n int64) { seen = n })
		if err != nil {
			t.Fatal(err)
		}
		if rep.Checked != 4 || len(rep.Problems) != 2 || seen != rep.Bytes {
			t.Fatalf("verify = %+v (progress %d)", rep, seen)
		}
		byKind := map[string]string{}
		for _, p := range rep.Problems {
			byKind[p.Problem] = p.Artifact
		}
		if byKind["altered"] != "/namespaces/canada/models/llm.sm/versions/v1/artifacts/altered.bin" ||
			byKind["missing"] != "/namespaces/canada/models/llm.sm/versions/v1/artifacts/missing.bin" {
			t.Fatalf("problems = %+v", rep.Problems)
		}
		_, err = r.Verify(ctx, "nowhere", nil)
		errAs[*registry.NotFoundError](t, err)
	})
}

// TestVerifyUnconfiguredStore: an artifact in a store the configuration
// here lacks is "unconfigured", not missing.
func TestVerifyUnconfiguredStore(t *testing.T) {
	engines(t, func(t *testing.T, s db.DB) {
		r, st := withStore(t, s, nil)
		ref := setup(t, r)
		put(t, r, ref, "a.bin", []byte("aaa"))
		elsewhere := registry.New(registry.Options{DB: s, Blobs: registry.BlobStores{
			ByName:  map[string]blob.Store{"other": st},
			ForRole: map[string]string{"test": "other", "qa": "other", "stage": "other", "prod": "other"},
		}})
		rep, err := elsewhere.Verify(ctx, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Checked != 1 || len(rep.Problems) != 1 || rep.Problems[0].Problem != "unconfigured" ||
			rep.Problems[0].Detail != "store local is not configured here" || fmt.Sprint(rep.Unconfigured) != "[local]" {
			t.Fatalf("verify without the store: %+v", rep)
		}
	})
}
