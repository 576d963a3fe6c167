package dbtest

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flymodel/flymodel/internal/db"
	"github.com/flymodel/flymodel/internal/filter"
)

// Execer is what an engine's test wrapper adds to a db.DB so that the
// search suite can seed what no query writes yet (version and model
// metadata, aliases) and create the schema of migrations still to come
// (00013 aliases, 00014 metadata) when the database lacks it.
type Execer interface {
	ExecSQL(ctx context.Context, query string, args ...any) error
}

// searchSeed names the rows of the search suite: "model/version" for
// versions, "model/version/experiment" for experiments.
type searchSeed struct {
	versions    map[int64]string
	models      map[int64]string
	experiments map[int64]string
	ids         map[string]int64 // version name → id
	base        time.Time
	extra       bool // metadata and aliases seeded
}

var searchBase = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func seedSearch(t *testing.T, s db.DB) searchSeed {
	ctx := context.Background()
	base := searchBase
	at := func(i int) time.Time { return base.Add(time.Duration(i) * time.Minute) }
	seed := searchSeed{versions: map[int64]string{}, models: map[int64]string{}, experiments: map[int64]string{}, ids: map[string]int64{}, base: base}
	ns := must(s.CreateNamespace(ctx, db.CreateNamespaceParams{Name: "ns", Now: base}))
	other := must(s.CreateNamespace(ctx, db.CreateNamespaceParams{Name: "other", Now: base}))
	models := map[string]db.Model{}
	for i, m := range []struct {
		ns   db.Namespace
		name string
	}{{ns, "alpha"}, {ns, "beta"}, {ns, "Gamma"}, {other, "delta"}} {
		models[m.name] = must(s.CreateModel(ctx, db.CreateModelParams{NamespaceID: m.ns.ID, Name: m.name, Now: base.Add(time.Duration(i) * time.Second)}))
		seed.models[models[m.name].ID] = m.name
	}
	must(s.SetModelDescription(ctx, db.SetModelDescriptionParams{ID: models["alpha"].ID, Description: "Text classifier for news", Now: base}))
	tags := map[string]db.Tag{}
	for _, n := range []db.Namespace{ns, other} {
		for _, tag := range []string{"nlp", "vision", "best"} {
			tags[n.Name+"/"+tag] = must(s.CreateTag(ctx, db.CreateTagParams{NamespaceID: n.ID, Tag: tag, Color: "#000000", Now: base}))
		}
	}
	tagModel := func(m, tag string) {
		nsName := "ns"
		if m == "delta" {
			nsName = "other"
		}
		id := models[m].ID
		must(s.AttachTag(ctx, db.AttachTagParams{TagID: tags[nsName+"/"+tag].ID, ModelID: &id}))
	}
	tagModel("alpha", "nlp")
	tagModel("beta", "vision")
	tagModel("delta", "nlp")

	versions := map[string]db.ModelVersion{}
	for i, v := range []struct {
		model, name, state, description string
		tags                            []string
	}{
		{"alpha", "1.0", "test", "first", []string{"nlp"}},
		{"alpha", "1.1", "qa", "Second try", nil},
		{"alpha", "2.0", "prod", "", []string{"nlp", "best"}},
		{"beta", "0.1", "test", "", nil},
		{"beta", "0.2", "stage", "", []string{"vision"}},
		{"Gamma", "x", "prod", "100% done_ok", nil},
		{"delta", "9", "prod", "", nil},
		{"alpha", "dead", "test", "", nil},
	} {
		when := at(i + 1)
		row := must(s.CreateVersion(ctx, db.CreateVersionParams{ModelID: models[v.model].ID, Version: v.name, State: "test", Now: when}))
		if v.state != "test" {
			row = must(s.SetVersionState(ctx, db.SetVersionStateParams{ID: row.ID, State: v.state, SealedAt: &when, Now: when}))
		}
		if v.description != "" {
			must(s.SetVersionDescription(ctx, db.SetVersionDescriptionParams{ID: row.ID, Description: v.description, Now: when}))
		}
		nsName := "ns"
		if v.model == "delta" {
			nsName = "other"
		}
		for _, tag := range v.tags {
			id := row.ID
			must(s.AttachTag(ctx, db.AttachTagParams{TagID: tags[nsName+"/"+tag].ID, VersionID: &id}))
		}
		key := v.model + "/" + v.name
		versions[key] = row
		seed.versions[row.ID] = key
		seed.ids[key] = row.ID
	}
	must(s.SetVersionDigest(ctx, db.SetVersionDigestParams{ID: versions["alpha/2.0"].ID, Digest: "sha256:aaa", Now: at(3)}))
	must(s.SoftDeleteVersion(ctx, db.SoftDeleteVersionParams{ID: versions["alpha/dead"].ID, Now: at(9)}))

	for j, e := range []struct {
		version, name, state, params, metrics string
		duration                              int64
	}{
		{"alpha/1.0", "eval", "passed", `{"lr":0.01,"opt":"adam"}`, `{"accuracy":0.85,"loss":0.4}`, 1000},
		{"alpha/1.1", "eval", "failed", `{"lr":0.001,"opt":"sgd","warm":true}`, `{"accuracy":0.88,"note":"0.99"}`, 2000},
		{"alpha/2.0", "eval", "passed", `{"lr":0.001,"opt":"adam","warm":false}`, `{"accuracy":0.93,"loss":0.2}`, 3000},
		{"alpha/2.0", "bench", "running", "", "", 0},
		{"beta/0.2", "eval", "passed", `{"lr":0.1}`, `{"accuracy":0.95,"top-1":0.7}`, 500},
		{"Gamma/x", "smoke", "created", "", "", 0},
		{"delta/9", "eval", "passed", "", `{"accuracy":0.99}`, 100},
		{"alpha/1.0", "old", "passed", "", `{"accuracy":1}`, 10},
	} {
		when := at(20 + j)
		var params *string
		if e.params != "" {
			params = &e.params
		}
		row := must(s.CreateExperiment(ctx, db.CreateExperimentParams{VersionID: versions[e.version].ID, Name: e.name, Params: params, Now: when}))
		if e.state != "created" {
			must(s.StartExperiment(ctx, db.StartExperimentParams{ID: row.ID, Now: when}))
		}
		if e.state == "passed" || e.state == "failed" {
			metrics := e.metrics
			must(s.FinishExperiment(ctx, db.FinishExperimentParams{ID: row.ID, State: e.state, Metrics: &metrics, DurationMs: e.duration, Now: when}))
		}
		if e.name == "old" {
			must(s.SoftDeleteExperiment(ctx, db.SoftDeleteExperimentParams{ID: row.ID, Now: when}))
		}
		if e.version == "alpha/2.0" && e.name == "eval" {
			id := row.ID
			must(s.AttachTag(ctx, db.AttachTagParams{TagID: tags["ns/best"].ID, ExperimentID: &id}))
		}
		seed.experiments[row.ID] = e.version + "/" + e.name
	}

	if x, ok := s.(Execer); ok {
		seedSearchExtra(t, s, x, &seed, versions, models)
	}
	return seed
}

// seedSearchExtra fills the metadata columns and the aliases table
// (migrations 00013 and 00014) with raw statements, so that the search
// seed does not depend on the registry's rules for them.
func seedSearchExtra(t *testing.T, s db.DB, x Execer, seed *searchSeed, versions map[string]db.ModelVersion, models map[string]db.Model) {
	ctx := context.Background()
	pg := s.Engine() == db.EnginePostgres
	setMeta := func(table string, id int64, meta string) {
		q := "UPDATE " + table + " SET metadata = ? WHERE id = ?"
		if pg {
			q = "UPDATE " + table + " SET metadata = $1::jsonb WHERE id = $2"
		}
		check(x.ExecSQL(ctx, q, meta, id))
	}
	setMeta("model_versions", versions["alpha/2.0"].ID, `{"framework":"torch","layers":12,"base.model":"bert"}`)
	setMeta("model_versions", versions["beta/0.2"].ID, `{"framework":"torch","layers":"8"}`)
	setMeta("model_versions", versions["alpha/1.0"].ID, `{"framework":"jax","quantized":true}`)
	setMeta("models", models["beta"].ID, `{"license":"mit"}`)
	alias := func(model, name, version string) {
		q := "INSERT INTO model_aliases (model_id, alias, version_id, created_at, updated_at, updated_by) VALUES (?, ?, ?, ?, ?, 'test')"
		if pg {
			q = "INSERT INTO model_aliases (model_id, alias, version_id, created_at, updated_at, updated_by) VALUES ($1, $2, $3, $4, $5, 'test')"
		}
		check(x.ExecSQL(ctx, q, models[model].ID, name, versions[version].ID, seed.base, seed.base))
	}
	alias("alpha", "champion", "alpha/2.0")
	alias("alpha", "canary", "alpha/1.1")
	alias("beta", "canary", "beta/0.2")
	seed.extra = true
}

// searchCase is a filter and the rows it selects (in any order).
type searchCase struct {
	filter string
	want   []string
	extra  bool // needs metadata and aliases
}

func ts(i int) string { return searchBase.Add(time.Duration(i) * time.Minute).Format(time.RFC3339) }

var versionCases = []searchCase{
	{`state = "prod"`, []string{"alpha/2.0", "Gamma/x", "delta/9"}, false},
	{`state = 'staging'`, []string{"beta/0.2"}, false},
	{`state != "test"`, []string{"alpha/1.1", "alpha/2.0", "beta/0.2", "Gamma/x", "delta/9"}, false},
	{`state <> "test"`, []string{"alpha/1.1", "alpha/2.0", "beta/0.2", "Gamma/x", "delta/9"}, false},
	{`state IN ("qa", "stage")`, []string{"alpha/1.1", "beta/0.2"}, false},
	{`state NOT IN ("prod")`, []string{"alpha/1.0", "alpha/1.1", "beta/0.1", "beta/0.2"}, false},
	{`state LIKE "%t%"`, []string{"alpha/1.0", "beta/0.1", "beta/0.2"}, false},
	{`state < "q"`, []string{"alpha/2.0", "Gamma/x", "delta/9"}, false},
	{`sealed = true`, []string{"alpha/1.1", "alpha/2.0", "beta/0.2", "Gamma/x", "delta/9"}, false},
	{`sealed = false`, []string{"alpha/1.0", "beta/0.1"}, false},
	{`sealed != TRUE`, []string{"alpha/1.0", "beta/0.1"}, false},
	{`name = "1.0"`, []string{"alpha/1.0"}, false},
	{`version LIKE "1.%"`, []string{"alpha/1.0", "alpha/1.1"}, false},
	{`name like "_.1"`, []string{"alpha/1.1", "beta/0.1"}, false},
	{`model = "alpha" AND state = "prod"`, []string{"alpha/2.0"}, false},
	{`model = "alpha" OR model = "beta"`, []string{"alpha/1.0", "alpha/1.1", "alpha/2.0", "beta/0.1", "beta/0.2"}, false},
	{`NOT (model = "alpha")`, []string{"beta/0.1", "beta/0.2", "Gamma/x", "delta/9"}, false},
	{`model LIKE "gamma"`, nil, false},
	{`model ILIKE "gamma"`, []string{"Gamma/x"}, false},
	{`model NOT LIKE "%ph%"`, []string{"beta/0.1", "beta/0.2", "Gamma/x", "delta/9"}, false},
	{`model < "a"`, []string{"Gamma/x"}, false},
	{`model >= "b"`, []string{"beta/0.1", "beta/0.2", "delta/9"}, false},
	{`namespace = "other"`, []string{"delta/9"}, false},
	{`namespace != "other" AND state = "prod"`, []string{"alpha/2.0", "Gamma/x"}, false},
	{`tags = "nlp"`, []string{"alpha/1.0", "alpha/2.0"}, false},
	{`tags != "nlp"`, []string{"alpha/1.1", "beta/0.1", "beta/0.2", "Gamma/x", "delta/9"}, false},
	{`tags IN ("best", "vision")`, []string{"alpha/2.0", "beta/0.2"}, false},
	{`tags NOT IN ("nlp", "vision")`, []string{"alpha/1.1", "beta/0.1", "Gamma/x", "delta/9"}, false},
	{`tags IS NULL`, []string{"alpha/1.1", "beta/0.1", "Gamma/x", "delta/9"}, false},
	{`tags IS NOT NULL`, []string{"alpha/1.0", "alpha/2.0", "beta/0.2"}, false},
	{`tags LIKE "v%"`, []string{"beta/0.2"}, false},
	{`description = "first"`, []string{"alpha/1.0"}, false},
	{`description LIKE "%try"`, []string{"alpha/1.1"}, false},
	{`description ILIKE "second%"`, []string{"alpha/1.1"}, false},
	{`description LIKE "100\\% done\\_ok"`, []string{"Gamma/x"}, false},
	{`description LIKE "100\\%done%"`, nil, false},
	{`description LIKE "1*0%"`, nil, false},
	{`name LIKE "1.0\\"`, nil, false},
	{`name ILIKE "%\\"`, nil, false},
	{`description = ""`, []string{"alpha/2.0", "beta/0.1", "beta/0.2", "delta/9"}, false},
	{`description IS NULL`, nil, false},
	{`digest = "sha256:aaa"`, []string{"alpha/2.0"}, false},
	{`created_at >= "` + ts(5) + `"`, []string{"beta/0.2", "Gamma/x", "delta/9"}, false},
	{`created_at < "` + ts(2) + `"`, []string{"alpha/1.0"}, false},
	{`created_at > "2000-01-01"`, []string{"alpha/1.0", "alpha/1.1", "alpha/2.0", "beta/0.1", "beta/0.2", "Gamma/x", "delta/9"}, false},
	{`created_at = "` + searchBase.Add(3*time.Minute).Format(time.RFC3339Nano) + `"`, []string{"alpha/2.0"}, false},
	{`state_changed_at > "` + ts(4) + `" AND sealed = true`, []string{"beta/0.2", "Gamma/x", "delta/9"}, false},
	{`experiments.eval.state = "passed"`, []string{"alpha/1.0", "alpha/2.0", "beta/0.2", "delta/9"}, false},
	{`experiments.eval.metrics.accuracy >= 0.9`, []string{"alpha/2.0", "beta/0.2", "delta/9"}, false},
	{`state = "prod" AND experiments.eval.metrics.accuracy >= 0.9`, []string{"alpha/2.0", "delta/9"}, false},
	{`experiments.eval.metrics.note > 0.5`, nil, false},
	{`experiments.eval.metrics.note = "0.99"`, []string{"alpha/1.1"}, false},
	{`experiments.eval.params.opt = "adam"`, []string{"alpha/1.0", "alpha/2.0"}, false},
	{`experiments.eval.params.warm = true`, []string{"alpha/1.1"}, false},
	{`experiments.eval.params.warm = false`, []string{"alpha/2.0"}, false},
	{`experiments.eval.params.warm != true`, []string{"alpha/2.0"}, false},
	{`experiments.bench.state IS NULL`, []string{"alpha/1.0", "alpha/1.1", "beta/0.1", "beta/0.2", "Gamma/x", "delta/9"}, false},
	{`experiments.bench.state IS NOT NULL`, []string{"alpha/2.0"}, false},
	{`experiments.eval.metrics.accuracy IS NULL`, []string{"beta/0.1", "Gamma/x"}, false},
	{`experiments.eval.metrics.top-1 < 1`, []string{"beta/0.2"}, false},
	{`experiments.eval.params.lr IN (0.01, 0.1)`, []string{"alpha/1.0", "beta/0.2"}, false},
	{`experiments.old.metrics.accuracy = 1`, nil, false},
	{`experiments.eval.metrics.accuracy > 0.88`, []string{"alpha/2.0", "beta/0.2", "delta/9"}, false},
	{`experiments.eval.metrics.accuracy = 0.88`, []string{"alpha/1.1"}, false},
	{`experiments.eval.metrics.accuracy = 88e-2`, []string{"alpha/1.1"}, false},
	{`(state = "prod" OR state = "stage") AND NOT tags = "vision"`, []string{"alpha/2.0", "Gamma/x", "delta/9"}, false},
	{`state = "test" or sealed = true and model = "beta"`, []string{"alpha/1.0", "beta/0.1", "beta/0.2"}, false},
	{`NOT NOT state = "qa"`, []string{"alpha/1.1"}, false},
	{`name = "dead"`, nil, false},
	{`name = "x'); DROP TABLE model_versions; --"`, nil, false},
	{`meta.framework = "torch"`, []string{"alpha/2.0", "beta/0.2"}, true},
	{`meta.layers > 10`, []string{"alpha/2.0"}, true},
	{`meta.layers = "8"`, []string{"beta/0.2"}, true},
	{`meta.framework IS NULL`, []string{"alpha/1.1", "beta/0.1", "Gamma/x", "delta/9"}, true},
	{`meta.quantized = true`, []string{"alpha/1.0"}, true},
	{`meta.base.model = "bert"`, []string{"alpha/2.0"}, true},
	{`meta.framework IN ("jax", "tf")`, []string{"alpha/1.0"}, true},
	{`aliases = "champion"`, []string{"alpha/2.0"}, true},
	{`aliases IN ("canary")`, []string{"alpha/1.1", "beta/0.2"}, true},
	{`aliases IS NULL AND model = "alpha"`, []string{"alpha/1.0"}, true},
}

var modelCases = []searchCase{
	{`name = "alpha"`, []string{"alpha"}, false},
	{`tags = "nlp"`, []string{"alpha", "delta"}, false},
	{`tags IS NULL`, []string{"Gamma"}, false},
	{`namespace = "ns"`, []string{"alpha", "beta", "Gamma"}, false},
	{`name ILIKE "%A%"`, []string{"alpha", "beta", "Gamma", "delta"}, false},
	{`description LIKE "%news"`, []string{"alpha"}, false},
	{`created_at >= "` + searchBase.Add(time.Second).Format(time.RFC3339) + `"`, []string{"beta", "Gamma", "delta"}, false},
	{`NOT tags IN ("nlp")`, []string{"beta", "Gamma"}, false},
	{`name IN ("alpha", "Gamma", "nope")`, []string{"alpha", "Gamma"}, false},
	{`meta.license = "mit"`, []string{"beta"}, true},
	{`aliases IS NOT NULL`, []string{"alpha", "beta"}, true},
	{`aliases = "champion"`, []string{"alpha"}, true},
}

var experimentCases = []searchCase{
	{`metrics.accuracy >= 0.9`, []string{"alpha/2.0/eval", "beta/0.2/eval", "delta/9/eval"}, false},
	{`metrics.accuracy >= 0.9 AND namespace = "ns"`, []string{"alpha/2.0/eval", "beta/0.2/eval"}, false},
	{`state = "passed"`, []string{"alpha/1.0/eval", "alpha/2.0/eval", "beta/0.2/eval", "delta/9/eval"}, false},
	{`state IN ("created", "running")`, []string{"alpha/2.0/bench", "Gamma/x/smoke"}, false},
	{`params.opt = "adam"`, []string{"alpha/1.0/eval", "alpha/2.0/eval"}, false},
	{`params.lr IS NULL`, []string{"alpha/2.0/bench", "Gamma/x/smoke", "delta/9/eval"}, false},
	{`duration_ms >= 1000`, []string{"alpha/1.0/eval", "alpha/1.1/eval", "alpha/2.0/eval"}, false},
	{`duration_ms IS NULL`, []string{"alpha/2.0/bench", "Gamma/x/smoke"}, false},
	{`finished_at IS NOT NULL`, []string{"alpha/1.0/eval", "alpha/1.1/eval", "alpha/2.0/eval", "beta/0.2/eval", "delta/9/eval"}, false},
	{`version = "2.0"`, []string{"alpha/2.0/eval", "alpha/2.0/bench"}, false},
	{`model = "alpha" AND name = "eval"`, []string{"alpha/1.0/eval", "alpha/1.1/eval", "alpha/2.0/eval"}, false},
	{`tags = "best"`, []string{"alpha/2.0/eval"}, false},
	{`metrics.loss < 0.3`, []string{"alpha/2.0/eval"}, false},
	{`metrics.top-1 = 0.7`, []string{"beta/0.2/eval"}, false},
	{`name LIKE "s%"`, []string{"Gamma/x/smoke"}, false},
	{`metrics.note LIKE "0.9%"`, []string{"alpha/1.1/eval"}, false},
	{`params.warm = true`, []string{"alpha/1.1/eval"}, false},
	{`metrics.accuracy > "0.5"`, nil, false},
}

// testSearch: the filter compiler's SQL selects the same rows on every
// engine, for every case of the tables above, in the orders and pages the
// cursors walk.
func testSearch(t *testing.T, s db.DB) {
	ctx := context.Background()
	seed := seedSearch(t, s)
	run := func(t *testing.T, res filter.Resource, names map[int64]string, cases []searchCase) {
		for _, c := range cases {
			if c.extra && !seed.extra {
				t.Logf("skipped (no metadata or aliases on this database): %s", c.filter)
				continue
			}
			expr, err := filter.Parse(c.filter)
			if err != nil {
				t.Errorf("%s %s: parse: %v", res, c.filter, err)
				continue
			}
			hits, err := s.Search(ctx, filter.Query{Resource: res, Filter: expr, Limit: 100})
			if err != nil {
				t.Errorf("%s %s: %v", res, c.filter, err)
				continue
			}
			var got []string
			for _, h := range hits {
				got = append(got, names[h.ID])
			}
			slices.Sort(got)
			want := slices.Clone(c.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("%s %s = %v, want %v", res, c.filter, got, want)
			}
		}
	}
	run(t, filter.Versions, seed.versions, versionCases)
	run(t, filter.Models, seed.models, modelCases)
	run(t, filter.Experiments, seed.experiments, experimentCases)

	// Orders, walked a page at a time through the cursors.
	walk := func(res filter.Resource, names map[int64]string, order string, q filter.Query, size int64) []string {
		o, err := filter.ParseOrder(res, order)
		check(err)
		q.Resource, q.Order, q.Limit = res, o, size
		var out []string
		for range 100 {
			hits := must(s.Search(ctx, q))
			for _, h := range hits {
				out = append(out, names[h.ID])
			}
			if int64(len(hits)) < size {
				return out
			}
			last := hits[len(hits)-1]
			c := filter.Cursor{Order: o, Key: last.Key, ID: last.ID}
			// Through the wire form, as a client sends it back.
			q.After = must(filter.DecodeCursor(res, o, c.Encode()))
		}
		t.Fatalf("%s by %s: more than 100 pages", res, order)
		return nil
	}
	orderCases := []struct {
		res   filter.Resource
		names map[int64]string
		order string
		q     filter.Query
		want  []string
	}{
		{filter.Versions, seed.versions, "", filter.Query{}, []string{"delta/9", "Gamma/x", "beta/0.2", "beta/0.1", "alpha/2.0", "alpha/1.1", "alpha/1.0"}},
		{filter.Versions, seed.versions, "created_at asc", filter.Query{}, []string{"alpha/1.0", "alpha/1.1", "alpha/2.0", "beta/0.1", "beta/0.2", "Gamma/x", "delta/9"}},
		{filter.Versions, seed.versions, "name", filter.Query{}, []string{"beta/0.1", "beta/0.2", "alpha/1.0", "alpha/1.1", "alpha/2.0", "delta/9", "Gamma/x"}},
		{filter.Versions, seed.versions, "state_changed_at desc", filter.Query{Namespaces: []string{"other"}}, []string{"delta/9"}},
		{filter.Versions, seed.versions, "", filter.Query{Namespaces: []string{}}, nil},
		{filter.Models, seed.models, "name asc", filter.Query{}, []string{"Gamma", "alpha", "beta", "delta"}},
		{filter.Models, seed.models, "created_at DESC", filter.Query{Namespaces: []string{"ns"}}, []string{"Gamma", "beta", "alpha"}},
		{filter.Experiments, seed.experiments, "metrics.accuracy desc", filter.Query{}, []string{
			"delta/9/eval", "beta/0.2/eval", "alpha/2.0/eval", "alpha/1.1/eval", "alpha/1.0/eval", "Gamma/x/smoke", "alpha/2.0/bench"}},
		{filter.Experiments, seed.experiments, "metrics.accuracy asc", filter.Query{}, []string{
			"alpha/1.0/eval", "alpha/1.1/eval", "alpha/2.0/eval", "beta/0.2/eval", "delta/9/eval", "alpha/2.0/bench", "Gamma/x/smoke"}},
		{filter.Experiments, seed.experiments, "duration_ms", filter.Query{}, []string{
			"delta/9/eval", "beta/0.2/eval", "alpha/1.0/eval", "alpha/1.1/eval", "alpha/2.0/eval", "alpha/2.0/bench", "Gamma/x/smoke"}},
		{filter.Experiments, seed.experiments, "finished_at desc", filter.Query{ModelID: modelID(seed, "alpha")}, []string{
			"alpha/2.0/eval", "alpha/1.1/eval", "alpha/1.0/eval", "alpha/2.0/bench"}},
		{filter.Experiments, seed.experiments, "name", filter.Query{VersionID: seed.ids["alpha/2.0"]}, []string{"alpha/2.0/bench", "alpha/2.0/eval"}},
	}
	for _, c := range orderCases {
		for _, size := range []int64{1, 2, 3, 100} {
			got := walk(c.res, c.names, c.order, c.q, size)
			if !slices.Equal(got, c.want) {
				t.Errorf("%s by %q (pages of %d) = %v, want %v", c.res, c.order, size, got, c.want)
			}
		}
	}

	// A filter that does not compile is the filter's error, not the
	// database's.
	expr := must(filter.Parse(`state = "bogus"`))
	if _, err := s.Search(ctx, filter.Query{Resource: filter.Versions, Filter: expr}); err == nil || !strings.Contains(err.Error(), "one of test, qa, stage, prod") {
		t.Errorf("bad state: %v", err)
	}
	if len(versionCases)+len(modelCases)+len(experimentCases) < 50 {
		t.Fatalf("only %d cases", len(versionCases)+len(modelCases)+len(experimentCases))
	}
}

func modelID(seed searchSeed, name string) int64 {
	for id, n := range seed.models {
		if n == name {
			return id
		}
	}
	return 0
}
