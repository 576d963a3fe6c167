package upsert

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/flymodel/flymodel/api"
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

func TestSetFormats(t *testing.T) {
	folder := func() []Artifact {
		return []Artifact{
			{Name: "w/model.safetensors", Path: "out/model.safetensors"},
			{Name: "w/blob", Path: "out/blob"},
			{Name: "w/CONFIG.JSON", Path: "out/CONFIG.JSON"},
		}
	}
	arts := folder()
	SetFormats(arts, "npy", false, "npy") // a folder's :FORMAT: the default only
	if got := []string{arts[0].Format, arts[1].Format, arts[2].Format}; !slices.Equal(got, []string{"safetensors", "npy", "json"}) {
		t.Errorf("folder with :npy: %v", got)
	}
	arts = folder()
	SetFormats(arts, "", false, "") // nothing given: the extensions, else none
	if got := []string{arts[0].Format, arts[1].Format, arts[2].Format}; !slices.Equal(got, []string{"safetensors", "", "json"}) {
		t.Errorf("folder: %v", got)
	}
	for _, c := range []struct {
		art                   Artifact
		given, fallback, want string
	}{
		{Artifact{Name: "config.json", Path: "c.json"}, "txt", "", "txt"},          // one file's :FORMAT wins
		{Artifact{Name: "config.json", Path: "c.json"}, "", "txt", "json"},         // --format does not
		{Artifact{Name: "weights", Path: "out/m.gguf"}, "", "txt", "gguf"},         // the local file's extension
		{Artifact{Name: "weights", Path: "out/weights"}, "", "parquet", "parquet"}, // nothing said: --format
	} {
		arts := []Artifact{c.art}
		SetFormats(arts, c.given, true, c.fallback)
		if arts[0].Format != c.want {
			t.Errorf("SetFormats(%+v, %q, file, %q) = %q, want %q", c.art, c.given, c.fallback, arts[0].Format, c.want)
		}
	}
}

// TestSpecValidate: the registry's name rules and the vocabularies, checked
// before anything is read or sent; every bad item is named.
func TestSpecValidate(t *testing.T) {
	ok := Spec{Namespace: "n", Model: "m", Version: "v1", State: "stage",
		Artifacts:   []Artifact{{Name: "weights/model.safetensors"}},
		Experiments: []Experiment{{Name: "eval", State: "passed", Metrics: []byte(`{"a":1}`)}}}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid spec: %v", err)
	}
	ms := int64(5)
	for _, tc := range []struct {
		change func(*Spec)
		want   string
	}{
		{func(s *Spec) { s.Version = "v5/x" }, `version "v5/x"`},
		{func(s *Spec) { s.Namespace = ".." }, `namespace ".."`},
		{func(s *Spec) { s.Model = "a%b" }, `model "a%b"`},
		{func(s *Spec) { s.State = "gold" }, `state "gold"`},
		{func(s *Spec) { s.Artifacts[0].Name = "/abs" }, `artifact "/abs"`},
		{func(s *Spec) { s.Experiments[0].Name = "a\nb" }, `experiment "a\nb"`},
		{func(s *Spec) { s.Experiments[0].State = "done" }, `state "done"`},
		{func(s *Spec) { s.Experiments[0].State = "" }, "recorded with the result"},
		{func(s *Spec) {
			s.Experiments[0].State, s.Experiments[0].Metrics, s.Experiments[0].DurationMs = "running", nil, &ms
		}, "recorded with the result"},
	} {
		s := ok
		s.Artifacts = slices.Clone(ok.Artifacts)
		s.Experiments = slices.Clone(ok.Experiments)
		tc.change(&s)
		err := s.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, api.ErrInvalid) {
			t.Errorf("%s: err = %v", tc.want, err)
		}
	}
}

func TestResultConflict(t *testing.T) {
	ms := func(n int64) *int64 { return &n }
	recorded := ExperimentInfo{Exists: true, State: "passed", Metrics: []byte(`{"acc": 0.9, "f1": 0.5}`), DurationMs: ms(42000)}
	for _, tc := range []struct {
		e    Experiment
		want string
	}{
		{Experiment{State: "passed"}, ""},
		{Experiment{State: "passed", Metrics: []byte(`{"f1":0.5,"acc":0.9}`)}, ""},
		{Experiment{State: "passed", DurationMs: ms(42000)}, ""},
		{Experiment{State: "passed", Metrics: []byte(`{"acc": 0.8}`)}, `metrics {"acc":0.9,"f1":0.5}, given {"acc":0.8}`},
		{Experiment{State: "passed", DurationMs: ms(1)}, "duration 42000 ms, given 1 ms"},
	} {
		if got := resultConflict(recorded, tc.e); (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%+v: %q, want %q", tc.e, got, tc.want)
		}
	}
}
