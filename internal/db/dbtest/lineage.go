package dbtest

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/flymodel/flymodel/internal/db"
)

// testMetadata: models and versions carry a JSON object of metadata, {}
// by default; both engines store what they are given (PostgreSQL as
// jsonb, which normalises it) and refuse what is not JSON.
func testMetadata(t *testing.T, s db.DB) {
	ctx := context.Background()
	ns := namespace(t, s, "canada")
	m := model(t, s, ns, "llm.sm")
	v := version(t, s, m, "v1")
	if !jsonEqual(m.Metadata, "{}") || !jsonEqual(v.Metadata, "{}") {
		t.Fatalf("default metadata: model %q, version %q, want {}", m.Metadata, v.Metadata)
	}
	doc := `{"license":"mit","datasets":[{"name":"wiki","digest":"sha256:00"}],"parameters":7000000000,"x.y":null}`
	got := must(s.SetVersionMetadata(ctx, db.SetVersionMetadataParams{ID: v.ID, Metadata: doc, Now: now()}))
	if !jsonEqual(got.Metadata, doc) {
		t.Errorf("version metadata = %s, want %s", got.Metadata, doc)
	}
	// Every read of the row carries it.
	byPath := must(s.GetVersionByPath(ctx, db.GetVersionByPathParams{Namespace: "canada", Model: "llm.sm", Version: "v1"}))
	if !jsonEqual(byPath.Metadata, doc) {
		t.Errorf("GetVersionByPath metadata = %s", byPath.Metadata)
	}
	list := must(s.ListVersions(ctx, db.ListVersionsParams{ModelID: m.ID, PageLimit: 10}))
	if len(list) != 1 || !jsonEqual(list[0].Metadata, doc) {
		t.Errorf("ListVersions metadata = %+v", list)
	}
	gm := must(s.SetModelMetadata(ctx, db.SetModelMetadataParams{ID: m.ID, Metadata: `{"task":"qa"}`, Now: now()}))
	if !jsonEqual(gm.Metadata, `{"task":"qa"}`) {
		t.Errorf("model metadata = %s", gm.Metadata)
	}
	if m2 := must(s.GetModelByPath(ctx, db.GetModelByPathParams{Namespace: "canada", Model: "llm.sm"})); !jsonEqual(m2.Metadata, `{"task":"qa"}`) {
		t.Errorf("GetModelByPath metadata = %s", m2.Metadata)
	}
	// Not JSON: refused by the column (json_valid on SQLite, jsonb on
	// PostgreSQL); nothing changed.
	if _, err := s.SetVersionMetadata(ctx, db.SetVersionMetadataParams{ID: v.ID, Metadata: `{"a":`, Now: now()}); err == nil {
		t.Error("malformed metadata was stored")
	}
	if got := must(s.GetVersion(ctx, v.ID)); !jsonEqual(got.Metadata, doc) {
		t.Errorf("metadata after a refused change = %s", got.Metadata)
	}
}

// testLineage: links between versions (version_parents), walked with the
// recursive queries the same way on both engines.
func testLineage(t *testing.T, s db.DB) {
	ctx := context.Background()
	ca, us := namespace(t, s, "canada"), namespace(t, s, "usa")
	base, small := model(t, s, ca, "base"), model(t, s, us, "small")
	b1 := version(t, s, base, "b1")
	b2 := version(t, s, base, "b2")
	s1 := version(t, s, small, "s1")
	s2 := version(t, s, small, "s2")
	s3 := version(t, s, small, "s3")
	link := func(child, parent db.ModelVersion, rel string) {
		t.Helper()
		check(s.AddVersionParent(ctx, db.AddVersionParentParams{ChildID: child.ID, ParentID: parent.ID, Relation: rel}))
	}
	// b1 <- b2 <- s1 <- s2 <- s3, and b1 <- s1 (a diamond).
	link(b2, b1, "fine-tuned")
	link(s1, b2, "distilled")
	link(s1, b1, "merged")
	link(s2, s1, "quantized")
	link(s3, s2, "derived")

	// The same link twice, an unknown relation, a missing version.
	wantConflict(t, s.AddVersionParent(ctx, db.AddVersionParentParams{ChildID: b2.ID, ParentID: b1.ID, Relation: "derived"}), "version_parents", "child_id", "parent_id")
	wantErr(t, s.AddVersionParent(ctx, db.AddVersionParentParams{ChildID: s3.ID, ParentID: b1.ID, Relation: "copied"}), db.ErrInvalid)
	wantErr(t, s.AddVersionParent(ctx, db.AddVersionParentParams{ChildID: s3.ID, ParentID: 999999, Relation: "derived"}), db.ErrForeignKey)

	parents := must(s.ListVersionParents(ctx, s1.ID))
	if len(parents) != 2 || parents[0].Version != "b1" || parents[0].Relation != "merged" || parents[0].Namespace != "canada" ||
		parents[1].Version != "b2" || parents[1].Relation != "distilled" || parents[1].Model != "base" {
		t.Errorf("parents of s1 = %+v", parents)
	}
	children := must(s.ListLiveChildren(ctx, db.ListLiveChildrenParams{ParentID: b1.ID, PageLimit: 10}))
	if len(children) != 2 || children[0].Version != "b2" || children[1].Version != "s1" || children[1].Namespace != "usa" {
		t.Errorf("children of b1 = %+v", children)
	}

	// Ancestry (the cycle check): b1 is an ancestor of s3, s3 is not of b1.
	for _, c := range []struct {
		id, ancestor int64
		want         bool
	}{{s3.ID, b1.ID, true}, {s3.ID, s3.ID, true}, {b1.ID, s3.ID, false}, {s1.ID, s2.ID, false}, {s2.ID, b2.ID, true}} {
		n := must(s.CountAncestorPaths(ctx, db.CountAncestorPathsParams{ID: c.id, Ancestor: c.ancestor}))
		if (n > 0) != c.want {
			t.Errorf("CountAncestorPaths(%d, %d) = %d, want >0 %v", c.id, c.ancestor, n, c.want)
		}
	}

	edges := func(id, depth int64) []string {
		t.Helper()
		var out []string
		for _, e := range must(s.ListLineageEdges(ctx, db.ListLineageEdgesParams{ID: id, MaxDepth: depth})) {
			out = append(out, e.ChildVersion+"->"+e.ParentVersion+":"+e.Relation)
		}
		slices.Sort(out)
		return out
	}
	for _, c := range []struct {
		id, depth int64
		want      []string
	}{
		{s1.ID, 1, []string{"s1->b1:merged", "s1->b2:distilled", "s2->s1:quantized"}},
		{s1.ID, 2, []string{"b2->b1:fine-tuned", "s1->b1:merged", "s1->b2:distilled", "s2->s1:quantized", "s3->s2:derived"}},
		{b1.ID, 10, []string{"b2->b1:fine-tuned", "s1->b1:merged", "s1->b2:distilled", "s2->s1:quantized", "s3->s2:derived"}},
		{s3.ID, 1, []string{"s3->s2:derived"}},
		{s3.ID, 3, []string{"s1->b1:merged", "s1->b2:distilled", "s2->s1:quantized", "s3->s2:derived"}},
	} {
		if got := edges(c.id, c.depth); !slices.Equal(got, c.want) {
			t.Errorf("lineage of %d, depth %d = %v, want %v", c.id, c.depth, got, c.want)
		}
	}
	// Both ends are named.
	for _, e := range must(s.ListLineageEdges(ctx, db.ListLineageEdgesParams{ID: s2.ID, MaxDepth: 1})) {
		if e.ChildVersion == "s2" && (e.ParentNamespace != "usa" || e.ParentModel != "small" || e.ChildModel != "small" || e.ParentState != "test") {
			t.Errorf("edge = %+v", e)
		}
	}

	// A parent named by a link is not deleted (the registry unlinks
	// first); a child is, with its links.
	wantErr(t, second(s.DeleteVersion(ctx, b1.ID)), db.ErrForeignKey)
	if n := must(s.DeleteVersion(ctx, s3.ID)); n != 1 {
		t.Fatalf("delete s3: %d", n)
	}
	if got := edges(s2.ID, 5); slices.Contains(got, "s3->s2:derived") {
		t.Errorf("s3's link survived its delete: %v", got)
	}
	// A soft-deleted child is no live child.
	must(s.SoftDeleteVersion(ctx, db.SoftDeleteVersionParams{ID: s2.ID, Now: now()}))
	if c := must(s.ListLiveChildren(ctx, db.ListLiveChildrenParams{ParentID: s1.ID, PageLimit: 10})); len(c) != 0 {
		t.Errorf("live children of s1 = %+v", c)
	}
	if n := must(s.DeleteParentLinks(ctx, s1.ID)); n != 1 {
		t.Errorf("DeleteParentLinks(s1) = %d, want 1", n)
	}
	// Unlinking a model's versions as parents, then a namespace's.
	if n := must(s.DeleteModelParentLinks(ctx, base.ID)); n != 3 {
		t.Errorf("DeleteModelParentLinks(base) = %d, want 3", n)
	}
	link(s1, b1, "merged")
	if n := must(s.DeleteNamespaceParentLinks(ctx, ca.ID)); n != 1 {
		t.Errorf("DeleteNamespaceParentLinks(canada) = %d, want 1", n)
	}
	if n := must(s.DeleteNamespace(ctx, ca.ID)); n != 1 {
		t.Errorf("delete canada: %d", n)
	}
	if n := must(s.DeleteVersionParents(ctx, s1.ID)); n != 0 {
		t.Errorf("DeleteVersionParents(s1) = %d, want 0", n)
	}
	if _, err := s.GetVersion(ctx, s1.ID); errors.Is(err, db.ErrNotFound) {
		t.Error("s1 went with its parents' namespace")
	}
}
