package client_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/flymodel/flymodel/client"
)

// TestModelCardsLineageDiff: metadata on create and update, parents set
// and listed, the lineage graph, a diff, and the errors each refusal
// maps to.
func TestModelCardsLineageDiff(t *testing.T) {
	c, _ := newServer(t, serverConfig{})
	v1 := seed(t, c)
	meta, err := json.Marshal(client.ModelMetadata{License: "mit", Framework: "pytorch", Parameters: new(int64)})
	check(t, err)
	m, err := c.UpdateModel(ctx, "canada", "llm.sm", client.ModelUpdate{Metadata: meta})
	check(t, err)
	if string(m.Metadata) != `{"framework":"pytorch","license":"mit","parameters":0}` {
		t.Fatalf("model metadata %s", m.Metadata)
	}
	v2, err := c.CreateVersion(ctx, "canada", "llm.sm", client.NewVersion{Version: "v2",
		Metadata: json.RawMessage(`{"framework":"jax","custom":[1,2]}`),
		Parents:  []client.ParentRef{{Version: "v1", Relation: client.RelationFineTuned}}})
	check(t, err)
	if string(v2.Metadata) != `{"custom":[1,2],"framework":"jax"}` {
		t.Fatalf("version metadata %s", v2.Metadata)
	}
	ps, err := c.Parents(ctx, v2.Ref())
	check(t, err)
	if len(ps) != 1 || ps[0].Path != "/canada/llm.sm/v1" || ps[0].Relation != "fine-tuned" {
		t.Fatalf("parents %+v", ps)
	}
	got, err := c.UpdateVersion(ctx, v1, client.VersionUpdate{Metadata: json.RawMessage(`{"task":"qa"}`)})
	check(t, err)
	if string(got.Metadata) != `{"task":"qa"}` {
		t.Fatalf("updated metadata %s", got.Metadata)
	}
	_, err = c.UpdateVersion(ctx, v1, client.VersionUpdate{Metadata: json.RawMessage(`{"parameters":"7B"}`)})
	if !errors.Is(err, client.ErrValidation) || !strings.Contains(err.Error(), "metadata.parameters") {
		t.Fatalf("bad metadata: %v", err)
	}

	l, err := c.Lineage(ctx, v1, 2)
	check(t, err)
	if l.Root != "/canada/llm.sm/v1" || len(l.Nodes) != 2 || len(l.Edges) != 1 || l.Edges[0].Child != "/canada/llm.sm/v2" || l.Depth != 2 {
		t.Fatalf("lineage %+v", l)
	}
	if _, err := c.Lineage(ctx, v1, 11); !errors.Is(err, client.ErrValidation) {
		t.Fatalf("depth 11: %v", err)
	}
	// A cycle, a missing parent, a sealed version.
	if _, err := c.SetParents(ctx, v1, []client.ParentRef{{Version: v2.Ref().Path(), Relation: client.RelationDerived}}); !errors.Is(err, client.ErrValidation) {
		t.Fatalf("cycle: %v", err)
	}
	if _, err := c.SetParents(ctx, v1, []client.ParentRef{{Version: "/canada/llm.sm/v9", Relation: client.RelationDerived}}); !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("missing parent: %v", err)
	}
	ps, err = c.SetParents(ctx, v2.Ref(), nil)
	check(t, err)
	if len(ps) != 0 {
		t.Fatalf("parents after clearing %+v", ps)
	}
	_, err = c.SetParents(ctx, v2.Ref(), []client.ParentRef{{Namespace: "canada", Model: "llm.sm", Version: "v1", Relation: client.RelationQuantized}})
	check(t, err)
	_, err = c.SetVersionState(ctx, v2.Ref(), "qa")
	check(t, err)
	if _, err := c.SetParents(ctx, v2.Ref(), nil); !errors.Is(err, client.ErrConflict) {
		t.Fatalf("sealed: %v", err)
	}

	_, _, err = c.UploadArtifact(ctx, v1.Owner(), "w.bin", strings.NewReader("one"), client.UploadOptions{})
	check(t, err)
	d, err := c.Diff(ctx, v1, "v2")
	check(t, err)
	if len(d.Artifacts.Removed) != 1 || d.Artifacts.Removed[0].Name != "w.bin" || d.A.Version != "v1" || d.B.Version != "v2" || len(d.Metadata) != 3 {
		t.Fatalf("diff %+v", d)
	}
	dw, err := c.DiffWith(ctx, v1, v2.Ref())
	check(t, err)
	if len(dw.Metadata) != len(d.Metadata) || dw.B.Digest != d.B.Digest {
		t.Fatalf("DiffWith %+v", dw)
	}
	if _, err := c.Diff(ctx, v1, "v9"); !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("diff with a missing version: %v", err)
	}

	if err := c.DeleteVersion(ctx, v1, false); !errors.Is(err, client.ErrConflict) {
		t.Fatalf("delete a parent: %v", err)
	}
	check(t, c.DeleteVersionCascade(ctx, v1, true))
	if ps, err := c.Parents(ctx, v2.Ref()); err != nil || len(ps) != 0 {
		t.Fatalf("parents after the cascade: %+v %v", ps, err)
	}
}
