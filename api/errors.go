package api

import (
	"errors"
	"net/http"
	"slices"
)

// Error classes. Every error the API answers with is of one class, and
// the class alone decides the HTTP status (Status) and the CLI's exit
// code: the registry's errors match their class with errors.Is, and so
// do the Go client's errors, by the problem type or the status of the
// answer.
var (
	// ErrBadRequest: the request cannot be read as it stands (malformed
	// body, invalid name in the path, bytes that do not hash to their
	// declared digest, an empty upload).
	ErrBadRequest = errors.New("flymodel: bad request")
	// ErrUnauthorized: a token is missing or not valid.
	ErrUnauthorized = errors.New("flymodel: unauthorized")
	// ErrForbidden: the token does not allow the request.
	ErrForbidden = errors.New("flymodel: forbidden")
	// ErrNotFound: the resource (or one of its parents) does not exist.
	ErrNotFound = errors.New("flymodel: not found")
	// ErrMethodNotAllowed: the resource does not answer that method.
	ErrMethodNotAllowed = errors.New("flymodel: method not allowed")
	// ErrRequestTimeout: the request body stopped arriving.
	ErrRequestTimeout = errors.New("flymodel: request timeout")
	// ErrConflict: the registry holds something the request contradicts
	// (a taken name, a delete of something not empty, a forbidden
	// transition, an unmet promotion gate, other bytes under an artifact
	// name, a sealed version); nothing changed.
	ErrConflict = errors.New("flymodel: conflict")
	// ErrTooLarge: a body over the server's limit.
	ErrTooLarge = errors.New("flymodel: too large")
	// ErrUnsupportedMediaType: a body of a media type the request does
	// not take.
	ErrUnsupportedMediaType = errors.New("flymodel: unsupported media type")
	// ErrInvalid: values that break the rules, listed field by field.
	ErrInvalid = errors.New("flymodel: validation failed")
	// ErrTooManyRequests: the server is busy; retry shortly.
	ErrTooManyRequests = errors.New("flymodel: too many requests")
	// ErrInternal: the server failed.
	ErrInternal = errors.New("flymodel: internal server error")
	// ErrIntegrity: stored or received bytes do not match their record
	// (missing, cut short, or hashing to another digest).
	ErrIntegrity = errors.New("flymodel: integrity check failed")
	// ErrUnavailable: the server, or a storage location behind it, is not
	// available; retry later.
	ErrUnavailable = errors.New("flymodel: unavailable")
	// ErrMisdirected: the request names a host (its Host header) this
	// server does not answer for.
	ErrMisdirected = errors.New("flymodel: misdirected request")
	// ErrRangeNotSatisfiable: a download's Range lies outside the bytes.
	ErrRangeNotSatisfiable = errors.New("flymodel: range not satisfiable")
)

// classes lists every class; ClassOf and ClassOfStatus take the first
// that fits, so ErrInternal comes before ErrIntegrity (both answer 500).
var classes = []error{
	ErrBadRequest, ErrUnauthorized, ErrForbidden, ErrNotFound, ErrMethodNotAllowed,
	ErrRequestTimeout, ErrConflict, ErrTooLarge, ErrUnsupportedMediaType, ErrInvalid,
	ErrTooManyRequests, ErrInternal, ErrIntegrity, ErrUnavailable, ErrMisdirected,
	ErrRangeNotSatisfiable,
}

// Classes returns every error class.
func Classes() []error { return slices.Clone(classes) }

// ClassOf returns the class err is of (the first of Classes it matches
// with errors.Is), or nil.
func ClassOf(err error) error {
	for _, class := range classes {
		if errors.Is(err, class) {
			return class
		}
	}
	return nil
}

// Status is the HTTP status of an answer of class class; 500 for nil or
// anything else that is not a class.
func Status(class error) int {
	switch class {
	case ErrBadRequest:
		return http.StatusBadRequest
	case ErrUnauthorized:
		return http.StatusUnauthorized
	case ErrForbidden:
		return http.StatusForbidden
	case ErrNotFound:
		return http.StatusNotFound
	case ErrMethodNotAllowed:
		return http.StatusMethodNotAllowed
	case ErrRequestTimeout:
		return http.StatusRequestTimeout
	case ErrConflict:
		return http.StatusConflict
	case ErrTooLarge:
		return http.StatusRequestEntityTooLarge
	case ErrUnsupportedMediaType:
		return http.StatusUnsupportedMediaType
	case ErrInvalid:
		return http.StatusUnprocessableEntity
	case ErrTooManyRequests:
		return http.StatusTooManyRequests
	case ErrInternal, ErrIntegrity:
		return http.StatusInternalServerError
	case ErrUnavailable:
		return http.StatusServiceUnavailable
	case ErrMisdirected:
		return http.StatusMisdirectedRequest
	case ErrRangeNotSatisfiable:
		return http.StatusRequestedRangeNotSatisfiable
	}
	return http.StatusInternalServerError
}

// ClassOfStatus is the class of an answer known only by its status (one
// without a problem type, from the server or a proxy in front of it):
// the first class whose Status it is, ErrUnavailable also for a 502 or
// 504 of a gateway; nil for any other status.
func ClassOfStatus(status int) error {
	switch status {
	case http.StatusBadGateway, http.StatusGatewayTimeout:
		return ErrUnavailable
	}
	for _, class := range classes {
		if Status(class) == status {
			return class
		}
	}
	return nil
}

// ProblemTypeBase prefixes the type URI of every problem the server
// answers with (RFC 9457); the rest is one of the Problem* slugs. The
// URIs are identifiers clients may switch on; they are stable even where
// nothing is served at them.
const ProblemTypeBase = "https://flymodel.dev/problems/"

// Problem types: the slugs after ProblemTypeBase.
const (
	ProblemMalformedRequest     = "malformed-request"
	ProblemMalformedMultipart   = "malformed-multipart"
	ProblemInvalidName          = "invalid-name"
	ProblemDigestMismatch       = "digest-mismatch"
	ProblemEmptyUpload          = "empty-upload"
	ProblemUnauthorized         = "unauthorized"
	ProblemForbidden            = "forbidden"
	ProblemNotFound             = "not-found"
	ProblemMethodNotAllowed     = "method-not-allowed"
	ProblemRequestTimeout       = "request-timeout"
	ProblemConflict             = "conflict"
	ProblemInvalidTransition    = "invalid-transition"
	ProblemPromotionGate        = "promotion-gate"
	ProblemImmutable            = "immutable"
	ProblemSealed               = "sealed"
	ProblemTooLarge             = "too-large"
	ProblemUnsupportedMediaType = "unsupported-media-type"
	ProblemValidation           = "validation"
	ProblemTooManyUploads       = "too-many-uploads"
	ProblemInternal             = "internal"
	ProblemBlobMissing          = "blob-missing"
	ProblemStorageUnavailable   = "storage-unavailable"
	ProblemNotReady             = "not-ready"
	ProblemCrossOrigin          = "cross-origin-request"
	ProblemMisdirected          = "misdirected-request"
	ProblemRangeNotSatisfiable  = "range-not-satisfiable"
	ProblemNoStore              = "no-store"
	ProblemPlacementFailed      = "placement-failed"
	ProblemBlobAltered          = "blob-altered"
	ProblemDatabaseBusy         = "database-busy"
	ProblemAliasProtected       = "alias-protected"
	ProblemInvalidFilter        = "invalid-filter"
)

// ProblemTypes returns every problem type slug, sorted.
func ProblemTypes() []string {
	slugs := make([]string, len(problemKinds))
	for i, k := range problemKinds {
		slugs[i] = k.Slug
	}
	slices.Sort(slugs)
	return slugs
}

// ProblemClass is the class of the problem type slug; nil for a slug
// that is not one of the Problem* types.
func ProblemClass(slug string) error {
	k, _ := ProblemKindOf(slug)
	return k.Class
}

// NewError returns an error with the text text, of class class:
// errors.Is(err, class) is true. For sentinels of a package's own, such
// as "an empty upload", that belong to a class.
func NewError(class error, text string) error { return &classedError{text: text, class: class} }

type classedError struct {
	text  string
	class error
}

func (e *classedError) Error() string        { return e.text }
func (e *classedError) Is(target error) bool { return target == e.class }
