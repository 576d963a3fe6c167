package postgres

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/flymodel/flymodel/internal/db"
	"github.com/flymodel/flymodel/internal/tracing"
)

// tracer makes the span "db.<Method>" of every generated query
// (queries_gen.go). Until tracing is set up it is OpenTelemetry's no-op.
var tracer = otel.Tracer("github.com/flymodel/flymodel/internal/db")

var spanOptions = []trace.SpanStartOption{
	trace.WithSpanKind(trace.SpanKindClient),
	trace.WithAttributes(attribute.String("db.system.name", "postgresql")),
}

// startSpan starts the span of a query when tracing is on; otherwise it
// returns ctx and its (no-op) span without allocating.
func startSpan(ctx context.Context, name string) (context.Context, trace.Span) {
	if !tracing.Enabled() {
		return ctx, trace.SpanFromContext(ctx)
	}
	return tracer.Start(ctx, name, spanOptions...)
}

// spanError records err on span, except db.ErrNotFound (an answer, not a
// failure), and returns it.
func spanError(span trace.Span, err error) error {
	if err != nil && !errors.Is(err, db.ErrNotFound) {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	return err
}
