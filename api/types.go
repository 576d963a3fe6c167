package api

import (
	"encoding/json"
	"time"
)

// Patterns of the names and values the API checks; the registry validates
// with them and the OpenAPI schemas show them.
const (
	// BucketNamePattern: 3 to 63 lowercase letters, digits, '.' and '-'.
	BucketNamePattern = `^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`
	// RegionPattern: a short identifier such as us-east-1 or ca-local.
	RegionPattern = `^[a-zA-Z0-9][a-zA-Z0-9_-]{0,62}$`
	// TagColorPattern: #rrggbb in lowercase hex.
	TagColorPattern = `^#[0-9a-f]{6}$`
)

// MaxDescriptionBytes is the longest description of a model or a version
// (Markdown, UTF-8).
const MaxDescriptionBytes = 64 << 10

// CheckResult is the result of one readiness check.
type CheckResult = string

// The readiness check results.
const (
	CheckOK     CheckResult = "ok"
	CheckFailed CheckResult = "failed"
)

// CheckResults are the readiness check results.
var CheckResults = []CheckResult{CheckOK, CheckFailed}

// ReadinessStatus is the status of a server that can do its work.
type ReadinessStatus = string

// The readiness statuses: degraded is a failing blob store that no
// lifecycle writes to (see Readiness.Unused).
const (
	Ready    ReadinessStatus = "ready"
	Degraded ReadinessStatus = "degraded"
)

// ReadinessStatuses are the statuses of /readyz's 200 answer.
var ReadinessStatuses = []ReadinessStatus{Ready, Degraded}

// PageInfo is the page that was asked for.
type PageInfo struct {
	Page int64 `json:"page" openapi:"minimum=1,maximum=MaxPage"`
	Size int64 `json:"size" openapi:"minimum=1,maximum=MaxPageSize"`
}

// Page is one page of a list, with the totals. (Each list's schema has its
// own description; see the OpenAPI generator's table.)
type Page[T any] struct {
	Data []T      `json:"data"`
	Page PageInfo `json:"page"`
	// Items matching the filters, over all pages.
	TotalItems int64 `json:"total_items" openapi:"minimum=0"`
	// Pages of `size` items needed for `total_items`.
	TotalPages int64 `json:"total_pages" openapi:"minimum=0"`
}

// List is a whole list, not paginated. (Each list's schema has its own
// description; see the OpenAPI generator's table.)
type List[T any] struct {
	Data []T `json:"data"`
}

// Namespace is a namespace: the top of the hierarchy, holding models, buckets
// and tags.
type Namespace struct {
	ID   int64  `json:"id" openapi:"minimum=1,readOnly"`
	Name string `json:"name" openapi:"ref=Name"`
	// Free text, possibly empty.
	Description string    `json:"description"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Bucket is an object-storage bucket of a namespace; the bucket of a role is
// where artifacts of versions in that lifecycle are stored.
type Bucket struct {
	ID        int64     `json:"id" openapi:"minimum=1,readOnly"`
	Namespace string    `json:"namespace" openapi:"ref=Name"`
	Name      string    `json:"name" openapi:"pattern=BucketNamePattern"`
	Region    string    `json:"region" openapi:"pattern=RegionPattern"`
	Role      Lifecycle `json:"role"`
	CreatedAt time.Time `json:"created_at"`
}

// Tag is a tag of a namespace, attachable to its models, versions and
// experiments.
type Tag struct {
	ID        int64     `json:"id" openapi:"minimum=1,readOnly"`
	Namespace string    `json:"namespace" openapi:"ref=Name"`
	Tag       string    `json:"tag" openapi:"ref=Name"`
	Color     string    `json:"color" openapi:"pattern=TagColorPattern,examples=#1f77b4"`
	CreatedAt time.Time `json:"created_at"`
}

// Model is a model of a namespace.
type Model struct {
	ID        int64  `json:"id" openapi:"minimum=1,readOnly"`
	Namespace string `json:"namespace" openapi:"ref=Name"`
	Name      string `json:"name" openapi:"ref=Name"`
	// Markdown, possibly empty.
	Description string `json:"description"`
	// The names of the tags attached to the model.
	Tags []string `json:"tags" openapi:"ref=Name"`
	// The names of the model's aliases, sorted.
	Aliases   []string  `json:"aliases" openapi:"ref=Name"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// The model card's structured part: a JSON object (`{}` when empty) of
	// documented keys (see ModelMetadata) and free ones.
	Metadata json.RawMessage `json:"metadata" openapi:"type=object"`
}

// Version is a version of a model.
type Version struct {
	ID             int64     `json:"id" openapi:"minimum=1,readOnly"`
	Namespace      string    `json:"namespace" openapi:"ref=Name"`
	Model          string    `json:"model" openapi:"ref=Name"`
	Version        string    `json:"version" openapi:"ref=Name"`
	State          Lifecycle `json:"state"`
	StateChangedAt time.Time `json:"state_changed_at"`
	// Whether the version has left `test`; a sealed version's artifacts are fixed.
	Sealed bool `json:"sealed"`
	// When the version was sealed (RFC 3339, UTC), or null.
	SealedAt *time.Time `json:"sealed_at"`
	// Content digest of the version's artifacts: `sha256:` and the hex sha256 of
	// the lines `<sha256>  <name>\n` of its artifacts sorted by name; empty until
	// it has artifacts.
	Digest string `json:"digest" openapi:"pattern=^(sha256:[0-9a-f]{64})?$"`
	// Markdown, possibly empty.
	Description string `json:"description"`
	// The names of the tags attached to the version.
	Tags []string `json:"tags" openapi:"ref=Name"`
	// The names of the model's aliases that point to the version, sorted.
	Aliases   []string  `json:"aliases" openapi:"ref=Name"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// The model card's structured part: a JSON object (`{}` when empty) of
	// documented keys (see ModelMetadata) and free ones; still mutable after
	// the seal.
	Metadata json.RawMessage `json:"metadata" openapi:"type=object"`
}

// StateChange is one entry of a version's lifecycle history.
type StateChange struct {
	// The state left; null for the entry that creates the version.
	From *Lifecycle `json:"from" openapi:"inline"`
	To   Lifecycle  `json:"to"`
	// Who made the change (`anonymous` until authentication exists).
	Actor     string    `json:"actor"`
	ChangedAt time.Time `json:"changed_at"`
}

// Experiment is an experiment run against a version.
type Experiment struct {
	ID        int64           `json:"id" openapi:"minimum=1,readOnly"`
	Namespace string          `json:"namespace" openapi:"ref=Name"`
	Model     string          `json:"model" openapi:"ref=Name"`
	Version   string          `json:"version" openapi:"ref=Name"`
	Name      string          `json:"name" openapi:"ref=Name"`
	State     ExperimentState `json:"state"`
	// How many times `running` was set again while running.
	Retries int64 `json:"retries" openapi:"minimum=0"`
	// The parameters given at creation, or null.
	Params json.RawMessage `json:"params" openapi:"type=object,nullable"`
	// The metrics recorded with the result, or null.
	Metrics json.RawMessage `json:"metrics" openapi:"type=object,nullable"`
	// Run time in milliseconds, recorded with the result; null before.
	DurationMs *int64 `json:"duration_ms" openapi:"minimum=0"`
	// When it first went `running` (RFC 3339, UTC), or null.
	StartedAt *time.Time `json:"started_at"`
	// When its result was recorded (RFC 3339, UTC), or null.
	FinishedAt *time.Time `json:"finished_at"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
}

// Artifact is an artifact of a version (with `version_id`) or of an experiment
// (with `experiment_id`).
type Artifact struct {
	// The artifact's id (the `artifact_id` of the original flymodel's download
	// endpoints).
	ID int64 `json:"id" openapi:"minimum=1,readOnly"`
	// The version's id; only on version artifacts.
	VersionID int64 `json:"version_id,omitempty" openapi:"minimum=1"`
	// The experiment's id; only on experiment artifacts.
	ExperimentID int64  `json:"experiment_id,omitempty" openapi:"minimum=1"`
	Name         string `json:"name" openapi:"ref=ArtifactName"`
	FileName     string `json:"file_name" openapi:"ref=ArtifactFileName"`
	ContentType  string `json:"content_type" openapi:"ref=ContentType"`
	// The format, or null when none was given.
	//
	// An empty Format is written as null (see MarshalJSON).
	Format   Format   `json:"format" openapi:"nullable"`
	Encoding Encoding `json:"encoding"`
	// Free-form metadata of a version artifact; absent when none was given (and on
	// experiment artifacts).
	Extra  json.RawMessage `json:"extra,omitempty" openapi:"type=object"`
	SHA256 string          `json:"sha256" openapi:"ref=Sha256"`
	// Size in bytes.
	Size int64 `json:"size" openapi:"minimum=1"`
	// The id of the stored object holding the bytes (shared by artifacts with the
	// same bytes in the same store).
	Blob      int64     `json:"blob" openapi:"minimum=1"`
	CreatedAt time.Time `json:"created_at"`
	// The object's permanent anonymous URL, only when it is stored in an S3
	// bucket configured `public = true`: anyone may GET the bytes from there,
	// without the server (verify them against `sha256`). Absent otherwise.
	URL string `json:"url,omitempty" openapi:"format=uri"`
}

// MarshalJSON writes a, with an empty Format as null.
func (a Artifact) MarshalJSON() ([]byte, error) {
	type plain Artifact
	var format *Format
	if a.Format != "" {
		format = &a.Format
	}
	return json.Marshal(struct {
		plain
		Format *Format `json:"format"`
	}{plain(a), format})
}

// Token is an API token as listed: never its secret.
type Token struct {
	ID   int64  `json:"id" openapi:"minimum=1,readOnly"`
	Name string `json:"name" openapi:"ref=Name"`
	Role Role   `json:"role"`
	// The namespaces the token is limited to, by their names now, sorted (it holds
	// them by id: a renamed namespace stays, a deleted one goes); `["*"]`: every
	// namespace (an unscoped token); empty: none left, the token may do nothing.
	Namespaces []string `json:"namespaces" openapi:"ref=Name"`
	// Whether the token is accepted now.
	Status TokenStatus `json:"status"`
	// The actor that created it: a token's name, `oidc:<subject>`, `anonymous`, or
	// `local:<user>` for `flymodel token create` on the server's host.
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	// When it stops being accepted (RFC 3339, UTC); absent: never.
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	// When it was revoked (RFC 3339, UTC); absent unless revoked.
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// CreatedToken is a token just created: the token as listed, and its secret.
//
// The server keeps only the secret's hash, so this is the one time it can
// be read; keep it out of logs.
type CreatedToken struct {
	Token
	// The bearer token to send: `fm_` and 256 random bits. Shown in this response
	// only: the server keeps just its hash.
	Secret string `json:"secret" openapi:"pattern=^fm_"`
}

// TokenList is every API token, oldest first (not paginated).
type TokenList struct {
	Items []Token `json:"items"`
}

// AuditRecord is one record of the audit log: a change, or a change refused for
// want of a role.
type AuditRecord struct {
	// Increasing with each record: the log's order, and what `after` takes.
	ID int64 `json:"id" openapi:"minimum=1"`
	// When it happened (RFC 3339, UTC).
	At time.Time `json:"at"`
	// Who: a token's name, `oidc:<subject>`, `anonymous`, `local:<user>` for
	// commands run on the server's host, or `system` for the server's own work
	// (such as retention).
	Actor string `json:"actor"`
	// `<resource>.<verb>`, e.g. `version.create`, `artifact.upload`,
	// `token.revoke`; a refused request is `request.<method>`.
	Action string `json:"action" openapi:"examples=version.create"`
	// The resource's path under /api/v1 (for a refused request, the request path).
	Target string `json:"target" openapi:"format=uri-reference,examples=/namespaces/nlp/models/llm.sm/versions/v1"`
	// The namespace the target lies in; absent for none.
	Namespace string `json:"namespace,omitempty"`
	// `ok`: committed with the change; `denied`: refused for want of a role,
	// nothing changed.
	Outcome Outcome `json:"outcome"`
	// The request's id (`X-Request-Id`); absent for changes made outside a
	// request.
	RequestID string `json:"request_id,omitempty"`
	// Any JSON value the action records about itself (for a refused request, the
	// role it `needs`); absent when none.
	Detail json.RawMessage `json:"detail,omitempty"`
	// Only on a `denied` record: how many more times the same actor was refused
	// the same action on the same target within a minute of `at` (counted here
	// instead of a record each); absent: none.
	Repeats int64 `json:"repeats,omitempty" openapi:"minimum=0"`
	// Only with `repeats`: when the last of them was refused (RFC 3339, UTC).
	LastAt *time.Time `json:"last_at,omitempty"`
}

// AuditPage is a page of the audit log, oldest first.
type AuditPage struct {
	Items []AuditRecord `json:"items"`
	// Present only when more records match: pass it as `after` for the next page.
	Next int64 `json:"next,omitempty" openapi:"minimum=1"`
}

// NamespaceCreate is a new namespace.
type NamespaceCreate struct {
	Name string `json:"name" openapi:"ref=Name"`
	// Free text, at most 4096 bytes.
	Description string `json:"description,omitempty"`
}

// NamespaceUpdate: changes to a namespace; absent members are unchanged.
type NamespaceUpdate struct {
	// A new name (see Name); absent or null keeps it.
	Name *string `json:"name,omitempty" openapi:"nullable"`
	// A new description, at most 4096 bytes; absent or null keeps it.
	Description *string `json:"description,omitempty" openapi:"nullable"`
}

// BucketCreate is a new bucket. A namespace has at most one bucket per role,
// and a (name, region) is recorded once.
type BucketCreate struct {
	// 3 to 63 lowercase letters, digits, `.` and `-`, starting and ending with a
	// letter or digit.
	Name string `json:"name" openapi:"pattern=BucketNamePattern"`
	// 1 to 63 letters, digits, `_` and `-`, starting with a letter or digit.
	Region string    `json:"region" openapi:"pattern=RegionPattern"`
	Role   Lifecycle `json:"role"`
}

// TagCreate is a new tag.
type TagCreate struct {
	Tag string `json:"tag" openapi:"ref=Name"`
	// `#rrggbb` in lowercase hex; absent or empty: one of ten colours, chosen by
	// the tag's name (the same name always gets the same colour).
	Color string `json:"color,omitempty" openapi:"pattern=TagColorPattern,examples=#1f77b4"`
}

// ModelCreate is a new model.
type ModelCreate struct {
	Name string `json:"name" openapi:"ref=Name"`
	// Markdown, at most 65536 bytes.
	Description string `json:"description,omitempty"`
	// The model card's metadata: a JSON object (see ModelMetadata); absent
	// or null: `{}`.
	Metadata json.RawMessage `json:"metadata,omitempty" openapi:"type=object,nullable"`
}

// ModelUpdate renames a model and/or changes its description; absent members
// are unchanged.
type ModelUpdate struct {
	// A new name (see Name); absent or null keeps it.
	Name *string `json:"name,omitempty" openapi:"nullable"`
	// A new description (Markdown, at most 65536 bytes); absent or null keeps it.
	Description *string `json:"description,omitempty" openapi:"nullable"`
	// New metadata (see ModelMetadata): replaces the whole object (`{}`
	// clears it); absent or null keeps it.
	Metadata json.RawMessage `json:"metadata,omitempty" openapi:"type=object,nullable"`
}

// VersionCreate is a new version.
type VersionCreate struct {
	Version string `json:"version" openapi:"ref=Name"`
	// The initial lifecycle state; absent or empty means `test`. Any other state
	// seals the version and must meet its promotion gate.
	State Lifecycle `json:"state,omitempty" openapi:"inline,default=Test"`
	// Markdown, at most 65536 bytes.
	Description string `json:"description,omitempty"`
	// The model card's metadata: a JSON object (see ModelMetadata); absent
	// or null: `{}`.
	Metadata json.RawMessage `json:"metadata,omitempty" openapi:"type=object,nullable"`
	// The versions this one was made from (its lineage); absent: none.
	Parents []ParentRef `json:"parents,omitempty"`
}

// VersionUpdate changes a version's description and metadata (its content,
// state and parents have routes of their own); absent members are
// unchanged. Both stay mutable after the seal: they describe the content.
type VersionUpdate struct {
	// A new description (Markdown, at most 65536 bytes); absent or null keeps it.
	Description *string `json:"description,omitempty" openapi:"nullable"`
	// New metadata (see ModelMetadata): replaces the whole object (`{}`
	// clears it); absent or null keeps it.
	Metadata json.RawMessage `json:"metadata,omitempty" openapi:"type=object,nullable"`
}

// VersionStateUpdate moves a version to a lifecycle state. Setting the
// current state changes nothing.
type VersionStateUpdate struct {
	State Lifecycle `json:"state"`
}

// ExperimentCreate is a new experiment, in state `created`.
type ExperimentCreate struct {
	Name string `json:"name" openapi:"ref=Name"`
	// Parameters of the run; never changed afterwards.
	Params json.RawMessage `json:"params,omitempty" openapi:"type=object,nullable"`
}

// ExperimentStateUpdate: `running` to start (again: a retry), or
// `passed`/`failed` to record the result. `created` is never accepted.
type ExperimentStateUpdate struct {
	State ExperimentState `json:"state"`
	// Only with `passed` or `failed`: the run time; absent means the time since it
	// started.
	DurationMs *int64 `json:"duration_ms,omitempty" openapi:"minimum=0,nullable"`
	// Only with `passed` or `failed`: the run's metrics.
	Metrics json.RawMessage `json:"metrics,omitempty" openapi:"type=object,nullable"`
}

// TokenCreate is a new API token.
type TokenCreate struct {
	// Unique among live tokens; not `anonymous`, `system` or `sweeper`, and
	// without `:` (those name other actors in the audit log).
	Name string `json:"name" openapi:"ref=Name"`
	Role Role   `json:"role"`
	// Limit the token to these namespaces (they must exist; the token holds them by
	// id), or `["*"]` for every namespace. Required: absent or empty is refused.
	Namespaces []string `json:"namespaces" openapi:"ref=Name"`
	// Its lifetime from now: a number of days from 1 to 36500 (`90d`) or a Go
	// duration (`12h`, `30m`); absent: it never expires.
	ExpiresIn string `json:"expires_in,omitempty" openapi:"examples=90d|12h"`
}

// ArtifactUploadMetadata is the `artifact` part of a multipart upload to a
// version: one JSON object, at most 64 KiB, no unknown members.
type ArtifactUploadMetadata struct {
	Name string `json:"name" openapi:"ref=ArtifactName"`
	// Default: the file name of the `file` part, else the name's last segment.
	FileName string `json:"file_name,omitempty" openapi:"ref=ArtifactFileName"`
	// Default: the `Content-Type` of the `file` part unless
	// `application/octet-stream`, else from `format`, else
	// `application/octet-stream`.
	ContentType string   `json:"content_type,omitempty" openapi:"ref=ContentType"`
	Format      Format   `json:"format,omitempty"`
	Encoding    Encoding `json:"encoding,omitempty"`
	// Free-form metadata (a JSON object); anything else is 422.
	Extra json.RawMessage `json:"extra,omitempty" openapi:"type=object,nullable"`
	// The digest the bytes must have; also accepted in the `Digest` or
	// `Repr-Digest` header.
	SHA256 string `json:"sha256,omitempty" openapi:"ref=Sha256"`
}

// ExperimentArtifactUploadMetadata is the `artifact` part of a multipart
// upload to an experiment: as for a version, without `extra` (experiment
// artifacts carry none; a non-null `extra` is 422).
//
// The server reads both uploads as ArtifactUploadMetadata; this type
// states what an experiment takes.
type ExperimentArtifactUploadMetadata struct {
	ArtifactUploadMetadata
	// Only null: experiment artifacts carry no extra.
	Extra json.RawMessage `json:"extra,omitempty" openapi:"type=null"`
}

// UploadMetadataPart and UploadFilePart are the names of the two parts of
// a multipart upload, in their order: the JSON metadata, then the bytes.
const (
	UploadMetadataPart = "artifact"
	UploadFilePart     = "file"
)

// CompatUploadMetadata is what both of the original flymodel's uploads
// take in their `artifact` part beside the owner's id.
type CompatUploadMetadata struct {
	ArtifactName string `json:"artifact_name" openapi:"ref=ArtifactName"`
	Format       Format `json:"format,omitempty"`
	// The encoding.
	Encode Encoding `json:"encode,omitempty"`
	// Free-form metadata (a JSON object).
	Extra json.RawMessage `json:"extra,omitempty" openapi:"type=object,nullable"`
	// The digest the bytes must have.
	SHA256 string `json:"sha256,omitempty" openapi:"ref=Sha256"`
}

// CompatVersionUploadMetadata is the `artifact` part of the original
// flymodel's version upload. The file name is the artifact name's last
// segment; the content type comes from the `file` part (else `format`).
type CompatVersionUploadMetadata struct {
	// The version's id.
	ModelVersion int64 `json:"model_version" openapi:"minimum=1"`
	CompatUploadMetadata
}

// CompatExperimentUploadMetadata is the `artifact` part of the original
// flymodel's experiment upload. The file name is the artifact name's last
// segment; the content type comes from the `file` part (else `format`).
type CompatExperimentUploadMetadata struct {
	// The experiment's id.
	Experiment int64 `json:"experiment" openapi:"minimum=1"`
	CompatUploadMetadata
	// Only null: experiment artifacts carry no extra.
	Extra json.RawMessage `json:"extra,omitempty" openapi:"type=null"`
}

// FieldError is one invalid member or query parameter of a request (the
// "errors" of a validation problem).
type FieldError struct {
	// The request member or query parameter at fault.
	Field string `json:"field"`
	// The rule it breaks.
	Message string `json:"message"`
}

// Health is the answer of /healthz: the process is alive.
type Health struct {
	Status string `json:"status" openapi:"const=ok"`
}

// Readiness is the answer of /readyz when the server can do its work.
type Readiness struct {
	// `ready`, or `degraded` when a store in `unused` failed its check.
	Status ReadinessStatus `json:"status"`
	// Each dependency checked (`database`, `storage:<name>`) and its
	// result. A failing database or store in use answers 503.
	Checks map[string]CheckResult `json:"checks"`
	// The checks of the blob stores no lifecycle writes to (no default
	// role, no namespace's bucket): they may hold older artifacts, and
	// their failure makes the server degraded (reads of those artifacts
	// fail), not unready. Absent when every store is in use.
	Unused []string `json:"unused,omitempty"`
	// The lifecycles no blob store of this server serves (a namespace's
	// bucket that is not configured, or a lifecycle without a default
	// store): uploads and state changes into them are refused with
	// `no-store` until the configuration names a store. Absent when every
	// lifecycle has one.
	NoStore []NoStoreProblem `json:"no_store,omitempty"`
}

// MaxMetadataBytes is the largest metadata object of a model or a version
// (its JSON, compact).
const MaxMetadataBytes = 64 << 10

// MetadataKeyPattern is what a metadata key looks like: 1 to 128 letters,
// digits, `_`, `.` and `-` (so that a filter can name it: `meta.<key>`).
const MetadataKeyPattern = `^[A-Za-z0-9_.-]{1,128}$`

// MaxParents is the most parents a version may name.
const MaxParents = 100

// Lineage depths: GET …/lineage?depth=N walks N links each way.
const (
	DefaultLineageDepth = 3
	MaxLineageDepth     = 10
)

// ModelMetadata documents the keys of a model's or a version's metadata
// that the registry checks when present; any other key (see
// MetadataKeyPattern) takes any JSON value. The whole object is at most
// MaxMetadataBytes.
type ModelMetadata struct {
	// The license, e.g. an SPDX identifier.
	License string `json:"license,omitempty" openapi:"examples=apache-2.0"`
	// The framework, e.g. `pytorch`.
	Framework string `json:"framework,omitempty" openapi:"examples=pytorch"`
	// The task, e.g. `text-classification`.
	Task string `json:"task,omitempty"`
	// The base model, free text (lineage between versions is `parents`).
	BaseModel string `json:"base_model,omitempty"`
	// The datasets it was trained or evaluated on.
	Datasets []DatasetRef `json:"datasets,omitempty"`
	// The code that made it.
	Code *CodeRef `json:"code,omitempty"`
	// The parameter count.
	Parameters *int64 `json:"parameters,omitempty" openapi:"minimum=0"`
}

// DatasetRef names a dataset in metadata: only these members.
type DatasetRef struct {
	Name string `json:"name"`
	// `sha256:` and 64 lowercase hex digits.
	Digest string `json:"digest,omitempty" openapi:"pattern=^sha256:[0-9a-f]{64}$"`
	URL    string `json:"url,omitempty"`
}

// CodeRef names the code in metadata: only these members.
type CodeRef struct {
	Repository string `json:"repository,omitempty"`
	Commit     string `json:"commit,omitempty"`
}

// ParentRef names a parent of a version: either `version` alone as a path
// (`/<namespace>/<model>/<version>`, each name path-escaped), or the names
// (namespace and model default to the child's).
type ParentRef struct {
	Namespace string   `json:"namespace,omitempty"`
	Model     string   `json:"model,omitempty"`
	Version   string   `json:"version"`
	Relation  Relation `json:"relation"`
}

// ParentsUpdate replaces the parents of a version (not sealed).
type ParentsUpdate struct {
	// The new parents; empty removes them all.
	Parents []ParentRef `json:"parents"`
}

// Parent is a parent of a version, as listed.
type Parent struct {
	Namespace string `json:"namespace" openapi:"ref=Name"`
	Model     string `json:"model" openapi:"ref=Name"`
	Version   string `json:"version" openapi:"ref=Name"`
	// `/<namespace>/<model>/<version>`, each name path-escaped.
	Path     string   `json:"path"`
	Relation Relation `json:"relation"`
}

// LineageNode is a version in a lineage graph.
type LineageNode struct {
	Namespace string `json:"namespace" openapi:"ref=Name"`
	Model     string `json:"model" openapi:"ref=Name"`
	Version   string `json:"version" openapi:"ref=Name"`
	// `/<namespace>/<model>/<version>`, each name path-escaped.
	Path   string    `json:"path"`
	State  Lifecycle `json:"state"`
	Digest string    `json:"digest"`
	// Links from the root: negative for ancestors, positive for
	// descendants, 0 for the root.
	Depth int64 `json:"depth"`
}

// LineageEdge is a link of a lineage graph: child was made from parent.
type LineageEdge struct {
	Child    string   `json:"child"`
	Parent   string   `json:"parent"`
	Relation Relation `json:"relation"`
}

// Lineage is the graph around a version: its ancestors and descendants up
// to a depth, in the namespaces the caller may read.
type Lineage struct {
	// The path of the version asked about.
	Root  string        `json:"root"`
	Depth int64         `json:"depth" openapi:"minimum=1"`
	Nodes []LineageNode `json:"nodes"`
	Edges []LineageEdge `json:"edges"`
	// Versions linked to the graph in namespaces the caller may not read:
	// left out (with their links), and not walked through.
	Hidden int64 `json:"hidden" openapi:"minimum=0"`
}

// Diff compares two versions: a, then b.
type Diff struct {
	A         Version       `json:"a"`
	B         Version       `json:"b"`
	Artifacts ArtifactsDiff `json:"artifacts"`
	// The descriptions when they differ; null when equal.
	Description *DescriptionDiff `json:"description" openapi:"nullable"`
	// The top-level metadata keys whose values differ, by key.
	Metadata []ValueDiff `json:"metadata"`
	// The experiments of either version, by name.
	Experiments []ExperimentDiff `json:"experiments"`
}

// ArtifactsDiff are the versions' own artifacts by name: in b only, in a
// only, in both with other bytes, in both with the same bytes.
type ArtifactsDiff struct {
	Added     []Artifact       `json:"added"`
	Removed   []Artifact       `json:"removed"`
	Changed   []ArtifactChange `json:"changed"`
	Unchanged []Artifact       `json:"unchanged"`
}

// ArtifactChange is an artifact of both versions with other bytes.
type ArtifactChange struct {
	Name    string `json:"name" openapi:"ref=ArtifactName"`
	ASHA256 string `json:"a_sha256" openapi:"ref=Sha256"`
	BSHA256 string `json:"b_sha256" openapi:"ref=Sha256"`
	ASize   int64  `json:"a_size" openapi:"minimum=1"`
	BSize   int64  `json:"b_size" openapi:"minimum=1"`
}

// DescriptionDiff is two descriptions.
type DescriptionDiff struct {
	A string `json:"a"`
	B string `json:"b"`
}

// ValueDiff is one key's value on each side; null: absent on that side.
type ValueDiff struct {
	Key string          `json:"key"`
	A   json.RawMessage `json:"a" openapi:"nullable"`
	B   json.RawMessage `json:"b" openapi:"nullable"`
}

// ExperimentDiff is one experiment name on both versions: its state on
// each (null: absent) and its metrics side by side, every key of either.
type ExperimentDiff struct {
	Name    string           `json:"name" openapi:"ref=Name"`
	AState  *ExperimentState `json:"a_state" openapi:"inline"`
	BState  *ExperimentState `json:"b_state" openapi:"inline"`
	Metrics []ValueDiff      `json:"metrics"`
}

// Alias is a named, movable pointer from a model to one of its versions
// (`champion`, `canary`, …); `@<alias>` names that version wherever a
// version is named.
type Alias struct {
	Alias     string `json:"alias" openapi:"ref=Name"`
	Version   string `json:"version" openapi:"ref=Name"`
	Model     string `json:"model" openapi:"ref=Name"`
	Namespace string `json:"namespace" openapi:"ref=Name"`
	// When the alias was last set.
	UpdatedAt time.Time `json:"updated_at"`
	// Who last set it.
	UpdatedBy string `json:"updated_by"`
}

// AliasChange is one entry of an alias's history: a move, or its
// creation (from null) or removal (to null).
type AliasChange struct {
	Alias string `json:"alias" openapi:"ref=Name"`
	// The version it pointed to before, or null.
	From *string `json:"from"`
	// The version it points to after, or null when it was removed.
	To        *string   `json:"to"`
	Actor     string    `json:"actor"`
	ChangedAt time.Time `json:"changed_at"`
}

// SetAliasRequest is the body of PUT …/models/{model}/aliases/{alias}.
type SetAliasRequest struct {
	// The version to point to: a name, or a selector (`@prod`, `@canary`)
	// resolved when the alias is set.
	Version string `json:"version" openapi:"ref=Name"`
}

// SearchPage is one page of a search across namespaces (GET
// /api/v1/versions, /api/v1/models, /api/v1/experiments): the rows and,
// when more may follow, the cursor of the next page. It has no total:
// counting every match would cost as much as reading them all.
type SearchPage[T any] struct {
	Data []T `json:"data"`
	// The cursor of the next page: pass it back as `after` with the same
	// `filter` and `order_by`. Absent on the last page.
	Next string `json:"next,omitempty"`
}
