package client_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/flymodel/flymodel/client"
)

func TestSearch(t *testing.T) {
	c, _ := newServer(t, serverConfig{})
	seed(t, c)
	for i := 2; i <= 5; i++ {
		_, err := c.CreateVersion(ctx, "canada", "llm.sm", client.NewVersion{Version: fmt.Sprintf("v%d", i)})
		check(t, err)
	}
	_, err := c.CreateModel(ctx, "canada", "other")
	check(t, err)

	// Every version, two a page, newest first, through the cursors.
	var got []string
	for v, err := range c.SearchVersions(ctx, `model = "llm.sm"`, client.SearchOptions{Limit: 2}) {
		check(t, err)
		got = append(got, v.Version)
	}
	if strings.Join(got, ",") != "v5,v4,v3,v2,v1" {
		t.Fatalf("versions = %v", got)
	}
	page, err := c.SearchVersionsPage(ctx, `name IN ("v1", "v3")`, client.SearchOptions{OrderBy: "name asc", Limit: 1}, "")
	check(t, err)
	if len(page.Data) != 1 || page.Data[0].Version != "v1" || page.Next == "" {
		t.Fatalf("first page = %+v", page)
	}
	page, err = c.SearchVersionsPage(ctx, `name IN ("v1", "v3")`, client.SearchOptions{OrderBy: "name asc", Limit: 1}, page.Next)
	check(t, err)
	if len(page.Data) != 1 || page.Data[0].Version != "v3" {
		t.Fatalf("second page = %+v", page)
	}
	var models []string
	for m, err := range c.SearchModels(ctx, "", client.SearchOptions{OrderBy: "name"}) {
		check(t, err)
		models = append(models, m.Name)
	}
	if strings.Join(models, ",") != "llm.sm,other" {
		t.Fatalf("models = %v", models)
	}
	n := 0
	for _, err := range c.SearchExperiments(ctx, `metrics.accuracy > 0.5`, client.SearchOptions{OrderBy: "metrics.accuracy desc"}) {
		check(t, err)
		n++
	}
	if n != 0 {
		t.Fatalf("%d experiments, want none", n)
	}
	list, err := c.ListVersions(ctx, "canada", "llm.sm", client.VersionFilter{Filter: `name >= "v4"`}, client.ListOptions{})
	check(t, err)
	if len(list.Data) != 2 || list.TotalItems != 2 {
		t.Fatalf("filtered list = %+v", list)
	}

	// A filter that does not parse: the problem says where and what.
	for _, err := range c.SearchVersions(ctx, `state >=`, client.SearchOptions{}) {
		var e *client.Error
		if !errors.As(err, &e) || e.Status != 400 || !strings.HasSuffix(e.Type, "/invalid-filter") || !strings.Contains(e.Error(), "at 9: expected a value after '>='") {
			t.Fatalf("bad filter: %v", err)
		}
	}
}
