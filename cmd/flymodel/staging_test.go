package main

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/flymodel/flymodel/internal/httpapi"
)

// TestServeSweepsStagedUploads: serve creates server.temp_dir and, before
// it listens, removes the staged uploads a crashed server left there —
// only those, and only when untouched for a minute.
func TestServeSweepsStagedUploads(t *testing.T) {
	dir := t.TempDir()
	tmp := filepath.Join(dir, "staging")
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	for _, name := range []string{httpapi.StagePrefix + "crashed", "not-ours"} {
		p := filepath.Join(tmp, name)
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	s := startServe(t, dir, []string{"FLYMODEL_SERVER_TEMP_DIR=" + tmp}, "-p", "0")
	if _, err := os.Stat(filepath.Join(tmp, httpapi.StagePrefix+"crashed")); !os.IsNotExist(err) {
		t.Errorf("the stale staged upload is still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(tmp, "not-ours")); err != nil {
		t.Errorf("a file that is not a staged upload was removed: %v", err)
	}
	s.stop(t, syscall.SIGTERM)

	// Zero configuration: the folder is made in the data folder.
	dir = t.TempDir()
	s = startServe(t, dir, nil, "-p", "0")
	if fi, err := os.Stat(filepath.Join(dir, "flymodel-data", "tmp")); err != nil || !fi.IsDir() {
		t.Errorf("server.temp_dir was not created: %v", err)
	}
	s.stop(t, syscall.SIGTERM)
}
