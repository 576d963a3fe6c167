package registry_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flymodel/flymodel/api"
	"github.com/flymodel/flymodel/internal/blob"
	"github.com/flymodel/flymodel/internal/blob/blobtest"
	"github.com/flymodel/flymodel/internal/blob/fsblob"
	"github.com/flymodel/flymodel/internal/blob/s3blob"
	"github.com/flymodel/flymodel/internal/db"
	"github.com/flymodel/flymodel/internal/db/dbtest"
	"github.com/flymodel/flymodel/internal/db/postgres"
	"github.com/flymodel/flymodel/internal/db/sqlite"
	"github.com/flymodel/flymodel/internal/registry"
)

// lifecycleStores names the store of each lifecycle in these tests.
var lifecycleStores = map[string]string{"test": "st-test", "qa": "st-qa", "stage": "st-stage", "prod": "st-prod"}

// placeEnv is a database and one blob store per lifecycle.
type placeEnv struct {
	db     db.DB
	stores map[string]blob.Store // by name
	// proxy is in front of the S3 server (nil on the filesystem): cutting
	// it is an outage of every store.
	proxy *s3Proxy
	mu    sync.Mutex
	clock time.Time
}

func (e *placeEnv) now() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.clock
}

func (e *placeEnv) advance(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.clock = e.clock.Add(d)
}

// registry builds a registry over the environment, its database and stores
// optionally wrapped to inject faults.
func (e *placeEnv) registry(wrapDB func(db.DB) db.DB, wrapStore func(name string, st blob.Store) blob.Store) *registry.Registry {
	d := e.db
	if wrapDB != nil {
		d = wrapDB(d)
	}
	blobs := registry.BlobStores{ByName: map[string]blob.Store{}, ForRole: map[string]string{}}
	for name, st := range e.stores {
		if wrapStore != nil {
			st = wrapStore(name, st)
		}
		blobs.ByName[name] = st
	}
	for role, name := range lifecycleStores {
		blobs.ForRole[role] = name
	}
	return registry.New(registry.Options{DB: d, Blobs: blobs, Now: e.now})
}

// objects lists the keys of the objects in a store.
func (e *placeEnv) objects(t *testing.T, name string) []string {
	t.Helper()
	return blobtest.Keys(t, e.stores[name], "objects/")
}

// placementEngines runs fn on SQLite with filesystem stores and on
// PostgreSQL with S3 stores (buckets of the test server, reached through a
// proxy the test can cut).
func placementEngines(t *testing.T, fn func(t *testing.T, e *placeEnv)) {
	t.Run("sqlite+fs", func(t *testing.T) {
		s, err := sqlite.Open(ctx, dbtest.SQLitePath(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		migrate(t, s)
		e := &placeEnv{db: s, stores: map[string]blob.Store{}, clock: time.Now().UTC()}
		root := t.TempDir()
		for _, name := range lifecycleStores {
			st, err := fsblob.New(filepath.Join(root, name))
			if err != nil {
				t.Fatal(err)
			}
			if err := st.Ensure(ctx); err != nil {
				t.Fatal(err)
			}
			e.stores[name] = st
		}
		fn(t, e)
	})
	t.Run("postgres+s3", func(t *testing.T) {
		endpoint := os.Getenv("FLYMODEL_TEST_S3_ENDPOINT")
		if endpoint == "" {
			dbtest.SkipOrFail(t, "FLYMODEL_TEST_S3_ENDPOINT not set: skipping PostgreSQL+S3")
		}
		if os.Getenv(dbtest.PostgresEnv) == "" {
			dbtest.SkipOrFail(t, dbtest.PostgresEnv+" not set: skipping PostgreSQL+S3")
		}
		s, err := postgres.Open(ctx, dbtest.PostgresURL(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		migrate(t, s)
		proxy := newS3Proxy(t, endpoint)
		e := &placeEnv{db: s, stores: map[string]blob.Store{}, proxy: proxy, clock: time.Now().UTC()}
		region := os.Getenv("FLYMODEL_TEST_S3_REGION")
		if region == "" {
			region = "us-east-1"
		}
		var b [5]byte
		_, _ = rand.Read(b[:])
		for _, name := range lifecycleStores {
			st, err := s3blob.New(s3blob.Config{
				Bucket: "fm-" + name + "-" + hex.EncodeToString(b[:]), Endpoint: proxy.URL, Region: region, PathStyle: true,
				AccessKeyID: os.Getenv("FLYMODEL_TEST_S3_ACCESS_KEY"), SecretAccessKey: os.Getenv("FLYMODEL_TEST_S3_SECRET_KEY"),
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := st.Ensure(ctx); err != nil {
				t.Fatal(err)
			}
			e.stores[name] = st
		}
		fn(t, e)
	})
}

// s3Proxy forwards HTTP to the S3 server until it is cut: from then on every
// connection is closed at once, as when the network to the server is down.
type s3Proxy struct {
	URL    string
	down   atomic.Bool
	copies atomic.Int32
	// cutAtCopy, when above 0, cuts the proxy when the server-side copy of
	// that number (counted from 1) arrives, before it reaches the server.
	cutAtCopy atomic.Int32
}

func newS3Proxy(t *testing.T, endpoint string) *s3Proxy {
	t.Helper()
	target, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	p := &s3Proxy{}
	rp := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Amz-Copy-Source") != "" {
			if n := p.copies.Add(1); n == p.cutAtCopy.Load() {
				p.down.Store(true)
			}
		}
		if p.down.Load() {
			if hj, ok := w.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					conn.Close()
					return
				}
			}
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

// promoted sets up canada/llm.sm/v1 in test with two artifacts of its own
// and one of an experiment, and returns the version and the bytes by name.
func promoted(t *testing.T, r *registry.Registry) (registry.Ref, map[string][]byte) {
	t.Helper()
	ref := setup(t, r)
	content := map[string][]byte{
		"weights.bin":  blobtest.PatternBytes(1, 2<<20+3),
		"config.json":  []byte(`{"layers": 2}`),
		"eval/out.txt": []byte("accuracy 0.93"),
	}
	put(t, r, ref, "weights.bin", content["weights.bin"])
	put(t, r, ref, "config.json", content["config.json"])
	ok[registry.Experiment](t)(r.CreateExperiment(ctx, ref, registry.NewExperiment{Name: "eval"}))
	if _, _, err := r.PutArtifact(ctx, registry.Owner{Ref: ref, Experiment: "eval"}, registry.NewArtifact{Name: "out.txt"}, bytes.NewReader(content["eval/out.txt"])); err != nil {
		t.Fatal(err)
	}
	return ref, content
}

// wantIn checks that every artifact of the version is in the store name and
// reads back whole.
func wantIn(t *testing.T, r *registry.Registry, ref registry.Ref, content map[string][]byte, name string) {
	t.Helper()
	for n, want := range content {
		o, an := registry.Owner{Ref: ref}, n
		if n == "eval/out.txt" {
			o.Experiment, an = "eval", "out.txt"
		}
		a, err := r.GetArtifact(ctx, o, an)
		if err != nil {
			t.Fatal(err)
		}
		if store, _ := a.BlobLocation(); store != name {
			t.Fatalf("artifact %s is in store %s, want %s", n, store, name)
		}
		obj, err := r.OpenArtifact(ctx, a, n)
		if err != nil {
			t.Fatalf("open %s: %v", n, err)
		}
		got, err := io.ReadAll(obj)
		obj.Close()
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("artifact %s reads %d bytes (err %v), want its %d bytes", n, len(got), err, len(want))
		}
	}
}

// history is the version's lifecycle changes as "from>to".
func history(t *testing.T, r *registry.Registry, ref registry.Ref) []string {
	t.Helper()
	var out []string
	for _, c := range ok[[]registry.StateChange](t)(r.VersionHistory(ctx, ref)) {
		from := ""
		if c.From != nil {
			from = *c.From
		}
		out = append(out, from+">"+c.To)
	}
	return out
}

// TestPlacementFollowsTheLifecycle: each state change places the version's
// artifacts (its experiment's too) in the store of the new lifecycle,
// downloads and verify read them there, and what was left behind is
// garbage collection's.
func TestPlacementFollowsTheLifecycle(t *testing.T) {
	placementEngines(t, func(t *testing.T, e *placeEnv) {
		r := e.registry(nil, nil)
		ref, content := promoted(t, r)
		wantIn(t, r, ref, content, "st-test")
		for _, to := range []string{"qa", "prod", "stage"} { // stage: a rollback
			v, err := r.SetVersionState(ctx, ref, to)
			if err != nil || v.State != to {
				t.Fatalf("to %s: %+v %v", to, v, err)
			}
			wantIn(t, r, ref, content, lifecycleStores[to])
			if n := len(e.objects(t, lifecycleStores[to])); n != 3 {
				t.Fatalf("%d objects in the %s store, want 3", n, to)
			}
		}
		if h := history(t, r, ref); !slices.Equal(h, []string{">test", "test>qa", "qa>prod", "prod>stage"}) {
			t.Fatalf("history = %v", h)
		}
		rep, err := r.Verify(ctx, "", nil)
		if err != nil || rep.Checked != 3 || len(rep.Problems) != 0 {
			t.Fatalf("verify: %+v %v", rep, err)
		}
		// The copies left in test, qa and prod are no one's: gc takes them.
		e.advance(2 * time.Hour)
		gc, err := r.GC(ctx, registry.GCOptions{Grace: time.Hour})
		if err != nil || len(gc.Blobs) != 9 || len(gc.Orphans) != 0 {
			t.Fatalf("gc: %d blobs, %d orphans, %v", len(gc.Blobs), len(gc.Orphans), err)
		}
		for _, role := range []string{"test", "qa", "prod"} {
			if keys := e.objects(t, lifecycleStores[role]); len(keys) != 0 {
				t.Fatalf("objects left in the %s store after gc: %v", role, keys)
			}
		}
		wantIn(t, r, ref, content, "st-stage")

		// Idempotent and de-duplicated: a second version with the same
		// bytes reuses the objects already in the target store.
		v2 := registry.Ref{Namespace: "canada", Model: "llm.sm", Version: "v2"}
		ok[registry.Version](t)(r.CreateVersion(ctx, "canada", "llm.sm", registry.NewVersion{Version: "v2"}))
		put(t, r, v2, "weights.bin", content["weights.bin"])
		ok[registry.Version](t)(r.SetVersionState(ctx, v2, "stage"))
		if n := len(e.objects(t, "st-stage")); n != 3 {
			t.Fatalf("%d objects in the stage store after a promotion of the same bytes, want 3", n)
		}
	})
}

// failAfterPuts is a store whose Puts fail after the first n succeeded, as a
// store that went down mid-placement (it hides the store's own means of
// copying, so placement streams through Put).
type failAfterPuts struct {
	blob.Store
	n    int32
	puts atomic.Int32
}

func (f *failAfterPuts) Put(ctx context.Context, key string, r io.Reader) (blob.Info, error) {
	if f.puts.Add(1) > f.n {
		return blob.Info{}, errors.New("connection reset by the store")
	}
	return f.Store.Put(ctx, key, r)
}

// failingTx fails every transaction, as a database that went away after
// the placement.
type failingTx struct{ db.DB }

func (failingTx) InTx(context.Context, func(db.Queries) error) error {
	return errors.New("database connection lost")
}

// snapshotVersion is what a failed state change must leave as it was.
func snapshotVersion(t *testing.T, r *registry.Registry, e *placeEnv, ref registry.Ref) string {
	t.Helper()
	v := ok[registry.Version](t)(r.GetVersion(ctx, ref))
	audit, err := e.db.ListAudit(ctx, db.ListAuditParams{Until: time.Now().Add(24 * time.Hour), PageLimit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%s %v %s %v audit %d", v.State, v.UpdatedAt, v.Digest, history(t, r, ref), len(audit))
}

// TestPlacementFaults: a store failing mid-placement, the database failing
// after it, and altered bytes in the source store each leave the version in
// its state, every artifact where it was, and no object that garbage
// collection does not remove.
func TestPlacementFaults(t *testing.T) {
	for _, tt := range []struct {
		name string
		// fault returns the registry the state change goes through (the
		// fault injected) and a function that ends the fault.
		fault   func(t *testing.T, e *placeEnv, r *registry.Registry, ref registry.Ref) (*registry.Registry, func())
		problem func(err error) bool
	}{{
		name: "target store down mid-placement",
		fault: func(t *testing.T, e *placeEnv, r *registry.Registry, ref registry.Ref) (*registry.Registry, func()) {
			if e.proxy != nil {
				// The second server-side copy finds the network down.
				e.proxy.cutAtCopy.Store(e.proxy.copies.Load() + 2)
				return r, func() { e.proxy.down.Store(false); e.proxy.cutAtCopy.Store(0) }
			}
			return e.registry(nil, func(name string, st blob.Store) blob.Store {
				if name == "st-qa" {
					return &failAfterPuts{Store: st, n: 1}
				}
				return st
			}), func() {}
		},
		problem: func(err error) bool {
			var pe *registry.PlacementError
			return errors.As(err, &pe) && errors.Is(err, api.ErrUnavailable) && pe.Store == "st-qa" && pe.Artifact != ""
		},
	}, {
		name: "database fails after the placement",
		fault: func(t *testing.T, e *placeEnv, r *registry.Registry, ref registry.Ref) (*registry.Registry, func()) {
			return e.registry(func(d db.DB) db.DB { return failingTx{d} }, nil), func() {}
		},
		problem: func(err error) bool { return err != nil && err.Error() == "database connection lost" },
	}, {
		name: "altered bytes in the source store",
		fault: func(t *testing.T, e *placeEnv, r *registry.Registry, ref registry.Ref) (*registry.Registry, func()) {
			a := ok[registry.Artifact](t)(r.GetArtifact(ctx, registry.Owner{Ref: ref}, "weights.bin"))
			store, key := a.BlobLocation()
			altered := blobtest.PatternBytes(1, a.Size)
			altered[10] ^= 1
			if _, err := e.stores[store].Put(ctx, key, bytes.NewReader(altered)); err != nil {
				t.Fatal(err)
			}
			return r, func() {}
		},
		problem: func(err error) bool {
			var ae *registry.AlteredBlobError
			return errors.As(err, &ae) && errors.Is(err, api.ErrIntegrity) && ae.Store == "st-test" &&
				ae.Artifact == "/namespaces/canada/models/llm.sm/versions/v1/artifacts/weights.bin"
		},
	}} {
		t.Run(tt.name, func(t *testing.T) {
			placementEngines(t, func(t *testing.T, e *placeEnv) {
				r := e.registry(nil, nil)
				ref, content := promoted(t, r)
				faulty, restore := tt.fault(t, e, r, ref)
				before := snapshotVersion(t, r, e, ref)
				_, err := faulty.SetVersionState(ctx, ref, "qa")
				restore()
				if !tt.problem(err) {
					t.Fatalf("state change: %v (%T)", err, err)
				}
				if after := snapshotVersion(t, r, e, ref); after != before {
					t.Fatalf("a failed state change changed the version:\n%s\n%s", before, after)
				}
				if tt.name != "altered bytes in the source store" {
					wantIn(t, r, ref, content, "st-test")
				}
				// Nothing in the target store that gc would not remove: the
				// copies already made are removed at once, or (the store
				// being down) when gc runs.
				e.advance(2 * time.Hour)
				if _, err := r.GC(ctx, registry.GCOptions{Grace: time.Hour}); err != nil {
					t.Fatal(err)
				}
				if keys := e.objects(t, "st-qa"); len(keys) != 0 {
					t.Fatalf("objects left in the qa store: %v", keys)
				}
				if n := len(e.objects(t, "st-test")); n != 3 {
					t.Fatalf("%d objects in the test store, want the 3 referenced", n)
				}
				if tt.name == "altered bytes in the source store" {
					return
				}
				// Once the fault is over, the same change goes through.
				ok[registry.Version](t)(r.SetVersionState(ctx, ref, "qa"))
				wantIn(t, r, ref, content, "st-qa")
			})
		})
	}
}
