package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestRun runs a tiny benchmark on SQLite end to end: it must finish by
// itself, report every operation, and see no failed request.
func TestRun(t *testing.T) {
	var stdout, stderr bytes.Buffer
	noEnv := func(string) string { return "" }
	args := []string{"-engine", "sqlite", "-versions", "300", "-models", "3", "-concurrency", "2", "-duration", "200ms", "-max-requests", "200"}
	if err := run(context.Background(), args, noEnv, &stdout, &stderr); err != nil {
		t.Fatalf("run: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	for _, want := range []string{"seeded 300 versions", "| sqlite | create version |", "| sqlite | get version |", "| sqlite | list versions (state=qa) |"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, stdout.String())
		}
	}
}
