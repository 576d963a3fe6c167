package registry

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/flymodel/flymodel/api"
)

// MaxNameLen is the longest namespace, model, version, experiment or tag
// name, in characters.
const MaxNameLen = api.MaxNameLen

// MaxArtifactNameLen is the longest artifact name, in characters.
const MaxArtifactNameLen = api.MaxArtifactNameLen

// ValidateName checks a namespace, model, version, experiment or tag name:
// one path segment of 1–255 characters, no "/", no control characters, not
// "." or "..", no surrounding whitespace (api.NamePattern, which a test
// holds it to). The error says which rule failed.
func ValidateName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("must not be empty")
	case !utf8.ValidString(name):
		return fmt.Errorf("must be valid UTF-8")
	case utf8.RuneCountInString(name) > MaxNameLen:
		return fmt.Errorf("must be at most %d characters", MaxNameLen)
	case name == "." || name == "..":
		return fmt.Errorf("must not be %q", name)
	case strings.ContainsRune(name, '/'):
		return fmt.Errorf("must not contain '/'")
	case strings.ContainsRune(name, '\\'):
		return fmt.Errorf("must not contain '\\'")
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return fmt.Errorf("must not contain control characters")
	case strings.TrimSpace(name) != name:
		return fmt.Errorf("must not start or end with whitespace")
	}
	return nil
}

// ValidateArtifactName checks an artifact name: a relative path of
// segments separated by "/", none empty, "." or "..", no leading "/", no
// backslash, no control characters, at most 1024 characters
// (api.ArtifactNamePattern, which a test holds it to).
func ValidateArtifactName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("must not be empty")
	case !utf8.ValidString(name):
		return fmt.Errorf("must be valid UTF-8")
	case utf8.RuneCountInString(name) > MaxArtifactNameLen:
		return fmt.Errorf("must be at most %d characters", MaxArtifactNameLen)
	case strings.HasPrefix(name, "/"):
		return fmt.Errorf("must be a relative path (no leading '/')")
	case strings.ContainsRune(name, '\\'):
		return fmt.Errorf("must not contain '\\'")
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return fmt.Errorf("must not contain control characters")
	}
	for _, seg := range strings.Split(name, "/") {
		switch seg {
		case "":
			return fmt.Errorf("must not contain empty path segments")
		case ".", "..":
			return fmt.Errorf("must not contain %q segments", seg)
		}
	}
	return nil
}
