package registry

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// checkCommon re-checks, independently of the validators, the rules every
// accepted name obeys: non-empty valid UTF-8 of at most max characters, no
// backslash, no control character, not absolute.
func checkCommon(t *testing.T, what, name string, max int) {
	t.Helper()
	if name == "" {
		t.Fatalf("%s accepted the empty name", what)
	}
	if !utf8.ValidString(name) {
		t.Fatalf("%s accepted invalid UTF-8 %q", what, name)
	}
	if n := utf8.RuneCountInString(name); n > max {
		t.Fatalf("%s accepted %d characters (max %d): %q", what, n, max, name)
	}
	if strings.HasPrefix(name, "/") {
		t.Fatalf("%s accepted an absolute name %q", what, name)
	}
	for _, r := range name {
		if r == '\\' || r == 0 || unicode.IsControl(r) {
			t.Fatalf("%s accepted %q, which contains %U", what, name, r)
		}
	}
}

func FuzzValidateName(f *testing.F) {
	for _, s := range []string{
		"llm.sm", "v0.1.0", "名前", "with space", ".", "..", "a/b", `a\b`, "a\x00b",
		" lead", "\xff\xfe", "%2e%2e", strings.Repeat("é", 256),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if ValidateName(name) != nil {
			return
		}
		checkCommon(t, "ValidateName", name, MaxNameLen)
		if name == "." || name == ".." {
			t.Fatalf("ValidateName accepted %q", name)
		}
		if strings.Contains(name, "/") {
			t.Fatalf("ValidateName accepted %q, which contains '/'", name)
		}
		first, _ := utf8.DecodeRuneInString(name)
		last, _ := utf8.DecodeLastRuneInString(name)
		if unicode.IsSpace(first) || unicode.IsSpace(last) {
			t.Fatalf("ValidateName accepted %q, which starts or ends with whitespace", name)
		}
		// A valid name is also a valid one-segment artifact name.
		if err := ValidateArtifactName(name); err != nil {
			t.Fatalf("ValidateName accepted %q but ValidateArtifactName refuses it: %v", name, err)
		}
	})
}

func FuzzValidateArtifactName(f *testing.F) {
	for _, s := range []string{
		"weights/model.safetensors", "config files/config.json", "report.html",
		"a//b", "a/../b", "./a", "a/", "/etc/passwd", `a\..\b`, "a/\x7f", "\xc0\xaf",
		strings.Repeat("x/", 512) + "y",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if ValidateArtifactName(name) != nil {
			return
		}
		checkCommon(t, "ValidateArtifactName", name, MaxArtifactNameLen)
		for i, seg := range strings.Split(name, "/") {
			if seg == "" || seg == "." || seg == ".." {
				t.Fatalf("ValidateArtifactName accepted %q with segment %d = %q", name, i, seg)
			}
		}
		// Whatever the name, it stays below the folder it is joined to.
		if strings.HasPrefix(name, "../") || strings.Contains(name, "/../") || strings.HasSuffix(name, "/..") {
			t.Fatalf("ValidateArtifactName accepted a traversal %q", name)
		}
	})
}
