package postgres_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/flymodel/flymodel/internal/db"
	"github.com/flymodel/flymodel/internal/db/dbtest"
	"github.com/flymodel/flymodel/internal/db/postgres"
)

func TestConformance(t *testing.T) {
	dbtest.Run(t, func(t *testing.T) db.DB {
		url := dbtest.PostgresURL(t)
		s, err := postgres.Open(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return withExec{DB: s, url: url}
	})
}

// withExec lets the conformance suite run SQL of its own (dbtest.Execer)
// on a connection of its own.
type withExec struct {
	db.DB
	url string
}

func (w withExec) ExecSQL(ctx context.Context, query string, args ...any) error {
	conn, err := pgx.Connect(ctx, w.url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, query, args...)
	return err
}

func BenchmarkRead(b *testing.B) {
	s, err := postgres.Open(context.Background(), dbtest.PostgresURL(b))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	dbtest.BenchmarkRead(b, s)
}
