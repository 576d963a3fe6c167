package upsert

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestExperimentMoves(t *testing.T) {
	cases := []struct {
		state, want string
		moves       string
	}{
		{"created", "", "[]"},
		{"running", "created", "[]"},
		{"created", "running", "[created>running]"},
		{"running", "running", "[running>running]"}, // unchanged, not a retry
		{"created", "passed", "[created>running running>passed]"},
		{"running", "failed", "[running>failed]"},
		{"passed", "passed", "[passed>passed]"},
		{"passed", "failed", "[passed>failed!]"},
		{"failed", "running", "[failed>running!]"},
	}
	for _, c := range cases {
		var got []string
		for _, m := range experimentMoves(c.state, c.want) {
			s := m.from + ">" + m.to
			if m.conflict != "" {
				s += "!"
			}
			got = append(got, s)
		}
		if fmt.Sprint(got) != c.moves && !(len(got) == 0 && c.moves == "[]") {
			t.Errorf("%s -> %s: %v, want %s", c.state, c.want, got, c.moves)
		}
	}
}

func TestFiles(t *testing.T) {
	dir := t.TempDir()
	for _, rel := range []string{"b.txt", "a/x.bin", "a/b/y.bin"} {
		p := filepath.Join(dir, "out", filepath.FromSlash(rel))
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(rel), 0o644)
	}
	names := func(arts []Artifact) []string {
		var out []string
		for _, a := range arts {
			out = append(out, a.Name)
		}
		return out
	}
	arts, err := Files("model", filepath.Join(dir, "out"))
	if err != nil || !slices.Equal(names(arts), []string{"model/a/b/y.bin", "model/a/x.bin", "model/b.txt"}) {
		t.Fatalf("folder with a name: %v %v", names(arts), err)
	}
	arts, err = Files("", filepath.Join(dir, "out"))
	if err != nil || !slices.Equal(names(arts), []string{"a/b/y.bin", "a/x.bin", "b.txt"}) {
		t.Fatalf("folder without a name: %v %v", names(arts), err)
	}
	arts, err = Files("", filepath.Join(dir, "out", "b.txt"))
	if err != nil || !slices.Equal(names(arts), []string{"b.txt"}) {
		t.Fatalf("file: %v %v", names(arts), err)
	}
	if err := Hash(arts); err != nil || arts[0].Size != 5 || len(arts[0].SHA256) != 64 {
		t.Fatalf("hash: %+v %v", arts[0], err)
	}
	os.MkdirAll(filepath.Join(dir, "empty"), 0o755)
	if _, err := Files("x", filepath.Join(dir, "empty")); err == nil {
		t.Fatal("an empty folder was accepted")
	}
	if _, err := Files("x", filepath.Join(dir, "missing")); err == nil {
		t.Fatal("a missing path was accepted")
	}
}
