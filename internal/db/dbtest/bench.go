package dbtest

import (
	"context"
	"testing"

	"github.com/flymodel/flymodel/internal/db"
)

// BenchmarkRead measures one small read through an engine's adapter, the
// database span included: with tracing off it must not allocate for the
// span (compare allocs/op with tracing on).
func BenchmarkRead(b *testing.B, s db.DB) {
	ctx := context.Background()
	if _, err := s.Migrate(ctx, db.MigrateOptions{}); err != nil {
		b.Fatal(err)
	}
	ns, err := s.CreateNamespace(ctx, db.CreateNamespaceParams{Name: "bench", Now: now()})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.GetNamespace(ctx, ns.ID); err != nil {
			b.Fatal(err)
		}
	}
}
