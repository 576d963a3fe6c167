// Package dbtrace makes the span "db.<Method>" of every generated query
// (each engine's queries_gen.go): one tracer for both engines, told apart by
// the attribute db.system.name.
package dbtrace

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/flymodel/flymodel/internal/db"
	"github.com/flymodel/flymodel/internal/tracing/spans"
)

// tracer is OpenTelemetry's no-op until tracing is set up.
var tracer = otel.Tracer("github.com/flymodel/flymodel/internal/db")

// Engine starts the spans of one engine's queries.
type Engine struct {
	opts []trace.SpanStartOption
}

// For returns the Engine whose spans carry db.system.name = system
// ("postgresql", "sqlite").
func For(system string) Engine {
	return Engine{opts: []trace.SpanStartOption{
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("db.system.name", system)),
	}}
}

// Start starts the span of a query when tracing is on; otherwise it
// returns ctx and its (no-op) span without allocating.
func (e Engine) Start(ctx context.Context, name string) (context.Context, trace.Span) {
	return spans.Start(ctx, tracer, name, e.opts...)
}

// Error records err on span, except db.ErrNotFound (an answer, not a
// failure), and returns it.
func Error(span trace.Span, err error) error {
	if err != nil && !errors.Is(err, db.ErrNotFound) {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	return err
}
