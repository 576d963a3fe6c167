package dbtest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flymodel/flymodel/api"
	"github.com/flymodel/flymodel/internal/db"
)

// NewDB opens a fresh, empty database (no migrations applied).
type NewDB func(t *testing.T) db.DB

// Run is the conformance suite every engine's tests call: the same
// behaviour, constraints and error mapping on every database.
func Run(t *testing.T, newDB NewDB) {
	migrated := func(t *testing.T) db.DB {
		t.Helper()
		s := newDB(t)
		if _, err := s.Migrate(context.Background(), db.MigrateOptions{}); err != nil {
			t.Fatalf("migrate up: %v", err)
		}
		return s
	}
	subtest(t, "Migrations", func(t *testing.T) { testMigrations(t, newDB(t)) })
	subtest(t, "Namespaces", func(t *testing.T) { testNamespaces(t, migrated(t)) })
	subtest(t, "Buckets", func(t *testing.T) { testBuckets(t, migrated(t)) })
	subtest(t, "Models", func(t *testing.T) { testModels(t, migrated(t)) })
	subtest(t, "Versions", func(t *testing.T) { testVersions(t, migrated(t)) })
	subtest(t, "Experiments", func(t *testing.T) { testExperiments(t, migrated(t)) })
	subtest(t, "Artifacts", func(t *testing.T) { testArtifacts(t, migrated(t)) })
	subtest(t, "ArtifactNumbers", func(t *testing.T) { testArtifactNumbers(t, migrated(t)) })
	subtest(t, "Tags", func(t *testing.T) { testTags(t, migrated(t)) })
	subtest(t, "Cascades", func(t *testing.T) { testCascades(t, migrated(t)) })
	subtest(t, "Fixtures", func(t *testing.T) { testFixtures(t, migrated(t)) })
	subtest(t, "Transactions", func(t *testing.T) { testTransactions(t, migrated(t)) })
	subtest(t, "ConcurrentWriters", func(t *testing.T) { testConcurrentWriters(t, migrated(t)) })
	subtest(t, "Exclusive", func(t *testing.T) { testExclusive(t, migrated(t)) })
	subtest(t, "Tokens", func(t *testing.T) { testTokens(t, migrated(t)) })
	subtest(t, "Audit", func(t *testing.T) { testAudit(t, migrated(t)) })
	subtest(t, "Overview", func(t *testing.T) { testOverview(t, migrated(t)) })
	subtest(t, "Metadata", func(t *testing.T) { testMetadata(t, migrated(t)) })
	subtest(t, "Lineage", func(t *testing.T) { testLineage(t, migrated(t)) })
	subtest(t, "Aliases", func(t *testing.T) { testAliases(t, migrated(t)) })
	subtest(t, "Search", func(t *testing.T) { testSearch(t, migrated(t)) })
}

// now is a timestamp both engines store exactly (microseconds, UTC).
func now() time.Time { return api.Timestamp(time.Now()) }

func ptr[T any](v T) *T { return &v }

// failure is what must and check panic with; subtest recovers it into
// t.Fatal. (Go cannot spread a (T, error) result into must(t, …).)
type failure struct {
	err  error
	line string
}

func must[T any](v T, err error) T {
	if err != nil {
		_, file, line, _ := runtime.Caller(1)
		panic(failure{err: err, line: fmt.Sprintf("%s:%d", filepath.Base(file), line)})
	}
	return v
}

func check(err error) {
	if err != nil {
		_, file, line, _ := runtime.Caller(1)
		panic(failure{err: err, line: fmt.Sprintf("%s:%d", filepath.Base(file), line)})
	}
}

// subtest runs fn as a subtest, turning a must/check failure into t.Fatal.
func subtest(t *testing.T, name string, fn func(t *testing.T)) {
	t.Run(name, func(t *testing.T) {
		defer func() {
			if r := recover(); r != nil {
				f, ok := r.(failure)
				if !ok {
					panic(r)
				}
				t.Fatalf("%s: unexpected error: %v", f.line, f.err)
			}
		}()
		fn(t)
	})
}

func wantErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error = %v, want %v", err, target)
	}
}

// wantConflict checks the typed conflict error and what it names.
func wantConflict(t *testing.T, err error, table string, columns ...string) {
	t.Helper()
	var ce *db.ConflictError
	if !errors.As(err, &ce) {
		t.Fatalf("error = %v, want *db.ConflictError on %s%v", err, table, columns)
	}
	if !errors.Is(err, db.ErrConflict) {
		t.Fatalf("errors.Is(%v, ErrConflict) = false", err)
	}
	if ce.Table != table || !slices.Equal(ce.Columns, columns) {
		t.Fatalf("conflict on %s%v, want %s%v", ce.Table, ce.Columns, table, columns)
	}
}

func wantTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}

func testMigrations(t *testing.T, s db.DB) {
	ctx := context.Background()
	st := must(s.MigrationStatus(ctx))
	if st.Current != 0 || st.Pending == 0 || st.Latest == 0 {
		t.Fatalf("fresh database status = %+v, want nothing applied", st)
	}
	up := must(s.Migrate(ctx, db.MigrateOptions{}))
	if len(up) != st.Pending || up[0].Direction != "up" || up[0].Version != 1 {
		t.Fatalf("up applied %+v, want %d migrations from version 1", up, st.Pending)
	}
	again := must(s.Migrate(ctx, db.MigrateOptions{}))
	if len(again) != 0 {
		t.Fatalf("second up applied %+v, want nothing (idempotent)", again)
	}
	st = must(s.MigrationStatus(ctx))
	if st.Current != st.Latest || st.Pending != 0 {
		t.Fatalf("status after up = %+v", st)
	}
	must(s.CreateNamespace(ctx, db.CreateNamespaceParams{Name: "before-down", Now: now()}))

	down := must(s.Migrate(ctx, db.MigrateOptions{Down: true}))
	if len(down) != len(up) || down[len(down)-1].Version != 1 || down[0].Direction != "down" {
		t.Fatalf("down rolled back %+v", down)
	}
	if _, err := s.CountNamespaces(ctx); err == nil {
		t.Fatal("namespaces table still exists after migrating down")
	}
	must(s.Migrate(ctx, db.MigrateOptions{Steps: 1}))
	st = must(s.MigrationStatus(ctx))
	if st.Current != 1 {
		t.Fatalf("after up --steps 1: status %+v", st)
	}
	must(s.Migrate(ctx, db.MigrateOptions{}))
	if n := must(s.CountNamespaces(ctx)); n != 0 {
		t.Fatalf("after down and up: %d namespaces, want a fresh schema", n)
	}
}

func testNamespaces(t *testing.T, s db.DB) {
	ctx := context.Background()
	ts := now()
	ns := must(s.CreateNamespace(ctx, db.CreateNamespaceParams{Name: "ns-c", Description: "third", Now: ts}))
	if ns.ID == 0 || ns.Name != "ns-c" || ns.Description != "third" {
		t.Fatalf("created %+v", ns)
	}
	wantTime(t, "created_at", ns.CreatedAt, ts)
	for _, name := range []string{"ns-a", "ns-e", "ns-b", "ns-d"} {
		must(s.CreateNamespace(ctx, db.CreateNamespaceParams{Name: name, Now: now()}))
	}
	_, err := s.CreateNamespace(ctx, db.CreateNamespaceParams{Name: "ns-c", Now: now()})
	wantConflict(t, err, "namespaces", "name")

	got := must(s.GetNamespaceByName(ctx, "ns-c"))
	if got.ID != ns.ID || got.Description != "third" {
		t.Fatalf("get by name = %+v, want %+v", got, ns)
	}
	wantTime(t, "read back created_at", got.CreatedAt, ts)
	_, err = s.GetNamespaceByName(ctx, "missing")
	wantErr(t, err, db.ErrNotFound)
	_, err = s.GetNamespace(ctx, 999999)
	wantErr(t, err, db.ErrNotFound)

	if n := must(s.CountNamespaces(ctx)); n != 5 {
		t.Fatalf("count = %d, want 5", n)
	}
	var names []string
	for off := int64(0); off < 6; off += 2 {
		page := must(s.ListNamespaces(ctx, db.ListNamespacesParams{PageOffset: off, PageLimit: 2}))
		for _, p := range page {
			names = append(names, p.Name)
		}
	}
	if want := []string{"ns-a", "ns-b", "ns-c", "ns-d", "ns-e"}; !slices.Equal(names, want) {
		t.Fatalf("pages = %v, want %v", names, want)
	}

	upd := must(s.UpdateNamespace(ctx, db.UpdateNamespaceParams{ID: ns.ID, Name: "ns-z", Description: "renamed", Now: now()}))
	if upd.Name != "ns-z" || upd.Description != "renamed" {
		t.Fatalf("updated = %+v", upd)
	}
	_, err = s.UpdateNamespace(ctx, db.UpdateNamespaceParams{ID: ns.ID, Name: "ns-a", Now: now()})
	wantConflict(t, err, "namespaces", "name")
	_, err = s.UpdateNamespace(ctx, db.UpdateNamespaceParams{ID: 999999, Name: "x", Now: now()})
	wantErr(t, err, db.ErrNotFound)

	if n := must(s.DeleteNamespace(ctx, ns.ID)); n != 1 {
		t.Fatalf("delete affected %d rows", n)
	}
	if n := must(s.DeleteNamespace(ctx, ns.ID)); n != 0 {
		t.Fatalf("second delete affected %d rows", n)
	}
}

func namespace(t *testing.T, s db.DB, name string) db.Namespace {
	t.Helper()
	return must(s.CreateNamespace(context.Background(), db.CreateNamespaceParams{Name: name, Now: now()}))
}

func model(t *testing.T, s db.DB, ns db.Namespace, name string) db.Model {
	t.Helper()
	return must(s.CreateModel(context.Background(), db.CreateModelParams{NamespaceID: ns.ID, Name: name, Now: now()}))
}

func version(t *testing.T, s db.DB, m db.Model, name string) db.ModelVersion {
	t.Helper()
	return must(s.CreateVersion(context.Background(), db.CreateVersionParams{ModelID: m.ID, Version: name, State: "test", Now: now()}))
}

func experiment(t *testing.T, s db.DB, v db.ModelVersion, name string) db.Experiment {
	t.Helper()
	return must(s.CreateExperiment(context.Background(), db.CreateExperimentParams{VersionID: v.ID, Name: name, Now: now()}))
}

// blob records a blob at key whose bytes (sha256) are named after the key:
// a store records given bytes once.
func blob(t *testing.T, s db.DB, key string) db.Blob {
	t.Helper()
	sum := sha256.Sum256([]byte(key))
	return must(s.CreateBlob(context.Background(), db.CreateBlobParams{
		Store: "fs", Key: key, Size: 3, Sha256: hex.EncodeToString(sum[:]), Now: now(),
	}))
}

func testBuckets(t *testing.T, s db.DB) {
	ctx := context.Background()
	ns := namespace(t, s, "canada")
	other := namespace(t, s, "usa")
	for _, role := range []string{"prod", "test", "qa"} {
		must(s.CreateBucket(ctx, db.CreateBucketParams{NamespaceID: ns.ID, Name: "ml-" + role, Region: "ca-local", Role: role, Now: now()}))
	}
	_, err := s.CreateBucket(ctx, db.CreateBucketParams{NamespaceID: ns.ID, Name: "ml-test", Region: "ca-local", Role: "stage", Now: now()})
	wantConflict(t, err, "buckets", "namespace_id", "name", "region")
	must(s.CreateBucket(ctx, db.CreateBucketParams{NamespaceID: ns.ID, Name: "ml-test", Region: "eu-local", Role: "stage", Now: now()}))
	_, err = s.CreateBucket(ctx, db.CreateBucketParams{NamespaceID: ns.ID, Name: "another", Region: "ca-local", Role: "prod", Now: now()})
	wantConflict(t, err, "buckets", "namespace_id", "role")
	_, err = s.CreateBucket(ctx, db.CreateBucketParams{NamespaceID: ns.ID, Name: "x", Region: "r", Role: "staging", Now: now()})
	wantErr(t, err, db.ErrInvalid)
	_, err = s.CreateBucket(ctx, db.CreateBucketParams{NamespaceID: 999999, Name: "x", Region: "r", Role: "test", Now: now()})
	wantErr(t, err, db.ErrForeignKey)
	// The same bucket name and region in another namespace is another bucket.
	must(s.CreateBucket(ctx, db.CreateBucketParams{NamespaceID: other.ID, Name: "ml-test", Region: "ca-local", Role: "test", Now: now()}))

	if n := must(s.CountBuckets(ctx, ns.ID)); n != 4 {
		t.Fatalf("count = %d, want 4", n)
	}
	page := must(s.ListBuckets(ctx, db.ListBucketsParams{NamespaceID: ns.ID, PageOffset: 1, PageLimit: 2}))
	if len(page) != 2 || page[0].Name != "ml-qa" || page[1].Name != "ml-test" || page[1].Region != "ca-local" {
		t.Fatalf("page 2 of 2 = %+v", page)
	}
	prod := must(s.GetBucketForRole(ctx, db.GetBucketForRoleParams{NamespaceID: ns.ID, Role: "prod"}))
	if prod.Name != "ml-prod" || prod.Region != "ca-local" {
		t.Fatalf("bucket for prod = %+v", prod)
	}
	_, err = s.GetBucketForRole(ctx, db.GetBucketForRoleParams{NamespaceID: other.ID, Role: "prod"})
	wantErr(t, err, db.ErrNotFound)
	if n := must(s.DeleteBucket(ctx, db.DeleteBucketParams{ID: prod.ID, NamespaceID: other.ID})); n != 0 {
		t.Fatal("deleted a bucket through another namespace")
	}
	if n := must(s.DeleteBucket(ctx, db.DeleteBucketParams{ID: prod.ID, NamespaceID: ns.ID})); n != 1 {
		t.Fatalf("delete affected %d", n)
	}
}

func testModels(t *testing.T, s db.DB) {
	ctx := context.Background()
	ns := namespace(t, s, "canada")
	other := namespace(t, s, "usa")
	for _, name := range []string{"llm.sm", "llm.lg", "llm_med", "LLM%big", "vision"} {
		model(t, s, ns, name)
	}
	_, err := s.CreateModel(ctx, db.CreateModelParams{NamespaceID: ns.ID, Name: "llm.sm", Now: now()})
	wantConflict(t, err, "models", "namespace_id", "name")
	model(t, s, other, "llm.sm") // the same name in another namespace is fine
	_, err = s.CreateModel(ctx, db.CreateModelParams{NamespaceID: 999999, Name: "x", Now: now()})
	wantErr(t, err, db.ErrForeignKey)

	list := func(contains, tag *string, off, lim int64) ([]string, int64) {
		t.Helper()
		rows := must(s.ListModels(ctx, db.ListModelsParams{NamespaceID: ns.ID, NameContains: contains, Tag: tag, PageOffset: off, PageLimit: lim}))
		n := must(s.CountModels(ctx, db.CountModelsParams{NamespaceID: ns.ID, NameContains: contains, Tag: tag}))
		var names []string
		for _, r := range rows {
			names = append(names, r.Name)
		}
		return names, n
	}
	cases := []struct {
		contains *string
		want     []string
	}{
		{nil, []string{"LLM%big", "llm.lg", "llm.sm", "llm_med", "vision"}},
		{ptr("llm"), []string{"LLM%big", "llm.lg", "llm.sm", "llm_med"}},
		{ptr("LM."), []string{"llm.lg", "llm.sm"}},
		{ptr("_"), []string{"llm_med"}},  // no LIKE wildcard
		{ptr("%"), []string{"LLM%big"}},  // no LIKE wildcard
		{ptr("m.s"), []string{"llm.sm"}}, // substring
		{ptr("nothing"), nil},
	}
	for _, c := range cases {
		got, n := list(c.contains, nil, 0, 100)
		if !slices.Equal(got, c.want) || n != int64(len(c.want)) {
			t.Errorf("name contains %v: %v (count %d), want %v", *ptrOr(c.contains, "<nil>"), got, n, c.want)
		}
	}
	page, total := list(nil, nil, 2, 2)
	if !slices.Equal(page, []string{"llm.sm", "llm_med"}) || total != 5 {
		t.Fatalf("page 2 = %v total %d", page, total)
	}

	tag := must(s.CreateTag(ctx, db.CreateTagParams{NamespaceID: ns.ID, Tag: "nlp", Color: "#00ff00", Now: now()}))
	for _, name := range []string{"llm.sm", "llm.lg"} {
		m := must(s.GetModelByName(ctx, db.GetModelByNameParams{NamespaceID: ns.ID, Name: name}))
		must(s.AttachTag(ctx, db.AttachTagParams{TagID: tag.ID, ModelID: &m.ID}))
	}
	if got, n := list(nil, ptr("nlp"), 0, 10); !slices.Equal(got, []string{"llm.lg", "llm.sm"}) || n != 2 {
		t.Fatalf("tag filter = %v (%d)", got, n)
	}
	if got, n := list(ptr("sm"), ptr("nlp"), 0, 10); !slices.Equal(got, []string{"llm.sm"}) || n != 1 {
		t.Fatalf("tag and name filter = %v (%d)", got, n)
	}

	m := must(s.GetModelByName(ctx, db.GetModelByNameParams{NamespaceID: ns.ID, Name: "vision"}))
	renamed := must(s.RenameModel(ctx, db.RenameModelParams{ID: m.ID, Name: "vision2", Now: now()}))
	if renamed.Name != "vision2" || renamed.ID != m.ID {
		t.Fatalf("renamed = %+v", renamed)
	}
	_, err = s.RenameModel(ctx, db.RenameModelParams{ID: m.ID, Name: "llm.sm", Now: now()})
	wantConflict(t, err, "models", "namespace_id", "name")
	_, err = s.GetModelByName(ctx, db.GetModelByNameParams{NamespaceID: ns.ID, Name: "vision"})
	wantErr(t, err, db.ErrNotFound)

	version(t, s, renamed, "v1")
	if n := must(s.CountModelVersions(ctx, renamed.ID)); n != 1 {
		t.Fatalf("versions = %d", n)
	}
	if n := must(s.CountNamespaceModels(ctx, ns.ID)); n != 5 {
		t.Fatalf("namespace models = %d", n)
	}
}

func ptrOr(p *string, def string) *string {
	if p == nil {
		return &def
	}
	return p
}

func testVersions(t *testing.T, s db.DB) {
	ctx := context.Background()
	ns := namespace(t, s, "canada")
	m := model(t, s, ns, "llm.sm")
	other := model(t, s, ns, "llm.lg")
	ts := now()
	v1 := must(s.CreateVersion(ctx, db.CreateVersionParams{ModelID: m.ID, Version: "v0.1.0", State: "test", Now: ts}))
	if v1.State != "test" || v1.Digest != "" || v1.SealedAt != nil || v1.DeletedAt != nil {
		t.Fatalf("created %+v", v1)
	}
	wantTime(t, "state_changed_at", v1.StateChangedAt, ts)
	_, err := s.CreateVersion(ctx, db.CreateVersionParams{ModelID: m.ID, Version: "v0.1.0", State: "test", Now: now()})
	wantConflict(t, err, "model_versions", "model_id", "version")
	version(t, s, other, "v0.1.0") // same tag, other model
	_, err = s.CreateVersion(ctx, db.CreateVersionParams{ModelID: m.ID, Version: "v9", State: "production", Now: now()})
	wantErr(t, err, db.ErrInvalid)
	for _, name := range []string{"v0.2.0", "v0.3.0", "v0.4.0"} {
		version(t, s, m, name)
	}

	// Lifecycle: a state change keeps the first seal time and is recorded.
	sealed := now()
	qa := must(s.SetVersionState(ctx, db.SetVersionStateParams{ID: v1.ID, State: "qa", SealedAt: &sealed, Now: sealed}))
	if qa.State != "qa" || qa.SealedAt == nil {
		t.Fatalf("after qa: %+v", qa)
	}
	later := sealed.Add(time.Hour)
	prod := must(s.SetVersionState(ctx, db.SetVersionStateParams{ID: v1.ID, State: "prod", SealedAt: &later, Now: later}))
	wantTime(t, "sealed_at kept", *prod.SealedAt, sealed)
	wantTime(t, "state_changed_at", prod.StateChangedAt, later)
	_, err = s.SetVersionState(ctx, db.SetVersionStateParams{ID: v1.ID, State: "gold", Now: later})
	wantErr(t, err, db.ErrInvalid)
	_, err = s.SetVersionState(ctx, db.SetVersionStateParams{ID: 999999, State: "qa", Now: later})
	wantErr(t, err, db.ErrNotFound)

	must(s.CreateStateChange(ctx, db.CreateStateChangeParams{VersionID: v1.ID, ToState: "test", Actor: "anonymous", Now: ts}))
	must(s.CreateStateChange(ctx, db.CreateStateChangeParams{VersionID: v1.ID, FromState: ptr("test"), ToState: "qa", Actor: "ci", Now: sealed}))
	must(s.CreateStateChange(ctx, db.CreateStateChangeParams{VersionID: v1.ID, FromState: ptr("qa"), ToState: "prod", Actor: "ci", Now: sealed}))
	hist := must(s.ListStateChanges(ctx, v1.ID))
	if len(hist) != 3 || hist[0].FromState != nil || hist[1].ToState != "qa" || *hist[2].FromState != "qa" || hist[2].Actor != "ci" {
		t.Fatalf("history = %+v", hist)
	}

	withDigest := must(s.SetVersionDigest(ctx, db.SetVersionDigestParams{ID: v1.ID, Digest: "sha256:" + strings.Repeat("0", 64), Now: now()}))
	if !strings.HasPrefix(withDigest.Digest, "sha256:") {
		t.Fatalf("digest = %q", withDigest.Digest)
	}

	list := func(state, tag *string, off, lim int64) ([]string, int64) {
		t.Helper()
		rows := must(s.ListVersions(ctx, db.ListVersionsParams{ModelID: m.ID, State: state, Tag: tag, PageOffset: off, PageLimit: lim}))
		n := must(s.CountVersions(ctx, db.CountVersionsParams{ModelID: m.ID, State: state, Tag: tag}))
		var names []string
		for _, r := range rows {
			names = append(names, r.Version)
		}
		return names, n
	}
	// Newest first; ties on the creation time broken by id.
	if got, n := list(nil, nil, 0, 10); !slices.Equal(got, []string{"v0.4.0", "v0.3.0", "v0.2.0", "v0.1.0"}) || n != 4 {
		t.Fatalf("list = %v (%d)", got, n)
	}
	if got, n := list(nil, nil, 1, 2); !slices.Equal(got, []string{"v0.3.0", "v0.2.0"}) || n != 4 {
		t.Fatalf("page = %v (%d)", got, n)
	}
	if got, n := list(ptr("prod"), nil, 0, 10); !slices.Equal(got, []string{"v0.1.0"}) || n != 1 {
		t.Fatalf("state filter = %v (%d)", got, n)
	}
	inState := must(s.ListVersionsInState(ctx, db.ListVersionsInStateParams{ModelID: m.ID, State: "test", PageOffset: 1, PageLimit: 5}))
	if len(inState) != 2 || inState[0].Version != "v0.3.0" || inState[1].Version != "v0.2.0" {
		t.Fatalf("versions in test, page from 1 = %+v", inState)
	}
	if n := must(s.CountVersionsInState(ctx, db.CountVersionsInStateParams{ModelID: m.ID, State: "prod"})); n != 1 {
		t.Fatalf("versions in prod = %d", n)
	}
	byPath := must(s.GetVersionByPath(ctx, db.GetVersionByPathParams{Namespace: "canada", Model: "llm.sm", Version: "v0.1.0"}))
	if byPath.ID != v1.ID || byPath.NamespaceID != ns.ID || byPath.State != "prod" {
		t.Fatalf("version by path = %+v", byPath)
	}
	_, err = s.GetVersionByPath(ctx, db.GetVersionByPathParams{Namespace: "canada", Model: "llm.lg", Version: "v0.2.0"})
	wantErr(t, err, db.ErrNotFound)
	if mp := must(s.GetModelByPath(ctx, db.GetModelByPathParams{Namespace: "canada", Model: "llm.lg"})); mp.ID != other.ID {
		t.Fatalf("model by path = %+v", mp)
	}
	_, err = s.GetModelByPath(ctx, db.GetModelByPathParams{Namespace: "usa", Model: "llm.lg"})
	wantErr(t, err, db.ErrNotFound)

	tag := must(s.CreateTag(ctx, db.CreateTagParams{NamespaceID: ns.ID, Tag: "candidate", Color: "#123abc", Now: now()}))
	v3 := must(s.GetVersionByPath(ctx, db.GetVersionByPathParams{Namespace: ns.Name, Model: m.Name, Version: "v0.3.0"}))
	must(s.AttachTag(ctx, db.AttachTagParams{TagID: tag.ID, VersionID: &v3.ID}))
	if got, n := list(nil, ptr("candidate"), 0, 10); !slices.Equal(got, []string{"v0.3.0"}) || n != 1 {
		t.Fatalf("tag filter = %v (%d)", got, n)
	}

	// Soft delete hides the version from lists but keeps its name taken.
	del := must(s.SoftDeleteVersion(ctx, db.SoftDeleteVersionParams{ID: v3.ID, Now: now()}))
	if del.DeletedAt == nil {
		t.Fatal("deleted_at not set")
	}
	_, err = s.SoftDeleteVersion(ctx, db.SoftDeleteVersionParams{ID: v3.ID, Now: now()})
	wantErr(t, err, db.ErrNotFound)
	if got, n := list(nil, nil, 0, 10); slices.Contains(got, "v0.3.0") || n != 3 {
		t.Fatalf("after soft delete: %v (%d)", got, n)
	}
	still := must(s.GetVersionByPath(ctx, db.GetVersionByPathParams{Namespace: ns.Name, Model: m.Name, Version: "v0.3.0"}))
	if still.DeletedAt == nil {
		t.Fatal("get by path lost the soft-delete mark")
	}
	_, err = s.CreateVersion(ctx, db.CreateVersionParams{ModelID: m.ID, Version: "v0.3.0", State: "test", Now: now()})
	wantConflict(t, err, "model_versions", "model_id", "version")
	if n := must(s.DeleteVersion(ctx, v3.ID)); n != 1 {
		t.Fatalf("hard delete affected %d", n)
	}
	version(t, s, m, "v0.3.0") // a hard delete frees the name
}

func testExperiments(t *testing.T, s db.DB) {
	ctx := context.Background()
	ns := namespace(t, s, "canada")
	v := version(t, s, model(t, s, ns, "llm.sm"), "v1")
	params := `{"lr": 0.001, "layers": [1, 2]}`
	e := must(s.CreateExperiment(ctx, db.CreateExperimentParams{VersionID: v.ID, Name: "eval", Params: &params, Now: now()}))
	if e.State != "created" || e.Retries != 0 || e.Params == nil || e.Metrics != nil || e.FinishedAt != nil {
		t.Fatalf("created %+v", e)
	}
	if !jsonEqual(*e.Params, params) {
		t.Fatalf("params = %s, want %s", *e.Params, params)
	}
	_, err := s.CreateExperiment(ctx, db.CreateExperimentParams{VersionID: v.ID, Name: "eval", Now: now()})
	wantConflict(t, err, "experiments", "version_id", "name")
	_, err = s.CreateExperiment(ctx, db.CreateExperimentParams{VersionID: v.ID, Name: "bad", Params: ptr("{not json"), Now: now()})
	wantErr(t, err, db.ErrInvalid)
	_, err = s.CreateExperiment(ctx, db.CreateExperimentParams{VersionID: 999999, Name: "x", Now: now()})
	wantErr(t, err, db.ErrForeignKey)

	// created -> running -> running (a retry) -> passed, written once.
	started := now()
	run := must(s.StartExperiment(ctx, db.StartExperimentParams{ID: e.ID, Now: started}))
	if run.State != "running" || run.Retries != 0 || run.StartedAt == nil {
		t.Fatalf("started %+v", run)
	}
	retry := must(s.StartExperiment(ctx, db.StartExperimentParams{ID: e.ID, Now: started.Add(time.Second)}))
	if retry.Retries != 1 {
		t.Fatalf("retries = %d, want 1", retry.Retries)
	}
	wantTime(t, "started_at kept", *retry.StartedAt, started)
	metrics := `{"accuracy": 0.93}`
	done := must(s.FinishExperiment(ctx, db.FinishExperimentParams{ID: e.ID, State: "passed", Metrics: &metrics, DurationMs: 1500, Now: now()}))
	if done.State != "passed" || done.DurationMs == nil || *done.DurationMs != 1500 || done.FinishedAt == nil || !jsonEqual(*done.Metrics, metrics) {
		t.Fatalf("finished %+v", done)
	}
	_, err = s.FinishExperiment(ctx, db.FinishExperimentParams{ID: e.ID, State: "failed", DurationMs: 1, Now: now()})
	wantErr(t, err, db.ErrNotFound) // the result is written exactly once
	_, err = s.StartExperiment(ctx, db.StartExperimentParams{ID: e.ID, Now: now()})
	wantErr(t, err, db.ErrNotFound)
	again := must(s.GetExperiment(ctx, e.ID))
	if again.State != "passed" || !jsonEqual(*again.Metrics, metrics) {
		t.Fatalf("after refused transitions: %+v", again)
	}

	fresh := experiment(t, s, v, "fresh")
	_, err = s.FinishExperiment(ctx, db.FinishExperimentParams{ID: fresh.ID, State: "passed", DurationMs: 1, Now: now()})
	wantErr(t, err, db.ErrNotFound) // created cannot finish without running
	must(s.StartExperiment(ctx, db.StartExperimentParams{ID: fresh.ID, Now: now()}))
	_, err = s.FinishExperiment(ctx, db.FinishExperimentParams{ID: fresh.ID, State: "exploded", DurationMs: 1, Now: now()})
	wantErr(t, err, db.ErrInvalid)
	_, err = s.FinishExperiment(ctx, db.FinishExperimentParams{ID: fresh.ID, State: "failed", DurationMs: -5, Now: now()})
	wantErr(t, err, db.ErrInvalid)
	must(s.FinishExperiment(ctx, db.FinishExperimentParams{ID: fresh.ID, State: "failed", DurationMs: 10, Now: now()}))
	experiment(t, s, v, "smoke")

	states := must(s.ListVersionExperimentStates(ctx, v.ID))
	if fmt.Sprint(states) != "[{eval passed} {fresh failed} {smoke created}]" {
		t.Fatalf("states = %v", states)
	}
	list := func(state *string, off, lim int64) ([]string, int64) {
		t.Helper()
		rows := must(s.ListExperiments(ctx, db.ListExperimentsParams{VersionID: v.ID, State: state, PageOffset: off, PageLimit: lim}))
		n := must(s.CountExperiments(ctx, db.CountExperimentsParams{VersionID: v.ID, State: state}))
		var names []string
		for _, r := range rows {
			names = append(names, r.Name)
		}
		return names, n
	}
	if got, n := list(nil, 1, 5); !slices.Equal(got, []string{"fresh", "smoke"}) || n != 3 {
		t.Fatalf("list = %v (%d)", got, n)
	}
	if got, n := list(ptr("failed"), 0, 5); !slices.Equal(got, []string{"fresh"}) || n != 1 {
		t.Fatalf("state filter = %v (%d)", got, n)
	}
	must(s.SoftDeleteExperiment(ctx, db.SoftDeleteExperimentParams{ID: fresh.ID, Now: now()}))
	if got, n := list(nil, 0, 5); slices.Contains(got, "fresh") || n != 2 {
		t.Fatalf("after soft delete = %v (%d)", got, n)
	}
	_, err = s.CreateExperiment(ctx, db.CreateExperimentParams{VersionID: v.ID, Name: "fresh", Now: now()})
	wantConflict(t, err, "experiments", "version_id", "name")
	if n := must(s.DeleteExperiment(ctx, fresh.ID)); n != 1 {
		t.Fatalf("hard delete affected %d", n)
	}
}

func testArtifacts(t *testing.T, s db.DB) {
	ctx := context.Background()
	ns := namespace(t, s, "canada")
	v := version(t, s, model(t, s, ns, "llm.sm"), "v1")
	e := experiment(t, s, v, "eval")

	b := blob(t, s, "sha256/ab/abab")
	_, err := s.CreateBlob(ctx, db.CreateBlobParams{Store: "fs", Key: "sha256/ab/abab", Size: 3, Sha256: strings.Repeat("ab", 32), Now: now()})
	wantConflict(t, err, "blobs", "store", "key")
	// PutBlob records new bytes of a namespace, and answers bytes the
	// store records for the namespace with their blob; another namespace,
	// another store or another size is another blob, and so is a blob of
	// no namespace (CreateBlob: recorded before blobs had one).
	stranger := namespace(t, s, "put-blob-other")
	put := func(ns *int64, store, key string, size int64) db.Blob {
		t.Helper()
		return must(s.PutBlob(ctx, db.PutBlobParams{Store: store, NamespaceID: ns, Key: key, StorageVersion: "v-" + key, Size: size, Sha256: strings.Repeat("cd", 32), Now: now()}))
	}
	fresh := put(&ns.ID, "fs", "put/new", 7)
	if fresh.Key != "put/new" || fresh.StorageVersion != "v-put/new" || fresh.NamespaceID == nil || *fresh.NamespaceID != ns.ID {
		t.Fatalf("put blob = %+v", fresh)
	}
	if known := put(&ns.ID, "fs", "put/again", 7); known.ID != fresh.ID || known.Key != "put/new" || known.StorageVersion != "v-put/new" {
		t.Fatalf("put blob of known bytes = %+v, want %+v", known, fresh)
	}
	if _, err := s.GetBlobByKey(ctx, db.GetBlobByKeyParams{Store: "fs", Key: "put/again"}); !errors.Is(err, db.ErrNotFound) {
		t.Fatalf("put blob of known bytes recorded its key: %v", err)
	}
	others := []db.Blob{
		put(&stranger.ID, "fs", "put/other-namespace", 7),
		put(&ns.ID, "s3", "put/other-store", 7),
		put(&ns.ID, "fs", "put/other-size", 8),
		must(s.CreateBlob(ctx, db.CreateBlobParams{Store: "fs", Key: "put/no-namespace", Size: 7, Sha256: strings.Repeat("cd", 32), Now: now()})),
	}
	for _, o := range others {
		if o.ID == fresh.ID {
			t.Fatalf("put blob %s shares the blob of put/new", o.Key)
		}
	}
	if n := must(s.SetBlobStorageVersion(ctx, db.SetBlobStorageVersionParams{ID: b.ID, StorageVersion: "v3"})); n != 1 {
		t.Fatal("did not set the version of a blob")
	}
	if got := must(s.GetBlob(ctx, b.ID)); got.StorageVersion != "v3" {
		t.Fatalf("blob after setting its version = %+v", got)
	}
	for _, o := range append(others, fresh) {
		if n := must(s.DeleteBlob(ctx, o.ID)); n != 1 {
			t.Fatalf("delete blob %d: %d rows", o.ID, n)
		}
	}
	_, err = s.CreateBlob(ctx, db.CreateBlobParams{Store: "fs", Key: "short", Size: 3, Sha256: "abc", Now: now()})
	wantErr(t, err, db.ErrInvalid)
	got := must(s.GetBlobByKey(ctx, db.GetBlobByKeyParams{Store: "fs", Key: "sha256/ab/abab"}))
	if got.ID != b.ID || got.Size != 3 {
		t.Fatalf("blob by key = %+v", got)
	}

	extra := `{"framework": "torch"}`
	a := must(s.CreateArtifact(ctx, db.CreateArtifactParams{
		VersionID: v.ID, Number: 1, Name: "weights/model.safetensors", FileName: "model.safetensors", BlobID: b.ID,
		ContentType: "application/octet-stream", Encoding: "uncompressed", Extra: &extra, Now: now(),
	}))
	if a.Format != nil || a.Extra == nil || !jsonEqual(*a.Extra, extra) || a.ExperimentID != nil || a.ExperimentKey != 0 || a.Kind != "version" || a.Number != 1 {
		t.Fatalf("artifact = %+v", a)
	}
	// Identical content under another name shares the blob.
	must(s.CreateArtifact(ctx, db.CreateArtifactParams{
		VersionID: v.ID, Number: 2, Name: "config.json", FileName: "config.json", BlobID: b.ID,
		ContentType: "application/json", Format: ptr("json"), Encoding: "gzip", Now: now(),
	}))
	_, err = s.CreateArtifact(ctx, db.CreateArtifactParams{
		VersionID: v.ID, Number: 3, Name: "config.json", FileName: "c", BlobID: b.ID, ContentType: "x", Encoding: "uncompressed", Now: now(),
	})
	wantConflict(t, err, "artifacts", "version_id", "experiment_key", "name")
	// Two artifacts of one kind never share a number.
	_, err = s.CreateArtifact(ctx, db.CreateArtifactParams{
		VersionID: v.ID, Number: 2, Name: "other.json", FileName: "c", BlobID: b.ID, ContentType: "x", Encoding: "uncompressed", Now: now(),
	})
	wantConflict(t, err, "artifacts", "kind", "number")
	for _, bad := range []db.CreateArtifactParams{
		{VersionID: v.ID, Number: 9, Name: "f1", FileName: "f", BlobID: b.ID, ContentType: "x", Format: ptr("bin"), Encoding: "uncompressed", Now: now()},
		{VersionID: v.ID, Number: 9, Name: "f2", FileName: "f", BlobID: b.ID, ContentType: "x", Encoding: "rar", Now: now()},
		{VersionID: v.ID, Number: 9, Name: "f3", FileName: "f", BlobID: b.ID, ContentType: "x", Encoding: "uncompressed", Extra: ptr("[oops"), Now: now()},
		// Only a version's own artifacts carry extra.
		{VersionID: v.ID, ExperimentID: &e.ID, Number: 9, Name: "f5", FileName: "f", BlobID: b.ID, ContentType: "x", Encoding: "uncompressed", Extra: &extra, Now: now()},
		// Numbers start at 1.
		{VersionID: v.ID, Number: 0, Name: "f7", FileName: "f", BlobID: b.ID, ContentType: "x", Encoding: "uncompressed", Now: now()},
	} {
		_, err = s.CreateArtifact(ctx, bad)
		wantErr(t, err, db.ErrInvalid)
	}
	_, err = s.CreateArtifact(ctx, db.CreateArtifactParams{
		VersionID: v.ID, Number: 9, Name: "f4", FileName: "f", BlobID: 999999, ContentType: "x", Encoding: "uncompressed", Now: now(),
	})
	wantErr(t, err, db.ErrForeignKey)
	// An experiment's artifact lies on that experiment's version.
	other := version(t, s, model(t, s, ns, "llm.lg"), "v1")
	_, err = s.CreateArtifact(ctx, db.CreateArtifactParams{
		VersionID: other.ID, ExperimentID: &e.ID, Number: 9, Name: "f6", FileName: "f", BlobID: b.ID, ContentType: "x", Encoding: "uncompressed", Now: now(),
	})
	wantErr(t, err, db.ErrForeignKey)

	own := db.CountArtifactsParams{VersionID: v.ID}
	if n := must(s.CountArtifacts(ctx, own)); n != 2 {
		t.Fatalf("count = %d", n)
	}
	arts := must(s.ListArtifactsWithBlob(ctx, db.ListArtifactsWithBlobParams{VersionID: v.ID, PageOffset: 0, PageLimit: 1}))
	if len(arts) != 1 || arts[0].Name != "config.json" || arts[0].Sha256 != b.Sha256 || arts[0].Key != b.Key {
		t.Fatalf("first page = %+v", arts)
	}
	digests := must(s.ListVersionArtifactDigests(ctx, v.ID))
	if len(digests) != 2 || digests[0].Name != "config.json" || digests[1].Sha256 != b.Sha256 {
		t.Fatalf("digests = %+v", digests)
	}
	byName := must(s.GetArtifactWithBlob(ctx, db.GetArtifactWithBlobParams{VersionID: v.ID, Name: "weights/model.safetensors"}))
	if byName.ID != a.ID || byName.Extra == nil {
		t.Fatalf("by name = %+v", byName)
	}

	// An experiment's artifacts are keyed and numbered apart from the
	// version's: the same name and the same number may exist in both.
	eb := blob(t, s, "sha256/cd/cdcd")
	ea := must(s.CreateArtifact(ctx, db.CreateArtifactParams{
		VersionID: v.ID, ExperimentID: &e.ID, Number: 1, Name: "config.json", FileName: "config.json", BlobID: eb.ID, ContentType: "text/html", Format: ptr("html"), Encoding: "uncompressed", Now: now(),
	}))
	if ea.ExperimentID == nil || *ea.ExperimentID != e.ID || ea.ExperimentKey != e.ID || ea.Kind != "experiment" || ea.Number != 1 {
		t.Fatalf("experiment artifact = %+v", ea)
	}
	_, err = s.CreateArtifact(ctx, db.CreateArtifactParams{
		VersionID: v.ID, ExperimentID: &e.ID, Number: 2, Name: "config.json", FileName: "r", BlobID: eb.ID, ContentType: "x", Encoding: "uncompressed", Now: now(),
	})
	wantConflict(t, err, "artifacts", "version_id", "experiment_key", "name")
	mine := db.CountArtifactsParams{VersionID: v.ID, ExperimentKey: e.ID}
	if n := must(s.CountArtifacts(ctx, mine)); n != 1 {
		t.Fatalf("experiment artifacts = %d", n)
	}
	if n := must(s.CountArtifacts(ctx, own)); n != 2 {
		t.Fatalf("version artifacts after an experiment's = %d", n)
	}
	if got := must(s.ListArtifactsWithBlob(ctx, db.ListArtifactsWithBlobParams{VersionID: v.ID, ExperimentKey: e.ID, PageLimit: 10})); len(got) != 1 || got[0].ID != ea.ID {
		t.Fatalf("experiment artifacts = %+v", got)
	}
	if got := must(s.ListVersionArtifactDigests(ctx, v.ID)); len(got) != 2 {
		t.Fatalf("digests cover an experiment's artifact: %+v", got)
	}
	for kind, want := range map[string]int64{"version": a.ID, "experiment": ea.ID} {
		byNumber := must(s.GetArtifactWithBlobByNumber(ctx, db.GetArtifactWithBlobByNumberParams{Kind: kind, Number: 1}))
		if byNumber.ID != want || byNumber.Kind != kind || byNumber.Sha256 == "" {
			t.Fatalf("%s artifact 1 = %+v, want row %d", kind, byNumber, want)
		}
	}
	_, err = s.GetArtifactWithBlobByNumber(ctx, db.GetArtifactWithBlobByNumberParams{Kind: "experiment", Number: 2})
	wantErr(t, err, db.ErrNotFound)
	blobs := func(experiment *int64) []int64 {
		return must(s.ListArtifactBlobIDs(ctx, db.ListArtifactBlobIDsParams{VersionID: v.ID, ExperimentID: experiment}))
	}
	if got := blobs(nil); !slices.Equal(got, []int64{b.ID, eb.ID}) {
		t.Fatalf("version's blobs = %v", got)
	}
	if got := blobs(&e.ID); !slices.Equal(got, []int64{eb.ID}) {
		t.Fatalf("experiment's blobs = %v", got)
	}
	var paths []string
	for _, r := range must(s.ListArtifactBlobs(ctx, db.ListArtifactBlobsParams{Namespace: ptr("canada"), PageLimit: 10})) {
		paths = append(paths, fmt.Sprintf("%s/%s/%s/%v/%s", r.Namespace, r.Model, r.Version, r.Experiment != nil, r.Name))
	}
	if want := []string{"canada/llm.sm/v1/false/weights/model.safetensors", "canada/llm.sm/v1/false/config.json", "canada/llm.sm/v1/true/config.json"}; !slices.Equal(paths, want) {
		t.Fatalf("artifact blobs = %v, want %v", paths, want)
	}

	// Garbage collection sees only blobs nothing references.
	orphan := blob(t, s, "sha256/ef/efef")
	cutoff := now().Add(time.Minute)
	unref := must(s.ListUnreferencedBlobs(ctx, db.ListUnreferencedBlobsParams{CreatedBefore: cutoff, PageLimit: 10}))
	if len(unref) != 1 || unref[0].ID != orphan.ID {
		t.Fatalf("unreferenced = %+v, want only %d", unref, orphan.ID)
	}
	if n := must(s.ListUnreferencedBlobs(ctx, db.ListUnreferencedBlobsParams{CreatedBefore: orphan.CreatedAt.Add(-time.Hour), PageLimit: 10})); len(n) != 0 {
		t.Fatalf("grace period ignored: %+v", n)
	}
	if n := must(s.DeleteBlob(ctx, b.ID)); n != 0 {
		t.Fatal("deleted a referenced blob")
	}
	if n := must(s.DeleteBlob(ctx, orphan.ID)); n != 1 {
		t.Fatal("did not delete an unreferenced blob")
	}
	// Artifacts go with their owner: deleting the experiment removes its
	// artifacts and leaves the version's.
	must(s.DeleteExperiment(ctx, e.ID))
	if n := must(s.CountArtifacts(ctx, mine)); n != 0 {
		t.Fatalf("experiment artifacts after its delete = %d", n)
	}
	if n := must(s.CountArtifacts(ctx, own)); n != 2 {
		t.Fatalf("version artifacts after an experiment's delete = %d", n)
	}
}

// testArtifactNumbers: each kind's counter numbers its artifacts from 1,
// apart from the other kind's; a number whose artifact was deleted is not
// handed out again; concurrent transactions (8 × 25) never take one number.
func testArtifactNumbers(t *testing.T, s db.DB) {
	ctx := context.Background()
	v := version(t, s, model(t, s, namespace(t, s, "canada"), "llm.sm"), "v1")
	e, gone := experiment(t, s, v, "eval"), experiment(t, s, v, "gone")
	b := blob(t, s, "sha256/ab/abab")
	create := func(q db.Queries, experiment *int64, name string) (db.Artifact, error) {
		kind := "version"
		if experiment != nil {
			kind = "experiment"
		}
		n, err := q.NextArtifactNumber(ctx, kind)
		if err != nil {
			return db.Artifact{}, err
		}
		return q.CreateArtifact(ctx, db.CreateArtifactParams{
			VersionID: v.ID, ExperimentID: experiment, Number: n, Name: name, FileName: "f", BlobID: b.ID,
			ContentType: "x", Encoding: "uncompressed", Now: now(),
		})
	}
	var got []string
	for _, c := range []struct {
		experiment *int64
		name       string
	}{{&e.ID, "e1"}, {nil, "v1"}, {nil, "v2"}, {&gone.ID, "e2"}} {
		a := must(create(s, c.experiment, c.name))
		got = append(got, fmt.Sprintf("%s=%s %d", c.name, a.Kind, a.Number))
	}
	if want := "[e1=experiment 1 v1=version 1 v2=version 2 e2=experiment 2]"; fmt.Sprint(got) != want {
		t.Fatalf("numbers = %v, want %s", got, want)
	}
	_, err := s.NextArtifactNumber(ctx, "model")
	wantErr(t, err, db.ErrNotFound)

	if n := must(s.DeleteExperiment(ctx, gone.ID)); n != 1 {
		t.Fatalf("delete affected %d", n)
	}
	if a := must(create(s, &e.ID, "e3")); a.Number != 3 {
		t.Fatalf("after deleting experiment artifact 2, the next is %d, want 3", a.Number)
	}

	const writers, perWriter = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers*perWriter)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWriter {
				err := s.InTx(ctx, func(q db.Queries) error {
					_, err := create(q, &e.ID, fmt.Sprintf("w%d-%03d", w, i))
					return err
				})
				if err != nil {
					errs <- fmt.Errorf("writer %d artifact %d: %w", w, i, err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	numbers := map[int64]bool{}
	for _, a := range must(s.ListArtifactsWithBlob(ctx, db.ListArtifactsWithBlobParams{VersionID: v.ID, ExperimentKey: e.ID, PageLimit: 1000})) {
		numbers[a.Number] = true
	}
	for n := int64(1); n <= 3+writers*perWriter; n++ {
		if numbers[n] == (n == 2) {
			t.Fatalf("experiment artifact %d: present %v; numbers: %v", n, numbers[n], numbers)
		}
	}
}

func testTags(t *testing.T, s db.DB) {
	ctx := context.Background()
	ns := namespace(t, s, "canada")
	other := namespace(t, s, "usa")
	m := model(t, s, ns, "llm.sm")
	v := version(t, s, m, "v1")
	e := experiment(t, s, v, "eval")
	for _, name := range []string{"nlp", "candidate", "baseline"} {
		must(s.CreateTag(ctx, db.CreateTagParams{NamespaceID: ns.ID, Tag: name, Color: "#a0b1c2", Now: now()}))
	}
	_, err := s.CreateTag(ctx, db.CreateTagParams{NamespaceID: ns.ID, Tag: "nlp", Color: "#000000", Now: now()})
	wantConflict(t, err, "tags", "namespace_id", "tag")
	must(s.CreateTag(ctx, db.CreateTagParams{NamespaceID: other.ID, Tag: "nlp", Color: "#000000", Now: now()}))
	for _, bad := range []string{"red", "#GGGGGG", "#12345", "#1234567", "#ABCDEF"} {
		_, err = s.CreateTag(ctx, db.CreateTagParams{NamespaceID: ns.ID, Tag: "c" + bad, Color: bad, Now: now()})
		wantErr(t, err, db.ErrInvalid)
	}
	if n := must(s.CountTags(ctx, ns.ID)); n != 3 {
		t.Fatalf("count = %d", n)
	}
	page := must(s.ListTags(ctx, db.ListTagsParams{NamespaceID: ns.ID, PageOffset: 1, PageLimit: 5}))
	if len(page) != 2 || page[0].Tag != "candidate" || page[1].Tag != "nlp" {
		t.Fatalf("page = %+v", page)
	}
	nlp := must(s.GetTagByName(ctx, db.GetTagByNameParams{NamespaceID: ns.ID, Tag: "nlp"}))
	model, ver, exp := db.ListLinkedTagsParams{ModelID: &m.ID}, db.ListLinkedTagsParams{VersionID: &v.ID}, db.ListLinkedTagsParams{ExperimentID: &e.ID}
	attach := func(target db.ListLinkedTagsParams, tag int64) (int64, error) {
		return s.AttachTag(ctx, db.AttachTagParams{TagID: tag, ModelID: target.ModelID, VersionID: target.VersionID, ExperimentID: target.ExperimentID})
	}
	detach := func(target db.ListLinkedTagsParams, tag int64) (int64, error) {
		return s.DetachTag(ctx, db.DetachTagParams{TagID: tag, ModelID: target.ModelID, VersionID: target.VersionID, ExperimentID: target.ExperimentID})
	}
	if n := must(attach(model, nlp.ID)); n != 1 {
		t.Fatalf("attach affected %d", n)
	}
	if n := must(attach(model, nlp.ID)); n != 0 {
		t.Fatalf("second attach affected %d, want 0 (idempotent)", n)
	}
	must(attach(ver, nlp.ID))
	must(attach(exp, nlp.ID))
	_, err = attach(model, 999999)
	wantErr(t, err, db.ErrForeignKey)
	// A link names exactly one target.
	_, err = s.AttachTag(ctx, db.AttachTagParams{TagID: nlp.ID, ModelID: &m.ID, VersionID: &v.ID})
	wantErr(t, err, db.ErrInvalid)
	_, err = s.AttachTag(ctx, db.AttachTagParams{TagID: nlp.ID})
	wantErr(t, err, db.ErrInvalid)
	for what, target := range map[string]db.ListLinkedTagsParams{"model": model, "version": ver, "experiment": exp} {
		if tags := must(s.ListLinkedTags(ctx, target)); len(tags) != 1 || tags[0].ID != nlp.ID {
			t.Fatalf("%s tags = %+v", what, tags)
		}
	}
	if n := must(detach(model, nlp.ID)); n != 1 {
		t.Fatalf("detach affected %d", n)
	}
	// Ids are per kind: detaching from the model left the others linked.
	if tags := must(s.ListLinkedTags(ctx, ver)); len(tags) != 1 {
		t.Fatalf("version tags after the model's detach = %+v", tags)
	}
	must(detach(ver, nlp.ID))
	must(s.DeleteTag(ctx, nlp.ID)) // cascades to the experiment link
	if tags := must(s.ListLinkedTags(ctx, exp)); len(tags) != 0 {
		t.Fatalf("experiment tags after tag delete = %+v", tags)
	}
	if n := must(detach(exp, nlp.ID)); n != 0 {
		t.Fatalf("detach of a deleted tag affected %d", n)
	}
}

func testCascades(t *testing.T, s db.DB) {
	ctx := context.Background()
	ns := namespace(t, s, "canada")
	keep := namespace(t, s, "usa")
	m := model(t, s, ns, "llm.sm")
	v := version(t, s, m, "v1")
	e := experiment(t, s, v, "eval")
	b := blob(t, s, "k1")
	a := must(s.CreateArtifact(ctx, db.CreateArtifactParams{VersionID: v.ID, Number: 1, Name: "w", FileName: "w", BlobID: b.ID, ContentType: "x", Encoding: "uncompressed", Now: now()}))
	ea := must(s.CreateArtifact(ctx, db.CreateArtifactParams{VersionID: v.ID, ExperimentID: &e.ID, Number: 1, Name: "r", FileName: "r", BlobID: b.ID, ContentType: "x", Encoding: "uncompressed", Now: now()}))
	must(s.CreateStateChange(ctx, db.CreateStateChangeParams{VersionID: v.ID, ToState: "test", Actor: "a", Now: now()}))
	tag := must(s.CreateTag(ctx, db.CreateTagParams{NamespaceID: ns.ID, Tag: "t", Color: "#000000", Now: now()}))
	must(s.AttachTag(ctx, db.AttachTagParams{TagID: tag.ID, ModelID: &m.ID}))
	must(s.CreateBucket(ctx, db.CreateBucketParams{NamespaceID: ns.ID, Name: "b", Region: "r", Role: "test", Now: now()}))
	km := model(t, s, keep, "llm.sm")

	if n := must(s.DeleteNamespace(ctx, ns.ID)); n != 1 {
		t.Fatalf("delete namespace affected %d", n)
	}
	checks := []struct {
		what string
		err  error
	}{
		{"model", second(s.GetModel(ctx, m.ID))},
		{"version", second(s.GetVersion(ctx, v.ID))},
		{"experiment", second(s.GetExperiment(ctx, e.ID))},
	}
	for _, c := range checks {
		if !errors.Is(c.err, db.ErrNotFound) {
			t.Errorf("%s after namespace delete: %v, want not found", c.what, c.err)
		}
	}
	for _, art := range []db.Artifact{a, ea} {
		_, err := s.GetArtifactWithBlobByNumber(ctx, db.GetArtifactWithBlobByNumberParams{Kind: art.Kind, Number: art.Number})
		if !errors.Is(err, db.ErrNotFound) {
			t.Errorf("%s artifact %d after namespace delete: %v, want not found", art.Kind, art.Number, err)
		}
	}
	if hist := must(s.ListStateChanges(ctx, v.ID)); len(hist) != 0 {
		t.Errorf("state history survived: %+v", hist)
	}
	if n := must(s.CountTags(ctx, ns.ID)); n != 0 {
		t.Errorf("tags survived: %d", n)
	}
	if n := must(s.CountBuckets(ctx, ns.ID)); n != 0 {
		t.Errorf("buckets survived: %d", n)
	}
	// Blobs outlive their artifacts until garbage collection removes them.
	if _, err := s.GetBlob(ctx, b.ID); err != nil {
		t.Errorf("blob row: %v", err)
	}
	if _, err := s.GetModel(ctx, km.ID); err != nil {
		t.Errorf("other namespace's model: %v", err)
	}
}

func second[T any](_ T, err error) error { return err }

func testFixtures(t *testing.T, s db.DB) {
	ctx := context.Background()
	if err := db.LoadFixtures(ctx, s, "nope"); err == nil {
		t.Fatal("unknown fixture set accepted")
	}
	count := func() (namespaces, buckets, models, versions int64) {
		t.Helper()
		namespaces = must(s.CountNamespaces(ctx))
		for _, name := range []string{"canada", "usa"} {
			ns, err := s.GetNamespaceByName(ctx, name)
			if errors.Is(err, db.ErrNotFound) {
				continue
			}
			buckets += must(s.CountBuckets(ctx, ns.ID))
			ms := must(s.ListModels(ctx, db.ListModelsParams{NamespaceID: ns.ID, PageLimit: 100}))
			models += int64(len(ms))
			for _, m := range ms {
				versions += must(s.CountVersions(ctx, db.CountVersionsParams{ModelID: m.ID}))
			}
		}
		return
	}
	check(db.LoadFixtures(ctx, s, "basic"))
	if n, b, m, v := count(); n != 1 || b != 4 || m != 0 || v != 0 {
		t.Fatalf("basic: %d namespaces %d buckets %d models %d versions", n, b, m, v)
	}
	canada := must(s.GetNamespaceByName(ctx, "canada"))
	if canada.Description != "Flymodel Canada" {
		t.Fatalf("canada = %+v", canada)
	}
	for range 2 {
		check(db.LoadFixtures(ctx, s, "multi_region"))
		if n, b, m, v := count(); n != 2 || b != 8 || m != 3 || v != 3 {
			t.Fatalf("multi_region: %d namespaces %d buckets %d models %d versions", n, b, m, v)
		}
	}
	lg := must(s.GetModelByName(ctx, db.GetModelByNameParams{NamespaceID: canada.ID, Name: "llm.lg"}))
	v := must(s.GetVersionByPath(ctx, db.GetVersionByPathParams{Namespace: canada.Name, Model: lg.Name, Version: "v1.0.0"}))
	if v.State != "test" {
		t.Fatalf("fixture version = %+v", v)
	}
	usa := must(s.GetNamespaceByName(ctx, "usa"))
	if usa.Description != "Flymodel USA" {
		t.Fatalf("usa = %+v", usa)
	}
	namespace(t, s, "mine")
	check(db.UnloadFixtures(ctx, s, "multi_region"))
	if n, b, m, v := count(); n != 1 || b != 0 || m != 0 || v != 0 {
		t.Fatalf("after unload: %d namespaces %d buckets %d models %d versions", n, b, m, v)
	}
	must(s.GetNamespaceByName(ctx, "mine"))
}

func testTransactions(t *testing.T, s db.DB) {
	ctx := context.Background()
	boom := errors.New("boom")
	err := s.InTx(ctx, func(q db.Queries) error {
		ns, err := q.CreateNamespace(ctx, db.CreateNamespaceParams{Name: "rolled-back", Now: now()})
		if err != nil {
			return err
		}
		if _, err := q.CreateModel(ctx, db.CreateModelParams{NamespaceID: ns.ID, Name: "m", Now: now()}); err != nil {
			return err
		}
		// Reads inside the transaction see its writes.
		if _, err := q.GetNamespaceByName(ctx, "rolled-back"); err != nil {
			return err
		}
		return boom
	})
	wantErr(t, err, boom)
	_, err = s.GetNamespaceByName(ctx, "rolled-back")
	wantErr(t, err, db.ErrNotFound)

	// A constraint error inside a transaction surfaces typed and rolls back.
	namespace(t, s, "taken")
	err = s.InTx(ctx, func(q db.Queries) error {
		if _, err := q.CreateNamespace(ctx, db.CreateNamespaceParams{Name: "first", Now: now()}); err != nil {
			return err
		}
		_, err := q.CreateNamespace(ctx, db.CreateNamespaceParams{Name: "taken", Now: now()})
		return err
	})
	wantConflict(t, err, "namespaces", "name")
	_, err = s.GetNamespaceByName(ctx, "first")
	wantErr(t, err, db.ErrNotFound)

	check(s.InTx(ctx, func(q db.Queries) error {
		_, err := q.CreateNamespace(ctx, db.CreateNamespaceParams{Name: "committed", Now: now()})
		return err
	}))
	must(s.GetNamespaceByName(ctx, "committed"))
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("ping: %v", err)
	}
}

// testConcurrentWriters runs 8 writers × 200 transactions that read then
// write (the pattern that fails with "database is locked" on SQLite when
// transactions begin deferred) while readers list concurrently.
func testConcurrentWriters(t *testing.T, s db.DB) {
	ctx := context.Background()
	ns := namespace(t, s, "load")
	const writers, perWriter = 8, 200
	var wg sync.WaitGroup
	errs := make(chan error, writers*perWriter+writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWriter {
				err := s.InTx(ctx, func(q db.Queries) error {
					n, err := q.GetNamespace(ctx, ns.ID)
					if err != nil {
						return err
					}
					_, err = q.CreateModel(ctx, db.CreateModelParams{NamespaceID: n.ID, Name: fmt.Sprintf("w%d-m%03d", w, i), Now: now()})
					return err
				})
				if err != nil {
					errs <- fmt.Errorf("writer %d insert %d: %w", w, i, err)
				}
			}
		}()
	}
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for range 2 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := s.CountModels(ctx, db.CountModelsParams{NamespaceID: ns.ID}); err != nil {
					errs <- fmt.Errorf("reader: %w", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	close(errs)
	failures := 0
	for err := range errs {
		if failures < 5 {
			t.Error(err)
		}
		failures++
	}
	if failures > 0 {
		t.Fatalf("%d of %d concurrent writes failed", failures, writers*perWriter)
	}
	if n := must(s.CountModels(ctx, db.CountModelsParams{NamespaceID: ns.ID})); n != writers*perWriter {
		t.Fatalf("models = %d, want %d", n, writers*perWriter)
	}
}

// testExclusive: while one holder runs, another attempt does not; after
// it returns, the lock is free again.
func testExclusive(t *testing.T, s db.DB) {
	ctx := context.Background()
	inner := true
	ran := must(s.Exclusive(ctx, "sweeper", func(ctx context.Context) error {
		var err error
		inner, err = s.Exclusive(ctx, "sweeper", func(context.Context) error { return nil })
		if err != nil {
			return err
		}
		other := must(s.Exclusive(ctx, "gc", func(context.Context) error { return nil }))
		if !other {
			t.Error("a lock of another name was refused")
		}
		return nil
	}))
	if !ran || inner {
		t.Fatalf("exclusive: outer ran %v, inner ran %v", ran, inner)
	}
	boom := errors.New("boom")
	_, err := s.Exclusive(ctx, "sweeper", func(context.Context) error { return boom })
	wantErr(t, err, boom)
	if again := must(s.Exclusive(ctx, "sweeper", func(context.Context) error { return nil })); !again {
		t.Fatal("the lock was not released after an error")
	}
}
