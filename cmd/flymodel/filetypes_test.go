package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flymodel/flymodel/client"
)

// TestUpsertFormats (the built binary against a running serve): each file
// gets the format its extension says; NAME=PATH:FORMAT sets one file's
// format; --format is the format only of files whose extension says
// nothing; a folder's :FORMAT likewise; an unknown format is a usage error.
func TestUpsertFormats(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	for rel, content := range map[string]string{
		"weights/model.safetensors": "weights", "weights/config.json": "{}", "weights/blob": "opaque",
		"params.yaml": "lr: 0.1", "notes": "# notes", "table.data": "a,b", "export.onnx": "onnx",
		"arrays/x.npy": "npy", "arrays/y.raw": "raw",
	} {
		p := filepath.Join(out, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	srv := startServe(t, dir, nil, "-p", "0", "-d", "sqlite:"+filepath.Join(dir, "server.db"))
	defer srv.stop(t, os.Interrupt)
	server := "http://" + srv.addr
	base := []string{"--server", server, "--namespace", "canada", "--model", "llm.sm", "--version", "v1"}

	for _, args := range [][]string{
		{"--artifact", "x=out/params.yaml:safetensor"},
		{"--artifact", "out/params.yaml", "--format", "yml"},
	} {
		res := flymodel(t, dir, nil, append(append([]string{"upsert"}, base...), args...)...)
		if res.code != 2 || !strings.Contains(res.stderr, "want one of json") {
			t.Errorf("%v: want a usage error naming the formats: %s", args, res)
		}
	}

	bad := filepath.Join(dir, "bad.toml")
	if err := os.WriteFile(bad, []byte("[[upsert.artifacts]]\nname = \"x\"\npath = \"out/notes\"\nformat = \"bogus\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if res := flymodel(t, dir, nil, append([]string{"-c", bad, "upsert"}, base...)...); res.code != 2 || !strings.Contains(res.stderr, `format "bogus": want one of json`) {
		t.Errorf("config format bogus: want a usage error naming the formats: %s", res)
	}

	c, err := client.New(server)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetNamespace(context.Background(), "canada"); !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("a refused upsert created the namespace: %v", err)
	}

	runUpsert(t, dir, 0, append(base,
		"--artifact", "weights=out/weights", // extensions; blob: --format
		"--artifact", "out/params.yaml", // yaml from the extension
		"--artifact", "README=out/notes:md", // one file's format
		"--artifact", "table.data=out/table.data:csv",
		"--artifact", "onnx-export=out/export.onnx", // the local file's extension
		"--artifact", "arrays=out/arrays:npy", // a folder: the default of the files that say nothing
		"--format", "txt")...)

	owner := client.Owner{Namespace: "canada", Model: "llm.sm", Version: "v1"}
	for name, want := range map[string][2]string{
		"weights/model.safetensors": {"safetensors", "application/octet-stream"},
		"weights/config.json":       {"json", "application/json"},
		"weights/blob":              {"txt", "text/plain"},
		"params.yaml":               {"yaml", "application/yaml"},
		"README":                    {"md", "text/markdown"},
		"table.data":                {"csv", "text/csv"},
		"onnx-export":               {"onnx", "application/octet-stream"},
		"arrays/x.npy":              {"npy", "application/octet-stream"},
		"arrays/y.raw":              {"npy", "application/octet-stream"},
	} {
		a, err := c.GetArtifact(context.Background(), owner, name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if a.Format != want[0] || a.ContentType != want[1] {
			t.Errorf("%s: format %q, content type %q; want %q, %q", name, a.Format, a.ContentType, want[0], want[1])
		}
	}
}
