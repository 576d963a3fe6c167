package web

import (
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strings"

	"github.com/flymodel/flymodel/internal/httpapi"
)

// The API reference page (/ui/api): the OpenAPI document the API serves
// (httpapi.OpenAPIDocument), with the role each route needs from the route
// table (httpapi.Routes), parsed once when the program starts.

// apiReference is the parsed document; a document that does not parse is
// a bug of the build, caught by the tests.
var apiReference = mustAPIRef(httpapi.OpenAPIDocument(), httpapi.Routes())

func mustAPIRef(doc []byte, routes []httpapi.Route) *APIRef {
	ref, err := ParseAPIRef(doc, routes)
	if err != nil {
		panic("web: the OpenAPI document: " + err.Error())
	}
	return ref
}

func (u *ui) apiPage(r *http.Request) (View, error) {
	return View{Template: "apiref", Title: "API reference", Crumbs: []Crumb{{"API reference", "/ui/api"}}, Data: apiReference}, nil
}

// APIRef is the OpenAPI document as the page shows it.
type APIRef struct {
	Title, Version, Summary string
	Description             template.HTML
	Tags                    []APITag
	Schemas                 []APISchema
	// Operations counts the operations of every tag.
	Operations int
	// Common are the parameters every operation takes (X-Request-Id),
	// listed once rather than under each.
	Common []APIParam
}

// APITag is a group of operations (the document's tags, an operation
// under its first).
type APITag struct {
	Name, Anchor string
	Description  template.HTML
	Ops          []APIOp
}

// APIOp is one operation.
type APIOp struct {
	Method, Path, Anchor, ID, Summary string
	// PathParts is Path cut after each "/", for line breaks there.
	PathParts   []string
	Description template.HTML
	Params      []APIParam
	// Body is the request body's schema (zero without a body);
	// BodyType its media type.
	Body         APIType
	BodyType     string
	BodyRequired bool
	Responses    []APIResponse
	// Role is the role in a word and Access in a sentence
	// (httpapi.Route); "" for an operation without a route.
	Role, Access string
	// RoleClass is Role as a CSS class name.
	RoleClass string
}

// APIParam is a parameter of an operation.
type APIParam struct {
	Name, In    string
	Required    bool
	Type        APIType
	Description template.HTML
}

// APIType is a schema's type as text, and the schema it names (a link)
// when it is a reference.
type APIType struct {
	Text string
	Ref  string
}

// APIResponse is an answer of an operation.
type APIResponse struct {
	Status      string
	Description template.HTML
	Schema      APIType
}

// APISchema is a schema of components/schemas.
type APISchema struct {
	Name, Anchor string
	Type         string
	Description  template.HTML
	Props        []APIProp
	Enum         []string
	// AllOf names the schemas it extends.
	AllOf []string
}

// APIProp is a property of an object schema.
type APIProp struct {
	Name        string
	Type        APIType
	Required    bool
	Description template.HTML
}

// The document, as far as the page reads it.
type oaDoc struct {
	Info struct {
		Title, Version, Summary, Description string
	}
	Tags []struct {
		Name, Description string
	}
	Paths      map[string]map[string]json.RawMessage
	Components struct {
		Schemas       map[string]oaSchema
		Parameters    map[string]oaParam
		RequestBodies map[string]oaBody `json:"requestBodies"`
		Responses     map[string]oaResponse
	}
}

type oaOp struct {
	OperationID string `json:"operationId"`
	Summary     string
	Description string
	Tags        []string
	Parameters  []oaParam
	RequestBody *oaBody `json:"requestBody"`
	Responses   map[string]oaResponse
}

type oaParam struct {
	Ref         string `json:"$ref"`
	Name, In    string
	Required    bool
	Description string
	Schema      oaSchema
}

type oaBody struct {
	Ref      string `json:"$ref"`
	Required bool
	Content  map[string]struct{ Schema oaSchema }
}

type oaResponse struct {
	Ref         string `json:"$ref"`
	Description string
	Content     map[string]struct{ Schema oaSchema }
}

type oaSchema struct {
	Ref         string          `json:"$ref"`
	Type        json.RawMessage `json:"type"`
	Format      string
	Description string
	Items       *oaSchema
	Properties  map[string]oaSchema
	Required    []string
	Enum        []any
	AllOf       []oaSchema `json:"allOf"`
	OneOf       []oaSchema `json:"oneOf"`
	Pattern     string
	Minimum     *float64
	Maximum     *float64
	MaxLength   *int `json:"maxLength"`
}

// methodOrder sorts an operation's methods as people read them.
var methodOrder = []string{"get", "head", "post", "put", "patch", "delete"}

// ParseAPIRef reads an OpenAPI document and the route table into the
// page's shape: operations grouped by tag, each with the role of its
// route.
func ParseAPIRef(raw []byte, routes []httpapi.Route) (*APIRef, error) {
	var d oaDoc
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, err
	}
	ref := &APIRef{Title: d.Info.Title, Version: d.Info.Version, Summary: d.Info.Summary, Description: Markdown(d.Info.Description)}
	access := map[string]httpapi.Route{}
	for _, r := range routes {
		for _, m := range r.Methods {
			access[strings.ToLower(m)+" "+httpapi.RouteLabel(r.Path)] = r
		}
	}
	tagIndex := map[string]int{}
	for _, t := range d.Tags {
		tagIndex[t.Name] = len(ref.Tags)
		ref.Tags = append(ref.Tags, APITag{Name: t.Name, Anchor: "tag-" + anchor(t.Name), Description: Markdown(t.Description)})
	}
	c := d.Components
	params, uses := map[string]APIParam{}, map[string]int{}
	for _, path := range slices.Sorted(mapKeys(d.Paths)) {
		item := d.Paths[path]
		var shared []oaParam
		if raw, ok := item["parameters"]; ok {
			if err := json.Unmarshal(raw, &shared); err != nil {
				return nil, fmt.Errorf("%s parameters: %w", path, err)
			}
		}
		for _, m := range methodOrder {
			raw, ok := item[m]
			if !ok {
				continue
			}
			var o oaOp
			if err := json.Unmarshal(raw, &o); err != nil {
				return nil, fmt.Errorf("%s %s: %w", m, path, err)
			}
			op := APIOp{Method: strings.ToUpper(m), Path: path, ID: o.OperationID, Summary: o.Summary, Description: Markdown(o.Description)}
			op.PathParts = strings.SplitAfter(path, "/")
			op.Anchor = "op-" + anchor(o.OperationID)
			if o.OperationID == "" {
				op.Anchor = "op-" + anchor(m+path)
			}
			for _, p := range append(slices.Clone(shared), o.Parameters...) {
				if p.Ref != "" {
					p = c.Parameters[refName(p.Ref)]
				}
				ap := APIParam{Name: p.Name, In: p.In, Required: p.Required, Type: typeOf(p.Schema), Description: Markdown(p.Description)}
				key := p.In + " " + p.Name
				if _, ok := params[key]; !ok {
					params[key] = ap
				}
				uses[key]++
				op.Params = append(op.Params, ap)
			}
			if b := o.RequestBody; b != nil {
				if b.Ref != "" {
					rb := c.RequestBodies[refName(b.Ref)]
					b = &rb
				}
				op.BodyRequired = b.Required
				for _, mt := range slices.Sorted(mapKeys(b.Content)) {
					op.BodyType = mt
					op.Body = typeOf(b.Content[mt].Schema)
					break
				}
			}
			for _, status := range slices.Sorted(mapKeys(o.Responses)) {
				resp := o.Responses[status]
				if resp.Ref != "" {
					resp = c.Responses[refName(resp.Ref)]
				}
				ar := APIResponse{Status: status, Description: Markdown(resp.Description)}
				for _, mt := range slices.Sorted(mapKeys(resp.Content)) {
					ar.Schema = typeOf(resp.Content[mt].Schema)
					break
				}
				op.Responses = append(op.Responses, ar)
			}
			if r, ok := access[m+" "+path]; ok {
				op.Role, op.Access, op.RoleClass = r.Role, r.Access, anchor(r.Role)
			}
			tag := "other"
			if len(o.Tags) > 0 {
				tag = o.Tags[0]
			}
			i, ok := tagIndex[tag]
			if !ok {
				i = len(ref.Tags)
				tagIndex[tag] = i
				ref.Tags = append(ref.Tags, APITag{Name: tag, Anchor: "tag-" + anchor(tag)})
			}
			ref.Tags[i].Ops = append(ref.Tags[i].Ops, op)
			ref.Operations++
		}
	}
	// A parameter of every operation is listed once.
	for _, key := range slices.Sorted(mapKeys(uses)) {
		if uses[key] != ref.Operations {
			continue
		}
		ref.Common = append(ref.Common, params[key])
		for i := range ref.Tags {
			for j := range ref.Tags[i].Ops {
				op := &ref.Tags[i].Ops[j]
				op.Params = slices.DeleteFunc(op.Params, func(p APIParam) bool { return p.In+" "+p.Name == key })
			}
		}
	}
	for _, name := range slices.Sorted(mapKeys(c.Schemas)) {
		ref.Schemas = append(ref.Schemas, schemaOf(name, c.Schemas[name]))
	}
	return ref, nil
}

// schemaOf is a schema for the page.
func schemaOf(name string, s oaSchema) APISchema {
	out := APISchema{Name: name, Anchor: "schema-" + anchor(name), Type: typeOf(s).Text, Description: Markdown(s.Description)}
	for _, e := range s.Enum {
		out.Enum = append(out.Enum, fmt.Sprint(e))
	}
	props := s.Properties
	required := s.Required
	for _, part := range s.AllOf {
		if part.Ref != "" {
			out.AllOf = append(out.AllOf, refName(part.Ref))
			continue
		}
		if props == nil {
			props = map[string]oaSchema{}
		}
		for k, v := range part.Properties {
			props[k] = v
		}
		required = append(required, part.Required...)
	}
	if len(s.AllOf) > 0 && out.Type == "any" {
		out.Type = "object"
	}
	for _, k := range slices.Sorted(mapKeys(props)) {
		p := props[k]
		out.Props = append(out.Props, APIProp{Name: k, Type: typeOf(p), Required: slices.Contains(required, k), Description: Markdown(p.Description)})
	}
	return out
}

// typeOf writes a schema's type: a reference's name, "array of X", the
// type with its format, or a union ("string | null").
func typeOf(s oaSchema) APIType {
	if s.Ref != "" {
		n := refName(s.Ref)
		return APIType{Text: n, Ref: n}
	}
	var types []string
	if len(s.Type) > 0 {
		var one string
		if json.Unmarshal(s.Type, &one) == nil {
			types = []string{one}
		} else {
			_ = json.Unmarshal(s.Type, &types)
		}
	}
	if len(types) == 0 {
		switch {
		case len(s.OneOf) > 0:
			return APIType{Text: "one of " + joinTypes(s.OneOf)}
		case len(s.AllOf) > 0:
			return APIType{Text: "all of " + joinTypes(s.AllOf)}
		case s.Properties != nil:
			return APIType{Text: "object"}
		}
		return APIType{Text: "any"}
	}
	var t APIType
	for i, typ := range types {
		if i > 0 {
			t.Text += " | "
		}
		switch {
		case typ == "array" && s.Items != nil:
			it := typeOf(*s.Items)
			t.Text += "array of " + it.Text
			t.Ref = it.Ref
		case s.Format != "" && typ != "null":
			t.Text += typ + " (" + s.Format + ")"
		default:
			t.Text += typ
		}
	}
	if len(s.Enum) > 0 {
		var vals []string
		for _, e := range s.Enum {
			vals = append(vals, fmt.Sprint(e))
		}
		t.Text += ": " + strings.Join(vals, ", ")
	}
	return t
}

func joinTypes(ss []oaSchema) string {
	var out []string
	for _, s := range ss {
		out = append(out, typeOf(s).Text)
	}
	return strings.Join(out, ", ")
}

// refName is the last segment of a $ref ("#/components/schemas/Version").
func refName(ref string) string { return ref[strings.LastIndexByte(ref, '/')+1:] }

// anchor makes an id of a name: letters, digits, - and _ kept, others -.
func anchor(s string) string {
	return strings.Map(func(c rune) rune {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' {
			return c
		}
		return '-'
	}, s)
}
