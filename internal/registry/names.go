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

// ValidateName checks a new namespace, model, version, experiment or tag
// name: one path segment of 1–255 characters, no "/", no control
// characters, no '?', '#' or '%' (api.NameReserved), not ".", ".." or "*"
// (api.AllNamespaces), no surrounding whitespace (api.NamePattern, which a
// test holds it to). The error says which rule failed.
func ValidateName(name string) error {
	switch {
	case strings.ContainsAny(name, api.NameReserved):
		return errReserved
	case name == api.AllNamespaces:
		return errAllNamespaces
	}
	return ValidateNameRef(name)
}

// errReserved is the rule of api.NameReserved.
var errReserved = fmt.Errorf("must not contain '?', '#' or '%%' (they mean something else in a URL)")

// errAllNamespaces is the rule of api.AllNamespaces.
var errAllNamespaces = fmt.Errorf(`must not be %q (a token's ["%s"] means every namespace)`, api.AllNamespaces, api.AllNamespaces)

// ValidateNameRef checks a name that refers to an existing resource: the
// rules of ValidateName but api.NameReserved and api.AllNamespaces, which
// names stored before those rules may break, so that they stay readable,
// renamable and deletable.
func ValidateNameRef(name string) error {
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

// ValidateArtifactName checks a new artifact name: a relative path of
// segments separated by "/", none empty, "." or "..", no leading "/", the
// first not like a drive letter ("C:x"), no backslash, no control
// characters, no '?', '#' or '%' (api.NameReserved), at most 1024
// characters (api.ArtifactNamePattern, which a test holds it to).
func ValidateArtifactName(name string) error {
	switch {
	case strings.ContainsAny(name, api.NameReserved):
		return errReserved
	case len(name) >= 2 && name[1] == ':' && ('a' <= name[0]|0x20 && name[0]|0x20 <= 'z'):
		return fmt.Errorf("must not start like a drive letter (%q)", name[:2])
	}
	return ValidateArtifactNameRef(name)
}

// ValidateArtifactNameRef checks an artifact name that refers to a stored
// artifact: the rules of ValidateArtifactName but those added since
// artifacts were first stored (api.NameReserved, drive letters), so that
// artifacts stored before them stay readable.
func ValidateArtifactNameRef(name string) error {
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
