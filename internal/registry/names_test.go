package registry

import (
	"strings"
	"testing"
)

func TestValidateName(t *testing.T) {
	cases := []struct {
		name string
		ok   bool
	}{
		{"llm.sm", true},
		{"v0.1.0", true},
		{"a", true},
		{"名前", true},
		{"with space", true},
		{strings.Repeat("x", 255), true},
		{strings.Repeat("é", 255), true}, // characters, not bytes
		{"", false},
		{strings.Repeat("x", 256), false},
		{".", false},
		{"..", false},
		{"a/b", false},
		{"/a", false},
		{`a\b`, false},
		{"a\x00b", false},
		{"a\nb", false},
		{"a\x7f", false},
		{" lead", false},
		{"trail ", false},
		{"\xff\xfe", false},
		// '?', '#' and '%' mean something else in a URL; names stored
		// before the rule are still found (ref: the rule of lookups).
		{"%2e%2e", false},
		{"a?x=..", false},
		{"a#b", false},
		{"100%", false},
		// "*" alone is a token's every namespace; names stored before
		// the rule are still found.
		{"*", false},
		{"**", true},
		{"a*", true},
		{" *", false},
	}
	for _, c := range cases {
		err := ValidateName(c.name)
		if (err == nil) != c.ok {
			t.Errorf("ValidateName(%q) = %v, want ok=%v", c.name, err, c.ok)
		}
		reserved := strings.ContainsAny(c.name, "?#%") || c.name == "*"
		if err := ValidateNameRef(c.name); (err == nil) != (c.ok || reserved) {
			t.Errorf("ValidateNameRef(%q) = %v, want ok=%v", c.name, err, c.ok || reserved)
		}
	}
	if err := ValidateName("a?x"); err == nil || !strings.Contains(err.Error(), "'?', '#' or '%'") {
		t.Errorf("ValidateName(a?x) = %v, want the rule named", err)
	}
	if err := ValidateName("*"); err == nil || !strings.Contains(err.Error(), "every namespace") {
		t.Errorf("ValidateName(*) = %v, want the rule named", err)
	}
}

func TestValidateArtifactName(t *testing.T) {
	cases := []struct {
		name string
		ok   bool
	}{
		{"model.safetensors", true},
		{"weights/model.safetensors", true},
		{"a/b/c/d.txt", true},
		{".hidden", true},
		{strings.Repeat("a/", 511) + "bc", true},
		{strings.Repeat("a", 1025), false},
		{"", false},
		{"/abs", false},
		{"a//b", false},
		{"a/", false},
		{"./a", false},
		{"a/../b", false},
		{"..", false},
		{`a\b`, false},
		{"a\x00", false},
		{"a\tb", false},
		{"a#../b", false},
		{"x?y", false},
		{"%2e%2e%2fetc%2fpasswd", false},
		{"C:x", false},
		{"c:", false},
		{"z:/a", false},
		{"a/C:x", true}, // only a first segment reads as a drive
		{"1:x", true},
		{"CC:x", true},
		{"é:x", true},
	}
	for _, c := range cases {
		err := ValidateArtifactName(c.name)
		if (err == nil) != c.ok {
			t.Errorf("ValidateArtifactName(%q) = %v, want ok=%v", c.name, err, c.ok)
		}
		legacy := strings.ContainsAny(c.name, "?#%") || (len(c.name) > 1 && c.name[1] == ':')
		if err := ValidateArtifactNameRef(c.name); (err == nil) != (c.ok || legacy) {
			t.Errorf("ValidateArtifactNameRef(%q) = %v, want ok=%v", c.name, err, c.ok || legacy)
		}
	}
}

// Version and alias names: the rules of every name, and those of
// selectors (issue 17): a leading '@' marks a selector, and an alias may
// not be a lifecycle (@prod selects by lifecycle).
func TestValidateVersionAndAliasNames(t *testing.T) {
	for _, c := range []struct {
		name           string
		version, alias bool
	}{
		{"v1.2.0", true, true},
		{"champion", true, true},
		{"a@b", true, true},
		{"Prod", true, false}, // @Prod is @prod
		{"STAGING", true, false},
		{"@v1", false, false},
		{"@", false, false},
		{"prod", true, false},
		{"staging", true, false},
		{"test", true, false},
		{"a/b", false, false},
		{"", false, false},
		{"a?b", false, false},
	} {
		if got := ValidateVersionName(c.name) == nil; got != c.version {
			t.Errorf("ValidateVersionName(%q) ok = %v, want %v", c.name, got, c.version)
		}
		if got := ValidateAliasName(c.name) == nil; got != c.alias {
			t.Errorf("ValidateAliasName(%q) ok = %v, want %v", c.name, got, c.alias)
		}
	}
}
