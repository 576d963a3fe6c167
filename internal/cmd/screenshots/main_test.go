package main

import (
	"strings"
	"testing"
)

// The table of pages: each a path on the server, each file name once.
func TestPages(t *testing.T) {
	seen := map[string]bool{}
	for _, p := range pages {
		if !strings.HasPrefix(p.Path, "/") {
			t.Errorf("%s: path %q is not a path on the server", p.Name, p.Path)
		}
		if p.Name == "" || strings.ContainsAny(p.Name, "/. ") || seen[p.Name] {
			t.Errorf("file name %q: empty, not a plain name, or used twice", p.Name)
		}
		seen[p.Name] = true
	}
}
