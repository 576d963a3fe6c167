package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gorilla/mux"

	"github.com/flymodel/flymodel/api"
	"github.com/flymodel/flymodel/internal/registry"
)

// maxJSONBody bounds every JSON request body; registry requests are small.
const maxJSONBody = 1 << 20

// decodeJSON reads r's body into dst: application/json only, at most
// maxJSONBody bytes of UTF-8, one JSON object, no unknown fields, no
// member named twice in one object.
func decodeJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != "application/json" {
		return newProblem(kindMediaType, "the request body must be application/json")
	}
	// The bytes read are kept (at most maxJSONBody) for the check of
	// duplicate members once the body has decoded.
	var raw bytes.Buffer
	dec := json.NewDecoder(io.TeeReader(http.MaxBytesReader(w, r.Body, maxJSONBody), &raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeProblem(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return decodeProblem(err)
		}
		return newProblem(kindMalformed, "the request body must hold one JSON object and nothing after it")
	}
	if p := strictJSON(raw.Bytes()); p != nil {
		return p
	}
	return nil
}

// strictJSON refuses what encoding/json accepts silently in data, a JSON
// value that has decoded: invalid UTF-8, which it replaces with U+FFFD (a
// name would be stored as something the client did not send), and a
// member named twice in one object, of which it keeps the last. Every
// JSON the API decodes goes through it.
func strictJSON(data []byte) *Problem {
	if !utf8.Valid(data) {
		return newProblem(kindMalformed, "the JSON is not valid UTF-8")
	}
	if name, dup := duplicateMember(data); dup {
		return newProblem(kindMalformed, fmt.Sprintf("member %q appears twice in one object", clip(name)))
	}
	return nil
}

// maxEcho bounds what of a request a problem repeats (a member name can
// be most of a 1 MiB body).
const maxEcho = 64

// clip shortens s to at most maxEcho bytes, on a rune boundary, marking
// the cut with "…".
func clip(s string) string {
	if len(s) <= maxEcho {
		return s
	}
	cut := maxEcho
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// duplicateMember reports the first object member that data, one valid
// JSON value, names twice in one object. encoding/json would silently keep
// the last of them, so that the server and anything else that reads the
// same body (a proxy, an audit of the request) could act on different
// values. The members of the outermost object are compared as
// encoding/json matches them to struct fields, ignoring case ("name" and
// "NAME" fill the same field); deeper members, which are kept as raw JSON
// (params, metrics, extra), exactly.
func duplicateMember(data []byte) (string, bool) {
	type object struct {
		keys      map[string]bool
		outermost bool
		wantKey   bool // the next string token is a member name
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	// One entry per open array (nil) or object.
	var stack []*object
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1] != nil {
			stack[n-1].wantKey = true
		}
	}
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", false // io.EOF; data was decoded before, so nothing else
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{':
				stack = append(stack, &object{keys: map[string]bool{}, outermost: len(stack) == 0, wantKey: true})
			case '[':
				stack = append(stack, nil)
			default:
				stack = stack[:len(stack)-1]
				valueDone()
			}
		case string:
			top := (*object)(nil)
			if n := len(stack); n > 0 {
				top = stack[n-1]
			}
			if top == nil || !top.wantKey {
				valueDone()
				continue
			}
			top.wantKey = false
			key := v
			if top.outermost {
				key = foldName(v)
			}
			if top.keys[key] {
				return v, true
			}
			top.keys[key] = true
		default:
			valueDone()
		}
	}
}

// foldName maps a member name to the key under which encoding/json's
// case-insensitive field matching (bytes.EqualFold) treats it as the same.
func foldName(s string) string {
	return strings.ToLower(strings.ToUpper(s))
}

// decodeProblem explains a JSON decoding failure without echoing the body.
func decodeProblem(err error) error {
	var (
		syntax    *json.SyntaxError
		typeErr   *json.UnmarshalTypeError
		tooLarge  *http.MaxBytesError
		unmarshal *json.InvalidUnmarshalError
	)
	switch {
	case errors.As(err, &tooLarge):
		return newProblem(kindTooLarge, fmt.Sprintf("the request body is larger than %d bytes", tooLarge.Limit))
	case errors.As(err, &syntax):
		if strings.Contains(syntax.Error(), "exceeded max depth") {
			return newProblem(kindMalformed, fmt.Sprintf("JSON nested too deeply at byte %d", syntax.Offset))
		}
		return newProblem(kindMalformed, fmt.Sprintf("malformed JSON at byte %d", syntax.Offset))
	case errors.As(err, &typeErr):
		field := typeErr.Field
		// encoding/json names the value's JSON type, or for a number that
		// does not fit a numeric field "number <the literal>": the literal
		// is not echoed, it may be most of the body.
		value, literal := typeErr.Value, false
		if rest, ok := strings.CutPrefix(value, "number "); ok && rest != "" {
			value, literal = "number", true
		}
		value = jsonValueType(value)
		if field == "" {
			return newProblem(kindMalformed, fmt.Sprintf("the request body must be a JSON object, not %s", value))
		}
		if literal && typeErr.Type != nil {
			return newProblem(kindMalformed, fmt.Sprintf("field %q must be %s", field, numberRange(typeErr.Type.Kind()))).
				with(api.BadRequestProblem{Field: field})
		}
		kind := "another type"
		if typeErr.Type != nil {
			kind = jsonType(typeErr.Type.Kind().String())
		}
		return newProblem(kindMalformed, fmt.Sprintf("field %q must be %s, not %s", field, kind, value)).
			with(api.BadRequestProblem{Field: field})
	case errors.Is(err, io.EOF):
		return newProblem(kindMalformed, "the request body is empty")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return newProblem(kindMalformed, "the request body ends in the middle of a JSON value")
	case errors.As(err, &unmarshal):
		return err // a bug in the handler, not the request
	}
	// encoding/json reports unknown fields only as text: `json: unknown field "x"`.
	const unknown = "json: unknown field "
	if msg := err.Error(); len(msg) > len(unknown) && msg[:len(unknown)] == unknown {
		field, _ := strconv.Unquote(msg[len(unknown):])
		field = clip(field)
		return newProblem(kindMalformed, fmt.Sprintf("unknown field %q", field)).with(api.BadRequestProblem{Field: field})
	}
	return newProblem(kindMalformed, "malformed JSON")
}

// jsonValueType names the JSON type of a value as encoding/json reports
// it ("string", "number", "bool", "array", "object", "null").
func jsonValueType(v string) string {
	switch v {
	case "string", "number":
		return "a " + v
	case "bool":
		return "a boolean"
	case "array", "object":
		return "an " + v
	case "null":
		return "null"
	}
	return "another type"
}

// numberRange describes the numbers a numeric field of kind k takes.
func numberRange(k reflect.Kind) string {
	switch k {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "a whole number in the range of a signed integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "a whole number from 0 in the range of an unsigned integer"
	}
	return "a number in the range of a floating-point number"
}

func jsonType(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "int", "int64", "int32", "float64", "float32", "uint", "uint64":
		return "a number"
	case "slice":
		return "an array"
	case "map", "struct":
		return "an object"
	}
	return "another type"
}

// pathName returns the path variable key as a name: mux matches on the
// escaped path (so "a%2Fb" stays one segment), and the name is unescaped
// here and checked against the naming rules. A path names an existing
// resource (the names of new ones are in bodies), which may have been
// created before the rules of new names (registry.ValidateNameRef).
func pathName(r *http.Request, key string) (string, error) {
	raw := mux.Vars(r)[key]
	name, err := url.PathUnescape(raw)
	if err != nil {
		return "", newProblem(kindInvalidName, fmt.Sprintf("%s %q is not a valid path segment", key, raw)).with(api.BadRequestProblem{Field: key})
	}
	if err := registry.ValidateNameRef(name); err != nil {
		return "", newProblem(kindInvalidName, fmt.Sprintf("%s name %s", key, err)).with(api.BadRequestProblem{Field: key})
	}
	return name, nil
}

// pathNames resolves several path variables, failing on the first bad one.
func pathNames(r *http.Request, keys ...string) ([]string, error) {
	out := make([]string, len(keys))
	for i, k := range keys {
		name, err := pathName(r, k)
		if err != nil {
			return nil, err
		}
		out[i] = name
	}
	return out, nil
}

// resolverKey carries the server's registry in a request's context (set
// by handle), for versionRef.
type resolverKey struct{}

// versionRef reads {ns}/{model}/{version} from the path. A version
// segment that is a selector (`@prod`, `@champion`) is resolved through
// the registry to the version it names, before anything else, so that
// every version route takes one; one that names nothing is a 404 saying
// what is missing.
func versionRef(r *http.Request) (registry.Ref, error) {
	n, err := pathNames(r, "namespace", "model", "version")
	if err != nil {
		return registry.Ref{}, err
	}
	ref := registry.Ref{Namespace: n[0], Model: n[1], Version: n[2]}
	if reg, ok := r.Context().Value(resolverKey{}).(*registry.Registry); ok && api.IsSelector(ref.Version) {
		return reg.ResolveRef(r.Context(), ref)
	}
	return ref, nil
}

// pageRequest reads ?page= and ?size= (defaults 1 and 25). Numbers that do
// not parse are malformed (400); numbers out of range are the registry's
// validation error (422).
func pageRequest(r *http.Request) (registry.PageRequest, error) {
	q := r.URL.Query()
	p := registry.PageRequest{Page: 1, Size: registry.DefaultPageSize}
	for key, dst := range map[string]*int64{"page": &p.Page, "size": &p.Size} {
		if s := q.Get(key); s != "" {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return p, newProblem(kindMalformed, fmt.Sprintf("query parameter %s must be an integer, not %q", key, s)).with(api.BadRequestProblem{Field: key})
			}
			*dst = n
		}
	}
	return p, nil
}

// boolQuery reads a boolean query parameter such as ?hard=true.
func boolQuery(r *http.Request, key string) (bool, error) {
	s := r.URL.Query().Get(key)
	if s == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, newProblem(kindMalformed, fmt.Sprintf("query parameter %s must be true or false, not %q", key, s)).with(api.BadRequestProblem{Field: key})
	}
	return b, nil
}

// writeList answers a page of a list (the registry's page, as the API
// shows it).
func writeList[T any](w http.ResponseWriter, p registry.Page[T]) error {
	return writeJSON(w, http.StatusOK, api.Page[T]{
		Data: p.Items, Page: api.PageInfo{Page: p.Page, Size: p.Size}, TotalItems: p.TotalItems, TotalPages: p.TotalPages,
	})
}

// writeCreated answers 201 with the new resource and its Location.
func writeCreated(w http.ResponseWriter, path string, v any) error {
	w.Header().Set("Location", apiBase+path)
	return writeJSON(w, http.StatusCreated, v)
}
