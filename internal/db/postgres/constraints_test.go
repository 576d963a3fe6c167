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

// uniqueKeys is read from schema/postgres by the generator: every unique
// index of the migrated database must be in it, with its table and columns.
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
		WHERE x.indisunique AND t.relnamespace = current_schema()::regnamespace
		  AND t.relname <> 'goose_db_version'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var index, table string
		var columns []string
		if err := rows.Scan(&index, &table, &columns); err != nil {
			t.Fatal(err)
		}
		n++
		k, ok := uniqueKeys[index]
		if !ok {
			t.Errorf("unique index %s on %s%v is not in uniqueKeys: run make generate (or teach internal/db/internal/gen its syntax)", index, table, columns)
			continue
		}
		if k.table != table || !slices.Equal(k.columns, columns) {
			t.Errorf("uniqueKeys[%s] = %s%v, the database has %s%v", index, k.table, k.columns, table, columns)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("no unique index found")
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
