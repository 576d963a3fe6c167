package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/flymodel/flymodel/internal/config"
	"github.com/flymodel/flymodel/schema"
)

// runCLI calls run in-process with env as the whole environment.
func runCLI(t *testing.T, env []string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = run(context.Background(), args, env, strings.NewReader(""), &out, &errOut)
	return out.String(), errOut.String(), err
}

func TestRunHelp(t *testing.T) {
	stdout, _, err := runCLI(t, nil, "--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"serve", "migrate", "setup-storage", "upsert", "retention", "gc", "verify", "token", "audit", "completion"} {
		if !strings.Contains(stdout, "  "+cmd+" ") {
			t.Errorf("help does not list %s:\n%s", cmd, stdout)
		}
	}
}

func TestCompletionNeedsNoConfig(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		stdout, _, err := runCLI(t, nil, "-c", "/nonexistent.toml", "completion", shell)
		if err != nil {
			t.Fatalf("completion %s: %v", shell, err)
		}
		if !strings.Contains(stdout, "flymodel") {
			t.Errorf("completion %s: no script:\n%.200s", shell, stdout)
		}
	}
}

func TestExitCode(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		code   int
		stderr string
	}{
		{"success", nil, 0, ""},
		{"runtime error", errors.New("open database: boom"), 1, "flymodel: open database: boom\n"},
		{"multi-line error", errors.Join(errors.New("config: a: bad"), errors.New("config: b: worse")), 1, "flymodel: config: a: bad; config: b: worse\n"},
		{"usage error", &usageError{err: errors.New("unknown flag: --x"), commandPath: "flymodel serve"}, 2,
			"flymodel: unknown flag: --x\nRun 'flymodel serve --help' for usage.\n"},
		{"wrapped usage error", fmt.Errorf("context: %w", &usageError{err: errors.New("bad")}), 2,
			"flymodel: context: bad\nRun 'flymodel --help' for usage.\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			if code := exitCode(&stderr, tt.err); code != tt.code {
				t.Errorf("code %d, want %d", code, tt.code)
			}
			if stderr.String() != tt.stderr {
				t.Errorf("stderr %q, want %q", stderr.String(), tt.stderr)
			}
		})
	}
}

func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	url := "sqlite:" + filepath.Join(dir, "flymodel.db")
	for _, args := range [][]string{
		{"migrate"},
		{"migrate", "sideways"},
		{"migrate", "up", "--steps", "-1", "-d", url},
		{"migrate", "up", "--test-data", "nope", "-d", url},
		{"migrate", "up", "-d", ""},
		{"serve", "-p", "70000", "-d", url},
		{"token"},
		{"token", "create"},
		{"token", "revoke"},
		{"srve"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			_, _, err := runCLI(t, nil, args...)
			var ue *usageError
			if !errors.As(err, &ue) {
				t.Fatalf("want a usage error, got %v", err)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "flymodel.db")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused command created the database: %v", err)
	}
}

func TestSuggestion(t *testing.T) {
	_, _, err := runCLI(t, nil, "srve")
	if err == nil || !strings.Contains(err.Error(), "did you mean serve?") {
		t.Errorf("want a suggestion of serve, got %v", err)
	}
}

func TestMigrateDryRunChangesNothing(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "new", "flymodel.db")
	url := "sqlite:" + file

	stdout, _, err := runCLI(t, nil, "--dry", "migrate", "up", "--test-data", "basic", "-d", url)
	if err != nil {
		t.Fatal(err)
	}
	n := latestMigration(t)
	latest, _ := migrationVersions(t)
	for _, want := range []string{"would create the database", fmt.Sprintf("would apply %d of %d pending migration", n, n), "would load test data basic"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("dry up: no %q in\n%s", want, stdout)
		}
	}
	if _, err := os.Stat(filepath.Dir(file)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("dry run created %s: %v", filepath.Dir(file), err)
	}

	if _, _, err := runCLI(t, nil, "migrate", "up", "-d", url); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		args      []string
		want      []string
		forbidden string
	}{
		{[]string{"migrate", "up"}, []string{fmt.Sprintf("schema at version %d (0 pending)", latest), "no migration to apply"}, "would apply"},
		{[]string{"migrate", "down"}, []string{fmt.Sprintf("would roll back 1 migration, from version %d", latest)}, ""},
		{[]string{"migrate", "down", "--steps", "0"}, []string{"would roll back every applied migration"}, ""},
		{[]string{"migrate", "down", "--test-data", "basic"}, []string{"would remove test data basic"}, "roll back"},
	}
	for _, tt := range tests {
		stdout, _, err := runCLI(t, nil, append(append([]string{"--dry"}, tt.args...), "-d", url)...)
		if err != nil {
			t.Fatalf("%v: %v", tt.args, err)
		}
		for _, want := range tt.want {
			if !strings.Contains(stdout, want) {
				t.Errorf("%v: no %q in\n%s", tt.args, want, stdout)
			}
		}
		if tt.forbidden != "" && strings.Contains(stdout, tt.forbidden) {
			t.Errorf("%v: %q in\n%s", tt.args, tt.forbidden, stdout)
		}
	}

	// Still at the latest version: the dry downs rolled nothing back.
	stdout, _, err = runCLI(t, nil, "migrate", "up", "-d", url)
	if err != nil || strings.Contains(stdout, "applied migration") {
		t.Errorf("dry downs changed the schema: %v\n%s", err, stdout)
	}
}

// TestDatabaseURLPrecedence: flag over environment over file over default.
func TestDatabaseURLPrecedence(t *testing.T) {
	dir := t.TempDir()
	path := func(name string) string { return filepath.Join(dir, name+".db") }
	configFile := filepath.Join(dir, "flymodel.toml")
	if err := os.WriteFile(configFile, []byte("[database]\nurl = \"sqlite:"+path("file")+"\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"file", nil, []string{"-c", configFile}, "file"},
		{"DB_URL over file", []string{"DB_URL=sqlite:" + path("env")}, []string{"-c", configFile}, "env"},
		{"flag over DB_URL", []string{"DB_URL=sqlite:" + path("env")}, []string{"-c", configFile, "-d", "sqlite:" + path("flag")}, "flag"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, name := range []string{"file", "env", "flag"} {
				_ = os.Remove(path(name))
			}
			args := append([]string{"migrate", "up"}, tt.args...)
			if _, _, err := runCLI(t, tt.env, args...); err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{"file", "env", "flag"} {
				_, err := os.Stat(path(name))
				if exists := err == nil; exists != (name == tt.want) {
					t.Errorf("%s.db exists: %v, want only %s.db", name, exists, tt.want)
				}
			}
		})
	}
}

func TestNewLogger(t *testing.T) {
	tests := []struct {
		cfg     config.Log
		logAt   slog.Level
		written bool
		contain string
	}{
		{config.Log{Level: "info", Format: "json"}, slog.LevelInfo, true, `"level":"INFO"`},
		{config.Log{Level: "info", Format: "auto"}, slog.LevelInfo, true, `"level":"INFO"`}, // a buffer is no terminal
		{config.Log{Level: "info", Format: "text"}, slog.LevelInfo, true, "level=INFO"},
		{config.Log{Level: "info"}, slog.LevelDebug, false, ""},
		{config.Log{Level: "error"}, slog.LevelWarn, false, ""},
		{config.Log{Level: "debug"}, slog.LevelDebug, true, "DEBUG"},
		{config.Log{Level: "debug"}, levelTrace, false, ""},
		{config.Log{Level: "trace", Format: "text"}, levelTrace, true, "level=TRACE"},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		logger, err := newLogger(tt.cfg, &buf)
		if err != nil {
			t.Fatal(err)
		}
		logger.Log(context.Background(), tt.logAt, "hello")
		if written := buf.Len() > 0; written != tt.written || !strings.Contains(buf.String(), tt.contain) {
			t.Errorf("%+v at %v: wrote %q", tt.cfg, tt.logAt, buf.String())
		}
	}
	if _, err := newLogger(config.Log{Level: "loud"}, &bytes.Buffer{}); err == nil {
		t.Error("unknown level accepted")
	}
}

// latestMigration is the number of the newest migration (they are numbered
// from 1 without gaps, the same for both engines).
func latestMigration(t *testing.T) int {
	t.Helper()
	files, err := fs.Glob(schema.SQLite, "sqlite/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("no migrations: %v", err)
	}
	return len(files)
}

// migrationVersions are the latest migration's version and the one before
// it (the numbers may have gaps: a migration on another branch).
func migrationVersions(t *testing.T) (latest, previous int) {
	t.Helper()
	files, err := fs.Glob(schema.SQLite, "sqlite/*.sql")
	if err != nil || len(files) < 2 {
		t.Fatalf("migrations: %v %v", files, err)
	}
	var versions []int
	for _, f := range files {
		v, err := strconv.Atoi(strings.SplitN(filepath.Base(f), "_", 2)[0])
		if err != nil {
			t.Fatalf("migration %s: %v", f, err)
		}
		versions = append(versions, v)
	}
	slices.Sort(versions)
	return versions[len(versions)-1], versions[len(versions)-2]
}
