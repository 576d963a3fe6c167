package main

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/flymodel/flymodel/api"
	"github.com/flymodel/flymodel/internal/httpapi"
)

// generate returns the OpenAPI document: base (the hand-written parts)
// with the generated schemas (from the api package's types and their doc
// comments in apiDir) and each operation's security and 401/403/429
// answers (from the route table).
func generate(base []byte, apiDir string, routes []httpapi.Route) ([]byte, error) {
	v, err := decode(base)
	if err != nil {
		return nil, fmt.Errorf("base document: %w", err)
	}
	doc, ok := v.(*object)
	if !ok {
		return nil, fmt.Errorf("base document: not a JSON object")
	}
	d, err := parseDocs(apiDir)
	if err != nil {
		return nil, err
	}
	if err := addSchemas(doc, d); err != nil {
		return nil, err
	}
	if err := addAccess(doc, routes); err != nil {
		return nil, err
	}
	return encode(doc), nil
}

func member(o *object, path ...string) (*object, error) {
	for _, k := range path {
		v, _ := o.get(k)
		next, ok := v.(*object)
		if !ok {
			return nil, fmt.Errorf("base document: no object %s", strings.Join(path, "/"))
		}
		o = next
	}
	return o, nil
}

// addSchemas puts the generated schemas first in components/schemas, then
// the hand-written ones.
func addSchemas(doc *object, d *docs) error {
	components, err := member(doc, "components")
	if err != nil {
		return err
	}
	written, err := member(components, "schemas")
	if err != nil {
		return err
	}
	b := &builder{docs: d, names: map[reflect.Type]string{}}
	for _, s := range schemas {
		if s.typ != nil {
			b.names[s.typ] = s.name
		}
	}
	all := newObject()
	for _, s := range schemas {
		if _, ok := written.get(s.name); ok {
			return fmt.Errorf("schema %s is generated: remove it from the base document", s.name)
		}
		o, err := b.schema(s)
		if err != nil {
			return fmt.Errorf("schema %s: %w", s.name, err)
		}
		all.set(s.name, o)
	}
	for _, k := range written.keys {
		all.set(k, written.vals[k])
	}
	components.set("schemas", all)
	return nil
}

// addAccess gives every operation what its route's access implies: a
// public route needs no credentials (security: []); any other may be
// answered 401 and 403; an upload route also 429.
func addAccess(doc *object, routes []httpapi.Route) error {
	paths, err := member(doc, "paths")
	if err != nil {
		return err
	}
	ref := func(name string) *object { return newObject().set("$ref", "#/components/responses/"+name) }
	for _, r := range routes {
		path := httpapi.RouteLabel(r.Path) // {name:.+} is {name} in the document
		for _, m := range r.Methods {
			op, err := member(paths, path, strings.ToLower(m))
			if err != nil {
				return fmt.Errorf("route %s %s has no operation in the base document", m, path)
			}
			responses, err := member(op, "responses")
			if err != nil {
				return fmt.Errorf("%s %s: %w", m, path, err)
			}
			for _, k := range []string{"401", "403", "429"} {
				if _, ok := responses.get(k); ok {
					return fmt.Errorf("%s %s: response %s is generated from routes.go: remove it from the base document", m, path, k)
				}
			}
			if _, ok := op.get("security"); ok {
				return fmt.Errorf("%s %s: security is generated from routes.go: remove it from the base document", m, path)
			}
			if r.Public {
				op.set("security", []any{})
				continue
			}
			responses.insertSorted("401", ref("Unauthorized"))
			responses.insertSorted("403", ref("Forbidden"))
			if r.Upload {
				responses.insertSorted("429", ref("TooManyUploads"))
			}
		}
	}
	return nil
}

type builder struct {
	docs  *docs
	names map[reflect.Type]string // the generated schemas' types
}

func (b *builder) schema(s schema) (*object, error) {
	switch {
	case s.str != nil:
		return stringSchema(s), nil
	case s.form != "":
		return formSchema(s), nil
	case len(s.problems) > 0:
		return b.problemSchema(s)
	}
	if s.typ == nil {
		voc, ok := vocabularies[s.vocabulary]
		if !ok {
			return nil, fmt.Errorf("no vocabulary %s", s.vocabulary)
		}
		o := newObject().set("type", "string").set("enum", voc.values)
		if voc.def != "" {
			o.set("default", voc.def)
		}
		if desc := typeDescription(s.vocabulary, b.docs.types[s.vocabulary]); desc != "" {
			o.set("description", desc)
		}
		return o, nil
	}
	if s.typ.Kind() != reflect.Struct {
		return nil, fmt.Errorf("%s is not a struct", s.typ)
	}
	o := newObject().set("type", "object")
	switch s.description {
	case "-":
	case "":
		o.set("description", typeDescription(goName(s.typ), b.docs.types[goName(s.typ)]))
	default:
		o.set("description", s.description)
	}
	props := newObject()
	required := []string{}
	if err := b.fields(s.typ, props, &required); err != nil {
		return nil, err
	}
	if len(required) > 0 {
		o.set("required", required)
	}
	o.set("properties", props)
	o.set("additionalProperties", false)
	if s.extra != "" {
		v, err := decode([]byte(s.extra))
		if err != nil {
			return nil, fmt.Errorf("extra: %w", err)
		}
		for _, k := range v.(*object).keys {
			o.set(k, v.(*object).vals[k])
		}
	}
	return o, nil
}

// stringSchema is the schema of a string rule of package api.
func stringSchema(s schema) *object {
	o := newObject().set("type", "string")
	if s.str.minLength > 0 {
		o.set("minLength", s.str.minLength)
	}
	if s.str.maxLength > 0 {
		o.set("maxLength", s.str.maxLength)
	}
	if s.str.pattern != "" {
		o.set("pattern", s.str.pattern)
	}
	o.set("description", s.description)
	if len(s.str.examples) > 0 {
		o.set("examples", s.str.examples)
	}
	return o
}

// formSchema is the schema of a multipart upload: the metadata part, of
// schema s.form, then the file part.
func formSchema(s schema) *object {
	file := newObject().set("type", "string").set("contentMediaType", "application/octet-stream").
		set("description", "The artifact's bytes (at least one). Its `filename` is the default `file_name`, its `Content-Type` the default content type.")
	return newObject().set("type", "object").set("description", s.description).
		set("required", []string{api.UploadMetadataPart, api.UploadFilePart}).
		set("properties", newObject().
			set(api.UploadMetadataPart, newObject().set("$ref", "#/components/schemas/"+s.form)).
			set(api.UploadFilePart, file))
}

// problemSchema is the schema of the answers of problem types s.problems:
// Problem, of one of those types, with the members s.typ adds.
func (b *builder) problemSchema(s schema) (*object, error) {
	uri := newObject().set("type", "string").set("format", "uri")
	if len(s.problems) == 1 {
		uri.set("const", api.ProblemTypeBase+s.problems[0])
	} else {
		var uris []string
		for _, slug := range s.problems {
			uris = append(uris, api.ProblemTypeBase+slug)
		}
		uri.set("enum", uris)
	}
	props := newObject().set("type", uri)
	required := []string{}
	if err := b.fields(s.typ, props, &required); err != nil {
		return nil, err
	}
	members := newObject().set("type", "object").set("properties", props)
	if len(required) > 0 {
		members.set("required", required)
	}
	return newObject().
		set("description", typeDescription(goName(s.typ), b.docs.types[goName(s.typ)])).
		set("allOf", []any{newObject().set("$ref", "#/components/schemas/Problem"), members}), nil
}

// goName is a type's name in the api source: Page for Page[api.Tag].
func goName(t reflect.Type) string {
	name, _, _ := strings.Cut(t.Name(), "[")
	return name
}

// fields adds the JSON members of struct t, those of embedded structs
// included, as encoding/json writes them.
func (b *builder) fields(t reflect.Type, props *object, required *[]string) error {
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			if err := b.fields(f.Type, props, required); err != nil {
				return err
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		omitempty := strings.Contains(","+opts+",", ",omitempty,")
		_, alwaysSent := parseTag(f.Tag.Get("openapi"))["required"]
		key := goName(t) + "." + f.Name
		p, err := b.property(f, omitempty, b.docs.exprs[key], firstParagraph(b.docs.fields[key]))
		if err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		props.set(name, p)
		if !omitempty || alwaysSent {
			*required = append(*required, name)
		}
	}
	return nil
}

// tagOptions are the options of a field's openapi tag:
//
//	ref=Name            the field (or a slice's items) is the named schema
//	inline              list a vocabulary's values here, not by reference
//	nullable            null is a value (pointers without omitempty are)
//	type=object         the JSON type of a json.RawMessage
//	format=…, pattern=…, minimum=…, maximum=…, const=…, default=…
//	examples=a|b        example values
//	readOnly            set by the server
//	minItems=n          the least length of a slice
//	required            always sent, though omitted when empty
//
// A value that names an api constant (MaxPageSize) is that constant.
type tagOptions map[string]string

func parseTag(tag string) tagOptions {
	o := tagOptions{}
	if tag == "" {
		return o
	}
	for _, opt := range strings.Split(tag, ",") {
		k, v, _ := strings.Cut(opt, "=")
		if c, ok := constants[v]; ok {
			v = fmt.Sprint(c)
		}
		o[k] = v
	}
	return o
}

var (
	timeType = reflect.TypeFor[time.Time]()
	rawType  = reflect.TypeFor[json.RawMessage]()
)

func (b *builder) property(f reflect.StructField, omitempty bool, expr, desc string) (*object, error) {
	opts := parseTag(f.Tag.Get("openapi"))
	t := f.Type
	pointer := t.Kind() == reflect.Pointer
	if pointer {
		t = t.Elem()
	}
	alias := strings.TrimLeft(expr, "*[]")
	alias = strings.TrimPrefix(alias, "map[string]")
	p, err := b.value(t, alias, opts)
	if err != nil {
		return nil, err
	}
	_, nullable := opts["nullable"]
	if (pointer && !omitempty) || nullable {
		p = makeNullable(p)
	}
	if desc == "" && t == timeType && !pointer {
		desc = "RFC 3339 timestamp in UTC."
	}
	if desc != "" {
		if _, ok := p.get("$ref"); ok {
			p = newObject().set("allOf", []any{p})
		}
		p.set("description", desc)
	}
	if ex, ok := opts["examples"]; ok {
		p.set("examples", strings.Split(ex, "|"))
	}
	return p, nil
}

// value is the schema of a Go value of type t, declared as alias (an api
// vocabulary, or anything else).
func (b *builder) value(t reflect.Type, alias string, opts tagOptions) (*object, error) {
	if name, ok := opts["ref"]; ok && t.Kind() != reflect.Slice {
		return newObject().set("$ref", "#/components/schemas/"+name), nil
	}
	if name, ok := b.names[t]; ok {
		return newObject().set("$ref", "#/components/schemas/"+name), nil
	}
	o := newObject()
	switch {
	case t == timeType:
		o.set("type", "string").set("format", "date-time")
	case t == rawType:
		if typ, ok := opts["type"]; ok {
			o.set("type", typ)
		}
	case t.Kind() == reflect.String:
		if voc, ok := vocabularies[alias]; ok {
			if _, inline := opts["inline"]; voc.schema != "" && !inline {
				return newObject().set("$ref", "#/components/schemas/"+voc.schema), nil
			}
			o.set("type", "string").set("enum", voc.values)
			break
		}
		o.set("type", "string")
	case t.Kind() == reflect.Int64:
		o.set("type", "integer").set("format", "int64")
	case t.Kind() == reflect.Int:
		o.set("type", "integer")
	case t.Kind() == reflect.Bool:
		o.set("type", "boolean")
	case t.Kind() == reflect.Slice:
		items, err := b.value(t.Elem(), alias, opts)
		if err != nil {
			return nil, err
		}
		array := newObject().set("type", "array").set("items", items)
		if v, ok := opts["minItems"]; ok {
			if _, err := strconv.ParseInt(v, 10, 64); err != nil {
				return nil, fmt.Errorf("minItems=%s: not an integer", v)
			}
			array.set("minItems", json.Number(v))
		}
		return array, nil
	case t.Kind() == reflect.Map && t.Key().Kind() == reflect.String:
		values, err := b.value(t.Elem(), alias, tagOptions{})
		if err != nil {
			return nil, err
		}
		return newObject().set("type", "object").set("additionalProperties", values), nil
	default:
		return nil, fmt.Errorf("no schema for Go type %s", t)
	}
	for _, k := range []string{"const", "default", "format", "pattern"} {
		if v, ok := opts[k]; ok {
			o.set(k, v)
		}
	}
	for _, k := range []string{"minimum", "maximum"} {
		if v, ok := opts[k]; ok {
			if _, err := strconv.ParseInt(v, 10, 64); err != nil {
				return nil, fmt.Errorf("%s=%s: not an integer", k, v)
			}
			o.set(k, json.Number(v))
		}
	}
	if _, ok := opts["readOnly"]; ok {
		o.set("readOnly", true)
	}
	return o, nil
}

// makeNullable makes null a valid value of p.
func makeNullable(p *object) *object {
	if _, ok := p.get("$ref"); ok {
		return newObject().set("oneOf", []any{p, newObject().set("type", "null")})
	}
	if typ, ok := p.get("type"); ok {
		if s, ok := typ.(string); ok {
			p.set("type", []any{s, "null"})
		}
		if enum, ok := p.get("enum"); ok {
			values := []any{}
			for _, v := range enum.([]string) {
				values = append(values, v)
			}
			p.set("enum", append(values, nil))
		}
	}
	return p
}
