package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestRun runs a tiny benchmark on SQLite end to end, seeding twice into a
// cache folder (the second run reuses the file): every page of the table
// is measured or skipped as not built yet, none fails.
func TestRun(t *testing.T) {
	cache := t.TempDir()
	noEnv := func(string) string { return "" }
	args := []string{"-engine", "sqlite", "-models", "3", "-versions-per-model", "60", "-requests", "20", "-cache", cache}
	for i, want := range []string{"sqlite: seeded in", "sqlite: seeded file reused"} {
		var stdout, stderr bytes.Buffer
		if err := run(context.Background(), args, noEnv, &stdout, &stderr); err != nil {
			t.Fatalf("run %d: %v\nstdout:\n%s\nstderr:\n%s", i, err, stdout.String(), stderr.String())
		}
		out := stdout.String()
		if !strings.Contains(out, want) {
			t.Errorf("run %d: output lacks %q:\n%s", i, want, out)
		}
		for _, p := range pages {
			if !strings.Contains(out, "| sqlite | "+p.name+" |") {
				t.Errorf("run %d: no row for page %q:\n%s", i, p.name, out)
			}
		}
		// The pages on main since the UI's first step are measured.
		for _, p := range []string{"home", "namespace", "model", "version"} {
			for line := range strings.Lines(out) {
				if strings.HasPrefix(line, "| sqlite | "+p+" |") && strings.Contains(line, "skipped") {
					t.Errorf("run %d: page %q skipped: %s", i, p, line)
				}
			}
		}
		if strings.Contains(out, "FAILED") {
			t.Errorf("run %d: a page failed:\n%s", i, out)
		}
	}
}

// TestFlags refuses what cannot be measured.
func TestFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-engine", "mysql"},
		{"-engine", "postgres", "-postgres-url", ""},
		{"-requests", "0"},
		{"-pages", "("},
		{"extra"},
	} {
		var stderr bytes.Buffer
		if _, err := parseFlags(args, func(string) string { return "" }, &stderr); err == nil {
			t.Errorf("parseFlags(%q) succeeded", args)
		}
	}
}
