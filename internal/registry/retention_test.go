package registry_test

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/flymodel/flymodel/internal/db"
	"github.com/flymodel/flymodel/internal/registry"
)

func days(n int) *int { return &n }

func TestRetention(t *testing.T) {
	engines(t, func(t *testing.T, s db.DB) {
		clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		r, st := withStore(t, s, &clock)
		ok[registry.Namespace](t)(r.CreateNamespace(ctx, registry.NewNamespace{Name: "canada"}))
		ok[registry.Model](t)(r.CreateModel(ctx, "canada", "llm.sm"))
		ref := func(v string) registry.Ref { return registry.Ref{Namespace: "canada", Model: "llm.sm", Version: v} }
		version := func(v string) {
			ok[registry.Version](t)(r.CreateVersion(ctx, "canada", "llm.sm", registry.NewVersion{Version: v}))
		}
		// old-qa: in qa for 40 days; new-qa: for 10; old-test: in test for 40.
		version("old-qa")
		put(t, r, ref("old-qa"), "w.bin", []byte("old weights"))
		put(t, r, ref("old-qa"), "shared.bin", []byte("shared"))
		ok[registry.Version](t)(r.SetVersionState(ctx, ref("old-qa"), "qa"))
		version("old-test")
		put(t, r, ref("old-test"), "shared.bin", []byte("shared")) // the same bytes: one blob
		ok[registry.Experiment](t)(r.CreateExperiment(ctx, ref("old-test"), registry.NewExperiment{Name: "old-run"}))
		if _, _, err := r.PutArtifact(ctx, registry.Owner{Ref: ref("old-test"), Experiment: "old-run"}, registry.NewArtifact{Name: "log.txt"}, bytes.NewReader([]byte("run log"))); err != nil {
			t.Fatal(err)
		}
		clock = clock.Add(30 * 24 * time.Hour)
		version("new-qa")
		ok[registry.Version](t)(r.SetVersionState(ctx, ref("new-qa"), "qa"))
		ok[registry.Experiment](t)(r.CreateExperiment(ctx, ref("old-test"), registry.NewExperiment{Name: "new-run"}))
		clock = clock.Add(10 * 24 * time.Hour)

		rules := map[string]registry.RetentionRule{
			"qa":   {Models: days(30)},
			"test": {Models: days(365), Runs: days(28)},
		}
		objectsBefore := objects(t, st)
		before := ""
		snap := func() string {
			p := ok[registry.Page[registry.Version]](t)(r.ListVersions(ctx, "canada", "llm.sm", registry.VersionFilter{}, registry.PageRequest{Page: 1, Size: 100}))
			e := ok[registry.Page[registry.Experiment]](t)(r.ListExperiments(ctx, ref("old-test"), "", registry.PageRequest{Page: 1, Size: 100}))
			out := ""
			for _, v := range p.Items {
				out += v.Version + " "
			}
			for _, x := range e.Items {
				out += x.Name + " "
			}
			return out
		}
		before = snap()

		dry := ok[registry.RetentionReport](t)(r.Retention(ctx, rules, true))
		if !slices.Equal(dry.Versions, []string{"/namespaces/canada/models/llm.sm/versions/old-qa"}) ||
			!slices.Equal(dry.Experiments, []string{"/namespaces/canada/models/llm.sm/versions/old-test/experiments/old-run"}) {
			t.Fatalf("dry retention = %+v", dry)
		}
		if snap() != before || objects(t, st) != objectsBefore {
			t.Fatal("a dry retention changed something")
		}

		rep := ok[registry.RetentionReport](t)(r.Retention(ctx, rules, false))
		if len(rep.Versions) != 1 || len(rep.Experiments) != 1 || rep.Blobs != 2 {
			t.Fatalf("retention = %+v", rep)
		}
		if got := snap(); got != "new-qa old-test new-run " {
			t.Fatalf("after retention: %q", got)
		}
		// old-qa's own blob and the run log are gone; the blob shared with
		// old-test stays.
		if n := objects(t, st); n != objectsBefore-2 {
			t.Fatalf("objects %d, want %d", n, objectsBefore-2)
		}
		if _, err := r.GetArtifact(ctx, registry.Owner{Ref: ref("old-test")}, "shared.bin"); err != nil {
			t.Fatal(err)
		}
		vr := ok[registry.VerifyReport](t)(r.Verify(ctx, "", nil))
		if len(vr.Problems) != 0 {
			t.Fatalf("verify after retention: %+v", vr)
		}
		again := ok[registry.RetentionReport](t)(r.Retention(ctx, rules, false))
		if len(again.Versions)+len(again.Experiments) != 0 {
			t.Fatalf("second retention = %+v", again)
		}
	})
}
