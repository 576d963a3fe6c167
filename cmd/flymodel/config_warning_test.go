package main

import (
	"path/filepath"
	"testing"
)

// A misspelt FLYMODEL_ variable is a warning on stderr, not an error.
func TestMisspeltVariableWarns(t *testing.T) {
	env := []string{
		"FLYMODEL_DATABASE_URL=sqlite:" + filepath.Join(t.TempDir(), "flymodel.db"),
		"FLYMODEL_LOG_LEVL=debug",
		"FLYMODEL_REQUIRE_SERVICES=1", // the test suites' own: no warning
	}
	_, stderr, err := runCLI(t, env, "--dry", "migrate", "up")
	if err != nil {
		t.Fatal(err)
	}
	want := "flymodel: warning: FLYMODEL_LOG_LEVL is not a configuration key; did you mean FLYMODEL_LOG_LEVEL (log.level)?\n"
	if stderr != want {
		t.Errorf("stderr = %q, want %q", stderr, want)
	}
}
