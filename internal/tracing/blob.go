package tracing

import (
	"context"
	"errors"
	"io"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/flymodel/flymodel/internal/blob"
)

const blobTracerName = "github.com/flymodel/flymodel/internal/blob"

// Blob wraps s so that every call of its methods is a span "blob.<Method>"
// carrying the store's name (attribute blob.store). Errors are recorded on
// the span, except blob.ErrNotFound, an answer rather than a failure.
func Blob(name string, s blob.Store) blob.Store {
	return &tracedStore{s: s, attrs: trace.WithAttributes(attribute.String("blob.store", name))}
}

type tracedStore struct {
	s     blob.Store
	attrs trace.SpanStartOption
}

// Unwrap returns the wrapped store.
func (t *tracedStore) Unwrap() blob.Store { return t.s }

func (t *tracedStore) start(ctx context.Context, method string, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	return otel.Tracer(blobTracerName).Start(ctx, "blob."+method, t.attrs,
		trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
}

// end records err on span (unless it is blob.ErrNotFound) and ends it.
func end(span trace.Span, err error) {
	if err != nil && !errors.Is(err, blob.ErrNotFound) {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

func (t *tracedStore) Put(ctx context.Context, key string, r io.Reader) (blob.Info, error) {
	ctx, span := t.start(ctx, "Put", attribute.String("blob.key", key))
	info, err := t.s.Put(ctx, key, r)
	if err == nil {
		span.SetAttributes(attribute.Int64("blob.size", info.Size))
	}
	end(span, err)
	return info, err
}

func (t *tracedStore) Open(ctx context.Context, key, version string) (blob.Object, error) {
	ctx, span := t.start(ctx, "Open", attribute.String("blob.key", key))
	obj, err := t.s.Open(ctx, key, version)
	end(span, err)
	return obj, err
}

func (t *tracedStore) Stat(ctx context.Context, key, version string) (blob.Info, error) {
	ctx, span := t.start(ctx, "Stat", attribute.String("blob.key", key))
	info, err := t.s.Stat(ctx, key, version)
	end(span, err)
	return info, err
}

func (t *tracedStore) Delete(ctx context.Context, key, version string) error {
	ctx, span := t.start(ctx, "Delete", attribute.String("blob.key", key))
	err := t.s.Delete(ctx, key, version)
	end(span, err)
	return err
}

func (t *tracedStore) List(ctx context.Context, prefix string, fn func(blob.Info) error) error {
	ctx, span := t.start(ctx, "List", attribute.String("blob.prefix", prefix))
	err := t.s.List(ctx, prefix, fn)
	end(span, err)
	return err
}

func (t *tracedStore) Ensure(ctx context.Context) error {
	ctx, span := t.start(ctx, "Ensure")
	err := t.s.Ensure(ctx)
	end(span, err)
	return err
}

func (t *tracedStore) Probe(ctx context.Context) error {
	ctx, span := t.start(ctx, "Probe")
	err := t.s.Probe(ctx)
	end(span, err)
	return err
}

func (t *tracedStore) RemoveStale(ctx context.Context, age time.Duration) (int, error) {
	ctx, span := t.start(ctx, "RemoveStale")
	n, err := t.s.RemoveStale(ctx, age)
	end(span, err)
	return n, err
}

func (t *tracedStore) String() string { return t.s.String() }
