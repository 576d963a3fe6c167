package registry_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/flymodel/flymodel/internal/audit"
	"github.com/flymodel/flymodel/internal/db"
	"github.com/flymodel/flymodel/internal/db/dbtest"
	"github.com/flymodel/flymodel/internal/db/postgres"
	"github.com/flymodel/flymodel/internal/db/sqlite"
	"github.com/flymodel/flymodel/internal/registry"
)

// engines runs fn once per database engine, each on a fresh database.
func engines(t *testing.T, fn func(t *testing.T, s db.DB)) {
	t.Run("sqlite", func(t *testing.T) {
		s, err := sqlite.Open(context.Background(), dbtest.SQLitePath(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		migrate(t, s)
		fn(t, s)
	})
	t.Run("postgres", func(t *testing.T) {
		if os.Getenv(dbtest.PostgresEnv) == "" && os.Getenv(dbtest.RequireServicesEnv) != "1" {
			t.Skip(dbtest.PostgresEnv + " not set: skipping PostgreSQL")
		}
		s, err := postgres.Open(context.Background(), dbtest.PostgresURL(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		migrate(t, s)
		fn(t, s)
	})
}

func migrate(t *testing.T, s db.DB) {
	t.Helper()
	if _, err := s.Migrate(context.Background(), db.MigrateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func ok[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return v
	}
}

func errAs[T error](t *testing.T, err error) T {
	t.Helper()
	var target T
	if !errors.As(err, &target) {
		t.Fatalf("error = %v (%T), want %T", err, err, target)
	}
	return target
}

var ctx = context.Background()

func setup(t *testing.T, r *registry.Registry) registry.Ref {
	ok[registry.Namespace](t)(r.CreateNamespace(ctx, registry.NewNamespace{Name: "canada"}))
	ok[registry.Model](t)(r.CreateModel(ctx, "canada", "llm.sm"))
	ok[registry.Version](t)(r.CreateVersion(as(ctx, "alice"), "canada", "llm.sm", registry.NewVersion{Version: "v1"}))
	return registry.Ref{Namespace: "canada", Model: "llm.sm", Version: "v1"}
}

func TestLifecycleAndGates(t *testing.T) {
	engines(t, func(t *testing.T, s db.DB) {
		clock := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		r := registry.New(registry.Options{
			DB:  s,
			Now: func() time.Time { return clock },
			Gates: map[string]registry.Gate{
				"stage": {Require: []string{"eval"}},
				"prod":  {Require: []string{"eval", "load"}, RequireAllPassed: true},
			},
		})
		ref := setup(t, r)
		v := ok[registry.Version](t)(r.GetVersion(ctx, ref))
		if v.State != "test" || v.Sealed || v.Digest != "" || v.Namespace != "canada" || v.Model != "llm.sm" {
			t.Fatalf("new version = %+v", v)
		}

		// Unknown lifecycle: a validation error.
		_, err := r.SetVersionState(as(ctx, "bob"), ref, "production")
		errAs[*registry.ValidationError](t, err)

		clock = clock.Add(time.Hour)
		qa := ok[registry.Version](t)(r.SetVersionState(as(ctx, "bob"), ref, "qa"))
		if qa.State != "qa" || !qa.Sealed || !qa.SealedAt.Equal(clock) {
			t.Fatalf("after qa = %+v", qa)
		}
		// The same state again changes nothing, not even the history.
		ok[registry.Version](t)(r.SetVersionState(as(ctx, "bob"), ref, "qa"))

		// Gated: stage requires eval passed; nothing changes when refused.
		_, err = r.SetVersionState(as(ctx, "bob"), ref, "stage")
		ge := errAs[*registry.GateError](t, err)
		if !slices.Equal(ge.Missing, []string{"eval"}) || len(ge.NotPassed) != 0 {
			t.Fatalf("gate error = %+v", ge)
		}
		ok[registry.Experiment](t)(r.CreateExperiment(ctx, ref, registry.NewExperiment{Name: "eval"}))
		ok[registry.Experiment](t)(r.SetExperimentState(ctx, ref, "eval", registry.ExperimentUpdate{State: "running"}))
		_, err = r.SetVersionState(as(ctx, "bob"), ref, "stage")
		ge = errAs[*registry.GateError](t, err)
		if len(ge.Missing) != 0 || !slices.Equal(ge.NotPassed, []string{"eval"}) {
			t.Fatalf("gate error = %+v", ge)
		}
		if got := ok[registry.Version](t)(r.GetVersion(ctx, ref)); got.State != "qa" {
			t.Fatalf("refused promotion changed state to %s", got.State)
		}
		ok[registry.Experiment](t)(r.SetExperimentState(ctx, ref, "eval", registry.ExperimentUpdate{State: "passed"}))
		ok[registry.Version](t)(r.SetVersionState(as(ctx, "carol"), ref, "stage"))

		// prod: eval and load required, and every experiment passed.
		ok[registry.Experiment](t)(r.CreateExperiment(ctx, ref, registry.NewExperiment{Name: "smoke"}))
		_, err = r.SetVersionState(as(ctx, "carol"), ref, "prod")
		ge = errAs[*registry.GateError](t, err)
		if !slices.Equal(ge.Missing, []string{"load"}) || !slices.Equal(ge.NotPassed, []string{"smoke"}) {
			t.Fatalf("prod gate error = %+v", ge)
		}
		for _, name := range []string{"load", "smoke"} {
			if name == "load" {
				ok[registry.Experiment](t)(r.CreateExperiment(ctx, ref, registry.NewExperiment{Name: name}))
			}
			ok[registry.Experiment](t)(r.SetExperimentState(ctx, ref, name, registry.ExperimentUpdate{State: "running"}))
			ok[registry.Experiment](t)(r.SetExperimentState(ctx, ref, name, registry.ExperimentUpdate{State: "passed"}))
		}
		clock = clock.Add(time.Hour)
		prod := ok[registry.Version](t)(r.SetVersionState(as(ctx, "carol"), ref, "prod"))
		if prod.State != "prod" || !prod.SealedAt.Equal(clock.Add(-time.Hour)) {
			t.Fatalf("prod = %+v (seal must keep its first time)", prod)
		}
		// Back to test: allowed (a rollback), but the seal stays.
		back := ok[registry.Version](t)(r.SetVersionState(as(ctx, "carol"), ref, "test"))
		if !back.Sealed {
			t.Fatal("moving back to test unsealed the version")
		}

		hist := ok[[]registry.StateChange](t)(r.VersionHistory(ctx, ref))
		var got []string
		for _, h := range hist {
			from := "-"
			if h.From != nil {
				from = *h.From
			}
			got = append(got, from+">"+h.To+":"+h.Actor)
		}
		want := []string{"->test:alice", "test>qa:bob", "qa>stage:carol", "stage>prod:carol", "prod>test:carol"}
		if !slices.Equal(got, want) {
			t.Fatalf("history = %v, want %v", got, want)
		}

		// A version created straight into a gated lifecycle has no passed experiments.
		_, err = r.CreateVersion(ctx, "canada", "llm.sm", registry.NewVersion{Version: "v2", State: "prod"})
		errAs[*registry.GateError](t, err)
		if _, err := r.GetVersion(ctx, registry.Ref{Namespace: "canada", Model: "llm.sm", Version: "v2"}); err == nil {
			t.Fatal("refused version was created")
		}
		qa2 := ok[registry.Version](t)(r.CreateVersion(ctx, "canada", "llm.sm", registry.NewVersion{Version: "v3", State: "qa"}))
		if !qa2.Sealed || qa2.State != "qa" {
			t.Fatalf("created in qa = %+v", qa2)
		}
	})
}

func TestExperimentStateMachine(t *testing.T) {
	engines(t, func(t *testing.T, s db.DB) {
		r := registry.New(registry.Options{DB: s})
		ref := setup(t, r)
		e := ok[registry.Experiment](t)(r.CreateExperiment(ctx, ref, registry.NewExperiment{Name: "eval", Params: json.RawMessage(`{"lr": 0.1}`)}))
		if e.State != "created" || string(e.Params) != `{"lr":0.1}` && string(e.Params) != `{"lr": 0.1}` {
			t.Fatalf("created = %+v params %s", e, e.Params)
		}
		_, err := r.CreateExperiment(ctx, ref, registry.NewExperiment{Name: "eval"})
		ce := errAs[*registry.ConflictError](t, err)
		if ce.Path != "/namespaces/canada/models/llm.sm/versions/v1/experiments/eval" {
			t.Fatalf("conflict path = %s", ce.Path)
		}
		_, err = r.CreateExperiment(ctx, ref, registry.NewExperiment{Name: "x", Params: json.RawMessage(`[1]`)})
		errAs[*registry.ValidationError](t, err)

		set := func(state string, dur *int64, metrics string) (registry.Experiment, error) {
			return r.SetExperimentState(ctx, ref, "eval", registry.ExperimentUpdate{State: state, DurationMs: dur, Metrics: json.RawMessage(metrics)})
		}
		_, err = set("passed", nil, "")
		errAs[*registry.StateError](t, err) // not running yet
		_, err = set("created", nil, "")
		errAs[*registry.StateError](t, err)
		_, err = set("done", nil, "")
		errAs[*registry.ValidationError](t, err)
		_, err = set("running", nil, `{"a": 1}`)
		errAs[*registry.ValidationError](t, err) // metrics only with a result

		ok[registry.Experiment](t)(set("running", nil, ""))
		retry := ok[registry.Experiment](t)(set("running", nil, ""))
		if retry.Retries != 1 {
			t.Fatalf("retries = %d", retry.Retries)
		}
		dur := int64(1234)
		done := ok[registry.Experiment](t)(set("failed", &dur, `{"loss": 2.5}`))
		if done.State != "failed" || *done.DurationMs != 1234 || done.FinishedAt == nil {
			t.Fatalf("finished = %+v", done)
		}
		for _, next := range []string{"passed", "running", "failed"} {
			_, err = set(next, nil, "")
			se := errAs[*registry.StateError](t, err)
			if se.From != "failed" {
				t.Fatalf("state error = %+v", se)
			}
		}
		final := ok[registry.Experiment](t)(r.GetExperiment(ctx, ref, "eval"))
		if final.State != "failed" || final.Retries != 1 || *final.DurationMs != 1234 {
			t.Fatalf("refused moves changed the result: %+v", final)
		}

		page := ok[registry.Page[registry.Experiment]](t)(r.ListExperiments(ctx, ref, "failed", registry.PageRequest{Page: 1, Size: 10}))
		if page.TotalItems != 1 || page.Items[0].Name != "eval" {
			t.Fatalf("list = %+v", page)
		}
	})
}

func TestDeletes(t *testing.T) {
	engines(t, func(t *testing.T, s db.DB) {
		r := registry.New(registry.Options{DB: s})
		ref := setup(t, r)
		ok[registry.Experiment](t)(r.CreateExperiment(ctx, ref, registry.NewExperiment{Name: "eval"}))

		err := r.DeleteNamespace(ctx, "canada", false)
		errAs[*registry.ConflictError](t, err)
		err = r.DeleteModel(ctx, "canada", "llm.sm", false)
		errAs[*registry.ConflictError](t, err)

		// Soft delete: hidden, name taken.
		if err := r.DeleteExperiment(ctx, ref, "eval", false); err != nil {
			t.Fatal(err)
		}
		_, err = r.GetExperiment(ctx, ref, "eval")
		errAs[*registry.NotFoundError](t, err)
		_, err = r.CreateExperiment(ctx, ref, registry.NewExperiment{Name: "eval"})
		errAs[*registry.ConflictError](t, err)
		if err := r.DeleteExperiment(ctx, ref, "eval", true); err != nil {
			t.Fatalf("hard delete after soft delete: %v", err)
		}
		ok[registry.Experiment](t)(r.CreateExperiment(ctx, ref, registry.NewExperiment{Name: "eval"}))

		if err := r.DeleteVersion(ctx, ref, false); err != nil {
			t.Fatal(err)
		}
		_, err = r.GetVersion(ctx, ref)
		errAs[*registry.NotFoundError](t, err)
		list := ok[registry.Page[registry.Version]](t)(r.ListVersions(ctx, "canada", "llm.sm", registry.VersionFilter{}, registry.PageRequest{Page: 1, Size: 5}))
		if list.TotalItems != 0 {
			t.Fatalf("soft-deleted version listed: %+v", list)
		}
		_, err = r.CreateVersion(ctx, "canada", "llm.sm", registry.NewVersion{Version: "v1"})
		errAs[*registry.ConflictError](t, err)
		// A soft-deleted version still holds the model.
		errAs[*registry.ConflictError](t, r.DeleteModel(ctx, "canada", "llm.sm", false))

		ok[registry.Version](t)(r.CreateVersion(ctx, "canada", "llm.sm", registry.NewVersion{Version: "v2"}))
		ref2 := registry.Ref{Namespace: "canada", Model: "llm.sm", Version: "v2"}
		if err := r.DeleteVersion(ctx, ref2, true); err != nil {
			t.Fatal(err)
		}
		ok[registry.Version](t)(r.CreateVersion(ctx, "canada", "llm.sm", registry.NewVersion{Version: "v2"}))

		// A hard delete purges a soft-deleted version and frees its name.
		if err := r.DeleteVersion(ctx, ref, true); err != nil {
			t.Fatalf("hard delete after soft delete: %v", err)
		}
		ok[registry.Version](t)(r.CreateVersion(ctx, "canada", "llm.sm", registry.NewVersion{Version: "v1"}))

		if err := r.DeleteModel(ctx, "canada", "llm.sm", true); err != nil {
			t.Fatal(err)
		}
		// Tags (or buckets) alone still make a namespace non-empty.
		ok[registry.Tag](t)(r.CreateTag(ctx, "canada", registry.NewTag{Tag: "t", Color: "#000000"}))
		errAs[*registry.ConflictError](t, r.DeleteNamespace(ctx, "canada", false))
		if err := r.DeleteTag(ctx, "canada", "t"); err != nil {
			t.Fatal(err)
		}
		if err := r.DeleteNamespace(ctx, "canada", false); err != nil {
			t.Fatalf("empty namespace delete: %v", err)
		}
		errAs[*registry.NotFoundError](t, r.DeleteNamespace(ctx, "canada", false))
	})
}

func TestTagsAndFilters(t *testing.T) {
	engines(t, func(t *testing.T, s db.DB) {
		r := registry.New(registry.Options{DB: s})
		ref := setup(t, r)
		ok[registry.Model](t)(r.CreateModel(ctx, "canada", "vision"))
		_, err := r.CreateTag(ctx, "canada", registry.NewTag{Tag: "nlp", Color: "green"})
		errAs[*registry.ValidationError](t, err)
		ok[registry.Tag](t)(r.CreateTag(ctx, "canada", registry.NewTag{Tag: "nlp", Color: "#00aa00"}))
		_, err = r.CreateTag(ctx, "canada", registry.NewTag{Tag: "nlp", Color: "#00aa00"})
		errAs[*registry.ConflictError](t, err)
		errAs[*registry.NotFoundError](t, r.TagModel(ctx, "canada", "llm.sm", "missing", false))

		for range 2 { // attaching twice is idempotent
			if err := r.TagModel(ctx, "canada", "llm.sm", "nlp", false); err != nil {
				t.Fatal(err)
			}
		}
		m := ok[registry.Model](t)(r.GetModel(ctx, "canada", "llm.sm"))
		if !slices.Equal(m.Tags, []string{"nlp"}) {
			t.Fatalf("model tags = %v", m.Tags)
		}
		page := ok[registry.Page[registry.Model]](t)(r.ListModels(ctx, "canada", registry.ModelFilter{Tag: "nlp"}, registry.PageRequest{Page: 1, Size: 10}))
		if page.TotalItems != 1 || page.Items[0].Name != "llm.sm" {
			t.Fatalf("tag filter = %+v", page)
		}
		page = ok[registry.Page[registry.Model]](t)(r.ListModels(ctx, "canada", registry.ModelFilter{NameContains: "VIS"}, registry.PageRequest{Page: 1, Size: 10}))
		if page.TotalItems != 1 || page.Items[0].Name != "vision" {
			t.Fatalf("name filter = %+v", page)
		}

		if err := r.TagVersion(ctx, ref, "nlp", false); err != nil {
			t.Fatal(err)
		}
		vs := ok[registry.Page[registry.Version]](t)(r.ListVersions(ctx, "canada", "llm.sm", registry.VersionFilter{Tag: "nlp", State: "test"}, registry.PageRequest{Page: 1, Size: 10}))
		if vs.TotalItems != 1 {
			t.Fatalf("version tag filter = %+v", vs)
		}
		if err := r.TagVersion(ctx, ref, "nlp", true); err != nil {
			t.Fatal(err)
		}
		if tags := ok[[]registry.Tag](t)(r.VersionTags(ctx, ref)); len(tags) != 0 {
			t.Fatalf("after detach: %+v", tags)
		}

		_, err = r.ListModels(ctx, "canada", registry.ModelFilter{}, registry.PageRequest{Page: 0, Size: 10})
		errAs[*registry.ValidationError](t, err)
		_, err = r.ListModels(ctx, "canada", registry.ModelFilter{}, registry.PageRequest{Page: 1, Size: 1001})
		errAs[*registry.ValidationError](t, err)
		empty := ok[registry.Page[registry.Model]](t)(r.ListModels(ctx, "canada", registry.ModelFilter{}, registry.PageRequest{Page: 9, Size: 10}))
		if len(empty.Items) != 0 || empty.TotalItems != 2 || empty.TotalPages != 1 {
			t.Fatalf("page past the end = %+v", empty)
		}
	})
}

func TestBuckets(t *testing.T) {
	engines(t, func(t *testing.T, s db.DB) {
		r := registry.New(registry.Options{DB: s})
		setup(t, r)
		b := ok[registry.Bucket](t)(r.CreateBucket(ctx, "canada", registry.NewBucket{Name: "ml-prod", Region: "ca-local", Role: "prod"}))
		_, err := r.CreateBucket(ctx, "canada", registry.NewBucket{Name: "ml-prod2", Region: "ca-local", Role: "prod"})
		errAs[*registry.ConflictError](t, err)
		_, err = r.CreateBucket(ctx, "canada", registry.NewBucket{Name: "Bad_Name", Region: "", Role: "gold"})
		ve := errAs[*registry.ValidationError](t, err)
		if len(ve.Fields) != 3 {
			t.Fatalf("want 3 field errors, got %+v", ve.Fields)
		}
		errAs[*registry.NotFoundError](t, r.DeleteBucket(ctx, "canada", b.ID+100))
		if err := r.DeleteBucket(ctx, "canada", b.ID); err != nil {
			t.Fatal(err)
		}
	})
}

// as is ctx acting as actor (the history and audit log record it).
func as(ctx context.Context, actor string) context.Context {
	return audit.WithCaller(ctx, audit.Caller{Actor: actor})
}
