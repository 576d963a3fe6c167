package postgres

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/flymodel/flymodel/internal/db"
	"github.com/flymodel/flymodel/internal/db/dbtest"
)

// Every unique index of the migrated database (primary keys of one column
// aside: their ids are generated; a primary key of several columns, such
// as version_parents', is a unique key like the others) is in uniqueKeys with its table and columns, and
// uniqueKeys names no other.
func TestUniqueKeysMatchTheCatalogue(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, dbtest.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Migrate(ctx, db.MigrateOptions{}); err != nil {
		t.Fatal(err)
	}
	rows, err := s.pool.Query(ctx, `
		SELECT i.relname, t.relname,
		       ARRAY(SELECT pg_get_indexdef(x.indexrelid, k, true) FROM generate_series(1, x.indnkeyatts) k ORDER BY k)
		FROM pg_index x
		JOIN pg_class i ON i.oid = x.indexrelid
		JOIN pg_class t ON t.oid = x.indrelid
		WHERE x.indisunique AND (NOT x.indisprimary OR x.indnkeyatts > 1) AND t.relnamespace = current_schema()::regnamespace
		  AND t.relname <> 'goose_db_version'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	seen := map[string]bool{}
	for rows.Next() {
		var index, table string
		var columns []string
		if err := rows.Scan(&index, &table, &columns); err != nil {
			t.Fatal(err)
		}
		seen[index] = true
		k, ok := uniqueKeys[index]
		if !ok {
			t.Errorf("unique index %s on %s%v is not in uniqueKeys (postgres.go)", index, table, columns)
			continue
		}
		if k.Table != table || !slices.Equal(k.Columns, columns) {
			t.Errorf("uniqueKeys[%s] = %s%v, the database has %s%v", index, k.Table, k.Columns, table, columns)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for index := range uniqueKeys {
		if !seen[index] {
			t.Errorf("uniqueKeys names %s, which the migrated database does not have", index)
		}
	}
}

// The Detail text is translated by the server's lc_messages: the conflict
// is named from the constraint alone.
func TestConflictIgnoresTheDetailText(t *testing.T) {
	err := mapError(&pgconn.PgError{
		Code:           "23505",
		TableName:      "models",
		ConstraintName: "models_namespace_name_key",
		Detail:         "Schlüssel »(namespace_id, name)=(1, x)« existiert bereits.",
	})
	var ce *db.ConflictError
	if !errors.As(err, &ce) || ce.Table != "models" || !slices.Equal(ce.Columns, []string{"namespace_id", "name"}) {
		t.Fatalf("mapError = %#v, want a conflict on models(namespace_id, name)", err)
	}
}
