package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/flymodel/flymodel/client"
)

// TestDiffAndLineageCommands: flymodel diff in text and JSON, across
// models and with @lifecycle, flymodel lineage, and their refusals.
func TestDiffAndLineageCommands(t *testing.T) {
	upsertServers(t, func(t *testing.T, s *testServer) {
		ctx := context.Background()
		dir := t.TempDir()
		c, err := client.New(s.URL)
		if err != nil {
			t.Fatal(err)
		}
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		_, err = c.CreateNamespace(ctx, "canada", "")
		must(err)
		_, err = c.CreateModel(ctx, "canada", "llm.sm")
		must(err)
		v1, err := c.CreateVersion(ctx, "canada", "llm.sm", client.NewVersion{Version: "v1", Description: "one",
			Metadata: json.RawMessage(`{"framework":"pytorch","parameters":7}`)})
		must(err)
		v2, err := c.CreateVersion(ctx, "canada", "llm.sm", client.NewVersion{Version: "v2", Description: "two",
			Metadata: json.RawMessage(`{"framework":"jax","parameters":7,"task":"qa"}`),
			Parents:  []client.ParentRef{{Version: "v1", Relation: client.RelationFineTuned}}})
		must(err)
		for v, files := range map[client.VersionRef]map[string]string{
			v1.Ref(): {"same.txt": "same", "w.bin": "old", "gone.txt": "bye"},
			v2.Ref(): {"same.txt": "same", "w.bin": "newer bytes", "new.txt": "hi"},
		} {
			for name, content := range files {
				_, _, err := c.UploadArtifact(ctx, v.Owner(), name, strings.NewReader(content), client.UploadOptions{})
				must(err)
			}
		}
		for v, acc := range map[client.VersionRef]float64{v1.Ref(): 0.9, v2.Ref(): 0.95} {
			_, err := c.CreateExperiment(ctx, v, "eval", nil)
			must(err)
			_, err = c.StartExperiment(ctx, v, "eval")
			must(err)
			_, err = c.FinishExperiment(ctx, v, "eval", true, client.Result{Metrics: map[string]any{"accuracy": acc}})
			must(err)
		}
		_, err = c.SetVersionState(ctx, v2.Ref(), "qa")
		must(err)
		v2, err = c.GetVersion(ctx, v2.Ref())
		must(err)

		text := flymodel(t, dir, nil, "diff", "--server", s.URL, "canada/llm.sm", "v1", "@qa")
		text.expectCode(t, 0)
		for _, want := range []string{
			"b: canada/llm.sm/v2 (qa) " + v2.Digest,
			"+ new.txt", "- gone.txt", "~ w.bin", "3 B -> 11 B",
			"1 added, 1 removed, 1 changed, 1 unchanged",
			"description: changed",
			`framework  "pytorch"  ->  "jax"`,
			"eval", "accuracy  0.9", "0.95", "task", `"qa"`,
		} {
			if !strings.Contains(text.stdout, want) {
				t.Errorf("diff text lacks %q:\n%s", want, text.stdout)
			}
		}
		if strings.Contains(text.stdout, "null") {
			t.Errorf("an absent side shows as null:\n%s", text.stdout)
		}
		if strings.Contains(text.stdout, "parameters") {
			t.Errorf("an unchanged metadata key is listed:\n%s", text.stdout)
		}
		js := flymodel(t, dir, nil, "diff", "--server", s.URL, "--output", "json", "canada/llm.sm", "v1", "canada/llm.sm/v2")
		js.expectCode(t, 0)
		var d client.Diff
		if err := json.Unmarshal([]byte(js.stdout), &d); err != nil {
			t.Fatalf("diff json: %v\n%s", err, js)
		}
		if d.B.Digest != v2.Digest || len(d.Artifacts.Changed) != 1 || d.Artifacts.Changed[0].BSize != 11 || len(d.Experiments) != 1 {
			t.Fatalf("diff json = %+v", d)
		}

		lin := flymodel(t, dir, nil, "lineage", "--server", s.URL, "canada/llm.sm", "v1")
		lin.expectCode(t, 0)
		if !strings.Contains(lin.stdout, "  0  /canada/llm.sm/v1 (test)") || !strings.Contains(lin.stdout, " +1  /canada/llm.sm/v2 (qa)") ||
			!strings.Contains(lin.stdout, "/canada/llm.sm/v1 <- /canada/llm.sm/v2 (fine-tuned)") {
			t.Fatalf("lineage text:\n%s", lin)
		}
		lj := flymodel(t, dir, nil, "lineage", "--server", s.URL, "--output", "json", "--depth", "1", "canada/llm.sm", "@qa")
		lj.expectCode(t, 0)
		var l client.Lineage
		if err := json.Unmarshal([]byte(lj.stdout), &l); err != nil || l.Root != "/canada/llm.sm/v2" || l.Depth != 1 || len(l.Edges) != 1 {
			t.Fatalf("lineage json: %v %+v\n%s", err, l, lj)
		}

		for _, c := range []struct {
			args []string
			code int
			want string
		}{
			{[]string{"diff", "--server", s.URL, "canada/llm.sm", "v1", "v9"}, 1, "not found"},
			{[]string{"diff", "--server", s.URL, "canada/llm.sm", "v1", "@prod"}, 1, "prod"},
			{[]string{"diff", "--server", s.URL, "canada", "v1", "v2"}, 2, "NAMESPACE/MODEL"},
			{[]string{"diff", "--server", s.URL, "canada/llm.sm", "v1", "/x/"}, 2, "NAMESPACE/MODEL/VERSION"},
			{[]string{"diff", "--server", s.URL, "--output", "xml", "canada/llm.sm", "v1", "v2"}, 2, "--output"},
			{[]string{"diff", "canada/llm.sm", "v1", "v2"}, 2, "--server"},
			{[]string{"diff", "--server", s.URL, "canada/llm.sm", "v1"}, 2, "arg"},
			{[]string{"lineage", "--server", s.URL, "--depth", "11", "canada/llm.sm", "v1"}, 2, "--depth"},
			{[]string{"lineage", "--server", s.URL, "canada/llm.sm", "v9"}, 1, "not found"},
		} {
			res := flymodel(t, dir, nil, c.args...)
			res.expectCode(t, c.code)
			if !strings.Contains(res.stderr, c.want) {
				t.Errorf("%v: stderr %q, want it to mention %q", c.args, res.stderr, c.want)
			}
		}
	})
}
