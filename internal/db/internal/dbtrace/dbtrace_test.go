package dbtrace_test

import (
	"context"
	"testing"

	"github.com/flymodel/flymodel/internal/db/internal/dbtrace"
)

var engine = dbtrace.For("sqlite")

func TestUntracedQueryDoesNotAllocate(t *testing.T) {
	ctx := context.Background()
	allocs := testing.AllocsPerRun(100, func() {
		_, span := engine.Start(ctx, "db.GetNamespace")
		_ = dbtrace.Error(span, nil)
		span.End()
	})
	if allocs != 0 {
		t.Fatalf("an untraced query's span allocates %v times, want 0", allocs)
	}
}

func BenchmarkSpanUntraced(b *testing.B) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_, span := engine.Start(ctx, "db.GetNamespace")
		_ = dbtrace.Error(span, nil)
		span.End()
	}
}
