package dbtest

import (
	"context"
	"errors"
	"testing"

	"github.com/flymodel/flymodel/internal/db"
)

// testAliases: an alias is unique per model, moves, is listed by name with
// its version, per version and per range of ids; a version's hard delete
// takes its aliases and leaves the history naming it (ids set NULL,
// names kept); a model's delete takes both.
func testAliases(t *testing.T, s db.DB) {
	ctx := context.Background()
	ns := namespace(t, s, "canada")
	m := model(t, s, ns, "llm.sm")
	other := model(t, s, ns, "llm.lg")
	v1, v2 := version(t, s, m, "v1"), version(t, s, m, "v2")
	ov := version(t, s, other, "v1")

	a := must(s.CreateAlias(ctx, db.CreateAliasParams{ModelID: m.ID, Alias: "champion", VersionID: v1.ID, Now: now(), Actor: "alice"}))
	if a.UpdatedBy != "alice" || a.VersionID != v1.ID {
		t.Fatalf("alias = %+v", a)
	}
	_, err := s.CreateAlias(ctx, db.CreateAliasParams{ModelID: m.ID, Alias: "champion", VersionID: v2.ID, Now: now(), Actor: "bob"})
	wantConflict(t, err, "model_aliases", "model_id", "alias")
	// Another model may have the same alias.
	must(s.CreateAlias(ctx, db.CreateAliasParams{ModelID: other.ID, Alias: "champion", VersionID: ov.ID, Now: now(), Actor: "bob"}))
	must(s.CreateAlias(ctx, db.CreateAliasParams{ModelID: m.ID, Alias: "canary", VersionID: v2.ID, Now: now(), Actor: "bob"}))

	locked := must(s.LockAlias(ctx, db.LockAliasParams{ModelID: m.ID, Alias: "champion"}))
	if locked.ID != a.ID {
		t.Fatalf("LockAlias = %+v", locked)
	}
	_, err = s.LockAlias(ctx, db.LockAliasParams{ModelID: m.ID, Alias: "nope"})
	wantErr(t, err, db.ErrNotFound)
	moved := must(s.MoveAlias(ctx, db.MoveAliasParams{ID: a.ID, VersionID: v2.ID, Now: now(), Actor: "carol"}))
	if moved.VersionID != v2.ID || moved.UpdatedBy != "carol" {
		t.Fatalf("moved = %+v", moved)
	}
	got := must(s.GetAlias(ctx, db.GetAliasParams{ModelID: m.ID, Alias: "champion"}))
	if got.Version != "v2" {
		t.Fatalf("GetAlias = %+v", got)
	}
	list := must(s.ListAliases(ctx, m.ID))
	if len(list) != 2 || list[0].Alias != "canary" || list[1].Alias != "champion" || list[1].Version != "v2" {
		t.Fatalf("ListAliases = %+v", list)
	}
	if byVersion := must(s.ListVersionAliases(ctx, v2.ID)); len(byVersion) != 2 || byVersion[0].Alias != "canary" {
		t.Fatalf("ListVersionAliases = %+v", byVersion)
	}
	inRange := must(s.ListVersionAliasesInRange(ctx, db.ListVersionAliasesInRangeParams{Lo: v1.ID, Hi: v2.ID}))
	if len(inRange) != 2 || inRange[0].VersionID != v2.ID {
		t.Fatalf("ListVersionAliasesInRange = %+v", inRange)
	}
	models := must(s.ListModelAliasesInRange(ctx, db.ListModelAliasesInRangeParams{Lo: min(m.ID, other.ID), Hi: max(m.ID, other.ID)}))
	if len(models) != 3 {
		t.Fatalf("ListModelAliasesInRange = %+v", models)
	}

	// History, newest first, paged.
	must(s.CreateAliasChange(ctx, db.CreateAliasChangeParams{ModelID: m.ID, Alias: "champion", ToVersionID: &v1.ID, ToVersion: ptr("v1"), Actor: "alice", Now: now()}))
	must(s.CreateAliasChange(ctx, db.CreateAliasChangeParams{ModelID: m.ID, Alias: "champion", FromVersionID: &v1.ID, ToVersionID: &v2.ID,
		FromVersion: ptr("v1"), ToVersion: ptr("v2"), Actor: "carol", Now: now()}))
	if n := must(s.CountAliasHistory(ctx, db.CountAliasHistoryParams{ModelID: m.ID, Alias: "champion"})); n != 2 {
		t.Fatalf("CountAliasHistory = %d", n)
	}
	h := must(s.ListAliasHistory(ctx, db.ListAliasHistoryParams{ModelID: m.ID, Alias: "champion", PageLimit: 1}))
	if len(h) != 1 || h[0].Actor != "carol" || h[0].FromVersion == nil || *h[0].FromVersion != "v1" {
		t.Fatalf("ListAliasHistory = %+v", h)
	}

	// A version's hard delete takes its aliases; the history keeps the names.
	must(s.DeleteVersion(ctx, v2.ID))
	if list := must(s.ListAliases(ctx, m.ID)); len(list) != 0 {
		t.Fatalf("aliases after the version's delete = %+v", list)
	}
	h = must(s.ListAliasHistory(ctx, db.ListAliasHistoryParams{ModelID: m.ID, Alias: "champion", PageLimit: 10}))
	if len(h) != 2 || h[0].ToVersionID != nil || h[0].ToVersion == nil || *h[0].ToVersion != "v2" || h[0].FromVersionID == nil {
		t.Fatalf("history after the version's delete = %+v", h)
	}
	// An alias must point at a version that exists.
	_, err = s.CreateAlias(ctx, db.CreateAliasParams{ModelID: m.ID, Alias: "ghost", VersionID: v2.ID, Now: now(), Actor: "x"})
	if !errors.Is(err, db.ErrForeignKey) {
		t.Fatalf("alias of a deleted version: %v, want a foreign key error", err)
	}
	// A model's delete takes its aliases' history.
	must(s.DeleteVersion(ctx, v1.ID))
	must(s.DeleteModel(ctx, m.ID))
	if n := must(s.CountAliasHistory(ctx, db.CountAliasHistoryParams{ModelID: m.ID, Alias: "champion"})); n != 0 {
		t.Fatalf("history after the model's delete: %d", n)
	}
	if list := must(s.ListAliases(ctx, other.ID)); len(list) != 1 {
		t.Fatalf("the other model's aliases = %+v", list)
	}
}
