package registry_test

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/flymodel/flymodel/internal/blob"
	"github.com/flymodel/flymodel/internal/blob/fsblob"
	"github.com/flymodel/flymodel/internal/db"
	"github.com/flymodel/flymodel/internal/registry"
)

// overviewRegistry has gates on stage and prod, and a filesystem store for
// every lifecycle but prod; its clock moves a second at each reading.
func overviewRegistry(t *testing.T, s db.DB) *registry.Registry {
	t.Helper()
	fs, err := fsblob.New(filepath.Join(t.TempDir(), "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	if err := fs.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	clock := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	return registry.New(registry.Options{DB: s,
		Now: func() time.Time {
			mu.Lock()
			defer mu.Unlock()
			clock = clock.Add(time.Second)
			return clock
		},
		Gates: map[string]registry.Gate{
			"stage": {Require: []string{"eval"}},
			"prod":  {Require: []string{"eval", "load"}, RequireAllPassed: true},
		},
		Blobs: registry.BlobStores{
			ByName:  map[string]blob.Store{"local": fs},
			ForRole: map[string]string{"test": "local", "qa": "local", "stage": "local"},
		},
	})
}

func page(n, size int64) registry.PageRequest { return registry.PageRequest{Page: n, Size: size} }

func briefNames(bs []registry.VersionBrief) []string {
	var out []string
	for _, b := range bs {
		out = append(out, b.Model+"/"+b.Version)
	}
	return out
}

func TestOverviews(t *testing.T) {
	engines(t, func(t *testing.T, s db.DB) {
		r := overviewRegistry(t, s)
		// Empty registry.
		sums := ok[registry.Page[registry.NamespaceSummary]](t)(r.NamespaceSummaries(ctx, nil, page(1, 10)))
		if len(sums.Items) != 0 || sums.TotalItems != 0 {
			t.Fatalf("empty summaries = %+v", sums)
		}
		ok[registry.Namespace](t)(r.CreateNamespace(ctx, registry.NewNamespace{Name: "empty"}))
		ok[registry.Namespace](t)(r.CreateNamespace(ctx, registry.NewNamespace{Name: "main"}))
		for _, m := range []string{"alpha", "beta", "gamma"} {
			ok[registry.Model](t)(r.CreateModel(ctx, "main", m))
		}
		ok[registry.Tag](t)(r.CreateTag(ctx, "main", registry.NewTag{Tag: "nlp"}))
		if err := r.TagModel(ctx, "main", "gamma", "nlp", false); err != nil {
			t.Fatal(err)
		}
		ref := func(m, v string) registry.Ref { return registry.Ref{Namespace: "main", Model: m, Version: v} }
		create := func(m, v, state string) {
			t.Helper()
			ok[registry.Version](t)(r.CreateVersion(ctx, "main", m, registry.NewVersion{Version: v, State: state}))
		}
		// alpha: v1 test, v2 qa, v3 prod (ungated at creation? no: prod is gated, so promote), v4 deleted.
		create("alpha", "v1", "test")
		create("alpha", "v2", "qa")
		create("alpha", "v3", "test")
		create("alpha", "v4", "qa")
		if err := r.DeleteVersion(ctx, ref("alpha", "v4"), false); err != nil {
			t.Fatal(err)
		}
		create("gamma", "g1", "test")
		// alpha/v3 to prod through its gate.
		for _, e := range []string{"eval", "load"} {
			ok[registry.Experiment](t)(r.CreateExperiment(ctx, ref("alpha", "v3"), registry.NewExperiment{Name: e}))
			ok[registry.Experiment](t)(r.SetExperimentState(ctx, ref("alpha", "v3"), e, registry.ExperimentUpdate{State: "running"}))
			ok[registry.Experiment](t)(r.SetExperimentState(ctx, ref("alpha", "v3"), e, registry.ExperimentUpdate{State: "passed",
				Metrics: json.RawMessage(`{"accuracy": 0.9, "loss": 1, "note": "x", "nested": {"a": 1}}`)}))
		}
		ok[registry.Version](t)(r.SetVersionState(ctx, ref("alpha", "v3"), "prod"))

		t.Run("NamespaceSummaries", func(t *testing.T) {
			got := ok[registry.Page[registry.NamespaceSummary]](t)(r.NamespaceSummaries(ctx, nil, page(1, 10)))
			if got.TotalItems != 2 || len(got.Items) != 2 || got.Items[0].Namespace.Name != "empty" {
				t.Fatalf("summaries = %+v", got)
			}
			if e := got.Items[0]; e.Models != 0 || e.Versions != 0 || len(e.Prod) != 0 || e.ProdTotal != 0 || e.Prod == nil {
				t.Fatalf("empty = %+v", e)
			}
			m := got.Items[1]
			if m.Models != 3 || m.Versions != 4 || m.ProdTotal != 1 || !slices.Equal(briefNames(m.Prod), []string{"alpha/v3"}) {
				t.Fatalf("main = %+v", m)
			}
			named := ok[registry.Page[registry.NamespaceSummary]](t)(r.NamespaceSummaries(ctx, []string{"main", "nope"}, page(1, 10)))
			if named.TotalItems != 1 || named.Items[0].Namespace.Name != "main" {
				t.Fatalf("named = %+v", named)
			}
			p2 := ok[registry.Page[registry.NamespaceSummary]](t)(r.NamespaceSummaries(ctx, nil, page(2, 1)))
			if p2.TotalItems != 2 || len(p2.Items) != 1 || p2.Items[0].Namespace.Name != "main" {
				t.Fatalf("page 2 = %+v", p2)
			}
			_, err := r.NamespaceSummaries(ctx, nil, page(0, 10))
			errAs[*registry.ValidationError](t, err)
		})

		t.Run("ModelOverviews", func(t *testing.T) {
			got := ok[registry.Page[registry.ModelOverview]](t)(r.ModelOverviews(ctx, "main", registry.ModelFilter{}, "", page(1, 10)))
			if got.TotalItems != 3 || len(got.Items) != 3 {
				t.Fatalf("overviews = %+v", got)
			}
			a, b := got.Items[0], got.Items[1]
			if a.Model.Name != "alpha" || a.Versions != 3 || a.Newest == nil || a.Newest.Version != "v3" || a.Newest.State != "prod" {
				t.Fatalf("alpha = %+v newest %+v", a, a.Newest)
			}
			if a.Heads["test"].Version != "v1" || a.Heads["qa"].Version != "v2" || a.Heads["prod"].Version != "v3" || len(a.Heads) != 3 {
				t.Fatalf("alpha heads = %+v", a.Heads) // v4 (qa) is deleted
			}
			if b.Model.Name != "beta" || b.Versions != 0 || b.Newest != nil || len(b.Heads) != 0 {
				t.Fatalf("beta = %+v", b)
			}
			tagged := ok[registry.Page[registry.ModelOverview]](t)(r.ModelOverviews(ctx, "main", registry.ModelFilter{Tag: "nlp"}, "", page(1, 10)))
			if tagged.TotalItems != 1 || tagged.Items[0].Model.Name != "gamma" || !slices.Equal(tagged.Items[0].Model.Tags, []string{"nlp"}) {
				t.Fatalf("tagged = %+v", tagged)
			}
			named := ok[registry.Page[registry.ModelOverview]](t)(r.ModelOverviews(ctx, "main", registry.ModelFilter{NameContains: "ET"}, "", page(1, 10)))
			if named.TotalItems != 1 || named.Items[0].Model.Name != "beta" {
				t.Fatalf("name contains = %+v", named)
			}
			names := func(p registry.Page[registry.ModelOverview]) []string {
				var out []string
				for _, o := range p.Items {
					out = append(out, o.Model.Name)
				}
				return out
			}
			for sort, want := range map[string][]string{
				"name": {"alpha", "beta", "gamma"}, "-created": {"gamma", "beta", "alpha"}, "created": {"alpha", "beta", "gamma"},
				// gamma was tagged after all were created: updated_at moves only on renames and descriptions.
				"-updated": {"gamma", "beta", "alpha"}, "updated": {"alpha", "beta", "gamma"},
			} {
				if got := names(ok[registry.Page[registry.ModelOverview]](t)(r.ModelOverviews(ctx, "main", registry.ModelFilter{}, sort, page(1, 10)))); !slices.Equal(got, want) {
					t.Errorf("sort %s = %v, want %v", sort, got, want)
				}
			}
			p := ok[registry.Page[registry.ModelOverview]](t)(r.ModelOverviews(ctx, "main", registry.ModelFilter{}, "-created", page(2, 2)))
			if !slices.Equal(names(p), []string{"alpha"}) || p.TotalPages != 2 {
				t.Fatalf("page 2 = %+v", p)
			}
			_, err := r.ModelOverviews(ctx, "main", registry.ModelFilter{}, "size", page(1, 10))
			errAs[*registry.ValidationError](t, err)
			_, err = r.ModelOverviews(ctx, "nope", registry.ModelFilter{}, "", page(1, 10))
			errAs[*registry.NotFoundError](t, err)
			_, err = r.ModelOverviews(ctx, "main", registry.ModelFilter{Tag: "bad/tag"}, "", page(1, 10))
			errAs[*registry.ValidationError](t, err)
		})

		t.Run("LifecycleBoard", func(t *testing.T) {
			b := ok[registry.Board](t)(r.LifecycleBoard(ctx, "main", 0))
			if len(b.Lanes) != 4 || b.Lanes[0].Lifecycle != "test" || b.Lanes[3].Lifecycle != "prod" {
				t.Fatalf("board = %+v", b)
			}
			// Newest state change first: g1 was created after alpha/v1.
			if got := briefNames(b.Lanes[0].Versions); !slices.Equal(got, []string{"gamma/g1", "alpha/v1"}) || b.Lanes[0].Total != 2 {
				t.Fatalf("test lane = %v (%d)", got, b.Lanes[0].Total)
			}
			if got := briefNames(b.Lanes[1].Versions); !slices.Equal(got, []string{"alpha/v2"}) || b.Lanes[1].Total != 1 {
				t.Fatalf("qa lane = %v (%d)", got, b.Lanes[1].Total) // v4 deleted
			}
			if len(b.Lanes[2].Versions) != 0 || b.Lanes[2].Total != 0 || b.Lanes[2].Versions == nil {
				t.Fatalf("stage lane = %+v", b.Lanes[2])
			}
			capped := ok[registry.Board](t)(r.LifecycleBoard(ctx, "main", 1))
			if got := briefNames(capped.Lanes[0].Versions); !slices.Equal(got, []string{"gamma/g1"}) || capped.Lanes[0].Total != 2 {
				t.Fatalf("capped test lane = %v (%d)", got, capped.Lanes[0].Total)
			}
			empty := ok[registry.Board](t)(r.LifecycleBoard(ctx, "empty", 5))
			for _, l := range empty.Lanes {
				if l.Total != 0 || len(l.Versions) != 0 {
					t.Fatalf("empty board = %+v", empty)
				}
			}
			_, err := r.LifecycleBoard(ctx, "main", registry.MaxBriefs+1)
			errAs[*registry.ValidationError](t, err)
			_, err = r.LifecycleBoard(ctx, "nope", 1)
			errAs[*registry.NotFoundError](t, err)
		})

		t.Run("VersionSummaries", func(t *testing.T) {
			put(t, r, ref("alpha", "v1"), "weights.bin", []byte("12345"))
			put(t, r, ref("alpha", "v1"), "config.json", []byte(`{}`))
			vs := func(f registry.VersionFilter, sort string, p registry.PageRequest) []string {
				t.Helper()
				got := ok[registry.Page[registry.VersionSummary]](t)(r.VersionSummaries(ctx, "main", "alpha", f, sort, p))
				var out []string
				for _, s := range got.Items {
					out = append(out, s.Version.Version)
				}
				return out
			}
			all := ok[registry.Page[registry.VersionSummary]](t)(r.VersionSummaries(ctx, "main", "alpha", registry.VersionFilter{}, "", page(1, 10)))
			if all.TotalItems != 3 || all.Items[2].Version.Version != "v1" || all.Items[2].Artifacts != 2 || all.Items[2].ArtifactBytes != 7 || all.Items[0].Artifacts != 0 {
				t.Fatalf("summaries = %+v", all)
			}
			for sort, want := range map[string][]string{
				"": {"v3", "v2", "v1"}, "-created": {"v3", "v2", "v1"}, "created": {"v1", "v2", "v3"}, "version": {"v1", "v2", "v3"}, "-version": {"v3", "v2", "v1"},
			} {
				if got := vs(registry.VersionFilter{}, sort, page(1, 10)); !slices.Equal(got, want) {
					t.Errorf("sort %q = %v, want %v", sort, got, want)
				}
			}
			if got := vs(registry.VersionFilter{State: "qa"}, "version", page(1, 10)); !slices.Equal(got, []string{"v2"}) {
				t.Errorf("qa = %v", got)
			}
			if got := vs(registry.VersionFilter{}, "version", page(2, 2)); !slices.Equal(got, []string{"v3"}) {
				t.Errorf("page 2 = %v", got)
			}
			if got := vs(registry.VersionFilter{Tag: "nlp"}, "created", page(1, 10)); len(got) != 0 {
				t.Errorf("tag = %v", got)
			}
			for _, bad := range []struct {
				f    registry.VersionFilter
				sort string
			}{{registry.VersionFilter{}, "name"}, {registry.VersionFilter{State: "live"}, "version"}, {registry.VersionFilter{State: "live"}, ""}} {
				_, err := r.VersionSummaries(ctx, "main", "alpha", bad.f, bad.sort, page(1, 10))
				errAs[*registry.ValidationError](t, err)
			}
			_, err := r.VersionSummaries(ctx, "main", "nope", registry.VersionFilter{}, "version", page(1, 10))
			errAs[*registry.NotFoundError](t, err)
		})

		t.Run("GatePreview", func(t *testing.T) {
			st := ok[registry.GateStatus](t)(r.GatePreview(ctx, ref("alpha", "v2"), "stage"))
			if st.From != "qa" || st.To != "stage" || !slices.Equal(st.Missing, []string{"eval"}) || st.GatePassed || !st.MoveAllowed || st.WouldSucceed {
				t.Fatalf("stage preview = %+v", st)
			}
			ok[registry.Experiment](t)(r.CreateExperiment(ctx, ref("alpha", "v2"), registry.NewExperiment{Name: "eval"}))
			ok[registry.Experiment](t)(r.CreateExperiment(ctx, ref("alpha", "v2"), registry.NewExperiment{Name: "smoke"}))
			st = ok[registry.GateStatus](t)(r.GatePreview(ctx, ref("alpha", "v2"), "prod"))
			want := []registry.GateExperiment{{Name: "eval", State: "created"}, {Name: "smoke", State: "created"}}
			if !slices.Equal(st.Missing, []string{"load"}) || !slices.Equal(st.NotPassed, want) || st.WouldSucceed || !st.RequireAllPassed {
				t.Fatalf("prod preview = %+v", st)
			}
			// The preview and the promotion agree.
			_, err := r.SetVersionState(ctx, ref("alpha", "v2"), "prod")
			ge := errAs[*registry.GateError](t, err)
			if !slices.Equal(ge.Missing, st.Missing) || !slices.Equal(ge.NotPassed, []string{"eval", "smoke"}) {
				t.Fatalf("gate error %+v, preview %+v", ge, st)
			}
			// Ungated and no artifacts: allowed.
			st = ok[registry.GateStatus](t)(r.GatePreview(ctx, ref("alpha", "v2"), "test"))
			if !st.GatePassed || !st.WouldSucceed || st.Require == nil {
				t.Fatalf("test preview = %+v", st)
			}
			// The same state: no change, succeeds.
			st = ok[registry.GateStatus](t)(r.GatePreview(ctx, ref("alpha", "v2"), "qa"))
			if !st.NoChange || !st.WouldSucceed {
				t.Fatalf("qa preview = %+v", st)
			}
			// alpha/v1 has artifacts and no store serves prod: refused for
			// that besides the gate.
			st = ok[registry.GateStatus](t)(r.GatePreview(ctx, ref("alpha", "v1"), "prod"))
			if st.MoveAllowed || st.Reason == "" || st.WouldSucceed {
				t.Fatalf("prod preview of v1 = %+v", st)
			}
			st = ok[registry.GateStatus](t)(r.GatePreview(ctx, ref("alpha", "v1"), "qa"))
			if !st.MoveAllowed || !st.WouldSucceed {
				t.Fatalf("qa preview of v1 = %+v", st)
			}
			_, err = r.GatePreview(ctx, ref("alpha", "v1"), "production")
			errAs[*registry.ValidationError](t, err)
			_, err = r.GatePreview(ctx, ref("alpha", "v4"), "qa") // deleted
			errAs[*registry.NotFoundError](t, err)
		})

		t.Run("CompareVersions", func(t *testing.T) {
			put(t, r, ref("gamma", "g1"), "weights.bin", []byte("12345"))
			create("gamma", "g2", "test")
			put(t, r, ref("gamma", "g2"), "weights.bin", []byte("67890"))
			put(t, r, ref("gamma", "g2"), "tokenizer.json", []byte("{}"))
			put(t, r, ref("gamma", "g1"), "readme.md", []byte("hi"))
			put(t, r, ref("gamma", "g2"), "readme.md", []byte("hi"))
			put(t, r, ref("gamma", "g1"), "old.txt", []byte("old"))
			ok[registry.Experiment](t)(r.CreateExperiment(ctx, ref("gamma", "g1"), registry.NewExperiment{Name: "eval"}))
			ok[registry.Experiment](t)(r.CreateExperiment(ctx, ref("gamma", "g2"), registry.NewExperiment{Name: "eval"}))
			ok[registry.Experiment](t)(r.CreateExperiment(ctx, ref("gamma", "g2"), registry.NewExperiment{Name: "bench"}))
			c := ok[registry.Comparison](t)(r.CompareVersions(ctx, "main", "gamma", "g1", "g2"))
			artNames := func(as []registry.Artifact) []string {
				var out []string
				for _, a := range as {
					out = append(out, a.Name)
				}
				return out
			}
			if c.A.Version != "g1" || c.B.Version != "g2" || !slices.Equal(artNames(c.Added), []string{"tokenizer.json"}) ||
				!slices.Equal(artNames(c.Removed), []string{"old.txt"}) || !slices.Equal(artNames(c.Unchanged), []string{"readme.md"}) ||
				len(c.Changed) != 1 || c.Changed[0].Name != "weights.bin" || c.Changed[0].A.SHA256 == c.Changed[0].B.SHA256 {
				t.Fatalf("comparison = %+v", c)
			}
			if len(c.Experiments) != 2 || c.Experiments[0].Name != "bench" || c.Experiments[0].A != nil || c.Experiments[0].B == nil ||
				c.Experiments[1].Name != "eval" || c.Experiments[1].A == nil || c.Experiments[1].B == nil {
				t.Fatalf("experiments = %+v", c.Experiments)
			}
			same := ok[registry.Comparison](t)(r.CompareVersions(ctx, "main", "alpha", "v2", "v2"))
			if len(same.Added)+len(same.Removed)+len(same.Changed)+len(same.Unchanged) != 0 || len(same.Experiments) != 2 {
				t.Fatalf("self comparison = %+v", same)
			}
			_, err := r.CompareVersions(ctx, "main", "alpha", "v1", "v4") // deleted
			errAs[*registry.NotFoundError](t, err)
		})

		t.Run("MetricSeries", func(t *testing.T) {
			create("alpha", "v5", "test")
			ok[registry.Experiment](t)(r.CreateExperiment(ctx, ref("alpha", "v5"), registry.NewExperiment{Name: "eval"}))
			ok[registry.Experiment](t)(r.SetExperimentState(ctx, ref("alpha", "v5"), "eval", registry.ExperimentUpdate{State: "running"}))
			ok[registry.Experiment](t)(r.SetExperimentState(ctx, ref("alpha", "v5"), "eval", registry.ExperimentUpdate{State: "failed",
				Metrics: json.RawMessage(`{"accuracy": 0.5, "f1": 0.25}`)}))
			s := ok[registry.Series](t)(r.MetricSeries(ctx, "main", "alpha", "eval", 0))
			// v2 has eval (created, no metrics), v3 passed, v5 failed; oldest first.
			if len(s.Points) != 3 || s.Points[0].Version != "v2" || s.Points[1].Version != "v3" || s.Points[2].Version != "v5" {
				t.Fatalf("series = %+v", s)
			}
			if !slices.Equal(s.Keys, []string{"accuracy", "f1", "loss"}) || s.Points[1].Metrics["accuracy"] != 0.9 ||
				len(s.Points[1].Metrics) != 2 || s.Points[2].State != "failed" || len(s.Points[0].Metrics) != 0 {
				t.Fatalf("series = %+v", s)
			}
			last := ok[registry.Series](t)(r.MetricSeries(ctx, "main", "alpha", "eval", 2))
			if len(last.Points) != 2 || last.Points[0].Version != "v3" {
				t.Fatalf("limited series = %+v", last)
			}
			none := ok[registry.Series](t)(r.MetricSeries(ctx, "main", "beta", "eval", 0))
			if len(none.Points) != 0 || none.Keys == nil {
				t.Fatalf("empty series = %+v", none)
			}
			for _, limit := range []int{-1, registry.MaxSeriesLimit + 1} {
				_, err := r.MetricSeries(ctx, "main", "alpha", "eval", limit)
				errAs[*registry.ValidationError](t, err)
			}
			_, err := r.MetricSeries(ctx, "main", "alpha", "bad/name", 0)
			errAs[*registry.ValidationError](t, err)
			names := ok[[]string](t)(r.ExperimentNames(ctx, "main", "alpha"))
			if !slices.Equal(names, []string{"eval", "load", "smoke"}) {
				t.Fatalf("experiment names = %v", names)
			}
			if names := ok[[]string](t)(r.ExperimentNames(ctx, "main", "beta")); names == nil || len(names) != 0 {
				t.Fatalf("beta experiment names = %v", names)
			}
			_, err = r.ExperimentNames(ctx, "main", "nope")
			errAs[*registry.NotFoundError](t, err)
		})
	})
}
