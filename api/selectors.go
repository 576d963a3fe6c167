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

// SelectorLifecycle returns the lifecycle a selector names (canonical,
// in any case: `@staging` and `@Prod` are stage and prod), and false when
// it names an alias (or s is no selector).
func SelectorLifecycle(s string) (Lifecycle, bool) {
	name, ok := strings.CutPrefix(s, SelectorPrefix)
	if !ok {
		return "", false
	}
	lc := CanonicalLifecycle(strings.ToLower(name))
	return lc, slices.Contains(Lifecycles, lc)
}

// ValidateAliasName checks the rules an alias name has beside those of
// every name (the registry's ValidateName): not empty, not starting with
// SelectorPrefix, not a lifecycle in any case (`@prod` and `@Prod` select
// by lifecycle, so an alias `prod` could never be named).
func ValidateAliasName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("must not be empty")
	case IsSelector(name):
		return fmt.Errorf("must not start with %q (it marks a version selector)", SelectorPrefix)
	case slices.Contains(Lifecycles, CanonicalLifecycle(strings.ToLower(name))):
		return fmt.Errorf("must not be a lifecycle name, in any case (%s%s selects the newest version in %s)",
			SelectorPrefix, name, CanonicalLifecycle(strings.ToLower(name)))
	}
	return nil
}
