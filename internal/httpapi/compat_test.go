package httpapi

import (
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/flymodel/flymodel/api"
)

// TestCompatMetadataMembers: the part "artifact" the original uploads are
// read as has the members of their api types, and no other.
func TestCompatMetadataMembers(t *testing.T) {
	want := jsonMemberNames(reflect.TypeFor[api.CompatVersionUploadMetadata]())
	maps.Copy(want, jsonMemberNames(reflect.TypeFor[api.CompatExperimentUploadMetadata]()))
	got := jsonMemberNames(reflect.TypeFor[compatMetadata]())
	if !maps.Equal(got, want) {
		t.Errorf("compatMetadata reads %v, the api types have %v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
	}
}

// jsonMemberNames returns the names of the members encoding/json reads
// into struct t.
func jsonMemberNames(t reflect.Type) map[string]bool {
	names := map[string]bool{}
	for _, f := range reflect.VisibleFields(t) {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case !f.IsExported() || name == "-":
		case f.Anonymous && name == "":
		case name == "":
			names[f.Name] = true
		default:
			names[name] = true
		}
	}
	return names
}
