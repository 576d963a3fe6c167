package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

func TestAliasCommand(t *testing.T) {
	upsertServers(t, func(t *testing.T, s *testServer) {
		dir := t.TempDir()
		files := writeTree(t, filepath.Join(dir, "out"))
		runUpsert(t, dir, 0, "--server", s.URL, "--namespace", "canada", "--model", "llm.sm", "--version", "v1", "--artifact", "model=out")
		runUpsert(t, dir, 0, "--server", s.URL, "--namespace", "canada", "--model", "llm.sm", "--version", "v2")
		alias := func(code int, args ...string) result {
			t.Helper()
			res := flymodel(t, dir, nil, append([]string{"alias"}, append(args, "--server", s.URL)...)...)
			res.expectCode(t, code)
			return res
		}

		res := alias(0, "set", "canada/llm.sm", "champion", "v1")
		if !strings.Contains(res.stdout, "alias champion of canada/llm.sm points to v1") {
			t.Errorf("set: %s", res)
		}
		res = alias(0, "set", "canada/llm.sm", "canary", "@test", "--output", "json")
		var set map[string]any
		if err := json.Unmarshal([]byte(res.stdout), &set); err != nil || set["version"] != "v2" || set["alias"] != "canary" {
			t.Errorf("set --output json: %v %s", err, res)
		}
		// --dry changes nothing.
		res = flymodel(t, dir, nil, "alias", "set", "canada/llm.sm", "canary", "v1", "--server", s.URL, "--dry")
		res.expectCode(t, 0)
		if !strings.Contains(res.stdout, "would point alias canary of canada/llm.sm to v1") {
			t.Errorf("dry set: %s", res)
		}
		res = alias(0, "list", "canada/llm.sm")
		if !strings.Contains(res.stdout, "ALIAS") || !strings.Contains(res.stdout, "canary") || !strings.Contains(res.stdout, "v2") || !strings.Contains(res.stdout, "champion") {
			t.Errorf("list: %s", res)
		}
		res = alias(0, "list", "canada/llm.sm", "--output", "json")
		var list []map[string]any
		if err := json.Unmarshal([]byte(res.stdout), &list); err != nil || len(list) != 2 || list[0]["alias"] != "canary" || list[0]["version"] != "v2" {
			t.Errorf("list --output json: %v %s", err, res)
		}

		// pull by the alias.
		out := runPull(t, dir, 0, "--server", s.URL, "canada/llm.sm", "@champion", filepath.Join(dir, "pulled"))
		if out.Version.Version != "v1" || out.Downloaded != len(files) {
			t.Errorf("pull @champion = %+v", out)
		}
		sameTree(t, filepath.Join(dir, "pulled"), "model", files)

		res = alias(0, "history", "canada/llm.sm", "canary", "--output", "json")
		var hist []map[string]any
		if err := json.Unmarshal([]byte(res.stdout), &hist); err != nil || len(hist) != 1 || hist[0]["to"] != "v2" || hist[0]["from"] != nil {
			t.Errorf("history --output json: %v %s", err, res)
		}
		alias(0, "delete", "canada/llm.sm", "canary")
		res = alias(0, "history", "canada/llm.sm", "canary")
		if lines := strings.Split(strings.TrimSpace(res.stdout), "\n"); len(lines) != 3 || !strings.Contains(lines[1], "v2") || !strings.Contains(lines[1], "-") {
			t.Errorf("history: %s", res)
		}
		alias(1, "history", "canada/llm.sm", "never")
		res = alias(0, "list", "canada/llm.sm", "--output", "json")
		if err := json.Unmarshal([]byte(res.stdout), &list); err != nil || len(list) != 1 {
			t.Errorf("list after delete: %v %s", err, res)
		}

		// Refusals.
		res = alias(1, "delete", "canada/llm.sm", "canary")
		if !strings.Contains(res.stderr, "404") {
			t.Errorf("delete unknown: %s", res)
		}
		res = alias(1, "set", "canada/llm.sm", "prod", "v1")
		if !strings.Contains(res.stderr, "must not be a lifecycle name") {
			t.Errorf("alias prod: %s", res)
		}
		res = alias(1, "set", "canada/llm.sm", "x", "v9")
		if !strings.Contains(res.stderr, "404") {
			t.Errorf("unknown version: %s", res)
		}
		alias(2, "set", "canada", "x", "v1")
		alias(2, "set", "canada/llm.sm", "x")
		alias(2, "list", "canada/llm.sm", "--output", "yaml")
		res = flymodel(t, dir, nil, "alias")
		res.expectCode(t, 2)
		res = runPullRaw(t, dir, "--server", s.URL, "canada/llm.sm", "@nope")
		if res.code != 1 || !strings.Contains(res.stderr+res.stdout, "no alias nope on canada/llm.sm") {
			t.Errorf("pull @nope: %s", res)
		}
		// upsert names the version it creates: a selector is a usage error.
		res = flymodel(t, dir, nil, "upsert", "--server", s.URL, "--namespace", "canada", "--model", "llm.sm", "--version", "@champion")
		res.expectCode(t, 2)
		if !strings.Contains(res.stderr, "name the version; aliases point at versions that exist") {
			t.Errorf("upsert --version @champion: %s", res)
		}
	})
}

func runPullRaw(t *testing.T, dir string, args ...string) result {
	t.Helper()
	return flymodel(t, dir, nil, append([]string{"pull"}, args...)...)
}
