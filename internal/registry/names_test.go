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
		{"%2e%2e", true}, // the API decodes paths before names reach here
	}
	for _, c := range cases {
		err := ValidateName(c.name)
		if (err == nil) != c.ok {
			t.Errorf("ValidateName(%q) = %v, want ok=%v", c.name, err, c.ok)
		}
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
	}
	for _, c := range cases {
		err := ValidateArtifactName(c.name)
		if (err == nil) != c.ok {
			t.Errorf("ValidateArtifactName(%q) = %v, want ok=%v", c.name, err, c.ok)
		}
	}
}
