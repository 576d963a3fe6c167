package api

import (
	"fmt"
	"slices"
	"strings"
)

// SelectorPrefix starts a version selector: where a version is named (an
// API path's version segment, `flymodel pull`, the clients), `@<lifecycle>`
// is the newest version now in that lifecycle (`@staging` is `@stage`)
// and `@<alias>` the version the model's alias points to. No new version
// or alias name starts with it.
const SelectorPrefix = "@"

// IsSelector reports whether s is a version selector rather than a
// version name.
func IsSelector(s string) bool { return strings.HasPrefix(s, SelectorPrefix) }

// SelectorLifecycle returns the lifecycle a selector names (canonical:
// `@staging` is stage), and false when it names an alias (or s is no
// selector).
func SelectorLifecycle(s string) (Lifecycle, bool) {
	name, ok := strings.CutPrefix(s, SelectorPrefix)
	if !ok {
		return "", false
	}
	lc := CanonicalLifecycle(name)
	return lc, slices.Contains(Lifecycles, lc)
}

// ValidateAliasName checks the rules an alias name has beside those of
// every name (the registry's ValidateName): not empty, not starting with
// SelectorPrefix, not a lifecycle (`@prod` selects by lifecycle, so an
// alias `prod` could never be named).
func ValidateAliasName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("must not be empty")
	case IsSelector(name):
		return fmt.Errorf("must not start with %q (it marks a version selector)", SelectorPrefix)
	case slices.Contains(Lifecycles, CanonicalLifecycle(name)):
		return fmt.Errorf("must not be a lifecycle name (%s%s selects the newest version in %s)", SelectorPrefix, name, CanonicalLifecycle(name))
	}
	return nil
}
