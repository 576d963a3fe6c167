package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gorilla/mux"
)

// openAPIMethods are the operation keys of an OpenAPI path item.
var openAPIMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// loadOpenAPI parses the embedded document, failing the test if it is not
// a JSON object.
func loadOpenAPI(t *testing.T) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(openAPIDocument, &doc); err != nil {
		t.Fatalf("openapi.json does not parse: %v", err)
	}
	return doc
}

// routeVarPattern matches a router variable with its own pattern, such as
// the artifacts' {name:.+}: that name is the rest of the path and spans
// several segments, which OpenAPI has no syntax for. The document writes it
// {name} (and says so in the parameter), so the pattern is dropped here.
var routeVarPattern = regexp.MustCompile(`\{([^{}:]+):[^{}]*\}`)

// routeSet returns every "METHOD path-template" the router answers, built
// the way NewServer builds it, with variable patterns dropped.
func routeSet(t *testing.T) map[string]bool {
	t.Helper()
	s := &server{router: mux.NewRouter().UseEncodedPath().SkipClean(true)}
	s.routes()
	set := map[string]bool{}
	err := s.router.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tpl, err := route.GetPathTemplate()
		if err != nil {
			return fmt.Errorf("route without a path template: %w", err)
		}
		methods, err := route.GetMethods()
		if err != nil && route.GetHandler() == nil {
			return nil // a sub-router's path prefix, not a route of its own
		}
		if err != nil {
			return fmt.Errorf("route %s has no method matcher: every route must name its methods", tpl)
		}
		tpl = routeVarPattern.ReplaceAllString(tpl, "{$1}")
		for _, m := range methods {
			set[strings.ToUpper(m)+" "+tpl] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// operations returns the operations of the document keyed by
// "METHOD path", with the path item each belongs to.
func operations(t *testing.T, doc map[string]any) (ops map[string]map[string]any, items map[string]map[string]any) {
	t.Helper()
	paths, ok := doc["paths"].(map[string]any)
	if !ok {
		t.Fatal("openapi.json has no paths object")
	}
	ops = map[string]map[string]any{}
	items = map[string]map[string]any{}
	for path, v := range paths {
		item, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("path %s is not an object", path)
		}
		for _, m := range openAPIMethods {
			if o, ok := item[m]; ok {
				op, ok := o.(map[string]any)
				if !ok {
					t.Fatalf("%s %s is not an object", m, path)
				}
				key := strings.ToUpper(m) + " " + path
				ops[key] = op
				items[key] = item
			}
		}
	}
	return ops, items
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// TestOpenAPIMatchesRoutes keeps openapi.json and routes.go in step: every
// route is documented and every documented operation is routed.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	routes := routeSet(t)
	ops, _ := operations(t, loadOpenAPI(t))
	if len(routes) == 0 {
		t.Fatal("the router has no routes")
	}

	var undocumented, unrouted []string
	for _, k := range sortedKeys(routes) {
		if _, ok := ops[k]; !ok {
			undocumented = append(undocumented, k)
		}
	}
	for _, k := range sortedKeys(ops) {
		if !routes[k] {
			unrouted = append(unrouted, k)
		}
	}
	if len(undocumented) > 0 {
		t.Errorf("routes missing from openapi.json:\n  %s", strings.Join(undocumented, "\n  "))
	}
	if len(unrouted) > 0 {
		t.Errorf("operations in openapi.json that routes.go does not register:\n  %s", strings.Join(unrouted, "\n  "))
	}
}

// TestOpenAPIDocument checks the document's own consistency: version,
// operation ids, responses, path parameters and references.
func TestOpenAPIDocument(t *testing.T) {
	doc := loadOpenAPI(t)
	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.1") {
		t.Errorf("openapi %q, want 3.1.x", v)
	}
	if info, _ := doc["info"].(map[string]any); info["title"] == nil || info["version"] == nil {
		t.Error("info needs a title and a version")
	}

	ops, items := operations(t, doc)
	ids := map[string]string{}
	for _, key := range sortedKeys(ops) {
		op := ops[key]
		id, _ := op["operationId"].(string)
		switch {
		case id == "":
			t.Errorf("%s has no operationId", key)
		case ids[id] != "":
			t.Errorf("operationId %s is used by %s and %s", id, ids[id], key)
		default:
			ids[id] = key
		}
		if s, _ := op["summary"].(string); strings.TrimSpace(s) == "" {
			t.Errorf("%s has no summary", key)
		}
		if resp, _ := op["responses"].(map[string]any); len(resp) == 0 {
			t.Errorf("%s has no responses", key)
		}
		checkPathParams(t, doc, key, items[key], op)
	}

	checkRefs(t, doc, doc, "#")
}

var pathVar = regexp.MustCompile(`\{([^{}]+)\}`)

// checkPathParams asserts that the path parameters of an operation (its
// own and its path item's) are exactly the variables of its path, and
// required.
func checkPathParams(t *testing.T, doc map[string]any, key string, item, op map[string]any) {
	t.Helper()
	path := key[strings.IndexByte(key, ' ')+1:]
	want := map[string]bool{}
	for _, m := range pathVar.FindAllStringSubmatch(path, -1) {
		want[m[1]] = true
	}
	got := map[string]bool{}
	for _, src := range []map[string]any{item, op} {
		list, _ := src["parameters"].([]any)
		for _, p := range list {
			param, _ := resolve(doc, p).(map[string]any)
			if param == nil {
				t.Errorf("%s: a parameter does not resolve: %v", key, p)
				continue
			}
			if param["in"] != "path" {
				continue
			}
			name, _ := param["name"].(string)
			got[name] = true
			if param["required"] != true {
				t.Errorf("%s: path parameter %s must be required", key, name)
			}
		}
	}
	for _, name := range sortedKeys(want) {
		if !got[name] {
			t.Errorf("%s: path variable {%s} is not documented as a parameter", key, name)
		}
	}
	for _, name := range sortedKeys(got) {
		if !want[name] {
			t.Errorf("%s: path parameter %s is not in the path", key, name)
		}
	}
}

// resolve follows v's $ref, if it has one, within the document.
func resolve(doc map[string]any, v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	r, ok := m["$ref"].(string)
	if !ok {
		return v
	}
	target, ok := lookupPointer(doc, r)
	if !ok {
		return nil
	}
	return target
}

// lookupPointer resolves a local reference such as
// "#/components/schemas/Name" (RFC 6901 escapes included).
func lookupPointer(doc map[string]any, ref string) (any, bool) {
	if !strings.HasPrefix(ref, "#/") {
		return nil, false
	}
	var cur any = doc
	for _, tok := range strings.Split(ref[2:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[tok]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// checkRefs walks the document and asserts that every $ref names an
// existing component.
func checkRefs(t *testing.T, doc map[string]any, v any, at string) {
	t.Helper()
	switch v := v.(type) {
	case map[string]any:
		if r, ok := v["$ref"]; ok {
			s, _ := r.(string)
			if !strings.HasPrefix(s, "#/components/") {
				t.Errorf("%s: $ref %v does not point into components", at, r)
			} else if _, ok := lookupPointer(doc, s); !ok {
				t.Errorf("%s: $ref %s does not resolve", at, s)
			}
		}
		for _, k := range sortedKeys(v) {
			checkRefs(t, doc, v[k], at+"/"+k)
		}
	case []any:
		for i, e := range v {
			checkRefs(t, doc, e, fmt.Sprintf("%s/%d", at, i))
		}
	}
}

// TestOpenAPIProblemTypes asserts that the problem types the document
// names are exactly those the server emits.
func TestOpenAPIProblemTypes(t *testing.T) {
	kinds := []problemKind{
		kindNotFound, kindMethodNotAllowed, kindInternal, kindNotReady,
		kindMalformed, kindInvalidName, kindTooLarge, kindMediaType,
		kindValidation, kindConflict, kindTransition, kindGate,
		kindDigestMismatch, kindEmptyUpload, kindMultipart, kindImmutable,
		kindSealed, kindBlobMissing, kindStore, kindRequestTimeout,
		kindUnauthorized, kindForbidden, kindTooManyUploads,
		kindCrossOrigin, kindMisdirected, kindRange,
		kindNoStore, kindPlacement, kindBlobAltered, kindBusy,
		kindAliasProtected,
		kindInvalidFilter,
	}
	want := map[string]bool{}
	for _, k := range kinds {
		want[problemTypeBase+k.slug] = true
	}
	got := map[string]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for _, e := range v {
				walk(e)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		case string:
			if strings.HasPrefix(v, problemTypeBase) && len(v) > len(problemTypeBase) {
				got[v] = true
			}
		}
	}
	doc := loadOpenAPI(t)
	walk(doc["components"])
	for _, k := range sortedKeys(want) {
		if !got[k] {
			t.Errorf("problem type %s is not documented in components", k)
		}
	}
	for _, k := range sortedKeys(got) {
		if !want[k] {
			t.Errorf("components document problem type %s, which the server does not emit", k)
		}
	}
}

// openAPIPublic are the operations that need no credentials: the guard
// lets them through (routes.go registers them as public).
var openAPIPublic = map[string]bool{
	"GET /healthz": true, "HEAD /healthz": true,
	"GET /readyz": true, "HEAD /readyz": true,
	"GET /metrics": true, "GET /api/v1/openapi.json": true,
}

// TestOpenAPISecurity asserts that the document declares the bearer scheme
// and that every operation but the public ones documents 401 and 403 (and
// the public ones opt out of security), and every upload 429.
func TestOpenAPISecurity(t *testing.T) {
	doc := loadOpenAPI(t)
	if _, ok := lookupPointer(doc, "#/components/securitySchemes/bearerAuth"); !ok {
		t.Error("components.securitySchemes.bearerAuth is missing")
	}
	if sec, _ := doc["security"].([]any); len(sec) == 0 {
		t.Error("the document has no top-level security requirement")
	}
	uploads := regexp.MustCompile(`^(POST .*/artifacts|PUT .*/artifacts/\{name\}|POST /upload/.*)$`)
	ops, _ := operations(t, doc)
	nUploads := 0
	for _, key := range sortedKeys(ops) {
		op := ops[key]
		resp, _ := op["responses"].(map[string]any)
		sec, hasSec := op["security"].([]any)
		if openAPIPublic[key] {
			if !hasSec || len(sec) != 0 {
				t.Errorf("%s is public: it needs \"security\": []", key)
			}
			continue
		}
		if hasSec {
			t.Errorf("%s overrides the document's security", key)
		}
		for _, code := range []string{"401", "403"} {
			if _, ok := resp[code]; !ok {
				t.Errorf("%s does not document %s (if it is public, add it to openAPIPublic)", key, code)
			}
		}
		if uploads.MatchString(key) {
			nUploads++
			if _, ok := resp["429"]; !ok {
				t.Errorf("upload %s does not document 429", key)
			}
		}
	}
	if nUploads != 6 {
		t.Errorf("found %d upload operations, want 6", nUploads)
	}
}

// TestOpenAPIServed asserts that the server serves the document as it is.
func TestOpenAPIServed(t *testing.T) {
	onDisk, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	rec := do(t, serverOver(nil, Options{}), http.MethodGet, "/api/v1/openapi.json", nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d, want 200; body: %s", rec.Code, rec.Body)
	}
	if got := rec.Header().Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type %q, want application/json", got)
	}
	if !bytes.Equal(rec.Body.Bytes(), onDisk) {
		t.Error("the served document differs from openapi.json")
	}
}

// TestOpenAPIEquivalentToReference compares the served document with the
// one served before its schemas and access answers were generated
// (testdata/openapi-96c2bdb.json, the hand-written document of commit
// 96c2bdb), as parsed JSON: members may move, nothing may change.
// An intended change of the API updates the reference with it.
func TestOpenAPIEquivalentToReference(t *testing.T) {
	reference, err := os.ReadFile("testdata/openapi-96c2bdb.json")
	if err != nil {
		t.Fatal(err)
	}
	rec := do(t, serverOver(nil, Options{}), http.MethodGet, "/api/v1/openapi.json", nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d, want 200; body: %s", rec.Code, rec.Body)
	}
	var served, want any
	if err := json.Unmarshal(rec.Body.Bytes(), &served); err != nil {
		t.Fatalf("served document: %v", err)
	}
	if err := json.Unmarshal(reference, &want); err != nil {
		t.Fatalf("reference: %v", err)
	}
	for _, d := range jsonDiff("", served, want) {
		t.Error(d)
	}
}

// jsonDiff lists where two parsed JSON values differ (object member order
// is not a difference: encoding/json parses objects into maps).
func jsonDiff(path string, got, want any) []string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: %T, want an object", path, got)}
		}
		var out []string
		for k, wv := range w {
			gv, ok := g[k]
			if !ok {
				out = append(out, fmt.Sprintf("%s/%s: missing", path, k))
				continue
			}
			out = append(out, jsonDiff(path+"/"+k, gv, wv)...)
		}
		for k := range g {
			if _, ok := w[k]; !ok {
				out = append(out, fmt.Sprintf("%s/%s: not in the reference", path, k))
			}
		}
		slices.Sort(out)
		return out
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return []string{fmt.Sprintf("%s: %v, want %v", path, got, want)}
		}
		var out []string
		for i := range w {
			out = append(out, jsonDiff(fmt.Sprintf("%s[%d]", path, i), g[i], w[i])...)
		}
		return out
	}
	if got != want {
		return []string{fmt.Sprintf("%s: %v, want %v", path, got, want)}
	}
	return nil
}
