package client

import (
	"strings"
	"testing"
)

func TestCheckPullNames(t *testing.T) {
	for _, c := range []struct {
		names []string
		ok    bool
	}{
		{[]string{"a", "b/c", "b/d/e.txt", "odd name é"}, true},
		{[]string{"../x"}, false},
		{[]string{"a/../../x"}, false},
		{[]string{"/etc/passwd"}, false},
		{[]string{"a//b"}, false},
		{[]string{"a/./b"}, false},
		{[]string{"a/"}, false},
		{[]string{`a\b`}, false},
		{[]string{"a\x00b"}, false},
		{[]string{""}, false},
		{[]string{"."}, false},
		{[]string{"a", "a/b"}, false},
		{[]string{"x/a", "x/a/b/c"}, false},
	} {
		arts := make([]Artifact, len(c.names))
		for i, n := range c.names {
			arts[i] = Artifact{Name: n}
		}
		if err := checkPullNames(arts); (err == nil) != c.ok {
			t.Errorf("%q: %v", c.names, err)
		}
	}
}

func TestVersionDigest(t *testing.T) {
	a := strings.Repeat("a", 64)
	b := strings.Repeat("b", 64)
	// As the server computes it: the sha256 of `sha256sum`'s lines, sorted
	// by name (printf 'bbb…  x\naaa…  y\n' | sha256sum).
	got := versionDigest([]Artifact{{Name: "y", SHA256: a}, {Name: "x", SHA256: b}})
	if got != "sha256:a84b2c7cb0e861d964963b5c1648874235f4652b3af03f48589989ce9c8ded3c" {
		t.Fatalf("digest %q", got)
	}
	if versionDigest(nil) != "" {
		t.Fatal("the digest of nothing is not empty")
	}
}
