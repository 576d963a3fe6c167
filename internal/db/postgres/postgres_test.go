package postgres_test

import (
	"context"
	"testing"

	"github.com/flymodel/flymodel/internal/db"
	"github.com/flymodel/flymodel/internal/db/dbtest"
	"github.com/flymodel/flymodel/internal/db/postgres"
)

func TestConformance(t *testing.T) {
	dbtest.Run(t, func(t *testing.T) db.DB {
		s, err := postgres.Open(context.Background(), dbtest.PostgresURL(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func BenchmarkRead(b *testing.B) {
	s, err := postgres.Open(context.Background(), dbtest.PostgresURL(b))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	dbtest.BenchmarkRead(b, s)
}
