package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"

	"github.com/flymodel/flymodel/api"
)

// problemTypeBase prefixes every problem type URI.
const problemTypeBase = api.ProblemTypeBase

// problemContentType is the media type of RFC 9457 error bodies.
const problemContentType = "application/problem+json"

// A problemKind is one type of problem: its type URI slug (one of the
// api.Problem* types) and title. Every error response names one, so
// clients can rely on the type; its status is that of the type's class.
type problemKind struct {
	slug  string
	title string
}

// The problem types the server answers with.
var (
	kindMalformed      = problemKind{api.ProblemMalformedRequest, "Malformed Request"}
	kindMultipart      = problemKind{api.ProblemMalformedMultipart, "Malformed Multipart Upload"}
	kindInvalidName    = problemKind{api.ProblemInvalidName, "Invalid Name"}
	kindDigestMismatch = problemKind{api.ProblemDigestMismatch, "Digest Mismatch"}
	kindEmptyUpload    = problemKind{api.ProblemEmptyUpload, "Empty Upload"}

	kindUnauthorized = problemKind{api.ProblemUnauthorized, "Unauthorized"}
	kindForbidden    = problemKind{api.ProblemForbidden, "Forbidden"}

	kindNotFound         = problemKind{api.ProblemNotFound, "Not Found"}
	kindMethodNotAllowed = problemKind{api.ProblemMethodNotAllowed, "Method Not Allowed"}
	kindRequestTimeout   = problemKind{api.ProblemRequestTimeout, "Request Timeout"}

	kindConflict   = problemKind{api.ProblemConflict, "Conflict"}
	kindTransition = problemKind{api.ProblemInvalidTransition, "Invalid State Transition"}
	kindGate       = problemKind{api.ProblemPromotionGate, "Promotion Gate Not Met"}
	kindImmutable  = problemKind{api.ProblemImmutable, "Artifact Exists With Other Bytes"}
	kindSealed     = problemKind{api.ProblemSealed, "Version Sealed"}

	kindTooLarge       = problemKind{api.ProblemTooLarge, "Content Too Large"}
	kindMediaType      = problemKind{api.ProblemUnsupportedMediaType, "Unsupported Media Type"}
	kindValidation     = problemKind{api.ProblemValidation, "Validation Failed"}
	kindTooManyUploads = problemKind{api.ProblemTooManyUploads, "Too Many Uploads"}

	kindInternal    = problemKind{api.ProblemInternal, "Internal Server Error"}
	kindBlobMissing = problemKind{api.ProblemBlobMissing, "Artifact Bytes Missing"}
	kindStore       = problemKind{api.ProblemStorageUnavailable, "Storage Unavailable"}
	kindNotReady    = problemKind{api.ProblemNotReady, "Service Unavailable"}
)

// status is the HTTP status of the kind: the one switch on its class.
func (k problemKind) status() int { return api.Status(api.ProblemClass(k.slug)) }

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
		Status: kind.status(),
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
