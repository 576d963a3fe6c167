package registry_test

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx", for the rows before migration 00004
	_ "modernc.org/sqlite"             // database/sql driver "sqlite"

	"github.com/flymodel/flymodel/internal/blob"
	"github.com/flymodel/flymodel/internal/blob/fsblob"
	"github.com/flymodel/flymodel/internal/db"
	"github.com/flymodel/flymodel/internal/db/dbtest"
	"github.com/flymodel/flymodel/internal/db/postgres"
	"github.com/flymodel/flymodel/internal/db/sqlite"
	"github.com/flymodel/flymodel/internal/registry"
)

// legacyEngines runs fn per engine on a fresh database opened as a db.DB (no
// migration applied) and a plain connection for SQL the queries of this
// tree no longer hold (the tables before migration 00004).
func legacyEngines(t *testing.T, fn func(t *testing.T, s db.DB, raw *sql.DB)) {
	run := func(t *testing.T, s db.DB, driver, dsn string) {
		t.Cleanup(func() { s.Close() })
		raw, err := sql.Open(driver, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { raw.Close() })
		fn(t, s, raw)
	}
	t.Run("sqlite", func(t *testing.T) {
		path := dbtest.SQLitePath(t)
		s, err := sqlite.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		run(t, s, "sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)")
	})
	t.Run("postgres", func(t *testing.T) {
		if os.Getenv(dbtest.PostgresEnv) == "" && os.Getenv(dbtest.RequireServicesEnv) != "1" {
			t.Skip(dbtest.PostgresEnv + " not set: skipping PostgreSQL")
		}
		url := dbtest.PostgresURL(t)
		s, err := postgres.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		run(t, s, "pgx", url)
	})
}

// rawRows reads a query's rows as text, one line per row.
func rawRows(t *testing.T, raw *sql.DB, query string) []string {
	t.Helper()
	rows, err := raw.QueryContext(ctx, query)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		line := make([]string, len(vals))
		for i, v := range vals {
			switch v := v.(type) {
			case []byte:
				line[i] = string(v)
			case time.Time:
				line[i] = v.UTC().Format(time.RFC3339Nano)
			default:
				line[i] = fmt.Sprint(v)
			}
		}
		out = append(out, strings.Join(line, "|"))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func rawExec(t *testing.T, raw *sql.DB, format string, args ...any) {
	t.Helper()
	query := fmt.Sprintf(format, args...)
	if _, err := raw.ExecContext(ctx, query); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// schemaOf describes the tables, columns, indexes and constraints.
func schemaOf(t *testing.T, s db.DB, raw *sql.DB) []string {
	if s.Engine() == db.EngineSQLite {
		return rawRows(t, raw, `SELECT type, name, COALESCE(sql, '') FROM sqlite_master
			WHERE name NOT LIKE 'goose%' ORDER BY type, name`)
	}
	return slices.Concat(
		rawRows(t, raw, `SELECT table_name, column_name, data_type, is_nullable, COALESCE(column_default, ''), is_identity
			FROM information_schema.columns WHERE table_schema = 'public' AND table_name NOT LIKE 'goose%'
			ORDER BY table_name, ordinal_position`),
		rawRows(t, raw, `SELECT indexname, indexdef FROM pg_indexes
			WHERE schemaname = 'public' AND tablename NOT LIKE 'goose%' ORDER BY indexname`),
		rawRows(t, raw, `SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
			WHERE connamespace = 'public'::regnamespace AND conname NOT LIKE 'goose%' ORDER BY conname`))
}

// legacyTables are the rows of the tables migration 00004 replaces.
func legacyTables(t *testing.T, raw *sql.DB) []string {
	return slices.Concat(
		rawRows(t, raw, `SELECT 'va', id, version_id, name, file_name, blob_id, content_type, format, encoding, extra, created_at FROM version_artifacts ORDER BY id`),
		rawRows(t, raw, `SELECT 'ea', id, experiment_id, name, file_name, blob_id, content_type, format, encoding, created_at FROM experiment_artifacts ORDER BY id`),
		rawRows(t, raw, `SELECT 'mt', model_id, tag_id FROM model_tags ORDER BY model_id, tag_id`),
		rawRows(t, raw, `SELECT 'vt', version_id, tag_id FROM version_tags ORDER BY version_id, tag_id`),
		rawRows(t, raw, `SELECT 'et', experiment_id, tag_id FROM experiment_tags ORDER BY experiment_id, tag_id`))
}

// apiView is everything the API shows of the namespaces' models, versions,
// experiments, artifacts (with their bytes) and tags, and what the
// original flymodel's by-id endpoints answer for ids 1 to maxID.
func apiView(t *testing.T, r *registry.Registry, maxID int64) string {
	t.Helper()
	var b strings.Builder
	show := func(what string, v any, err error) {
		if err != nil {
			fmt.Fprintf(&b, "%s: error %v\n", what, err)
			return
		}
		j, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s: %s\n", what, j)
	}
	content := func(a registry.Artifact) string {
		obj, err := r.OpenArtifact(ctx, a, a.Name)
		if err != nil {
			t.Fatalf("open %s: %v", a.Name, err)
		}
		defer obj.Close()
		data, err := io.ReadAll(obj)
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	all := registry.PageRequest{Page: 1, Size: 1000}
	artifacts := func(o registry.Owner) {
		list, err := r.ListArtifacts(ctx, o, all)
		show("  artifacts", list, err)
		for _, a := range list.Items {
			fmt.Fprintf(&b, "    %s = %q\n", a.Name, content(a))
		}
	}
	for _, ns := range []string{"canada", "usa"} {
		models, err := r.ListModels(ctx, ns, registry.ModelFilter{}, all)
		show(ns+" models", models, err)
		for _, m := range models.Items {
			versions, err := r.ListVersions(ctx, ns, m.Name, registry.VersionFilter{}, all)
			show(" versions", versions, err)
			for _, v := range versions.Items {
				ref := registry.Ref{Namespace: ns, Model: m.Name, Version: v.Version}
				tags, err := r.VersionTags(ctx, ref)
				show(" version tags", tags, err)
				artifacts(registry.Owner{Ref: ref})
				exps, err := r.ListExperiments(ctx, ref, "", all)
				show(" experiments", exps, err)
				for _, e := range exps.Items {
					tags, err := r.ExperimentTags(ctx, ref, e.Name)
					show(" experiment tags", tags, err)
					artifacts(registry.Owner{Ref: ref, Experiment: e.Name})
				}
			}
		}
	}
	for id := int64(1); id <= maxID; id++ {
		for _, k := range []registry.ArtifactKind{registry.VersionArtifact, registry.ExperimentArtifact} {
			a, o, err := r.ArtifactByID(ctx, k, id)
			show(fmt.Sprintf("%v artifact %d", k, id), map[string]any{"artifact": a, "owner": o}, err)
		}
	}
	rep, err := r.Verify(ctx, "", nil)
	show("verify", rep, err)
	return b.String()
}

// TestMigration00004 migrates a database holding the multi_region test
// data, version and experiment artifacts with colliding ids, and tags on a
// model, versions and an experiment, into the one artifacts table and the
// one tag link table, down again and up again (through 00005 too, which
// renames the blobs' bucket column to store): every row is kept, the API
// shows the same, the original flymodel's ids still name the same
// artifacts, and new artifacts continue each kind's own numbering.
func TestMigration00004(t *testing.T) {
	legacyEngines(t, func(t *testing.T, s db.DB, raw *sql.DB) {
		if _, err := s.Migrate(ctx, db.MigrateOptions{Steps: 3}); err != nil {
			t.Fatal(err)
		}
		before := schemaOf(t, s, raw)
		if err := db.LoadFixtures(ctx, s, "multi_region"); err != nil {
			t.Fatal(err)
		}
		fs, err := fsblob.New(filepath.Join(t.TempDir(), "blobs"))
		if err != nil {
			t.Fatal(err)
		}
		if err := fs.Ensure(ctx); err != nil {
			t.Fatal(err)
		}
		now := time.Now().UTC().Truncate(time.Microsecond)
		const at = "'2024-05-01 12:00:00+00:00'"
		blobs := map[string]int64{}
		for _, content := range []string{"weights", "config", "report", "metrics", "bench", "lg-weights", "lg-eval"} {
			key := "objects/legacy/" + content
			info, err := fs.Put(ctx, key, strings.NewReader(content))
			if err != nil {
				t.Fatal(err)
			}
			// Inserted as a blob row of schema version 3 (its store column
			// was still called bucket).
			row := raw.QueryRowContext(ctx, fmt.Sprintf(`INSERT INTO blobs (bucket, key, size, sha256, created_at)
				VALUES ('local', '%s', %d, '%s', %s) RETURNING id`, key, info.Size, info.SHA256, at))
			var id int64
			if err := row.Scan(&id); err != nil {
				t.Fatal(err)
			}
			blobs[content] = id
		}
		// Read as rows of schema version 3 (versions have no description yet).
		versionID := func(model string) int64 {
			var id int64
			if err := raw.QueryRowContext(ctx, fmt.Sprintf(`SELECT v.id FROM model_versions v JOIN models m ON m.id = v.model_id
				JOIN namespaces n ON n.id = m.namespace_id WHERE n.name = 'canada' AND m.name = '%s' AND v.version = 'v1.0.0'`, model)).Scan(&id); err != nil {
				t.Fatal(err)
			}
			return id
		}
		sm, lg := versionID("llm.sm"), versionID("llm.lg")
		experiment := func(version int64, name string) int64 {
			return ok[db.Experiment](t)(s.CreateExperiment(ctx, db.CreateExperimentParams{VersionID: version, Name: name, Now: now})).ID
		}
		smEval, smBench, lgEval := experiment(sm, "eval"), experiment(sm, "bench"), experiment(lg, "eval")
		ns := ok[db.Namespace](t)(s.GetNamespaceByName(ctx, "canada"))
		nlp := ok[db.Tag](t)(s.CreateTag(ctx, db.CreateTagParams{NamespaceID: ns.ID, Tag: "nlp", Color: "#00aa00", Now: now})).ID
		ready := ok[db.Tag](t)(s.CreateTag(ctx, db.CreateTagParams{NamespaceID: ns.ID, Tag: "ready", Color: "#0000aa", Now: now})).ID
		// Read as a row of schema version 3 (models have no description yet).
		var smModel int64
		if err := raw.QueryRowContext(ctx, fmt.Sprintf(`SELECT id FROM models WHERE namespace_id = %d AND name = 'llm.sm'`, ns.ID)).Scan(&smModel); err != nil {
			t.Fatal(err)
		}

		// Version artifacts 1-3 and experiment artifacts 1-4: ids 1 to 3
		// name one of each kind.
		for _, a := range []struct {
			id, version int64
			name, blob  string
			format      string
			extra       string
		}{
			{1, sm, "weights.bin", "weights", "NULL", `'{"framework":"torch"}'`},
			{2, sm, "config.json", "config", "'json'", "NULL"},
			{3, lg, "weights.bin", "lg-weights", "NULL", "NULL"},
		} {
			rawExec(t, raw, `INSERT INTO version_artifacts (id, version_id, name, file_name, blob_id, content_type, format, encoding, extra, created_at)
				VALUES (%d, %d, '%s', '%s', %d, 'application/octet-stream', %s, 'uncompressed', %s, %s)`,
				a.id, a.version, a.name, filepath.Base(a.name), blobs[a.blob], a.format, a.extra, at)
		}
		for _, a := range []struct {
			id, experiment int64
			name, blob     string
		}{
			{1, smEval, "report.html", "report"},
			{2, smEval, "metrics.json", "metrics"},
			{3, smBench, "weights.bin", "bench"}, // the name of a version artifact
			{4, lgEval, "eval/out.txt", "lg-eval"},
		} {
			rawExec(t, raw, `INSERT INTO experiment_artifacts (id, experiment_id, name, file_name, blob_id, content_type, format, encoding, created_at)
				VALUES (%d, %d, '%s', '%s', %d, 'text/plain', NULL, 'gzip', %s)`,
				a.id, a.experiment, a.name, filepath.Base(a.name), blobs[a.blob], at)
		}
		rawExec(t, raw, `INSERT INTO model_tags (model_id, tag_id) VALUES (%d, %d)`, smModel, nlp)
		rawExec(t, raw, `INSERT INTO version_tags (version_id, tag_id) VALUES (%d, %d), (%d, %d), (%d, %d)`, sm, nlp, sm, ready, lg, ready)
		rawExec(t, raw, `INSERT INTO experiment_tags (experiment_id, tag_id) VALUES (%d, %d)`, smEval, nlp)
		legacy := legacyTables(t, raw)
		// PostgreSQL's sequence handed out experiment artifacts 5 and 6,
		// deleted since: their ids are not handed out again. (The version
		// sequence was never called: the rows above carry their ids.)
		sqliteDB := s.Engine() == db.EngineSQLite
		if !sqliteDB {
			rawExec(t, raw, `SELECT setval(pg_get_serial_sequence('experiment_artifacts', 'id'), 6)`)
		}

		if _, err := s.Migrate(ctx, db.MigrateOptions{}); err != nil {
			t.Fatalf("migrate up: %v", err)
		}
		stores := registry.BlobStores{ByName: map[string]blob.Store{"local": fs}, ForRole: map[string]string{}}
		for _, role := range registry.Lifecycles {
			stores.ByName["ml-"+role] = fs // the multi_region namespaces' buckets
			stores.ForRole[role] = "local"
		}
		r := registry.New(registry.Options{DB: s, Blobs: stores})
		smRef := registry.Ref{Namespace: "canada", Model: "llm.sm", Version: "v1.0.0"}

		// Each old id still names its artifact, of its own kind only.
		for _, c := range []struct {
			kind     registry.ArtifactKind
			id       int64
			owner    registry.Owner
			name     string
			content  string
			versionA bool
		}{
			{registry.VersionArtifact, 1, registry.Owner{Ref: smRef}, "weights.bin", "weights", true},
			{registry.VersionArtifact, 2, registry.Owner{Ref: smRef}, "config.json", "config", true},
			{registry.VersionArtifact, 3, registry.Owner{Ref: registry.Ref{Namespace: "canada", Model: "llm.lg", Version: "v1.0.0"}}, "weights.bin", "lg-weights", true},
			{registry.ExperimentArtifact, 1, registry.Owner{Ref: smRef, Experiment: "eval"}, "report.html", "report", false},
			{registry.ExperimentArtifact, 2, registry.Owner{Ref: smRef, Experiment: "eval"}, "metrics.json", "metrics", false},
			{registry.ExperimentArtifact, 3, registry.Owner{Ref: smRef, Experiment: "bench"}, "weights.bin", "bench", false},
			{registry.ExperimentArtifact, 4, registry.Owner{Ref: registry.Ref{Namespace: "canada", Model: "llm.lg", Version: "v1.0.0"}, Experiment: "eval"}, "eval/out.txt", "lg-eval", false},
		} {
			a, o, err := r.ArtifactByID(ctx, c.kind, c.id)
			if err != nil {
				t.Fatalf("%v artifact %d: %v", c.owner, c.id, err)
			}
			if a.ID != c.id || o != c.owner || a.Name != c.name || (a.VersionID != 0) != c.versionA || (a.ExperimentID != 0) == c.versionA {
				t.Fatalf("artifact %d = %+v of %+v, want %s of %+v", c.id, a, o, c.name, c.owner)
			}
			byName, err := r.GetArtifact(ctx, c.owner, c.name)
			if err != nil || byName.ID != c.id || byName.SHA256 != a.SHA256 || !byName.CreatedAt.Equal(time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)) {
				t.Fatalf("%s by name = %+v, %v", c.name, byName, err)
			}
		}
		weights := ok[registry.Artifact](t)(r.GetArtifact(ctx, registry.Owner{Ref: smRef}, "weights.bin"))
		if string(weights.Extra) != `{"framework":"torch"}` && string(weights.Extra) != `{"framework": "torch"}` {
			t.Fatalf("extra = %s", weights.Extra)
		}
		// An id only the other kind holds answers nothing, nor do the row
		// ids the table gave migrated experiment artifacts (4 to 7).
		for _, c := range []struct {
			kind registry.ArtifactKind
			id   int64
		}{{registry.VersionArtifact, 4}, {registry.VersionArtifact, 5}, {registry.VersionArtifact, 7}, {registry.ExperimentArtifact, 5}, {registry.ExperimentArtifact, 7}} {
			_, _, err := r.ArtifactByID(ctx, c.kind, c.id)
			errAs[*registry.NotFoundError](t, err)
		}
		names := func(tags []registry.Tag) []string {
			var out []string
			for _, tag := range tags {
				out = append(out, tag.Tag)
			}
			return out
		}
		for what, c := range map[string]struct{ got, want []string }{
			"model llm.sm":     {ok[registry.Model](t)(r.GetModel(ctx, "canada", "llm.sm")).Tags, []string{"nlp"}},
			"model llm.lg":     {ok[registry.Model](t)(r.GetModel(ctx, "canada", "llm.lg")).Tags, []string{}},
			"version llm.sm":   {names(ok[[]registry.Tag](t)(r.VersionTags(ctx, smRef))), []string{"nlp", "ready"}},
			"version llm.lg":   {names(ok[[]registry.Tag](t)(r.VersionTags(ctx, registry.Ref{Namespace: "canada", Model: "llm.lg", Version: "v1.0.0"}))), []string{"ready"}},
			"experiment eval":  {names(ok[[]registry.Tag](t)(r.ExperimentTags(ctx, smRef, "eval"))), []string{"nlp"}},
			"experiment bench": {names(ok[[]registry.Tag](t)(r.ExperimentTags(ctx, smRef, "bench"))), nil},
		} {
			if !slices.Equal(c.got, c.want) && len(c.got)+len(c.want) > 0 {
				t.Fatalf("%s tags = %v, want %v", what, c.got, c.want)
			}
		}
		upView := apiView(t, r, 10)

		// Artifacts added after the migration continue their kind's
		// numbering (after the last id the old sequence handed out on
		// PostgreSQL, after the largest row on SQLite, which kept no
		// sequence); they and new tags go down and up again with the others.
		late := ok[registry.Artifact](t)(putOwned(r, registry.Owner{Ref: smRef, Experiment: "eval"}, "late.txt", "late"))
		medRef := registry.Ref{Namespace: "canada", Model: "llm.med", Version: "v1.0.0"}
		med := ok[registry.Artifact](t)(putOwned(r, registry.Owner{Ref: medRef}, "med.bin", "med"))
		wantNumbers := func(what string, version, experiment registry.Artifact, v, e int64) {
			t.Helper()
			if version.ID != v || experiment.ID != e {
				t.Fatalf("%s: new version artifact %d, experiment artifact %d; want %d and %d", what, version.ID, experiment.ID, v, e)
			}
			for _, c := range []struct {
				kind registry.ArtifactKind
				a    registry.Artifact
			}{{registry.VersionArtifact, version}, {registry.ExperimentArtifact, experiment}} {
				if got, _, err := r.ArtifactByID(ctx, c.kind, c.a.ID); err != nil || got.Name != c.a.Name {
					t.Fatalf("%s: %v %d = %+v, %v; want %s", what, c.kind, c.a.ID, got, err, c.a.Name)
				}
			}
		}
		if sqliteDB {
			wantNumbers("after up", med, late, 4, 5)
		} else {
			wantNumbers("after up", med, late, 4, 7)
		}
		if err := r.TagVersion(ctx, medRef, "nlp", false); err != nil {
			t.Fatal(err)
		}
		if err := r.TagModel(ctx, "canada", "llm.sm", "ready", false); err != nil {
			t.Fatal(err)
		}
		view := apiView(t, r, 10)
		if view == upView {
			t.Fatal("the additions changed nothing the API shows")
		}

		// Down to version 3, through the migrations after 00004 too, one
		// at a time (the numbers may have a gap: a migration on another
		// branch).
		for {
			st, err := s.MigrationStatus(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if st.Current <= 3 {
				break
			}
			if _, err := s.Migrate(ctx, db.MigrateOptions{Down: true, Steps: 1}); err != nil {
				t.Fatalf("migrate down from %d: %v", st.Current, err)
			}
		}
		if got := schemaOf(t, s, raw); !slices.Equal(got, before) {
			t.Fatalf("schema after down:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(before, "\n"))
		}
		down := legacyTables(t, raw)
		for _, row := range legacy {
			if !slices.Contains(down, row) {
				t.Fatalf("row %s lost going down; now:\n%s", row, strings.Join(down, "\n"))
			}
		}
		if len(down) != len(legacy)+4 {
			t.Fatalf("after down:\n%s\nwant the rows before and 4 more", strings.Join(down, "\n"))
		}
		// The identity sequences continue after the rows kept.
		rawExec(t, raw, `INSERT INTO experiment_artifacts (experiment_id, name, file_name, blob_id, content_type, encoding, created_at)
			VALUES (%d, 'seq', 'seq', %d, 'text/plain', 'uncompressed', %s)`, smEval, blobs["report"], at)
		rawExec(t, raw, `INSERT INTO version_artifacts (version_id, name, file_name, blob_id, content_type, encoding, created_at)
			VALUES (%d, 'seq', 'seq', %d, 'text/plain', 'uncompressed', %s)`, sm, blobs["report"], at)
		rawExec(t, raw, `DELETE FROM experiment_artifacts WHERE name = 'seq'`)
		rawExec(t, raw, `DELETE FROM version_artifacts WHERE name = 'seq'`)

		if _, err := s.Migrate(ctx, db.MigrateOptions{}); err != nil {
			t.Fatalf("migrate up again: %v", err)
		}
		if again := apiView(t, r, 10); again != view {
			t.Fatalf("after down and up the API shows:\n%s\nwant:\n%s", again, view)
		}
		// And continue their numbering again: on PostgreSQL after the
		// 'seq' rows the sequences numbered while down; SQLite's tables
		// numbered those after their largest row and, once deleted, so do
		// the counters.
		again := ok[registry.Artifact](t)(putOwned(r, registry.Owner{Ref: smRef}, "again.bin", "again"))
		againE := ok[registry.Artifact](t)(putOwned(r, registry.Owner{Ref: smRef, Experiment: "eval"}, "again.txt", "again"))
		if sqliteDB {
			wantNumbers("after down and up", again, againE, 5, 6)
		} else {
			wantNumbers("after down and up", again, againE, 6, 9)
		}
	})
}

func putOwned(r *registry.Registry, o registry.Owner, name, content string) (registry.Artifact, error) {
	a, created, err := r.PutArtifact(ctx, o, registry.NewArtifact{Name: name}, bytes.NewReader([]byte(content)))
	if err == nil && !created {
		err = errors.New("not created")
	}
	return a, err
}
