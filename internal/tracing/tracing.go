// Package tracing sets up OpenTelemetry tracing: spans exported over
// OTLP/gRPC to tracing.otlp.target, and W3C trace context propagation. When
// no target is configured nothing is set up: the global TracerProvider
// stays OpenTelemetry's no-op one, so spans cost next to nothing.
//
// Request spans are made in internal/httpapi, database spans by the engine
// adapters (internal/db/sqlite, internal/db/postgres, through
// internal/db/internal/dbtrace) and blob spans by the store wrapper Blob.
// Hot paths ask the leaf package spans whether spans are exported.
package tracing

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/grpc/credentials"

	"github.com/flymodel/flymodel/internal/config"
	"github.com/flymodel/flymodel/internal/tracing/spans"
)

// ServiceName is the service.name resource attribute of every span.
const ServiceName = "flymodel"

// Setup installs the global TracerProvider exporting to cfg.OTLP.Target and
// the W3C TraceContext propagator. shutdown flushes the spans not yet
// exported and stops the exporter; call it once, at exit. With no target
// Setup does nothing and shutdown is a no-op.
//
// Tracers taken from the global provider before Setup (package-level
// tracers) follow the first provider installed: call Setup once per process.
func Setup(ctx context.Context, cfg config.Tracing) (shutdown func(context.Context) error, err error) {
	noop := func(context.Context) error { return nil }
	if cfg.OTLP.Target == "" {
		return noop, nil
	}
	opts := []otlptracegrpc.Option{otlptracegrpc.WithEndpoint(cfg.OTLP.Target)}
	tlsConfig, err := clientTLS(cfg.OTLP.TLS)
	if err != nil {
		return noop, err
	}
	if tlsConfig != nil {
		opts = append(opts, otlptracegrpc.WithTLSCredentials(credentials.NewTLS(tlsConfig)))
	} else {
		opts = append(opts, otlptracegrpc.WithInsecure())
	}
	// The exporter connects lazily: an unreachable collector is not a
	// start-up error, spans are dropped (and logged by otel) until it is up.
	exp, err := otlptracegrpc.New(ctx, opts...)
	if err != nil {
		return noop, fmt.Errorf("tracing.otlp.target %s: %w", cfg.OTLP.Target, err)
	}
	res, err := resource.Merge(resource.Default(),
		resource.NewSchemaless(attribute.String("service.name", ServiceName)))
	if err != nil {
		return noop, fmt.Errorf("tracing: resource: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	spans.SetEnabled(true)
	return func(ctx context.Context) error {
		spans.SetEnabled(false)
		// Flushing to a collector that is not there would wait out ctx
		// (the exporter retries until its deadline): look first, and give
		// an absent one no time.
		if err := reachable(ctx, cfg.OTLP.Target); err != nil {
			quick, cancel := context.WithTimeout(ctx, absentFlush)
			defer cancel()
			_ = tp.Shutdown(quick)
			return fmt.Errorf("collector %s unreachable, spans not yet exported were dropped: %w", cfg.OTLP.Target, err)
		}
		return tp.Shutdown(ctx)
	}, nil
}

// absentFlush is how long shutdown lets the exporter try a collector that
// did not accept a connection; reachDial bounds that first look.
const (
	absentFlush = 100 * time.Millisecond
	reachDial   = time.Second
)

// reachable reports whether target accepts a TCP connection.
func reachable(ctx context.Context, target string) error {
	ctx, cancel := context.WithTimeout(ctx, reachDial)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", target)
	if err != nil {
		return err
	}
	return conn.Close()
}

// Describe says where spans go, for the log line at start: "" when
// tracing is off.
func Describe(cfg config.Tracing) string {
	if cfg.OTLP.Target == "" {
		return ""
	}
	scheme := "plaintext"
	if cfg.OTLP.TLS.CASource != "" || cfg.OTLP.TLS.Certs.IsSet() {
		scheme = "TLS"
	}
	return "OTLP/gRPC to " + cfg.OTLP.Target + " (" + scheme + ")"
}

// clientTLS builds the exporter's TLS configuration from tracing.otlp.tls,
// or returns nil (plaintext) when neither ca_source nor certs is set.
func clientTLS(c config.TLS) (*tls.Config, error) {
	if c.CASource == "" && !c.Certs.IsSet() {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.CASource != "" {
		data, err := os.ReadFile(c.CASource)
		if err != nil {
			return nil, fmt.Errorf("tracing.otlp.tls.ca_source: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(data) {
			return nil, fmt.Errorf("tracing.otlp.tls.ca_source: no PEM certificate in %s", c.CASource)
		}
		cfg.RootCAs = pool
	}
	if c.Certs.IsSet() {
		certFile, keyFile := c.Certs.CertFile, c.Certs.KeyFile
		if c.Certs.PEMFile != "" {
			certFile, keyFile = c.Certs.PEMFile, c.Certs.PEMFile
		}
		if certFile == "" || keyFile == "" {
			return nil, fmt.Errorf("tracing.otlp.tls.certs: both cert_file and key_file are needed")
		}
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("tracing.otlp.tls.certs: %s, %s: %w", certFile, keyFile, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}
