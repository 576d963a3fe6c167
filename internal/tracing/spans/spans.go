// Package spans is the part of tracing that hot paths import: whether spans
// are exported, and Start, which makes a span only then. It imports nothing
// of flymodel, so that the database layer does not depend, through
// tracing.Setup and tracing.Blob, on the configuration and the blob stores.
package spans

import (
	"context"
	"sync/atomic"

	"go.opentelemetry.io/otel/trace"
)

// enabled is set while tracing.Setup's provider is installed.
var enabled atomic.Bool

// Enabled reports whether spans are exported. Hot paths check it first:
// even a no-op span costs an allocation and a context per call, about a
// tenth of a version GET.
func Enabled() bool { return enabled.Load() }

// SetEnabled is called by tracing.Setup when it installs its provider and
// when that provider shuts down; nothing else should call it.
func SetEnabled(on bool) { enabled.Store(on) }

// Start starts a span with tracer when spans are exported; otherwise it
// returns ctx and its (no-op) span without allocating.
func Start(ctx context.Context, tracer trace.Tracer, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	if !enabled.Load() {
		return ctx, trace.SpanFromContext(ctx)
	}
	return tracer.Start(ctx, name, opts...)
}
