package tracing_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel"

	"github.com/flymodel/flymodel/internal/config"
	"github.com/flymodel/flymodel/internal/tracing"
)

// The end-to-end test, with an in-process collector receiving the spans of
// an upload, is TestTracingUpload in internal/httpapi.

func TestSetupWithoutTargetDoesNothing(t *testing.T) {
	before := otel.GetTracerProvider()
	shutdown, err := tracing.Setup(context.Background(), config.Tracing{})
	if err != nil {
		t.Fatal(err)
	}
	if otel.GetTracerProvider() != before {
		t.Fatal("Setup without a target replaced the global TracerProvider")
	}
	if err := shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestSetupTLSErrorsNameTheKey(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		tls  config.TLS
		want string
	}{
		{config.TLS{CASource: filepath.Join(dir, "missing.pem")}, "tracing.otlp.tls.ca_source"},
		{config.TLS{CASource: notPEM}, "tracing.otlp.tls.ca_source: no PEM certificate in " + notPEM},
		{config.TLS{Certs: config.TLSCerts{PEMFile: filepath.Join(dir, "client.pem")}}, "tracing.otlp.tls.certs"},
		{config.TLS{Certs: config.TLSCerts{CertFile: notPEM}}, "tracing.otlp.tls.certs"},
	} {
		before := otel.GetTracerProvider()
		_, err := tracing.Setup(context.Background(), config.Tracing{OTLP: config.OTLP{Target: "127.0.0.1:4317", TLS: tc.tls}})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err = %v, want one containing %q", tc.tls, err, tc.want)
		}
		if otel.GetTracerProvider() != before {
			t.Fatal("a failed Setup replaced the global TracerProvider")
		}
	}
}

// TestShutdownWithoutCollector: a collector that is not there does not
// hold the shutdown for the whole flush deadline; the error says so.
func TestShutdownWithoutCollector(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	target := ln.Addr().String()
	ln.Close() // nothing listens there now
	shutdown, err := tracing.Setup(context.Background(), config.Tracing{OTLP: config.OTLP{Target: target}})
	if err != nil {
		t.Fatal(err)
	}
	_, span := otel.Tracer("test").Start(context.Background(), "span")
	span.End()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err = shutdown(ctx)
	if err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("shutdown: %v, want the collector named unreachable", err)
	}
	if ctx.Err() != nil {
		t.Fatal("shutdown waited out its whole deadline")
	}
	if got := tracing.Describe(config.Tracing{OTLP: config.OTLP{Target: target}}); !strings.Contains(got, target) {
		t.Fatalf("Describe = %q", got)
	}
}
