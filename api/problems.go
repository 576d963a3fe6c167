package api

// Problem is an RFC 9457 problem details object. Members other than the
// standard ones are extensions of the problem type.
//
// It is the body of every error answer (application/problem+json): these
// members, and beside them the members its problem type adds (the
// Members of its ProblemKind: ConflictProblem, GateProblem, …), which a
// client decodes from the same body. Instance and RequestID are omitted
// when empty, but the server always sends them.
type Problem struct {
	// Identifies the kind of problem: https://flymodel.dev/problems/<kind>.
	Type string `json:"type" openapi:"format=uri"`
	// A short summary of the problem type.
	Title string `json:"title"`
	// The HTTP status code.
	Status int `json:"status" openapi:"minimum=400,maximum=599"`
	// What went wrong with this request; absent when there is nothing to add.
	Detail string `json:"detail,omitempty"`
	// The request URI.
	Instance string `json:"instance,omitempty" openapi:"format=uri-reference,required"`
	// The request id, as in the `X-Request-Id` response header.
	RequestID string `json:"request_id,omitempty" openapi:"required"`
}

// ProblemKind is one problem type: what the answers of that type say
// beside their detail.
type ProblemKind struct {
	// Slug follows ProblemTypeBase in the type URI: one of the Problem*
	// constants.
	Slug string
	// Title is the title of every answer of the type.
	Title string
	// Class is the type's error class, which decides the status.
	Class error
	// Members is the zero value of the struct of the members the type
	// adds to Problem (BadRequestProblem{}, ConflictProblem{}, …); each
	// such struct is a schema of the OpenAPI document, and the server
	// writes a value of it with every answer of the type.
	Members any
}

// problemKinds are the problem types, in the order the API documents
// them.
var problemKinds = []ProblemKind{
	{ProblemMalformedRequest, "Malformed Request", ErrBadRequest, BadRequestProblem{}},
	{ProblemInvalidName, "Invalid Name", ErrBadRequest, BadRequestProblem{}},
	{ProblemValidation, "Validation Failed", ErrInvalid, ValidationProblem{}},
	{ProblemNotFound, "Not Found", ErrNotFound, NotFoundProblem{}},
	{ProblemConflict, "Conflict", ErrConflict, ConflictProblem{}},
	{ProblemInvalidTransition, "Invalid State Transition", ErrConflict, TransitionProblem{}},
	{ProblemPromotionGate, "Promotion Gate Not Met", ErrConflict, GateProblem{}},
	{ProblemTooLarge, "Content Too Large", ErrTooLarge, TooLargeProblem{}},
	{ProblemUnsupportedMediaType, "Unsupported Media Type", ErrUnsupportedMediaType, UnsupportedMediaTypeProblem{}},
	{ProblemMethodNotAllowed, "Method Not Allowed", ErrMethodNotAllowed, MethodNotAllowedProblem{}},
	{ProblemInternal, "Internal Server Error", ErrInternal, InternalProblem{}},
	{ProblemNotReady, "Service Unavailable", ErrUnavailable, ReadinessProblem{}},
	{ProblemDigestMismatch, "Digest Mismatch", ErrBadRequest, DigestMismatchProblem{}},
	{ProblemEmptyUpload, "Empty Upload", ErrBadRequest, EmptyUploadProblem{}},
	{ProblemMalformedMultipart, "Malformed Multipart Upload", ErrBadRequest, MultipartProblem{}},
	{ProblemImmutable, "Artifact Exists With Other Bytes", ErrConflict, ImmutableProblem{}},
	{ProblemSealed, "Version Sealed", ErrConflict, SealedProblem{}},
	{ProblemBlobMissing, "Artifact Bytes Missing", ErrIntegrity, BlobMissingProblem{}},
	{ProblemStorageUnavailable, "Storage Unavailable", ErrUnavailable, StorageUnavailableProblem{}},
	{ProblemRequestTimeout, "Request Timeout", ErrRequestTimeout, RequestTimeoutProblem{}},
	{ProblemUnauthorized, "Unauthorized", ErrUnauthorized, UnauthorizedProblem{}},
	{ProblemForbidden, "Forbidden", ErrForbidden, ForbiddenProblem{}},
	{ProblemCrossOrigin, "Cross-Origin Request Refused", ErrForbidden, ForbiddenProblem{}},
	{ProblemMisdirected, "Misdirected Request", ErrMisdirected, MisdirectedProblem{}},
	{ProblemRangeNotSatisfiable, "Range Not Satisfiable", ErrRangeNotSatisfiable, RangeProblem{}},
	{ProblemTooManyUploads, "Too Many Uploads", ErrTooManyRequests, TooManyUploadsProblem{}},
	{ProblemNoStore, "No Blob Store For The Lifecycle", ErrConflict, NoStoreProblem{}},
	{ProblemPlacementFailed, "Placement Failed", ErrUnavailable, PlacementProblem{}},
	{ProblemBlobAltered, "Artifact Bytes Altered", ErrIntegrity, PlacementProblem{}},
	{ProblemDatabaseBusy, "Database Busy", ErrUnavailable, DatabaseBusyProblem{}},
	{ProblemAliasProtected, "Alias Protected", ErrConflict, AliasProtectedProblem{}},
	{ProblemInvalidFilter, "Invalid Filter", ErrBadRequest, InvalidFilterProblem{}},
}

// ProblemKinds returns every problem type, in the order the API documents
// them.
func ProblemKinds() []ProblemKind { return append([]ProblemKind(nil), problemKinds...) }

// ProblemKindOf returns the problem type of slug, and false for a slug
// that is not one of the Problem* types.
func ProblemKindOf(slug string) (ProblemKind, bool) {
	for _, k := range problemKinds {
		if k.Slug == slug {
			return k, true
		}
	}
	return ProblemKind{}, false
}

// The members each problem type adds to Problem. The first paragraph of
// each doc comment is the description of its schema in the OpenAPI
// document.

// BadRequestProblem: the request cannot be read (`malformed-request`:
// malformed or trailing JSON, an unknown member, a member of the wrong
// type, a query parameter that does not parse) or a name in the path
// breaks the naming rules (`invalid-name`).
type BadRequestProblem struct {
	// The member, query parameter or path variable at fault, when there is one.
	Field string `json:"field,omitempty"`
}

// ValidationProblem: the request is well-formed but breaks a rule.
type ValidationProblem struct {
	Errors []FieldError `json:"errors" openapi:"minItems=1"`
}

// NotFoundProblem: no such resource.
type NotFoundProblem struct {
	// The API path of the first resource on the way that does not exist; absent
	// when no route matched.
	Resource string `json:"resource,omitempty" openapi:"format=uri-reference"`
}

// ConflictProblem: the resource exists already (a duplicate name), or
// still holds others.
type ConflictProblem struct {
	// The API path of the resource in the way.
	Existing string `json:"existing" openapi:"format=uri-reference"`
}

// TransitionProblem: the experiment cannot move from its state to the one
// asked for.
type TransitionProblem struct {
	From ExperimentState `json:"from"`
	To   ExperimentState `json:"to"`
}

// GateProblem: the version does not meet the promotion gate of the
// lifecycle it would enter.
type GateProblem struct {
	To Lifecycle `json:"to"`
	// Required experiments the version does not have.
	Missing []string `json:"missing"`
	// Experiments that are required but have not passed.
	NotPassed []string `json:"not_passed"`
	// True when every experiment must pass and the version has none.
	NoExperiments bool `json:"no_experiments"`
}

// TooLargeProblem: the request body is too large: a JSON body over 1 MiB,
// an upload over the server's `server.max_upload_bytes` (default 5 GiB),
// or a multipart `artifact` part over 64 KiB.
type TooLargeProblem struct {
	// The upload size limit in bytes; on upload refusals over
	// `server.max_upload_bytes`.
	Limit int64 `json:"limit,omitempty" openapi:"minimum=1"`
}

// UnsupportedMediaTypeProblem: the request body is not of the media type
// the operation takes: `application/json`, or `multipart/form-data` for
// multipart uploads.
type UnsupportedMediaTypeProblem struct{}

// MethodNotAllowedProblem: the path does not support the method; `Allow`
// lists those it does.
type MethodNotAllowedProblem struct{}

// InternalProblem: the server failed; the detail says nothing more than to
// quote the request id.
type InternalProblem struct{}

// ReadinessProblem: a dependency of the server is not available.
type ReadinessProblem struct {
	Checks map[string]CheckResult `json:"checks"`
	// As in the answer when ready.
	Unused []string `json:"unused,omitempty"`
	// As in the answer when ready.
	NoStore []NoStoreProblem `json:"no_store,omitempty"`
}

// DigestMismatchProblem: the uploaded bytes do not hash to a digest the
// client declared; nothing was stored.
type DigestMismatchProblem struct {
	// The algorithm of the digest that did not match: `sha-256`, `sha-512`
	// or `md5`.
	Algorithm string `json:"algorithm" openapi:"examples=sha-256|sha-512|md5"`
	// The digest declared and the one the bytes have, in lowercase
	// hexadecimal.
	Expected string `json:"expected"`
	Actual   string `json:"actual"`
	// The same two, when the algorithm is `sha-256`.
	ExpectedSHA256 string `json:"expected_sha256,omitempty" openapi:"ref=Sha256"`
	ActualSHA256   string `json:"actual_sha256,omitempty" openapi:"ref=Sha256"`
}

// EmptyUploadProblem: the upload holds no bytes; an artifact holds at
// least one.
type EmptyUploadProblem struct{}

// MultipartProblem: the multipart body is not `artifact` (JSON) then
// `file`: a part is missing, misnamed, out of order or unreadable.
type MultipartProblem struct{}

// ImmutableProblem: an artifact of this name exists with other bytes;
// artifacts are never overwritten (upload under another name, or to a new
// version).
type ImmutableProblem struct {
	// The API path of the existing artifact.
	Existing       string `json:"existing" openapi:"format=uri-reference"`
	ExistingSHA256 string `json:"existing_sha256" openapi:"ref=Sha256"`
	// The digest of the refused upload (the declared one when the client gave
	// it).
	ActualSHA256 string `json:"actual_sha256" openapi:"ref=Sha256"`
}

// SealedProblem: the version is sealed (it has left `test`) and takes no
// new artifacts.
type SealedProblem struct {
	// The API path of the sealed version.
	Version string `json:"version" openapi:"format=uri-reference"`
}

// BlobMissingProblem: the stored bytes of the artifact are missing, or
// their size differs from the record; the detail names the artifact.
type BlobMissingProblem struct{}

// StorageUnavailableProblem: a blob store is not configured for this
// version's lifecycle, or cannot be reached; on an upload nothing was
// stored. Retry later.
type StorageUnavailableProblem struct{}

// RequestTimeoutProblem: the request body stalled (nothing arrived for
// the server's stall timeout, a minute by default) and was cut off;
// nothing was stored.
type RequestTimeoutProblem struct{}

// UnauthorizedProblem: the request has no credentials and the anonymous
// policy does not allow it, or its bearer token is malformed, unknown,
// expired or revoked.
type UnauthorizedProblem struct{}

// ForbiddenProblem: the credentials are valid but do not grant the role
// this needs, `detail` naming the role and namespace (`forbidden`); or a
// browser sent a state-changing request from a page of another origin
// than the server's own or `server.allowed_origins`, without a bearer
// token (`cross-origin-request`).
type ForbiddenProblem struct{}

// MisdirectedProblem: the request's `Host` is not one this server
// answers for: on a server bound to loopback only `localhost`,
// `127.0.0.1`, `[::1]` (any port) and `server.allowed_hosts`; elsewhere
// `server.allowed_hosts` when set. It guards against DNS rebinding.
type MisdirectedProblem struct{}

// RangeProblem: the `Range` of a download lies outside the artifact's
// bytes; `Content-Range: bytes */<size>` gives its size.
type RangeProblem struct{}

// TooManyUploadsProblem: every upload slot of the server is taken;
// nothing was read or stored. Retry after `Retry-After`.
type TooManyUploadsProblem struct{}

// NoStoreProblem: no blob store of this server serves the lifecycle the
// upload or the state change needs: the namespace records a bucket for it
// that the server does not have, or no store is configured for it.
// Nothing changed; retrying does not help until `config_key` is added to
// the server's configuration.
type NoStoreProblem struct {
	// The namespace; absent when no namespace has a store for the
	// lifecycle.
	Namespace string    `json:"namespace,omitempty"`
	Lifecycle Lifecycle `json:"lifecycle"`
	// The namespace's bucket for the lifecycle, which no configured store
	// is; absent when the namespace records none.
	Bucket string `json:"bucket,omitempty"`
	// The configuration entry to add, e.g. `storage.s3 (bucket = "ml-qa",
	// role = "qa")`.
	ConfigKey string `json:"config_key"`
}

// PlacementProblem: a state change could not place an artifact in the blob
// store of the target lifecycle, and nothing changed (the version keeps its
// state; copies already made are removed). `placement-failed`: a store
// failed; retry after `Retry-After`. `blob-altered`: the stored bytes of the
// artifact are missing or do not hash to its recorded sha256, so they were
// not copied.
type PlacementProblem struct {
	// The API path of the artifact.
	Artifact string `json:"artifact" openapi:"format=uri-reference"`
	// The name of the blob store that failed (or holds the altered bytes).
	Store string `json:"store"`
}

// DatabaseBusyProblem: the metadata database stayed locked by another
// process (a SQLite writer outside this server: a backup, a script) past
// the server's wait (`database.busy_timeout`, 10 s by default). Nothing
// changed; retry after `Retry-After`.
type DatabaseBusyProblem struct{}

// AliasProtectedProblem: the alias is protected by the server's
// configuration (`aliases.protected`) and its target must be in a
// lifecycle the version asked for is not in; nothing changed.
type AliasProtectedProblem struct {
	Alias string `json:"alias"`
	// The configuration entry, e.g. `aliases.protected "champion" (role =
	// "admin", lifecycle = "prod")`.
	Rule      string    `json:"rule"`
	Lifecycle Lifecycle `json:"lifecycle"`
}

// InvalidFilterProblem: a `filter`, `order_by` or cursor (`after`) query
// parameter that does not parse or names no field of the resource.
type InvalidFilterProblem struct {
	// The query parameter at fault: `filter`, `order_by` or `after`.
	Field string `json:"field"`
	// Where in it (1-based, in characters) the problem was found; 0 for a cursor.
	Position int `json:"position" openapi:"minimum=0"`
	// What was expected there, e.g. "a value after '>='".
	Expected string `json:"expected"`
	// What was found there, e.g. "end of filter"; empty when nothing is to say.
	Found string `json:"found,omitempty"`
}
