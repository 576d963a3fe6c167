package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/flymodel/flymodel/internal/registry"
)

// maxJSONBody bounds every JSON request body; registry requests are small.
const maxJSONBody = 1 << 20

var (
	kindMalformed   = problemKind{"malformed-request", "Malformed Request", http.StatusBadRequest}
	kindInvalidName = problemKind{"invalid-name", "Invalid Name", http.StatusBadRequest}
	kindTooLarge    = problemKind{"too-large", "Content Too Large", http.StatusRequestEntityTooLarge}
	kindMediaType   = problemKind{"unsupported-media-type", "Unsupported Media Type", http.StatusUnsupportedMediaType}
)

// decodeJSON reads r's body into dst: application/json only, at most
// maxJSONBody bytes, one JSON object, no unknown fields.
func decodeJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != "application/json" {
		return newProblem(kindMediaType, "the request body must be application/json")
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSONBody))
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
	return nil
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
		return newProblem(kindMalformed, fmt.Sprintf("malformed JSON at byte %d", syntax.Offset))
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			return newProblem(kindMalformed, fmt.Sprintf("the request body must be a JSON object, not %s", typeErr.Value))
		}
		return newProblem(kindMalformed, fmt.Sprintf("field %q must be %s, not %s", field, jsonType(typeErr.Type.Kind().String()), typeErr.Value)).
			with("field", field)
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
		return newProblem(kindMalformed, fmt.Sprintf("unknown field %q", field)).with("field", field)
	}
	return newProblem(kindMalformed, "malformed JSON")
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
// here and checked against the naming rules.
func pathName(r *http.Request, key string) (string, error) {
	raw := mux.Vars(r)[key]
	name, err := url.PathUnescape(raw)
	if err != nil {
		return "", newProblem(kindInvalidName, fmt.Sprintf("%s %q is not a valid path segment", key, raw)).with("field", key)
	}
	if err := registry.ValidateName(name); err != nil {
		return "", newProblem(kindInvalidName, fmt.Sprintf("%s name %s", key, err)).with("field", key)
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

// versionRef reads {ns}/{model}/{version} from the path.
func versionRef(r *http.Request) (registry.Ref, error) {
	n, err := pathNames(r, "namespace", "model", "version")
	if err != nil {
		return registry.Ref{}, err
	}
	return registry.Ref{Namespace: n[0], Model: n[1], Version: n[2]}, nil
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
				return p, newProblem(kindMalformed, fmt.Sprintf("query parameter %s must be an integer, not %q", key, s)).with("field", key)
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
		return false, newProblem(kindMalformed, fmt.Sprintf("query parameter %s must be true or false, not %q", key, s)).with("field", key)
	}
	return b, nil
}

// listResponse is the envelope of every list.
type listResponse[T any] struct {
	Data       []T       `json:"data"`
	Page       pageState `json:"page"`
	TotalItems int64     `json:"total_items"`
	TotalPages int64     `json:"total_pages"`
}

type pageState struct {
	Page int64 `json:"page"`
	Size int64 `json:"size"`
}

func writeList[T any](w http.ResponseWriter, p registry.Page[T]) error {
	return writeJSON(w, http.StatusOK, listResponse[T]{
		Data: p.Items, Page: pageState{Page: p.Page, Size: p.Size}, TotalItems: p.TotalItems, TotalPages: p.TotalPages,
	})
}

// writeCreated answers 201 with the new resource and its Location.
func writeCreated(w http.ResponseWriter, path string, v any) error {
	w.Header().Set("Location", apiBase+path)
	return writeJSON(w, http.StatusCreated, v)
}
