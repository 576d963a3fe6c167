package httpapi_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/flymodel/flymodel/internal/blob"
	"github.com/flymodel/flymodel/internal/registry"
)

// Issue 13, items 14 and 16: what one namespace may learn of, or do to,
// another's storage. On SQLite with the filesystem store and on PostgreSQL
// with a real S3 server.

// TestBlobsSharedOnlyWithinANamespace: identical bytes are stored once per
// namespace, never shared with another (the upload's `blob` id would tell
// its uploader that the other namespace holds the same bytes): on upload,
// and when a promotion places them in the target lifecycle's store.
func TestBlobsSharedOnlyWithinANamespace(t *testing.T) {
	// The prod lifecycle has a store of its own name, so that a promotion
	// places the artifacts there.
	setup := artifactSetup{stores: func(routed blob.Store) registry.BlobStores {
		return registry.BlobStores{
			ByName:  map[string]blob.Store{"main": routed, "prod-store": routed},
			ForRole: map[string]string{"test": "main", "qa": "main", "stage": "main", "prod": "prod-store"},
		}
	}}
	artifactEngines(t, setup, func(t *testing.T, a *artifactAPI) {
		a.seed()
		a.do("POST", base+"/namespaces/canada/models/llm.sm/versions", map[string]any{"version": "v2"}, 201)
		a.do("POST", base+"/namespaces", map[string]any{"name": "mexico"}, 201)
		a.do("POST", base+"/namespaces/mexico/models", map[string]any{"name": "llm.sm"}, 201)
		a.do("POST", base+"/namespaces/mexico/models/llm.sm/versions", map[string]any{"version": "v1"}, 201)
		a.do("POST", base+"/namespaces/mexico/models/llm.sm/versions/v1/experiments", map[string]any{"name": "eval"}, 201)
		mexico := base + "/namespaces/mexico/models/llm.sm/versions/v1"
		canada2 := base + "/namespaces/canada/models/llm.sm/versions/v2"

		same := bytes.Repeat([]byte("the same weights "), 4096)
		blobOf := func(res response) any { return res.json(t)["blob"] }
		c1 := blobOf(a.put(vbase+"/artifacts/w.bin", same, nil, 201))
		c2 := blobOf(a.put(canada2+"/artifacts/w.bin", same, nil, 201))
		m1 := blobOf(a.put(mexico+"/artifacts/w.bin", same, nil, 201))
		m2 := blobOf(a.put(mexico+"/experiments/eval/artifacts/w.bin", same, nil, 201))
		if c1 == nil || c1 != c2 {
			t.Errorf("canada's two uploads of the same bytes: blobs %v and %v, want one (de-duplicated within the namespace)", c1, c2)
		}
		if m1 != m2 {
			t.Errorf("mexico's two uploads of the same bytes: blobs %v and %v, want one", m1, m2)
		}
		if m1 == c1 {
			t.Errorf("mexico's upload shares canada's blob %v: it tells mexico that canada holds those bytes", c1)
		}
		a.leftovers(2) // one object per namespace

		// A promotion reuses bytes already in the target store only within
		// the namespace.
		a.do("PUT", vbase+"/state", map[string]any{"state": "prod"}, 200)
		a.do("PUT", canada2+"/state", map[string]any{"state": "prod"}, 200)
		a.do("PUT", mexico+"/state", map[string]any{"state": "prod"}, 200)
		// blobIn is the blob of the version's artifact w.bin, and its store.
		blobIn := func(version string) (int64, string) {
			t.Helper()
			art := a.do("GET", version+"/artifacts", nil, 200).json(t)["data"].([]any)[0].(map[string]any)
			id := int64(art["blob"].(float64))
			b, err := a.store.GetBlob(context.Background(), id)
			check(t, err)
			return id, b.Store
		}
		pc1, sc1 := blobIn(vbase)
		pc2, _ := blobIn(canada2)
		pm1, sm1 := blobIn(mexico)
		if sc1 != "prod-store" || sm1 != "prod-store" {
			t.Fatalf("after the promotion the blobs are in %s and %s, want prod-store", sc1, sm1)
		}
		if pc1 != pc2 {
			t.Errorf("canada's promoted versions: blobs %d and %d, want one", pc1, pc2)
		}
		if pm1 == pc1 {
			t.Errorf("mexico's promotion reused canada's blob %d in the prod store", pc1)
		}
	})
}

// TestBucketsFollowTheConfiguration: a configured store's lifecycle is
// fixed by the configuration, so a namespace cannot record the prod
// bucket as its test bucket (422 naming the configured lifecycle), and a
// bucket no store is cannot be recorded at all (409 no-store); neither
// changes anything. The configured bucket of the right role is recorded,
// and the namespace's uploads then go there.
func TestBucketsFollowTheConfiguration(t *testing.T) {
	setup := artifactSetup{stores: func(routed blob.Store) registry.BlobStores {
		return registry.BlobStores{
			ByName:  map[string]blob.Store{"local": routed, "ml-test": routed, "ml-prod": routed},
			ForRole: map[string]string{"test": "ml-test", "qa": "local", "stage": "local", "prod": "ml-prod"},
		}
	}}
	artifactEngines(t, setup, func(t *testing.T, a *artifactAPI) {
		a.seed()
		buckets := base + "/namespaces/canada/buckets"
		before := a.snapshot()
		for _, c := range []struct {
			name, role string
			status     int
			slug       string
			says       string
		}{
			{"ml-prod", "test", 422, "validation", "bucket ml-prod is configured for lifecycle prod"},
			{"ml-test", "prod", 422, "validation", "bucket ml-test is configured for lifecycle test"},
			{"local", "prod", 422, "validation", "configured for lifecycle qa, stage"},
			{"ml-elsewhere", "test", 409, "no-store", `storage.s3 (bucket = \"ml-elsewhere\", role = \"test\")`},
		} {
			body := fmt.Sprintf(`{"name":%q,"region":"ca-local","role":%q}`, c.name, c.role)
			res := a.request("POST", buckets, "application/json", body)
			p := a.problem(res, c.status, c.slug)
			if !strings.Contains(string(res.body), c.says) {
				t.Errorf("%s as %s: %s, want it to say %s", c.name, c.role, res.body, c.says)
			}
			if c.slug == "no-store" && (p["bucket"] != c.name || p["lifecycle"] != c.role || p["namespace"] != "canada") {
				t.Errorf("%s as %s: no-store members %v", c.name, c.role, p)
			}
			if c.slug == "validation" {
				if errs, _ := p["errors"].([]any); len(errs) != 1 || errs[0].(map[string]any)["field"] != "role" {
					t.Errorf("%s as %s: errors %v, want one, on role", c.name, c.role, p["errors"])
				}
			}
		}
		if after := a.snapshot(); after != before {
			t.Fatalf("a refused bucket changed the database:\n%s\nwant\n%s", after, before)
		}

		a.do("POST", buckets, map[string]any{"name": "ml-test", "region": "ca-local", "role": "test"}, 201)
		a.do("POST", buckets, map[string]any{"name": "ml-prod", "region": "ca-local", "role": "prod"}, 201)
		a.do("POST", buckets, map[string]any{"name": "local", "region": "ca-local", "role": "qa"}, 201)
		art := a.put(vbase+"/artifacts/a.txt", []byte("into the test bucket"), nil, 201).json(t)
		b, err := a.store.GetBlob(context.Background(), int64(art["blob"].(float64)))
		check(t, err)
		if b.Store != "ml-test" {
			t.Errorf("the upload went to store %s, want ml-test", b.Store)
		}
	})
}
