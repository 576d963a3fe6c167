package dbtest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/flymodel/flymodel/internal/db"
)

// testOverview: the read-only queries of the web UI's overview pages
// (queries/overview.sql, SeedExperiment, ListAuditNewest) answer the same
// on every engine, leaving soft-deleted versions and experiments out.
func testOverview(t *testing.T, s db.DB) {
	ctx := context.Background()
	base := now()
	ns := namespace(t, s, "ns")
	other := namespace(t, s, "other")
	a := must(s.CreateModel(ctx, db.CreateModelParams{NamespaceID: ns.ID, Name: "a", Now: base}))
	must(s.CreateModel(ctx, db.CreateModelParams{NamespaceID: ns.ID, Name: "b", Now: base.Add(time.Second)}))
	o := model(t, s, other, "o")
	at := func(i int) time.Time { return base.Add(time.Duration(i) * time.Minute) }
	mk := func(m db.Model, name, state string, i int) db.ModelVersion {
		return must(s.CreateVersion(ctx, db.CreateVersionParams{ModelID: m.ID, Version: name, State: state, Now: at(i)}))
	}
	v1 := mk(a, "1", "test", 1)
	v2 := mk(a, "2", "prod", 2)
	v3 := mk(a, "3", "test", 3)
	v4 := mk(a, "4", "prod", 4)
	mk(o, "x", "prod", 5)
	must(s.SoftDeleteVersion(ctx, db.SoftDeleteVersionParams{ID: v4.ID, Now: at(6)}))

	if n := must(s.CountNamespaceLiveVersions(ctx, db.CountNamespaceLiveVersionsParams{NamespaceID: ns.ID, CountCap: 10})); n != 3 {
		t.Fatalf("live versions = %d, want 3", n)
	}
	lane := must(s.ListNamespaceVersionsInState(ctx, db.ListNamespaceVersionsInStateParams{NamespaceID: ns.ID, State: "test", PageLimit: 10}))
	if len(lane) != 2 || lane[0].Version != "3" || lane[1].Version != "1" || lane[0].Model != "a" {
		t.Fatalf("test lane = %+v", lane)
	}
	wantTime(t, "state_changed_at", lane[0].StateChangedAt, at(3))
	if n := must(s.CountNamespaceVersionsInState(ctx, db.CountNamespaceVersionsInStateParams{NamespaceID: ns.ID, State: "prod", CountCap: 10})); n != 1 {
		t.Fatalf("prod count = %d", n)
	}
	if n := must(s.CountNamespaceLiveVersions(ctx, db.CountNamespaceLiveVersionsParams{NamespaceID: ns.ID, CountCap: 2})); n != 2 {
		t.Fatalf("capped live versions = %d, want 2", n)
	}

	// A page of models (a, b by name), the heads of each by model, newest
	// first, with its live versions; b has none, so no rows.
	heads := must(s.ListModelPageHeads(ctx, db.ListModelPageHeadsParams{NamespaceID: ns.ID, Sort: "name", PageLimit: 10}))
	if len(heads) != 2 || heads[0].ID != v3.ID || heads[1].ID != v2.ID || heads[0].ModelID != a.ID ||
		heads[0].State != "test" || heads[1].State != "prod" || heads[0].Live != 3 || heads[1].Live != 3 || heads[0].Version != "3" {
		t.Fatalf("heads = %+v", heads)
	}
	wantTime(t, "created_at", heads[0].CreatedAt, at(3))
	if heads := must(s.ListModelPageHeads(ctx, db.ListModelPageHeadsParams{NamespaceID: ns.ID, Sort: "name", PageLimit: 1, PageOffset: 1})); len(heads) != 0 {
		t.Fatalf("heads of page 2 (b) = %+v", heads)
	}
	if heads := must(s.ListModelPageHeads(ctx, db.ListModelPageHeadsParams{NamespaceID: ns.ID, Sort: "-created", PageLimit: 1})); len(heads) != 0 {
		t.Fatalf("heads of b, newest model first = %+v", heads)
	}
	if heads := must(s.ListModelPageHeads(ctx, db.ListModelPageHeadsParams{NamespaceID: ns.ID, NameContains: ptr("A"), Sort: "name", PageLimit: 10})); len(heads) != 2 {
		t.Fatalf("heads of models containing A = %+v", heads)
	}

	sorted := func(sort string) []string {
		rows := must(s.ListModelsSorted(ctx, db.ListModelsSortedParams{NamespaceID: ns.ID, Sort: sort, PageLimit: 10}))
		var out []string
		for _, m := range rows {
			out = append(out, m.Name)
		}
		return out
	}
	for sort, want := range map[string][]string{"name": {"a", "b"}, "-created": {"b", "a"}, "created": {"a", "b"}, "-updated": {"b", "a"}, "anything": {"a", "b"}} {
		if got := sorted(sort); !slices.Equal(got, want) {
			t.Fatalf("models by %s = %v, want %v", sort, got, want)
		}
	}

	versions := func(rows []db.ModelVersion, err error) []string {
		check(err)
		var out []string
		for _, v := range rows {
			out = append(out, v.Version)
		}
		return out
	}
	if got := versions(s.ListVersionsCreatedAsc(ctx, db.ListVersionsCreatedAscParams{ModelID: a.ID, PageLimit: 10})); !slices.Equal(got, []string{"1", "2", "3"}) {
		t.Fatalf("created asc = %v", got)
	}
	if got := versions(s.ListVersionsByName(ctx, db.ListVersionsByNameParams{ModelID: a.ID, State: ptr("test"), PageLimit: 10})); !slices.Equal(got, []string{"1", "3"}) {
		t.Fatalf("by name = %v", got)
	}
	if got := versions(s.ListVersionsByNameDesc(ctx, db.ListVersionsByNameDescParams{ModelID: a.ID, PageLimit: 1, PageOffset: 1})); !slices.Equal(got, []string{"2"}) {
		t.Fatalf("by name desc = %v", got)
	}

	b1, b2 := blob(t, s, "k1"), blob(t, s, "k2")
	for i, bl := range []db.Blob{b1, b2} {
		must(s.CreateArtifact(ctx, db.CreateArtifactParams{VersionID: v1.ID, Number: int64(i + 1), Name: bl.Key, FileName: bl.Key,
			BlobID: bl.ID, ContentType: "text/plain", Encoding: "uncompressed", Now: base}))
	}
	e := experiment(t, s, v1, "eval")
	must(s.CreateArtifact(ctx, db.CreateArtifactParams{VersionID: v1.ID, ExperimentID: &e.ID, Number: 1, Name: "log", FileName: "log",
		BlobID: b1.ID, ContentType: "text/plain", Encoding: "uncompressed", Now: base}))
	if tot := must(s.VersionArtifactTotals(ctx, v1.ID)); tot.Artifacts != 2 || tot.Bytes != 6 {
		t.Fatalf("totals = %+v", tot) // the experiment's artifact is not the version's
	}
	if tot := must(s.VersionArtifactTotals(ctx, v2.ID)); tot.Artifacts != 0 || tot.Bytes != 0 {
		t.Fatalf("empty totals = %+v", tot)
	}

	metrics := `{"acc": 0.5}`
	check(s.SeedExperiment(ctx, db.SeedExperimentParams{VersionID: v2.ID, Name: "eval", State: "passed", Metrics: &metrics, DurationMs: 7, Now: ptr(at(7))}))
	check(s.SeedExperiment(ctx, db.SeedExperimentParams{VersionID: v4.ID, Name: "eval", State: "passed", Now: ptr(at(7))}))
	check(s.SeedExperiment(ctx, db.SeedExperimentParams{VersionID: v3.ID, Name: "gone", State: "failed", Now: ptr(at(7))}))
	gone := must(s.GetExperimentByName(ctx, db.GetExperimentByNameParams{VersionID: v3.ID, Name: "gone"}))
	must(s.SoftDeleteExperiment(ctx, db.SoftDeleteExperimentParams{ID: gone.ID, Now: at(8)}))
	series := must(s.ListExperimentSeries(ctx, db.ListExperimentSeriesParams{ModelID: a.ID, Name: "eval", PageLimit: 10}))
	if len(series) != 2 || series[0].Version != "2" || series[0].State != "passed" || series[0].Metrics == nil || series[1].Version != "1" || series[1].Metrics != nil {
		t.Fatalf("series = %+v", series)
	}
	if names := must(s.ListModelExperimentNames(ctx, db.ListModelExperimentNamesParams{ModelID: a.ID, PageLimit: 10})); !slices.Equal(names, []string{"eval"}) {
		t.Fatalf("experiment names = %v", names)
	}
}
