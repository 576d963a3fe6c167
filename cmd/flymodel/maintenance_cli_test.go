package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// gc --dry says what the grace period spared; verify where the store that
// holds the artifacts is not configured says so, rather than "missing".
func TestMaintenanceExplains(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "weights.bin"), []byte("weights"), 0o600); err != nil {
		t.Fatal(err)
	}
	flymodel(t, dir, nil, "upsert", "--namespace", "canada", "--model", "llm.sm", "--version", "v1", "--artifact", "weights=weights.bin").expectCode(t, 0)
	// An object no row records, just written: an upload in flight, for gc.
	orphan := filepath.Join(dir, "flymodel-data", "blobs", "objects", "zz", "in-flight")
	if err := os.MkdirAll(filepath.Dir(orphan), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(orphan, []byte("half"), 0o600); err != nil {
		t.Fatal(err)
	}
	gc := flymodel(t, dir, nil, "--dry", "gc")
	gc.expectCode(t, 0)
	if !strings.Contains(gc.stdout, "would remove 0 blobs, 0 orphaned objects") ||
		!strings.Contains(gc.stdout, "spared 0 unreferenced blobs and 1 unrecorded objects younger than --grace 1h0m0s") {
		t.Errorf("gc --dry: want the spared object counted\n%s", gc)
	}

	// Here every lifecycle has a root of its own: "local" is not configured.
	env := []string{`FLYMODEL_STORAGE_FS=[{"path": "t", "role": "test"}, {"path": "q", "role": "qa"}, {"path": "s", "role": "stage"}, {"path": "p", "role": "prod"}]`}
	verify := flymodel(t, dir, env, "verify")
	verify.expectCode(t, 1)
	if !strings.Contains(verify.stdout, "unconfigured /namespaces/canada/models/llm.sm/versions/v1/artifacts/weights (local ") ||
		!strings.Contains(verify.stdout, "store local is not configured here") ||
		!strings.Contains(verify.stdout, "0 missing or altered") ||
		!strings.Contains(verify.stderr, "1 of 1 artifacts are in stores not configured here (local)") {
		t.Errorf("verify without the store: %s", verify)
	}
	flymodel(t, dir, nil, "verify").expectCode(t, 0)
}

// Two configuration files on the search path: the first is read, the
// other named; -c chooses; serve logs the configuration's sources; warn is
// a log level.
func TestConfigSources(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "config"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config", "flymodel.toml"), []byte("[log]\nlevel = \"warn\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "flymodel.toml"), []byte("[log]\nlevel = \"debug\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	both := flymodel(t, dir, nil, "audit")
	if !strings.Contains(both.stderr, "warning: read "+filepath.Join("config", "flymodel.toml")) ||
		!strings.Contains(both.stderr, "flymodel.toml also exists and is not read (-c FILE chooses)") {
		t.Errorf("two files: want which one was read\n%s", both)
	}
	chosen := flymodel(t, dir, nil, "-c", "flymodel.toml", "audit")
	if strings.Contains(chosen.stderr, "is not read") {
		t.Errorf("-c: no warning wanted\n%s", chosen)
	}

	s := startServe(t, dir, []string{"FLYMODEL_SERVER_PORT=0"}, "-c", "flymodel.toml", "--log-format", "json")
	logs := s.drainLogs()
	if !strings.Contains(logs, `"msg":"configuration","sources":["file flymodel.toml","environment FLYMODEL_SERVER_PORT"]`) {
		t.Errorf("serve: want a configuration line naming its sources\n%s", logs)
	}
	s.stop(t, syscall.SIGTERM)
}
