package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
)

// problemTypeBase prefixes every problem type URI. The URIs are identifiers
// clients may switch on; they are stable even where nothing is served at them.
const problemTypeBase = "https://flymodel.dev/problems/"

// problemContentType is the media type of RFC 9457 error bodies.
const problemContentType = "application/problem+json"

// A problemKind is one class of error: its type URI slug, title and status.
// Every error response names one, so clients can rely on the type.
type problemKind struct {
	slug   string
	title  string
	status int
}

var (
	kindNotFound         = problemKind{"not-found", "Not Found", http.StatusNotFound}
	kindMethodNotAllowed = problemKind{"method-not-allowed", "Method Not Allowed", http.StatusMethodNotAllowed}
	kindInternal         = problemKind{"internal", "Internal Server Error", http.StatusInternalServerError}
	kindNotReady         = problemKind{"not-ready", "Service Unavailable", http.StatusServiceUnavailable}
)

// Problem is an RFC 9457 problem details object. It is also an error, so
// handlers can return one to be written as it is.
type Problem struct {
	Type     string
	Title    string
	Status   int
	Detail   string
	Instance string
	// Extensions are extra members written beside the standard ones
	// (for example request_id, or the failed checks of /readyz).
	Extensions map[string]any
}

func newProblem(kind problemKind, detail string) *Problem {
	return &Problem{
		Type:   problemTypeBase + kind.slug,
		Title:  kind.title,
		Status: kind.status,
		Detail: detail,
	}
}

func (p *Problem) Error() string {
	if p.Detail == "" {
		return fmt.Sprintf("%d %s", p.Status, p.Title)
	}
	return fmt.Sprintf("%d %s: %s", p.Status, p.Title, p.Detail)
}

// with returns p with one more extension member.
func (p *Problem) with(key string, value any) *Problem {
	if p.Extensions == nil {
		p.Extensions = make(map[string]any)
	}
	p.Extensions[key] = value
	return p
}

// MarshalJSON writes the standard members first, in RFC 9457 order, then
// the extensions sorted by name; a standard member always wins over an
// extension of the same name.
func (p *Problem) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	member := func(key string, value any) error {
		if buf.Len() == 0 {
			buf.WriteByte('{')
		} else {
			buf.WriteByte(',')
		}
		k, _ := json.Marshal(key)
		v, err := json.Marshal(value)
		if err != nil {
			return fmt.Errorf("problem member %s: %w", key, err)
		}
		buf.Write(k)
		buf.WriteByte(':')
		buf.Write(v)
		return nil
	}
	_ = member("type", p.Type)
	_ = member("title", p.Title)
	_ = member("status", p.Status)
	if p.Detail != "" {
		_ = member("detail", p.Detail)
	}
	if p.Instance != "" {
		_ = member("instance", p.Instance)
	}
	for _, key := range slices.Sorted(maps.Keys(p.Extensions)) {
		switch key {
		case "type", "title", "status", "detail", "instance":
			continue
		}
		if err := member(key, p.Extensions[key]); err != nil {
			return nil, err
		}
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// writeProblem writes p as the response to r. It fills in the instance (the
// request path) and the request id when they are missing.
func writeProblem(w http.ResponseWriter, r *http.Request, p *Problem) {
	if p.Instance == "" {
		p.Instance = r.URL.RequestURI()
	}
	if id := requestIDFrom(r.Context()); id != "" {
		if _, ok := p.Extensions["request_id"]; !ok {
			p.with("request_id", id)
		}
	}
	body, err := json.Marshal(p)
	if err != nil {
		// Only an unencodable extension can get here; drop the extensions
		// rather than fail to answer.
		p.Extensions = nil
		body, _ = json.Marshal(p)
	}
	h := w.Header()
	h.Set("Content-Type", problemContentType)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(p.Status)
	_, _ = w.Write(append(body, '\n'))
}
