package registry_test

import (
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flymodel/flymodel/internal/db"
)

// TestMigration00007 migrates blobs that races recorded twice (the same
// bytes in one store for one namespace, each referenced by an artifact), a
// blob shared by two namespaces' artifacts, and an unreferenced one: the
// duplicates merge into the oldest row (the artifacts point at it, the
// other row goes, its object left to gc), a blob keeps its namespace only
// when one namespace's artifacts use it, and the content key then holds.
func TestMigration00007(t *testing.T) {
	legacyEngines(t, func(t *testing.T, s db.DB, raw *sql.DB) {
		if _, err := s.Migrate(ctx, db.MigrateOptions{Steps: 6}); err != nil {
			t.Fatal(err)
		}
		now := time.Now().UTC().Truncate(time.Microsecond)
		ns := func(name string) int64 {
			return ok[db.Namespace](t)(s.CreateNamespace(ctx, db.CreateNamespaceParams{Name: name, Now: now})).ID
		}
		canada, usa := ns("canada"), ns("usa")
		// Models and versions inserted as rows of schema version 6 (no
		// description yet).
		version := func(ns int64, model string) int64 {
			var m, v int64
			if err := raw.QueryRowContext(ctx, fmt.Sprintf(`INSERT INTO models (namespace_id, name, created_at, updated_at)
				VALUES (%d, '%s', '2024-05-01 12:00:00+00:00', '2024-05-01 12:00:00+00:00') RETURNING id`, ns, model)).Scan(&m); err != nil {
				t.Fatal(err)
			}
			if err := raw.QueryRowContext(ctx, fmt.Sprintf(`INSERT INTO model_versions (model_id, version, state, state_changed_at, created_at, updated_at)
				VALUES (%d, 'v1', 'test', '2024-05-01 12:00:00+00:00', '2024-05-01 12:00:00+00:00', '2024-05-01 12:00:00+00:00') RETURNING id`, m)).Scan(&v); err != nil {
				t.Fatal(err)
			}
			return v
		}
		v1, v2, v3 := version(canada, "a"), version(canada, "b"), version(usa, "c")
		sum := strings.Repeat("ab", 32)
		// Inserted as rows of schema version 6 (no namespace_id yet).
		blob := func(key string, size int) int64 {
			row := raw.QueryRowContext(ctx, fmt.Sprintf(`INSERT INTO blobs (store, key, size, sha256, created_at)
				VALUES ('main', '%s', %d, '%s', '2024-05-01 12:00:00+00:00') RETURNING id`, key, size, sum))
			var id int64
			if err := row.Scan(&id); err != nil {
				t.Fatal(err)
			}
			return id
		}
		first, second, shared, loose := blob("objects/first", 3), blob("objects/second", 3), blob("objects/shared", 3), blob("objects/loose", 3)
		other := blob("objects/other", 4)
		n := int64(0)
		artifact := func(version, blob int64, name string) int64 {
			n++
			return ok[db.Artifact](t)(s.CreateArtifact(ctx, db.CreateArtifactParams{VersionID: version, Number: n, Name: name,
				FileName: name, BlobID: blob, ContentType: "x", Encoding: "uncompressed", Now: now})).ID
		}
		a1, a2 := artifact(v1, first, "x"), artifact(v2, second, "x")
		artifact(v1, shared, "shared")
		artifact(v3, shared, "shared")
		artifact(v2, other, "other")
		_ = loose

		if _, err := s.Migrate(ctx, db.MigrateOptions{}); err != nil {
			t.Fatal(err)
		}
		got := rawRows(t, raw, `SELECT id, key, COALESCE(namespace_id, 0) FROM blobs ORDER BY id`)
		want := []string{
			fmt.Sprintf("%d|objects/first|%d", first, canada),
			fmt.Sprintf("%d|objects/shared|0", shared),
			fmt.Sprintf("%d|objects/loose|0", loose),
			fmt.Sprintf("%d|objects/other|%d", other, canada),
		}
		if !slices.Equal(got, want) {
			t.Fatalf("blobs after 00007:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		arts := rawRows(t, raw, fmt.Sprintf(`SELECT id, blob_id FROM artifacts WHERE id IN (%d, %d) ORDER BY id`, a1, a2))
		if want := []string{fmt.Sprintf("%d|%d", a1, first), fmt.Sprintf("%d|%d", a2, first)}; !slices.Equal(arts, want) {
			t.Fatalf("artifacts after 00007: %q, want %q", arts, want)
		}
		// The content key holds: the same bytes for canada are its blob.
		b := ok[db.Blob](t)(s.PutBlob(ctx, db.PutBlobParams{Store: "main", NamespaceID: &canada, Key: "objects/new", Size: 3, Sha256: sum, Now: now}))
		if b.ID != first {
			t.Fatalf("put blob after 00007 = %+v, want blob %d", b, first)
		}
		// Deleting a namespace leaves its blobs to gc, with no namespace.
		if _, err := s.DeleteNamespace(ctx, usa); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Migrate(ctx, db.MigrateOptions{Down: true, Steps: 1}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Migrate(ctx, db.MigrateOptions{}); err != nil {
			t.Fatal(err)
		}
	})
}
