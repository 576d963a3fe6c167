package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flymodel/flymodel/client"
	"github.com/flymodel/flymodel/internal/db"
)

// pullOutput is what pull --output json prints.
type pullOutput struct {
	Version struct {
		Version, State, Digest string
	}
	Dir   string
	Files []struct {
		Name, SHA256, Action string
		Size                 int64
	}
	Downloaded, Unchanged, Failed int
	Bytes                         int64
	Dry                           bool
	Error                         string
}

func runPull(t *testing.T, dir string, code int, args ...string) pullOutput {
	t.Helper()
	res := flymodel(t, dir, nil, append([]string{"pull", "--output", "json"}, args...)...)
	res.expectCode(t, code)
	var out pullOutput
	if err := json.Unmarshal([]byte(res.stdout), &out); err != nil {
		t.Fatalf("pull output is not JSON: %v\n%s", err, res)
	}
	return out
}

// sameTree checks that dir holds exactly files under prefix, and no
// temporary file.
func sameTree(t *testing.T, dir, prefix string, files map[string][]byte) {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(filepath.Join(dir, prefix), p)
		want, ok := files[filepath.ToSlash(rel)]
		got, rerr := os.ReadFile(p)
		if !ok || rerr != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: not the artifact's bytes (known %v, %v)", p, ok, rerr)
		}
		n++
		return nil
	})
	if err != nil || n != len(files) {
		t.Fatalf("%s holds %d files, want %d (%v)", dir, n, len(files), err)
	}
}

func TestPullCommand(t *testing.T) {
	upsertServers(t, func(t *testing.T, s *testServer) {
		dir := t.TempDir()
		files := writeTree(t, filepath.Join(dir, "out"))
		runUpsert(t, dir, 0, "--server", s.URL, "--namespace", "canada", "--model", "llm.sm", "--version", "v1", "--artifact", "model=out")
		ctx := context.Background()
		c, err := client.New(s.URL)
		if err != nil {
			t.Fatal(err)
		}
		v, err := c.GetVersion(ctx, client.VersionRef{Namespace: "canada", Model: "llm.sm", Version: "v1"})
		if err != nil {
			t.Fatal(err)
		}

		// --dry plans and writes nothing.
		dry := runPull(t, dir, 0, "--dry", "--server", s.URL, "canada/llm.sm", "v1", "dest")
		if !dry.Dry || dry.Downloaded != 4 || len(dry.Files) != 4 {
			t.Fatalf("dry run: %+v", dry)
		}
		if _, err := os.Stat(filepath.Join(dir, "dest")); !os.IsNotExist(err) {
			t.Fatalf("--dry created the folder: %v", err)
		}

		first := runPull(t, dir, 0, "--server", s.URL, "canada/llm.sm", "v1", "dest")
		if first.Downloaded != 4 || first.Unchanged != 0 || first.Version.Digest != v.Digest || first.Dir != "dest" {
			t.Fatalf("first pull: %+v", first)
		}
		sameTree(t, filepath.Join(dir, "dest"), "model", files)
		// From S3 the bytes come straight from the bucket; from the
		// filesystem, through the server.
		if want := map[bool]int64{true: 0, false: 4}[s.fsRoot != ""]; s.redirects.Load() != want {
			t.Fatalf("%d downloads were redirected to the store, want %d", s.redirects.Load(), want)
		}

		// A rerun finds everything in place.
		again := runPull(t, dir, 0, "--server", s.URL, "canada/llm.sm", "v1", "dest")
		if again.Downloaded != 0 || again.Unchanged != 4 {
			t.Fatalf("second pull: %+v", again)
		}

		// @prod, into the default folder MODEL-VERSION, with text output;
		// the server from FLYMODEL_SERVER.
		if _, err := c.SetVersionState(ctx, v.Ref(), "prod"); err != nil {
			t.Fatal(err)
		}
		text := flymodel(t, dir, []string{"FLYMODEL_SERVER=" + s.URL}, "pull", "canada/llm.sm", "@prod")
		text.expectCode(t, 0)
		if !strings.Contains(text.stdout, "download  model/model.safetensors (") ||
			!strings.Contains(text.stdout, "canada/llm.sm/v1 (prod, "+v.Digest+"): 4 downloaded, 0 unchanged in llm.sm-v1") ||
			text.stderr != "" {
			t.Fatalf("text output: %s", text)
		}
		sameTree(t, filepath.Join(dir, "llm.sm-v1"), "model", files)

		// Refusals: one line on stderr, the right exit code, nothing written.
		for _, c := range []struct {
			args []string
			code int
			want string
		}{
			{[]string{"--server", s.URL, "canada/llm.sm", "v9", "x"}, 1, "not found"},
			{[]string{"--server", s.URL, "canada/llm.sm", "@qa", "x"}, 1, "no version of canada/llm.sm is in qa"},
			{[]string{"--server", s.URL, "canada/llm.sm", "@live", "x"}, 1, "no alias live on canada/llm.sm"},
			{[]string{"--server", s.URL, "canada", "v1", "x"}, 2, "NAMESPACE/MODEL"},
			{[]string{"canada/llm.sm", "v1", "x"}, 2, "--server"},
			{[]string{"--server", s.URL, "--output", "xml", "canada/llm.sm", "v1", "x"}, 2, "--output"},
			{[]string{"--server", s.URL, "--parallel", "0", "canada/llm.sm", "v1", "x"}, 2, "--parallel"},
			{[]string{"--server", s.URL, "canada/llm.sm"}, 2, "arg"},
		} {
			res := flymodel(t, dir, nil, append([]string{"pull"}, c.args...)...)
			res.expectCode(t, c.code)
			if !strings.Contains(res.stderr, c.want) || strings.Count(strings.TrimSpace(res.stderr), "\n") > 0 && c.code != 2 {
				t.Errorf("pull %v: stderr %q, want it to mention %q", c.args, res.stderr, c.want)
			}
		}
		if _, err := os.Stat(filepath.Join(dir, "x")); !os.IsNotExist(err) {
			t.Fatalf("a refused pull created its folder: %v", err)
		}

		// Bytes altered in the store behind the server: exit 1, integrity,
		// and no file for that artifact.
		row, err := s.store.GetVersionByPath(ctx, db.GetVersionByPathParams{Namespace: "canada", Model: "llm.sm", Version: "v1"})
		if err != nil {
			t.Fatal(err)
		}
		art, err := s.store.GetArtifactWithBlob(ctx, db.GetArtifactWithBlobParams{VersionID: row.ID, Name: "model/model.safetensors"})
		if err != nil {
			t.Fatal(err)
		}
		altered := bytes.Clone(files["model.safetensors"])
		altered[len(altered)/2] ^= 1
		put, err := s.blobs.Put(ctx, art.Key, bytes.NewReader(altered))
		if err != nil {
			t.Fatal(err)
		}
		// On S3 an overwrite is a new version, which the server does not
		// serve: the record is pointed at it (as if the version had changed).
		if _, err := s.store.SetBlobStorageVersion(ctx, db.SetBlobStorageVersionParams{ID: art.BlobID, StorageVersion: put.VersionID}); err != nil {
			t.Fatal(err)
		}
		bad := runPull(t, dir, 1, "--server", s.URL, "canada/llm.sm", "v1", "tampered")
		if !strings.Contains(bad.Error, "integrity") || bad.Failed < 1 {
			t.Fatalf("pull of altered bytes: %+v", bad)
		}
		if _, err := os.Stat(filepath.Join(dir, "tampered", "model", "model.safetensors")); !os.IsNotExist(err) {
			t.Fatalf("the altered artifact was written: %v", err)
		}
		filepath.WalkDir(filepath.Join(dir, "tampered"), func(p string, d fs.DirEntry, err error) error {
			if err == nil && strings.HasSuffix(p, ".part") {
				t.Errorf("temporary file left: %s", p)
			}
			return nil
		})
	})
}
