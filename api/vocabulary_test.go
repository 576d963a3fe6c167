package api_test

import (
	"testing"
	"time"

	"github.com/flymodel/flymodel/api"
)

func TestVocabulary(t *testing.T) {
	if got := api.CanonicalLifecycle("staging"); got != api.Stage {
		t.Errorf("CanonicalLifecycle(staging) = %q", got)
	}
	if got := api.CanonicalLifecycle("qa"); got != api.QA {
		t.Errorf("CanonicalLifecycle(qa) = %q", got)
	}
	for _, l := range api.Lifecycles {
		if api.Seals(l) != (l != "test") {
			t.Errorf("Seals(%q) = %v", l, api.Seals(l))
		}
	}
	for name, want := range map[string]bool{"anonymous": true, "system": true, "sweeper": true,
		"local:me": true, "oidc:x": true, "ci": false, "anonymous2": false} {
		if got := api.IsReservedActor(name); got != want {
			t.Errorf("IsReservedActor(%q) = %v, want %v", name, got, want)
		}
	}
	for _, f := range api.Formats {
		if _, ok := api.FormatContentType(f); !ok {
			t.Errorf("format %q has no content type", f)
		}
	}
	at := time.Date(2024, 1, 2, 3, 4, 5, 123456789, time.FixedZone("x", 3600))
	if got := api.Timestamp(at); got.Location() != time.UTC || got.Nanosecond() != 123456000 || !got.Equal(at.Truncate(time.Microsecond)) {
		t.Errorf("Timestamp = %v", got)
	}
}
