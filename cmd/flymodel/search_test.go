package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/flymodel/flymodel/client"
)

func TestSearchCommand(t *testing.T) {
	check := func(t *testing.T, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	upsertServers(t, func(t *testing.T, s *testServer) {
		ctx := context.Background()
		c, err := client.New(s.URL)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.CreateNamespace(ctx, "canada", "")
		check(t, err)
		_, err = c.CreateModel(ctx, "canada", "llm.sm")
		check(t, err)
		for _, v := range []string{"v1", "v2", "v3"} {
			_, err = c.CreateVersion(ctx, "canada", "llm.sm", client.NewVersion{Version: v})
			check(t, err)
		}
		ref := client.VersionRef{Namespace: "canada", Model: "llm.sm", Version: "v2"}
		_, err = c.CreateExperiment(ctx, ref, "eval", nil)
		check(t, err)
		_, err = c.SetExperimentState(ctx, ref, "eval", client.ExperimentUpdate{State: "running"})
		check(t, err)
		_, err = c.SetExperimentState(ctx, ref, "eval", client.ExperimentUpdate{State: "passed", Metrics: json.RawMessage(`{"accuracy":0.93}`)})
		check(t, err)
		dir := t.TempDir()

		res := flymodel(t, dir, nil, "search", "versions", `name != "v1"`, "--server", s.URL)
		res.expectCode(t, 0)
		lines := strings.Split(strings.TrimSpace(res.stdout), "\n")
		if len(lines) != 3 || !strings.HasPrefix(lines[0], "NAMESPACE") || !strings.Contains(lines[1], "v3") || !strings.Contains(lines[2], "v2") {
			t.Fatalf("search versions:\n%s", res)
		}
		res = flymodel(t, dir, nil, "search", "versions", "--server", s.URL, "--output", "json", "--order-by", "name asc", "--limit", "2")
		res.expectCode(t, 0)
		var got []string
		for _, line := range strings.Split(strings.TrimSpace(res.stdout), "\n") {
			var v client.Version
			if err := json.Unmarshal([]byte(line), &v); err != nil {
				t.Fatalf("not JSON lines: %v\n%s", err, res)
			}
			got = append(got, v.Version)
		}
		if strings.Join(got, ",") != "v1,v2" {
			t.Fatalf("--limit 2 by name = %v\n%s", got, res)
		}
		res = flymodel(t, dir, nil, "search", "experiments", "metrics.accuracy >= 0.9", "--server", s.URL)
		res.expectCode(t, 0)
		if !strings.Contains(res.stdout, "eval") || !strings.Contains(res.stdout, "accuracy=0.93") {
			t.Fatalf("search experiments:\n%s", res)
		}
		res = flymodel(t, dir, nil, "search", "models", `tags = "nlp"`, "--server", s.URL)
		res.expectCode(t, 0)
		if lines := strings.Split(strings.TrimSpace(res.stdout), "\n"); len(lines) != 1 {
			t.Fatalf("search models with no match printed rows:\n%s", res)
		}

		// Refusals: a filter that does not parse says where; a resource
		// that does not exist is a usage error.
		res = flymodel(t, dir, nil, "search", "versions", "state >=", "--server", s.URL)
		if res.code == 0 || !strings.Contains(res.stderr, "at 9: expected a value after '>='") {
			t.Fatalf("bad filter:\n%s", res)
		}
		res = flymodel(t, dir, nil, "search", "datasets", "--server", s.URL)
		res.expectCode(t, exitUsage)
		res = flymodel(t, dir, nil, "search", "versions", "--server", s.URL, "--limit", "-1")
		res.expectCode(t, exitUsage)
		res = flymodel(t, dir, nil, "search", "versions", "--server", s.URL, "--order-by", "sideways")
		if res.code == 0 || !strings.Contains(res.stderr, "order_by") {
			t.Fatalf("bad order:\n%s", res)
		}
	})
}
