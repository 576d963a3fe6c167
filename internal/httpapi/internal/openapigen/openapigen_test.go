package main

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/flymodel/flymodel/internal/httpapi"
)

const (
	basePath     = "../../openapi.base.json"
	documentPath = "../../openapi.json"
	apiDir       = "../../../../api"
)

// TestDocumentIsCurrent fails when openapi.json is not what the generator
// writes from its sources (as make check-openapi does).
func TestDocumentIsCurrent(t *testing.T) {
	base, err := os.ReadFile(basePath)
	if err != nil {
		t.Fatal(err)
	}
	want, err := generate(base, apiDir, httpapi.Routes())
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(documentPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("internal/httpapi/openapi.json is stale: run go generate ./internal/httpapi (make generate-openapi) and commit it")
	}
}

// TestSchemasMatchTypes reads the committed document and compares each
// generated schema with its Go type, by reflection alone (not through the
// generator): the same members, the same required members, compatible
// JSON types, null only where Go writes it; and each vocabulary's enum
// with its list in package api.
func TestSchemasMatchTypes(t *testing.T) {
	raw, err := os.ReadFile(documentPath)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Components struct {
			Schemas map[string]map[string]any `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	all := doc.Components.Schemas
	for _, s := range schemas {
		t.Run(s.name, func(t *testing.T) {
			sch, ok := all[s.name]
			if !ok {
				t.Fatalf("no schema %s in openapi.json", s.name)
			}
			if s.typ == nil {
				var enum []string
				for _, v := range sch["enum"].([]any) {
					enum = append(enum, v.(string))
				}
				if want := vocabularies[s.vocabulary].values; !slices.Equal(enum, want) {
					t.Errorf("enum %v, want api's %v", enum, want)
				}
				return
			}
			compareStruct(t, all, sch, s.typ)
		})
	}
}

type goField struct {
	typ       reflect.Type
	omitempty bool
}

func jsonFields(t reflect.Type, out map[string]goField) {
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case !f.IsExported() || name == "-":
		case f.Anonymous && name == "":
			jsonFields(f.Type, out)
		default:
			if name == "" {
				name = f.Name
			}
			out[name] = goField{f.Type, strings.Contains(","+opts+",", ",omitempty,")}
		}
	}
}

func compareStruct(t *testing.T, all map[string]map[string]any, sch map[string]any, typ reflect.Type) {
	fields := map[string]goField{}
	jsonFields(typ, fields)
	props, _ := sch["properties"].(map[string]any)
	var required []string
	for _, r := range asSlice(sch["required"]) {
		required = append(required, r.(string))
	}
	var wantRequired []string
	for name, f := range fields {
		if !f.omitempty {
			wantRequired = append(wantRequired, name)
		}
		if _, ok := props[name]; !ok {
			t.Errorf("member %s of %s is missing from the schema", name, typ)
		}
	}
	for name := range props {
		if _, ok := fields[name]; !ok {
			t.Errorf("schema member %s is not a field of %s", name, typ)
		}
	}
	sort.Strings(required)
	sort.Strings(wantRequired)
	if !slices.Equal(required, wantRequired) {
		t.Errorf("required %v, want %v (the members without omitempty)", required, wantRequired)
	}
	writesNull := typ.Implements(reflect.TypeFor[json.Marshaler]())
	for name, f := range fields {
		p, ok := props[name].(map[string]any)
		if !ok {
			continue
		}
		types := schemaTypes(all, p)
		goTypes, canBeNull := jsonTypesOf(f.typ)
		if goTypes == nil {
			continue // json.RawMessage: any JSON value
		}
		for ty := range types {
			if ty == "null" {
				continue
			}
			if !goTypes[ty] {
				t.Errorf("member %s: schema type %s, but Go writes %v (%s)", name, ty, keys(goTypes), f.typ)
			}
		}
		switch {
		case canBeNull && !f.omitempty && !types["null"]:
			t.Errorf("member %s: Go writes null (%s), the schema does not allow it", name, f.typ)
		case !canBeNull && !writesNull && types["null"]:
			t.Errorf("member %s: the schema allows null, Go never writes it (%s)", name, f.typ)
		}
	}
}

// jsonTypesOf is the JSON types encoding/json writes for t (nil: any), and
// whether it writes null.
func jsonTypesOf(t reflect.Type) (map[string]bool, bool) {
	if t == reflect.TypeFor[json.RawMessage]() {
		return nil, true
	}
	null := false
	if t.Kind() == reflect.Pointer {
		t, null = t.Elem(), true
	}
	switch {
	case t == reflect.TypeFor[time.Time]() || t.Kind() == reflect.String:
		return map[string]bool{"string": true}, null
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		return map[string]bool{"integer": true}, null
	case t.Kind() == reflect.Bool:
		return map[string]bool{"boolean": true}, null
	// A nil slice or map would be written null: the server never sends
	// one (lists are empty, not nil), so their schemas rightly say no null.
	case t.Kind() == reflect.Slice:
		return map[string]bool{"array": true}, null
	case t.Kind() == reflect.Map:
		return map[string]bool{"object": true}, null
	case t.Kind() == reflect.Struct:
		return map[string]bool{"object": true}, null
	}
	return map[string]bool{}, null
}

// schemaTypes is the JSON types a property schema allows, through $ref,
// allOf and oneOf.
func schemaTypes(all map[string]map[string]any, p map[string]any) map[string]bool {
	out := map[string]bool{}
	if ref, ok := p["$ref"].(string); ok {
		return schemaTypes(all, all[strings.TrimPrefix(ref, "#/components/schemas/")])
	}
	for _, key := range []string{"allOf", "oneOf"} {
		for _, sub := range asSlice(p[key]) {
			if m, ok := sub.(map[string]any); ok {
				for ty := range schemaTypes(all, m) {
					out[ty] = true
				}
			}
		}
	}
	switch ty := p["type"].(type) {
	case string:
		out[ty] = true
	case []any:
		for _, v := range ty {
			out[v.(string)] = true
		}
	}
	return out
}

func asSlice(v any) []any { s, _ := v.([]any); return s }

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestEnumsAreVocabularies finds every enum of the committed document,
// hand-written ones included (a parameter, a problem's extension): one
// whose values all belong to a vocabulary of package api must list that
// vocabulary whole, in its order, so that a value added to the vocabulary
// cannot be missed by a copy.
func TestEnumsAreVocabularies(t *testing.T) {
	raw, err := os.ReadFile(documentPath)
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			if enum, ok := v["enum"].([]any); ok {
				checkEnum(t, path, enum)
			}
			for k, e := range v {
				walk(path+"/"+k, e)
			}
		case []any:
			for _, e := range v {
				walk(path, e)
			}
		}
	}
	walk("", doc)
}

func checkEnum(t *testing.T, path string, enum []any) {
	var values []string
	for _, v := range enum {
		if s, ok := v.(string); ok {
			values = append(values, s)
		}
	}
	var candidates []string
	for name, voc := range vocabularies {
		subset := true
		for _, v := range values {
			subset = subset && slices.Contains(voc.values, v)
		}
		if !subset {
			continue
		}
		if slices.Equal(values, voc.values) {
			return
		}
		candidates = append(candidates, name)
	}
	if len(candidates) > 0 {
		t.Errorf("%s: enum %v is part of the vocabulary %v of package api: list it whole (or refer to its schema)", path, values, candidates)
	}
}
