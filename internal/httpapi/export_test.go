package httpapi

import "testing"

// RouteSet is every routed "METHOD /template", for the external tests.
func RouteSet(t *testing.T) map[string]bool { return routeSet(t) }
