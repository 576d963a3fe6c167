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

// kind is the problem type slug, with its title from package api.
func kind(slug string) problemKind {
	k, ok := api.ProblemKindOf(slug)
	if !ok {
		panic("httpapi: no problem type " + slug)
	}
	return problemKind{slug: k.Slug, title: k.Title}
}

// The problem types the server answers with.
var (
	kindMalformed      = kind(api.ProblemMalformedRequest)
	kindMultipart      = kind(api.ProblemMalformedMultipart)
	kindInvalidName    = kind(api.ProblemInvalidName)
	kindDigestMismatch = kind(api.ProblemDigestMismatch)
	kindEmptyUpload    = kind(api.ProblemEmptyUpload)

	kindUnauthorized = kind(api.ProblemUnauthorized)
	kindForbidden    = kind(api.ProblemForbidden)

	kindNotFound         = kind(api.ProblemNotFound)
	kindMethodNotAllowed = kind(api.ProblemMethodNotAllowed)
	kindRequestTimeout   = kind(api.ProblemRequestTimeout)

	kindConflict   = kind(api.ProblemConflict)
	kindTransition = kind(api.ProblemInvalidTransition)
	kindGate       = kind(api.ProblemPromotionGate)
	kindImmutable  = kind(api.ProblemImmutable)
	kindSealed     = kind(api.ProblemSealed)

	kindTooLarge       = kind(api.ProblemTooLarge)
	kindMediaType      = kind(api.ProblemUnsupportedMediaType)
	kindValidation     = kind(api.ProblemValidation)
	kindTooManyUploads = kind(api.ProblemTooManyUploads)

	kindInternal    = kind(api.ProblemInternal)
	kindBlobMissing = kind(api.ProblemBlobMissing)
	kindStore       = kind(api.ProblemStorageUnavailable)
	kindNotReady    = kind(api.ProblemNotReady)
	kindNoStore     = kind(api.ProblemNoStore)
	kindPlacement   = kind(api.ProblemPlacementFailed)
	kindBlobAltered = kind(api.ProblemBlobAltered)
	kindBusy        = kind(api.ProblemDatabaseBusy)

	kindAliasProtected = kind(api.ProblemAliasProtected)
	kindInvalidFilter  = kind(api.ProblemInvalidFilter)
)

// status is the HTTP status of the kind: the one switch on its class.
func (k problemKind) status() int { return api.Status(api.ProblemClass(k.slug)) }

// Problem is an answer of problem details: its body api.Problem and the
// members its type adds. It is also an error, so handlers can return one
// to be written as it is.
type Problem struct {
	api.Problem
	// Extensions are the members the type adds beside those of
	// api.Problem: a value of the Members of its api.ProblemKind
	// (api.ConflictProblem, …); nil for none.
	Extensions any
	// retryAfter, when set, is sent as the Retry-After header.
	retryAfter string
}

func newProblem(kind problemKind, detail string) *Problem {
	return &Problem{Problem: api.Problem{
		Type:   problemTypeBase + kind.slug,
		Title:  kind.title,
		Status: kind.status(),
		Detail: detail,
	}}
}

func (p *Problem) Error() string {
	if p.Detail == "" {
		return fmt.Sprintf("%d %s", p.Status, p.Title)
	}
	return fmt.Sprintf("%d %s: %s", p.Status, p.Title, p.Detail)
}

// with returns p with the members its type adds: a value of the Members
// of its api.ProblemKind.
func (p *Problem) with(members any) *Problem {
	p.Extensions = members
	return p
}

// rfc9457Members are the standard members of a problem, in the RFC's
// order.
var rfc9457Members = []string{"type", "title", "status", "detail", "instance"}

// MarshalJSON writes the standard members first, in RFC 9457 order, then
// the others (request_id and the extensions) sorted by name; a member of
// api.Problem always wins over an extension of the same name, and a
// standard member even when it is absent.
func (p *Problem) MarshalJSON() ([]byte, error) {
	members, err := jsonMembers(p.Problem)
	if err != nil {
		return nil, err
	}
	ext, err := jsonMembers(p.Extensions)
	if err != nil {
		return nil, fmt.Errorf("problem extensions: %w", err)
	}
	for key, value := range ext {
		if _, ok := members[key]; !ok && !slices.Contains(rfc9457Members, key) {
			members[key] = value
		}
	}
	var buf bytes.Buffer
	member := func(key string) {
		if buf.Len() == 0 {
			buf.WriteByte('{')
		} else {
			buf.WriteByte(',')
		}
		k, _ := json.Marshal(key)
		buf.Write(k)
		buf.WriteByte(':')
		buf.Write(members[key])
		delete(members, key)
	}
	for _, key := range rfc9457Members {
		if _, ok := members[key]; ok {
			member(key)
		}
	}
	for _, key := range slices.Sorted(maps.Keys(members)) {
		member(key)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// jsonMembers returns the members of the JSON object encoding/json writes
// for v, each as it writes it; none for nil.
func jsonMembers(v any) (map[string]json.RawMessage, error) {
	members := map[string]json.RawMessage{}
	if v == nil {
		return members, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &members); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	return members, nil
}

// writeProblem writes p as the response to r. It fills in the instance (the
// request path) and the request id when they are missing.
func writeProblem(w http.ResponseWriter, r *http.Request, p *Problem) {
	if p.Instance == "" {
		p.Instance = r.URL.RequestURI()
	}
	if p.RequestID == "" {
		p.RequestID = requestIDFrom(r.Context())
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
	if p.retryAfter != "" {
		h.Set("Retry-After", p.retryAfter)
	}
	w.WriteHeader(p.Status)
	_, _ = w.Write(append(body, '\n'))
}
