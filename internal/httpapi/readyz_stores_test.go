package httpapi

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/flymodel/flymodel/internal/auth"
	"github.com/flymodel/flymodel/internal/blob"
	"github.com/flymodel/flymodel/internal/blob/fsblob"
	"github.com/flymodel/flymodel/internal/registry"
)

// A failing store no lifecycle writes to makes the server degraded (200);
// a failing store in use makes it unready (503).
func TestReadyzStoresInUse(t *testing.T) {
	root := t.TempDir()
	newFS := func(name string) blob.Store {
		st, err := fsblob.New(filepath.Join(root, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Ensure(t.Context()); err != nil {
			t.Fatal(err)
		}
		return st
	}
	main, archive := newFS("main"), newFS("archive")
	// The archive's folder disappears (an unmounted disk): it no longer answers.
	if err := os.RemoveAll(filepath.Join(root, "archive")); err != nil {
		t.Fatal(err)
	}
	serve := func(forRole map[string]string) http.Handler {
		reg := registry.New(registry.Options{DB: pingStore{}, Blobs: registry.BlobStores{
			ByName: map[string]blob.Store{"main": main, "archive": archive}, ForRole: forRole,
		}})
		return NewServer(reg, auth.New(auth.Options{DB: pingStore{}, Loopback: true}), Options{})
	}

	unused := serve(map[string]string{"test": "main", "qa": "main", "stage": "main", "prod": "main"})
	body := expect(t, do(t, unused, http.MethodGet, "/readyz", nil), http.StatusOK, "application/json")
	want := map[string]any{
		"status": "degraded",
		"checks": map[string]any{"database": "ok", "storage:main": "ok", "storage:archive": "failed"},
		"unused": []any{"storage:archive"},
	}
	if mustJSON(t, body) != mustJSON(t, want) {
		t.Errorf("unused store failing: %s, want %s", mustJSON(t, body), mustJSON(t, want))
	}

	inUse := serve(map[string]string{"test": "main", "qa": "main", "stage": "main", "prod": "archive"})
	body = expectProblem(t, do(t, inUse, http.MethodGet, "/readyz", nil), http.StatusServiceUnavailable, "not-ready", "/readyz")
	if checks, _ := body["checks"].(map[string]any); checks["storage:archive"] != "failed" || body["unused"] != nil {
		t.Errorf("store in use failing: %v", body)
	}
}
