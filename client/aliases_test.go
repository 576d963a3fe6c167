package client_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flymodel/flymodel/client"
)

func TestAliases(t *testing.T) {
	c, _ := newServer(t, serverConfig{})
	ctx := context.Background()
	v1 := pullFixture(t, c, map[string][]byte{"a.txt": []byte("a")})
	_, err := c.CreateVersion(ctx, "canada", "llm.sm", client.NewVersion{Version: "v2"})
	check(t, err)

	a, err := c.SetAlias(ctx, "canada", "llm.sm", "champion", "v1")
	if err != nil || a.Version != "v1" || a.Alias != "champion" || a.UpdatedBy != "test-admin" {
		t.Fatalf("SetAlias = %+v, %v", a, err)
	}
	if v, err := c.ResolveVersion(ctx, "canada", "llm.sm", "@champion"); err != nil || v.Version != "v1" || strings.Join(v.Aliases, ",") != "champion" {
		t.Errorf("@champion = %+v, %v", v, err)
	}
	// Pull by the alias: the files of the version it names.
	dir := filepath.Join(t.TempDir(), "out")
	res, err := c.Pull(ctx, client.VersionRef{Namespace: "canada", Model: "llm.sm", Version: "@champion"}, dir, client.PullOptions{})
	if err != nil || res.Version.Version != "v1" || len(res.Files) != 1 {
		t.Errorf("Pull @champion = %+v, %v", res, err)
	}
	if _, err := c.SetAlias(ctx, "canada", "llm.sm", "canary", "@test"); err != nil {
		t.Fatal(err)
	}
	list, err := c.ListAliases(ctx, "canada", "llm.sm")
	if err != nil || len(list) != 2 || list[0].Alias != "canary" || list[0].Version != "v2" {
		t.Errorf("ListAliases = %+v, %v", list, err)
	}
	if got, err := c.GetAlias(ctx, "canada", "llm.sm", "champion"); err != nil || got.Version != "v1" {
		t.Errorf("GetAlias = %+v, %v", got, err)
	}
	_, err = c.SetAlias(ctx, "canada", "llm.sm", "champion", "v2")
	check(t, err)
	h, err := c.AliasHistory(ctx, "canada", "llm.sm", "champion", client.ListOptions{})
	if err != nil || h.TotalItems != 2 || *h.Data[0].From != "v1" || *h.Data[0].To != "v2" || h.Data[1].From != nil {
		t.Errorf("AliasHistory = %+v, %v", h, err)
	}
	check(t, c.DeleteAlias(ctx, "canada", "llm.sm", "champion"))
	if _, err := c.GetAlias(ctx, "canada", "llm.sm", "champion"); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("deleted alias: %v", err)
	}
	if _, err := c.ResolveVersion(ctx, "canada", "llm.sm", "@champion"); !errors.Is(err, client.ErrNotFound) || !strings.Contains(err.Error(), "no alias champion on canada/llm.sm") {
		t.Errorf("@champion after delete: %v", err)
	}

	// Refusals.
	if err := c.DeleteAlias(ctx, "canada", "llm.sm", "champion"); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("delete again: %v", err)
	}
	if _, err := c.SetAlias(ctx, "canada", "llm.sm", "prod", "v1"); !errors.Is(err, client.ErrValidation) {
		t.Errorf("alias prod: %v", err)
	}
	if _, err := c.SetAlias(ctx, "canada", "llm.sm", "x", "v9"); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("unknown version: %v", err)
	}
	if _, err := c.ResolveVersion(ctx, "canada", "llm.sm", "@prod"); !errors.Is(err, client.ErrNotFound) || !strings.Contains(err.Error(), "no version of canada/llm.sm is in prod") {
		t.Errorf("@prod: %v", err)
	}
	_ = v1
}
