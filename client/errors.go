package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/flymodel/flymodel/api"
)

// ProblemTypeBase prefixes the type URI of every problem the server
// answers with; the rest is the slug that Error.Slug returns (one of the
// api.Problem* types).
const ProblemTypeBase = api.ProblemTypeBase

// Sentinel errors, matched with errors.Is against an *Error (from the
// server's answer) or an *IntegrityError (from the client's own check).
// Most are the error classes of package api: an answer matches the class
// of its problem type, or, without a type the client knows, that of its
// status. The others are one problem type each, finer than its class.
var (
	// ErrBadRequest is a 400: malformed request, invalid name in the path,
	// digest mismatch, empty upload.
	ErrBadRequest = api.ErrBadRequest
	// ErrDigestMismatch is a 400 digest-mismatch: the uploaded bytes do not
	// hash to the declared sha256; nothing was stored.
	ErrDigestMismatch = errors.New("flymodel: digest mismatch")
	// ErrUnauthorized is a 401: a token is missing or not valid.
	ErrUnauthorized = api.ErrUnauthorized
	// ErrForbidden is a 403: the token does not allow the request.
	ErrForbidden = api.ErrForbidden
	// ErrNotFound is a 404: the resource (or one of its parents) does not
	// exist.
	ErrNotFound = api.ErrNotFound
	// ErrMethodNotAllowed is a 405: the resource does not answer that
	// method.
	ErrMethodNotAllowed = api.ErrMethodNotAllowed
	// ErrRequestTimeout is a 408: the server stopped waiting for the rest
	// of the request body.
	ErrRequestTimeout = api.ErrRequestTimeout
	// ErrConflict is any 409: a duplicate name, a delete of something not
	// empty, and the finer cases below.
	ErrConflict = api.ErrConflict
	// ErrImmutable is a 409 immutable: the artifact name holds other bytes;
	// artifacts are never overwritten.
	ErrImmutable = errors.New("flymodel: artifact exists with other bytes")
	// ErrSealed is a 409 sealed: the version has left test and takes no new
	// artifacts.
	ErrSealed = errors.New("flymodel: version sealed")
	// ErrGate is a 409 promotion-gate: the version's experiments do not
	// meet the gate of the lifecycle it was to enter.
	ErrGate = errors.New("flymodel: promotion gate not met")
	// ErrTransition is a 409 invalid-transition: the experiment state
	// machine forbids the move.
	ErrTransition = errors.New("flymodel: invalid state transition")
	// ErrTooLarge is a 413: a body over the server's limit.
	ErrTooLarge = api.ErrTooLarge
	// ErrUnsupportedMediaType is a 415: a body of a media type the request
	// does not take.
	ErrUnsupportedMediaType = api.ErrUnsupportedMediaType
	// ErrValidation is a 422: invalid values, listed by Error.FieldErrors.
	ErrValidation = api.ErrInvalid
	// ErrTooManyRequests is a 429: the server is busy (the client has
	// retried already); try again later.
	ErrTooManyRequests = api.ErrTooManyRequests
	// ErrInternal is a 500 other than blob-missing: the server failed;
	// Error.RequestID names the request in its log.
	ErrInternal = api.ErrInternal
	// ErrUnavailable is a 502, 503 or 504: the server (or a storage
	// location behind it) is not available; try again later.
	ErrUnavailable = api.ErrUnavailable
	// ErrIntegrity is a download whose bytes do not hash to the server's
	// digest, that ended early, or that came without a digest to check;
	// also a 500 blob-missing, the server's own finding that an artifact's
	// stored bytes are missing or do not match its record.
	ErrIntegrity = api.ErrIntegrity
	// ErrMisdirected is a 421: the server does not answer for the host the
	// request named (server.allowed_hosts).
	ErrMisdirected = api.ErrMisdirected
	// ErrRangeNotSatisfiable is a 416: a download's Range lies outside
	// the artifact's bytes.
	ErrRangeNotSatisfiable = api.ErrRangeNotSatisfiable
)

// Error is an error answer of the server: an RFC 9457 problem, or any
// other non-2xx answer (then Type is empty and Detail holds the start of
// the body).
type Error struct {
	// Status is the HTTP status code of the answer.
	Status int
	// Type is the problem type URI, ProblemTypeBase + a stable slug.
	Type string
	// Title is the short summary of the problem type.
	Title string
	// Detail explains this occurrence.
	Detail string
	// Instance is the path of the request.
	Instance string
	// RequestID identifies the request in the server's log; quote it when
	// reporting a 5xx.
	RequestID string
	// Extensions are the problem's other members, such as "existing" (the
	// path of a conflicting resource), "errors" (the fields of a 422),
	// "existing_sha256" and "actual_sha256" (an immutable artifact), or
	// "missing" and "not_passed" (a promotion gate). Members decodes them
	// into the api type of the problem type.
	Extensions map[string]any
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("flymodel: ")
	title := e.Title
	if title == "" {
		title = http.StatusText(e.Status)
	}
	fmt.Fprintf(&b, "%d %s", e.Status, title)
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	if e.RequestID != "" && e.Status >= 500 {
		fmt.Fprintf(&b, " (request id %s)", e.RequestID)
	}
	return b.String()
}

// Slug is the last part of the problem type, e.g. "immutable"; "" for an
// answer that was not a problem.
func (e *Error) Slug() string {
	return strings.TrimPrefix(e.Type, ProblemTypeBase)
}

// Is matches the sentinel errors: the answer's class (ErrNotFound for a
// 404, ErrConflict for any 409, …), and the sentinel of its problem type
// where there is one (ErrImmutable for a 409 of type immutable, …).
func (e *Error) Is(target error) bool {
	var slug string
	switch target {
	case ErrDigestMismatch:
		slug = api.ProblemDigestMismatch
	case ErrImmutable:
		slug = api.ProblemImmutable
	case ErrSealed:
		slug = api.ProblemSealed
	case ErrGate:
		slug = api.ProblemPromotionGate
	case ErrTransition:
		slug = api.ProblemInvalidTransition
	default:
		return target != nil && target == e.class()
	}
	return e.Slug() == slug && e.class() == api.ProblemClass(slug)
}

// class is the api error class of the answer: that of its problem type,
// or for an answer without a type the client knows (or with a status
// that type never has) that of its status; nil for a status of no class.
func (e *Error) class() error {
	if class := api.ProblemClass(e.Slug()); class != nil && api.Status(class) == e.Status {
		return class
	}
	return api.ClassOfStatus(e.Status)
}

// FieldError is one invalid field of a 422 answer.
type FieldError = api.FieldError

// FieldErrors lists the invalid fields of a 422 answer (its "errors"
// member); nil for other answers.
func (e *Error) FieldErrors() []FieldError {
	var p api.ValidationProblem
	if e.Members(&p) != nil || len(p.Errors) == 0 {
		return nil
	}
	return p.Errors
}

// Members decodes the members the problem type adds (Extensions) into
// members, a pointer to the struct of package api that holds them: the
// Members of api.ProblemKindOf(e.Slug()), such as *api.ImmutableProblem
// or *api.GateProblem.
func (e *Error) Members(members any) error {
	raw, err := json.Marshal(e.Extensions)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, members)
}

// ExtensionString returns the extension member key when it is a string,
// e.g. "existing_sha256"; "" otherwise.
func (e *Error) ExtensionString(key string) string {
	s, _ := e.Extensions[key].(string)
	return s
}

// problemMembers are the JSON names of the members of api.Problem: the
// members of a problem that are not extensions.
var problemMembers = func() []string {
	var names []string
	t := reflect.TypeFor[api.Problem]()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		names = append(names, name)
	}
	return names
}()

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 64 << 10

// readError turns a non-2xx answer into an *Error and closes its body.
func readError(res *http.Response) *Error {
	defer res.Body.Close()
	e := &Error{Status: res.StatusCode, RequestID: res.Header.Get("X-Request-Id")}
	body, _ := io.ReadAll(io.LimitReader(res.Body, maxErrorBody))
	mediaType, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type"))
	var members map[string]any
	if (mediaType == "application/problem+json" || mediaType == "application/json") && json.Unmarshal(body, &members) == nil && members != nil {
		// The members of api.Problem, each when it is of its type; the
		// answer's status is the one that counts.
		standard := map[string]any{}
		for _, key := range problemMembers {
			if value, ok := members[key]; ok {
				standard[key] = value
				delete(members, key)
			}
		}
		var p api.Problem
		if raw, err := json.Marshal(standard); err == nil {
			_ = json.Unmarshal(raw, &p)
		}
		e.Type, e.Title, e.Detail, e.Instance = p.Type, p.Title, p.Detail, p.Instance
		if p.RequestID != "" {
			e.RequestID = p.RequestID
		}
		if len(members) > 0 {
			e.Extensions = members
		}
		return e
	}
	e.Title = http.StatusText(res.StatusCode)
	if len(body) > 0 && utf8.Valid(body) {
		detail := strings.TrimSpace(string(body))
		if len(detail) > 512 {
			detail = detail[:512] + "…"
		}
		e.Detail = detail
	}
	if res.Request != nil && res.Request.URL != nil {
		e.Instance = res.Request.URL.RequestURI()
	}
	return e
}

// IntegrityError is a download that failed the client's verification: its
// bytes do not hash to the server's digest, it ended before its length, or
// the server sent no digest. The destination has received the bytes.
type IntegrityError struct {
	// Artifact is the artifact's API path.
	Artifact string
	// Expected is the server's sha256 (hex); Actual that of the bytes
	// received (empty when the transfer ended early).
	Expected, Actual string
	// Received is the number of bytes received; Size the announced length
	// (-1 when none was).
	Received, Size int64
	// Reason says what failed.
	Reason string
	// Err is the transfer error that cut the download short, if any.
	Err error
}

func (e *IntegrityError) Error() string {
	msg := fmt.Sprintf("flymodel: integrity check of %s failed: %s", e.Artifact, e.Reason)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Is matches ErrIntegrity.
func (e *IntegrityError) Is(target error) bool { return target == ErrIntegrity }

// Unwrap returns the transfer error, if any.
func (e *IntegrityError) Unwrap() error { return e.Err }
