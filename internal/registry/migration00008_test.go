package registry_test

import (
	"database/sql"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flymodel/flymodel/internal/db"
)

// TestMigration00008 adds the ML formats to a database of schema version 7
// that holds artifacts (a version's, with extra, and an experiment's):
// their rows, the table's columns, keys and indexes are what they were;
// the new formats are accepted after it; on SQLite (whose artifacts table
// is made again) rolling it back is refused while an artifact has one of
// them, and restores the table otherwise; on PostgreSQL the values stay.
func TestMigration00008(t *testing.T) {
	legacyEngines(t, func(t *testing.T, s db.DB, raw *sql.DB) {
		if _, err := s.Migrate(ctx, db.MigrateOptions{Steps: 7}); err != nil {
			t.Fatal(err)
		}
		now := time.Now().UTC().Truncate(time.Microsecond)
		nsID := ok[db.Namespace](t)(s.CreateNamespace(ctx, db.CreateNamespaceParams{Name: "canada", Now: now})).ID
		m := ok[db.Model](t)(s.CreateModel(ctx, db.CreateModelParams{NamespaceID: nsID, Name: "llm.sm", Now: now}))
		v := ok[db.ModelVersion](t)(s.CreateVersion(ctx, db.CreateVersionParams{ModelID: m.ID, Version: "v1", State: "test", Now: now}))
		e := ok[db.Experiment](t)(s.CreateExperiment(ctx, db.CreateExperimentParams{VersionID: v.ID, Name: "eval", Now: now}))
		b := ok[db.Blob](t)(s.CreateBlob(ctx, db.CreateBlobParams{Store: "main", Key: "objects/a", Size: 3, Sha256: strings.Repeat("ab", 32), Now: now}))
		json, extra := "json", `{"k": "v"}`
		ok[db.Artifact](t)(s.CreateArtifact(ctx, db.CreateArtifactParams{VersionID: v.ID, Number: 1, Name: "config.json", FileName: "config.json",
			BlobID: b.ID, ContentType: "application/json", Format: &json, Encoding: "gzip", Extra: &extra, Now: now}))
		ok[db.Artifact](t)(s.CreateArtifact(ctx, db.CreateArtifactParams{VersionID: v.ID, ExperimentID: &e.ID, Number: 1, Name: "log",
			FileName: "log", BlobID: b.ID, ContentType: "text/plain", Encoding: "uncompressed", Now: now}))
		rows := func() []string {
			return rawRows(t, raw, `SELECT id, version_id, COALESCE(experiment_id, 0), experiment_key, name, file_name, blob_id, content_type,
				COALESCE(CAST(format AS TEXT), ''), encoding, COALESCE(CAST(extra AS TEXT), ''), kind, number, created_at FROM artifacts ORDER BY id`)
		}
		table := func() []string {
			if s.Engine() != db.EngineSQLite {
				return schemaOf(t, s, raw)
			}
			return slices.Concat(
				rawRows(t, raw, `SELECT * FROM pragma_table_xinfo('artifacts')`),
				rawRows(t, raw, `SELECT * FROM pragma_foreign_key_list('artifacts')`),
				rawRows(t, raw, `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'artifacts' ORDER BY name`))
		}
		wantRows, wantTable := rows(), table()

		if _, err := s.Migrate(ctx, db.MigrateOptions{Steps: 1}); err != nil {
			t.Fatal(err)
		}
		if got := rows(); !slices.Equal(got, wantRows) {
			t.Fatalf("artifacts after 00008:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantRows, "\n"))
		}
		if got := table(); !slices.Equal(got, wantTable) {
			t.Fatalf("artifacts table after 00008:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantTable, "\n"))
		}
		st := "safetensors"
		ok[db.Artifact](t)(s.CreateArtifact(ctx, db.CreateArtifactParams{VersionID: v.ID, Number: 2, Name: "model.safetensors",
			FileName: "model.safetensors", BlobID: b.ID, ContentType: "application/octet-stream", Format: &st, Encoding: "uncompressed", Now: now}))
		bad := "bin"
		if _, err := s.CreateArtifact(ctx, db.CreateArtifactParams{VersionID: v.ID, Number: 3, Name: "x", FileName: "x", BlobID: b.ID,
			ContentType: "x", Format: &bad, Encoding: "uncompressed", Now: now}); err == nil {
			t.Fatal("an unknown format was stored after 00008")
		}

		_, err := s.Migrate(ctx, db.MigrateOptions{Down: true, Steps: 1})
		if s.Engine() != db.EngineSQLite {
			if err != nil {
				t.Fatalf("down 00008 on PostgreSQL: %v", err)
			}
			// The values stayed; 00008 applies again.
			if _, err := s.Migrate(ctx, db.MigrateOptions{}); err != nil {
				t.Fatalf("00008 again: %v", err)
			}
			return
		}
		if err == nil {
			t.Fatal("down 00008 went through while an artifact is safetensors")
		}
		if got := rawRows(t, raw, `SELECT COUNT(*) FROM artifacts WHERE format = 'safetensors'`); !slices.Equal(got, []string{"1"}) {
			t.Fatalf("a refused down changed the artifacts: %v", got)
		}
		if _, err := raw.ExecContext(ctx, `DELETE FROM artifacts WHERE format = 'safetensors'`); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Migrate(ctx, db.MigrateOptions{Down: true, Steps: 1}); err != nil {
			t.Fatalf("down 00008: %v", err)
		}
		if got := rows(); !slices.Equal(got, wantRows) {
			t.Fatalf("artifacts after down 00008:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantRows, "\n"))
		}
		if got := table(); !slices.Equal(got, wantTable) {
			t.Fatalf("artifacts table after down 00008:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantTable, "\n"))
		}
	})
}
